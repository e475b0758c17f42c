/*
 * cli-handover.c: the hand-over section of posgw journal reconcile: every
 * medium one side exported (table handovers, transfer/media-handover.c)
 * matched by inventory digest to the other side's import.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int cli_handover_has(struct db *);
static int cli_handover_state(struct db *, const char *, const char *);
static int cli_handover_exports(struct db *, const char *, struct db *,
    const char *, int64_t, int *, FILE *);
static int cli_handover_imports(
    struct db *, const char *, struct db *, const char *, int *, FILE *);

/* Does this database record hand-overs (schema version 3 and later)? */
static int
cli_handover_has(struct db *db)
{
	return db_exists(db,
	    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
	    "handovers");
}

/* Does db record a hand-over of this direction and digest? */
static int
cli_handover_state(struct db *db, const char *direction, const char *digest)
{
	sqlite3_stmt *st;
	int found;

	st = db_prepare(db, "SELECT 1 FROM handovers WHERE direction = ? AND"
	                    " digest = ?");
	sqlite3_bind_text(st, 1, direction, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	return found;
}

/*
 * Match the media from exported to the imports of to: handed over, refused,
 * superseded (the same medium re-exported with more packages before it
 * left), in transit, or NOT IMPORTED when older than maxage.
 */
static int
cli_handover_exports(struct db *from, const char *fromname, struct db *to,
    const char *toname, int64_t maxage, int *counts, FILE *out)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);
	int bad = 0;

	st = db_prepare(from,
	    "SELECT digest, at, medium, packages, EXISTS (SELECT 1 FROM"
	    " handovers h WHERE h.direction = 'exported' AND h.replaces ="
	    " handovers.digest) FROM handovers WHERE direction = 'exported'"
	    " ORDER BY at, id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *dig = (const char *)sqlite3_column_text(st, 0);
		const char *medium = (const char *)sqlite3_column_text(st, 2);
		int64_t age = now - sqlite3_column_int64(st, 1);
		int64_t n = sqlite3_column_int64(st, 3);

		if (cli_handover_state(to, "imported", dig)) {
			fprintf(out,
			    "handed over %s: %" PRId64 " package(s), exported "
			    "by %s, imported by %s\n",
			    dig, n, fromname, toname);
			counts[0]++;
		} else if (sqlite3_column_int(st, 4)) {
			fprintf(out,
			    "superseded  %s: re-exported by %s with more "
			    "packages before it left\n",
			    dig, fromname);
			counts[5]++;
		} else if (cli_handover_state(to, "refused", dig)) {
			fprintf(out,
			    "REFUSED     %s: exported by %s, refused by %s "
			    "(see its journal: media.refused)\n",
			    dig, fromname, toname);
			counts[1]++;
		} else if (age >= maxage) {
			fprintf(out,
			    "NOT IMPORTED %s: medium %s, %" PRId64
			    " package(s), "
			    "exported by %s %lld h ago, never imported by %s\n",
			    dig, medium, n, fromname, (long long)age / 3600,
			    toname);
			counts[3]++;
			bad = 1;
		} else {
			fprintf(out,
			    "in transit  %s: exported by %s %lld min ago\n",
			    dig, fromname, (long long)age / 60);
			counts[2]++;
		}
	}
	db_finalize(st);
	return bad;
}

/* Imports of to whose export from never recorded: an unrecorded hand-over. */
static int
cli_handover_imports(struct db *to, const char *toname, struct db *from,
    const char *fromname, int *counts, FILE *out)
{
	sqlite3_stmt *st;
	int bad = 0;

	st = db_prepare(to, "SELECT digest FROM handovers WHERE direction ="
	                    " 'imported' ORDER BY at, id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *dig = (const char *)sqlite3_column_text(st, 0);

		if (cli_handover_state(from, "exported", dig))
			continue;
		fprintf(out,
		    "UNRECORDED  %s: imported by %s, its export is not in "
		    "%s's journal\n",
		    dig, toname, fromname);
		counts[4]++;
		bad = 1;
	}
	db_finalize(st);
	return bad;
}

/*
 * Reconcile the media hand-overs of two gateways in both directions and
 * print a summary line. Returns 1 when a medium was exported and never
 * imported (older than maxage) or imported without a recorded export.
 */
int
cli_handover_reconcile(struct db *a, const char *an, struct db *b,
    const char *bn, int64_t maxage, FILE *out)
{
	int counts[6] = {0}, bad = 0;

	if (!cli_handover_has(a) || !cli_handover_has(b)) {
		fprintf(out, "hand-overs: not recorded (a database older than "
		             "schema version 3)\n");
		return 0;
	}
	bad |= cli_handover_exports(a, an, b, bn, maxage, counts, out);
	bad |= cli_handover_exports(b, bn, a, an, maxage, counts, out);
	bad |= cli_handover_imports(b, bn, a, an, counts, out);
	bad |= cli_handover_imports(a, an, b, bn, counts, out);
	fprintf(out,
	    "hand-overs: handed over %d, refused %d, in transit %d, not "
	    "imported %d, unrecorded %d, superseded %d\n",
	    counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
	return bad;
}
