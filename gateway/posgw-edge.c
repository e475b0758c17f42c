/* posgw-edge.c: the gateway in the internet-facing zone. */
#include "config.h"

#include "gatewayd.h"

int
main(int argc, char **argv)
{
	static const struct gateway_role role = { "edge", NULL, NULL, NULL };

	return gatewayd_main(&role, argc, argv);
}
