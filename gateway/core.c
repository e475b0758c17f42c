/* core.c: placeholder until the core role lands; the daemon runs transfer only. */
#include "config.h"

#include "core.h"

/* Open the role: nothing yet. */
void *
core_open(struct xfer *x, struct conf *c, struct error *err)
{
	static int dummy;

	return &dummy;
}

/* One round: nothing yet. */
int
core_step(struct xfer *x, void *arg, int *did)
{
	return 0;
}

/* Close the role. */
void
core_close(void *arg)
{
}
