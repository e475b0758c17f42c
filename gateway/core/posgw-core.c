/* posgw-core.c: the gateway in the isolated contour (no network code). */
#include "config.h"

#include "core.h"
#include "gatewayd.h"

int
main(int argc, char **argv)
{
	static const struct gateway_role role = {
	    "core", core_open, core_step, core_close};

	return gatewayd_main(&role, argc, argv);
}
