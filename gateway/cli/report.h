/*
 * report.h: posgw journal report (cmd-report.c): what its sections found
 * (struct report, from which the verdict is made), the sections by file,
 * and the HTML pieces (report-html.c).
 */
#ifndef POSGW_REPORT_H
#define POSGW_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "error.h"

struct trust;

/* One bar of a chart: a label, its full text for the tooltip, two values. */
struct report_bar {
	char *label;
	char *title;
	int64_t v[2];
};

/* A growing list of bars. */
struct report_bars {
	struct report_bar *b;
	size_t n;
};

/* Packages older than this that the other side never saw count as lost. */
#define REPORT_MAX_AGE (24 * 3600)

/* With db_exists: is there a table of this name? */
#define REPORT_HAS_TABLE                                                       \
	"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"

/* What the sections found; the verdict is made from it. */
struct report {
	struct db *db, *peer;
	const char *path, *peerpath;
	struct trust *trust;
	char **trustpath;
	size_t ntrust;
	char *own, *peer_id, *peer_own;
	int64_t now, from, to; /* the period, [from, to] in UTC seconds */
	char dfrom[11], dto[11];
	int vrc; /* journal_verify: 0 intact, 1 problem, -1 unreadable */
	struct error verr;
	int64_t entries, ncp;
	int64_t gaps, rej_in, rej_out, conflicts;
	int64_t flight, stale, lost, mismatch;
	int64_t overdue;
	int64_t ho_refused, ho_lost, ho_unrec; /* media hand-overs */
	int cp_copies, cp_bad;
};

/* report.c */
sqlite3_stmt *report_stmt(struct report *, struct db *, const char *);
int64_t report_int(struct report *, struct db *, const char *);
const char *report_col(sqlite3_stmt *, int);
const char *report_code_ru(const char *);
const char *report_state_ru(const char *);
void report_term(FILE *, const char *, const char *);

/* report-verdict.c */
void report_verdict_head(FILE *, struct report *);
void report_verdict(FILE *, struct report *);
void report_verdict_verify(FILE *, struct report *);

/* report-packages.c */
void report_packages_totals(FILE *, struct report *);
void report_packages_days(FILE *, struct report *);
void report_packages_rejects(FILE *, struct report *);
void report_packages_latency(FILE *, struct report *);
void report_packages_gaps(FILE *, struct report *);
void report_packages_peer(FILE *, struct report *);

/* report-appeals.c */
void report_appeals(FILE *, struct report *);
void report_appeals_overdue(FILE *, struct report *);

/* report-heatmap.c */
void report_heatmap(FILE *, struct report *);

/* report-handovers.c */
void report_handovers(FILE *, struct report *);

/* report-html.c */
void report_html_esc(FILE *, const char *);
void report_html_time(FILE *, int64_t);
void report_html_duration(char *, size_t, int64_t);
void report_html_bars_add(
    struct report_bars *, const char *, const char *, int64_t, int64_t);
void report_html_bars_free(struct report_bars *);
void report_html_chart(
    FILE *, const struct report_bars *, int, const char *const *, const char *);
int64_t report_html_axis_step(int64_t);
int report_html_write(const char *, const char *, size_t);

#endif
