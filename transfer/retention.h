/*
 * retention.h: removing personal data a configured time after an appeal is
 * closed, and rejected files a configured time after they were kept, while
 * sizes, digests and the journal stay for auditors.
 */
#ifndef POSGW_RETENTION_H
#define POSGW_RETENTION_H

#include <stdint.h>
#include <time.h>

#include "db.h"
#include "error.h"
#include "xfer.h"

/* What one run removed. */
struct retention_counts {
	int64_t appeals;   /* appeals whose documents were emptied */
	int64_t documents; /* documents emptied */
	int64_t bytes;     /* bytes of bodies removed */
	int64_t files;     /* store files removed */
	int64_t rejected;  /* quarantined or refused files removed */
	int64_t waiting;   /* closed appeals due but not settled yet */
	int more;          /* a batch is done, more appeals may be due */
};

extern const struct db_schema retention_db_schema;

int retention_duration_parse(const char *, unsigned *);
void retention_set_closed(struct xfer *, const char *);
void retention_add_dir(struct xfer *, const char *);
int retention_run(
    struct xfer *, time_t, struct retention_counts *, struct error *);
int retention_step(struct xfer *, int *);

#endif
