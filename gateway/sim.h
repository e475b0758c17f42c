/* sim.h: posgw-sim, a simulator of ПОС behind the SMEV adapter's file channel. */
#ifndef POSGW_SIM_H
#define POSGW_SIM_H

int sim_main(int, char **);

#endif
