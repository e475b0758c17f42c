/*
 * rollover.h: a gateway's key rollover without loss (formats/rollover.md):
 * the new certificate announced in a package signed by the old key, both
 * trusted during the overlap, the old one retired once nothing can still
 * need it.
 */
#ifndef POSGW_ROLLOVER_H
#define POSGW_ROLLOVER_H

#include <stdint.h>

#include <libxml/tree.h>

#include "error.h"
#include "sig.h"

struct xfer;

int rollover_open(struct xfer *, struct error *);
int rollover_reload(struct xfer *, struct error *);
int rollover_announce(struct xfer *, struct error *);
struct signer *rollover_signer(struct xfer *);
int rollover_learn(
    struct xfer *, xmlDocPtr, const char *, const char *, int, struct error *);
int rollover_receipt(struct xfer *, int64_t, int, const char *, struct error *);
int rollover_accepted(
    struct xfer *, uint64_t, const char *, const char *, struct error *);
const char *rollover_retired(struct xfer *, const char *);
void rollover_free(struct xfer *);

#endif
