/*
 * core-int.h: posgw-core's modules: core.c (open, one round, close) above
 * core-export.c (to the EDMS) and core-import.c (from the EDMS), both on
 * the EDMS contract of edms.c.
 */
#ifndef POSGW_CORE_INT_H
#define POSGW_CORE_INT_H

#include "core.h"
#include "edms.h"
#include "sig.h"

#define CORE_EXPORT_BATCH 100 /* documents exported per round */
#define CORE_IMPORT_BATCH 64  /* event files read per round */
#define CORE_SETTLE 5         /* seconds a torn event file may still grow */

struct core {
	struct xfer *x;
	struct db *db;
	struct conf_edms e; /* strings owned */
	struct trust *signers;
	struct pkg_limits limits;
	unsigned sig_algs;
	char *staging; /* private copies of answer files being checked */
	char *last_trouble;
	int batch;        /* exporting a round in one transaction */
	int export_dirty; /* renames in the export folder await one fsync */
	char **pending;   /* batch: finished temp folders, renamed at the end */
	size_t npending;
	struct conf orgs;   /* [lko] and [orgs] only */
	time_t last_expire; /* core_repeated_expire's last run (monotonic) */
};

/* One event file of a round, read and prepared. */
struct core_item {
	char *name;
	struct edms_event ev;
};

/* core-export.c */
int core_export(struct core *, int *);

/* core-repeated.c */
int core_repeated_key(struct core *, xmlNodePtr, char[2][65], struct error *);
int core_repeated_keep(
    struct core *, const char *, char[2][65], struct error *);
int core_repeated_expire(struct core *, int *);
int core_repeated_find(struct core *, char[2][65], const char *, const char *,
    const char *, const char *, char *, size_t);

/* core-import.c */
int core_import(struct core *, int *);

#endif
