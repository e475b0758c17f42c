/*
 * core-stats.h: statistics for the витрина (issue 15): counts per ЛКО, ПОС
 * category and territory for a period, and the statistics document queued
 * for the edge, which uploads it to ПОС.
 */
#ifndef POSGW_CORE_STATS_H
#define POSGW_CORE_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "error.h"
#include "xfer.h"

#define CORE_STATS_MAX_ROWS 10000 /* rows of one document (statistics.xsd) */
#define CORE_STATS_COUNT_MAX 999999999 /* a count (StatCountType) */

enum core_stats_col {
	CORE_STATS_NEW,
	CORE_STATS_IN_WORK,
	CORE_STATS_OVERDUE,
	CORE_STATS_REPEATED,
	CORE_STATS_ANSWERED,
	CORE_STATS_OTHER_NEW,
	CORE_STATS_OTHER_IN_WORK,
	CORE_STATS_OTHER_OVERDUE,
	CORE_STATS_OTHER_ANSWERED,
	CORE_STATS_NCOLS
};

/* One row: an (ЛКО, category, territory) and its counts ("" = not named). */
struct core_stats_row {
	char lko[24], category[72], oktmo[16];
	int64_t c[CORE_STATS_NCOLS];
};

/* The statistics of a period. */
struct core_stats {
	char from[11], to[11];
	char other_to[11]; /* period end of the other-channel counts, or "" */
	struct core_stats_row *rows;
	size_t n;
};

extern const char *const core_stats_names[CORE_STATS_NCOLS];

void core_stats_month(long, char *, char *);
int core_stats_compute(struct db *, const char *, const char *,
    struct core_stats *, struct error *);
void core_stats_free(struct core_stats *);
void core_stats_xml(const struct core_stats *, const char *, const char *,
    const char *, char **, size_t *);
int core_stats_queue(struct xfer *, const char *, const char *, const char *,
    const char *, char *, size_t *, struct error *);
int core_stats_step(struct xfer *, unsigned, int *);

#endif
