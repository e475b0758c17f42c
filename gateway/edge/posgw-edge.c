/* posgw-edge.c: the gateway in the internet-facing zone. */
#include "config.h"

#include "edge.h"
#include "gatewayd.h"

int
main(int argc, char **argv)
{
	static const struct gateway_role role = {
	    "edge", edge_open, edge_step, edge_close};

	return gatewayd_main(&role, argc, argv);
}
