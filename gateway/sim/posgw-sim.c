/* posgw-sim.c: a simulator of ПОС behind the SMEV adapter's file channel. */
#include "config.h"

#include "sim.h"

int
main(int argc, char **argv)
{
	return sim_run(argc, argv);
}
