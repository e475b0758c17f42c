/* sim.c: placeholder until the simulator lands. */
#include "config.h"

#include <stdio.h>

#include "sim.h"

/* Not built yet. */
int
sim_main(int argc, char **argv)
{
	fprintf(stderr, "posgw-sim: not built yet\n");
	return 1;
}
