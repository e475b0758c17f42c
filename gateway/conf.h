/* conf.h: the INI configuration of posgw-edge and posgw-core. */
#ifndef POSGW_CONF_H
#define POSGW_CONF_H

#include "error.h"
#include "xfer.h"

struct conf {
	char *path;
	struct xfer_config x;
	int log_level;
	/* owned strings behind the const pointers in x */
	char *own_id, *peer_id, *key, *cert, *state, *inbox, *outbox,
	    *quarantine;
	char *trust[XFER_MAX_TRUST];
};

int conf_load(const char *, struct conf *, struct error *);
void conf_free(struct conf *);

#endif
