/* edge.c: placeholder until the edge role lands; the daemon runs transfer only. */
#include "config.h"

#include "edge.h"

/* Open the role: nothing yet. */
void *
edge_open(struct xfer *x, struct conf *c, struct error *err)
{
	static int dummy;

	return &dummy;
}

/* One round: nothing yet. */
int
edge_step(struct xfer *x, void *arg, int *did)
{
	return 0;
}

/* Close the role. */
void
edge_close(void *arg)
{
}
