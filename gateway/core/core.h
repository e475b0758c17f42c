/* core.h: posgw-core's business side: the EDMS exchange folders. */
#ifndef POSGW_CORE_H
#define POSGW_CORE_H

#include "conf.h"
#include "xfer.h"

void *core_open(struct xfer *, struct conf *, struct error *);
int core_step(struct xfer *, void *, int *);
void core_close(void *);

#endif
