/* posgw-edge.c: the gateway in the internet-facing zone. */
#include "config.h"

#include "gatewayd.h"

int
main(int argc, char **argv)
{
	return gatewayd_main("edge", argc, argv);
}
