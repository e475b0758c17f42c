/* posgw-core.c: the gateway in the isolated contour (no network code). */
#include "config.h"

#include "gatewayd.h"

int
main(int argc, char **argv)
{
	return gatewayd_main("core", argc, argv);
}
