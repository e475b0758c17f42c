/* edge.h: posgw-edge's business side: the ПОС side of the SMEV adapter. */
#ifndef POSGW_EDGE_H
#define POSGW_EDGE_H

#include "conf.h"
#include "xfer.h"

/* meta key and version of the edge's own tables in the shared database */
#define EDGE_SCHEMA_KEY "edge_schema"
#define EDGE_SCHEMA_VERSION 3

void *edge_open(struct xfer *, struct conf *, struct error *);
int edge_step(struct xfer *, void *, int *);
void edge_close(void *);

/* edge-db.c */
extern const char edge_db_closed_sql[];

#endif
