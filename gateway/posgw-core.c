/* posgw-core.c: the gateway in the isolated contour (no network code). */
#include "config.h"

#include "gatewayd.h"

int
main(int argc, char **argv)
{
	static const struct gateway_role role = { "core", NULL, NULL, NULL };

	return gatewayd_main(&role, argc, argv);
}
