/* gatewayd.h: the common main of posgw-edge and posgw-core. */
#ifndef POSGW_GATEWAYD_H
#define POSGW_GATEWAYD_H

#include "conf.h"
#include "error.h"
#include "xfer.h"

/*
 * A gateway's business side: the ПОС adapter of the edge, the EDMS exchange
 * of the core. open() runs after the transfer engine is open (its database
 * is shared: the role keeps its own tables there), step() once per round
 * before packing, close() at exit.
 */
struct gateway_role {
	const char *name; /* "edge" or "core" */
	void *(*open)(struct xfer *, struct conf *, struct error *);
	int (*step)(struct xfer *, void *, int *);
	void (*close)(void *);
};

int gatewayd_main(const struct gateway_role *, int, char **);

#endif
