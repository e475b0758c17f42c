/* gatewayd.h: the common main of posgw-edge and posgw-core. */
#ifndef POSGW_GATEWAYD_H
#define POSGW_GATEWAYD_H

int gatewayd_main(const char *, int, char **);

#endif
