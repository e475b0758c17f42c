/*
 * edms.c: the EDMS exchange contract shared by posgw-core and posgw edms:
 * the core's tables, deadlines and allowed transitions. Reading an event
 * file is edms-event.c's, its signatures edms-sign.c's, writing one
 * edms-write.c's.
 *
 * The import contract: an event file is <import>/<anything>.xml (written as a
 * dot file and renamed into place), an <event> document of event.xsd in
 * which file/@path and file/@signature are plain file names in the import
 * folder (no '/', no leading '.', not ending in .xml), each answer file
 * written there before the event file, each with its detached CMS signature
 * (DER or PEM) by an official whom [edms] signer_trust trusts.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/pkcs7.h>
#include <libxml/tree.h>

#include "edms.h"
#include "filename.h"
#include "fsutil.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static long edms_days_from_civil(long y, int m, int d);
static void edms_col(sqlite3_stmt *st, int i, char *buf, size_t len);
static int edms_postpone(
    struct edms_appeal *a, const struct edms_event *ev, struct error *why);

/* Forward migrations of the core's tables; [i] takes version i to i+1. */
static const char *const edms_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE IF NOT EXISTS core_appeals ("
    " pos_id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " created TEXT NOT NULL,"
    " registered_at TEXT,"
    " due TEXT,"
    " last_n INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL CHECK (state IN ('new', 'registered',"
    " 'in_work', 'postponed', 'forwarded', 'declined', 'answered')),"
    " postpones INTEGER NOT NULL DEFAULT 0,"
    " feedbacks INTEGER NOT NULL DEFAULT 0,"
    " reappeal INTEGER NOT NULL DEFAULT 0,"
    " exported_at INTEGER NOT NULL,"
    " document_id INTEGER,"
    " category TEXT, category_name TEXT,"
    " subcategory TEXT, subcategory_name TEXT,"
    " sstu TEXT);"
    "CREATE TABLE IF NOT EXISTS core_events ("
    " pos_id TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " type TEXT NOT NULL,"
    " at TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " document_id INTEGER,"
    " source TEXT,"
    " digest TEXT,"
    " accepted INTEGER NOT NULL,"
    " outcome TEXT,"
    " PRIMARY KEY (pos_id, n));"
    "CREATE TABLE IF NOT EXISTS core_topics ("
    " pos_code TEXT PRIMARY KEY,"
    " sstu_code TEXT NOT NULL,"
    " name TEXT,"
    " line INTEGER NOT NULL);",
    /* 1 -> 2: reporting (issue 15): the ЛКО and territory of an appeal,
     * ПОС's own deadline, closure, forwarding (59-FZ art. 8), the answer's
     * result for ССТУ, repeated appeals (59-FZ art. 11) */
    "ALTER TABLE core_appeals ADD COLUMN lko_id TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN oktmo TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN pos_due TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN closed_at TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN forward_due TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN forward_kind TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN forward_to TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN result TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN measures INTEGER;"
    "ALTER TABLE core_appeals ADD COLUMN applicant_key TEXT;"
    "ALTER TABLE core_appeals ADD COLUMN repeated TEXT"
    " CHECK (repeated IN ('candidate', 'confirmed', 'rejected'));"
    "ALTER TABLE core_appeals ADD COLUMN repeated_of TEXT;"
    "CREATE TABLE IF NOT EXISTS core_applicant_keys ("
    " key TEXT NOT NULL,"
    " pos_id TEXT NOT NULL,"
    " PRIMARY KEY (key, pos_id)) WITHOUT ROWID;",
    /* 2 -> 3: statistics for the витрина (issue 15, core-stats.c): the
     * EDMS's own counts of appeals from other channels by ССТУ topic
     * (posgw edms stats import), and the statistics documents queued */
    "CREATE TABLE IF NOT EXISTS core_stats_other ("
    " period_from TEXT NOT NULL,"
    " period_to TEXT NOT NULL,"
    " lko_id TEXT NOT NULL,"
    " sstu_code TEXT NOT NULL,"
    " oktmo TEXT NOT NULL,"
    " mapping TEXT NOT NULL CHECK (mapping IN ('mapped', 'ambiguous',"
    "  'unmapped')),"
    " category TEXT,"
    " new INTEGER NOT NULL,"
    " in_work INTEGER NOT NULL,"
    " overdue INTEGER NOT NULL,"
    " answered INTEGER NOT NULL,"
    " line INTEGER NOT NULL,"
    " imported INTEGER NOT NULL,"
    " PRIMARY KEY (period_from, period_to, lko_id, sstu_code, oktmo));"
    "CREATE TABLE IF NOT EXISTS core_stats_sent ("
    " id TEXT PRIMARY KEY,"
    " period_from TEXT NOT NULL,"
    " period_to TEXT NOT NULL,"
    " rows INTEGER NOT NULL,"
    " document_id INTEGER,"
    " source TEXT NOT NULL,"
    " at INTEGER NOT NULL);",
    /* 3 -> 4: when the clerk decided on a repeated-appeal mark (the
     * decision's at), so an older decision cannot override a newer one */
    "ALTER TABLE core_appeals ADD COLUMN repeated_at TEXT;",
};

_Static_assert(
    sizeof edms_migrations / sizeof edms_migrations[0] == EDMS_SCHEMA_VERSION,
    "one migration per version of the core's tables");

/* The core's tables in the engine's database (meta key core_schema). */
const struct db_schema edms_db_schema = {
    "core", "core_schema", edms_migrations, EDMS_SCHEMA_VERSION};

/*
 * The appeals closed here at or before ?1, for retention: answered,
 * declined or forwarded by the EDMS, closed when its last event came.
 */
const char edms_closed_sql[] =
    "SELECT a.pos_id FROM core_appeals a WHERE a.state IN ('answered',"
    " 'declined', 'forwarded') AND COALESCE((SELECT MAX(v.accepted) FROM"
    " core_events v WHERE v.pos_id = a.pos_id), a.exported_at) <= ?1";

/*
 * The one definition of overdue, as of the day :today (YYYY-MM-DD), which
 * posgw edms list/overdue, the report and the statistics share: open past
 * its due date (ПОС's deadline when it gave one, else the configured days,
 * a postponement included), or forwarded after its forwarding deadline
 * (59-FZ art. 8 part 3: forward_days after registration).
 */
const char edms_overdue_sql[] =
    "((state IN ('new', 'registered', 'in_work', 'postponed') AND"
    " due IS NOT NULL AND due != '' AND due < :today) OR"
    " (state = 'forwarded' AND forward_due IS NOT NULL AND closed_at >"
    " forward_due))";

/* True if the database has the core's tables (a core's database). */
int
edms_have_schema(struct db *db)
{
	return db_schema_version(db, &edms_db_schema) >= 1;
}

/* The gateway database of a configuration, newly allocated. */
char *
edms_db_path(const struct conf *c)
{
	char *p;

	xasprintf(&p, "%s/posgw.db", c->state);
	return p;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long
edms_days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parse YYYY-MM-DD (a real calendar day) into days since 1970-01-01. */
int
edms_date_parse(const char *s, long *days)
{
	static const int mdays[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int i, y, m, d, leap;

	if (s == NULL || strlen(s) < 10)
		return -1;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return -1;
		} else if (!isdigit((unsigned char)s[i]))
			return -1;
	}
	if (s[10] != '\0' && s[10] != 'T')
		return -1;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1000 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	*days = edms_days_from_civil(y, m, d);
	return 0;
}

/* Format days since 1970-01-01 as YYYY-MM-DD into buf (11 bytes). */
void
edms_date_format(long z, char *buf)
{
	long era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)y % 10000u,
	    (unsigned)m % 100u, (unsigned)d % 100u);
}

/* Today's date (local time) in days since 1970-01-01. */
long
edms_today(void)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	return edms_days_from_civil(
	    (long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Today (local calendar day) as YYYY-MM-DD into buf (11 bytes). */
void
edms_today_str(char *buf)
{
	edms_date_format(edms_today(), buf);
}

/*
 * The due date of a newly exported appeal: a message is due message_days
 * after it was filed; a 59-FZ appeal appeal_days after registration, so
 * until it is registered, appeal_days after it was filed.
 */
int
edms_initial_due(
    const char *kind, const char *created, const struct conf_edms *e, char *due)
{
	long days;

	if (edms_date_parse(created, &days) == -1)
		return -1;
	days += strcmp(kind, "appeal59") == 0 ? (long)e->appeal_days
	                                      : (long)e->message_days;
	edms_date_format(days, due);
	return 0;
}

/* Copy a text column into a fixed buffer ("" for NULL). */
static void
edms_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
}

/* Load an appeal's row; 1 if found, 0 if the core does not know it. */
int
edms_appeal_load(struct db *db, const char *pos_id, struct edms_appeal *a)
{
	sqlite3_stmt *st;
	int found = 0;

	memset(a, 0, sizeof *a);
	st = db_prepare(db, "SELECT kind, created, state, due, registered_at,"
	                    " last_n, postpones, pos_due, forward_due,"
	                    " closed_at FROM core_appeals WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, pos_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(a->pos_id, sizeof a->pos_id, "%s", pos_id);
		edms_col(st, 0, a->kind, sizeof a->kind);
		edms_col(st, 1, a->created, sizeof a->created);
		edms_col(st, 2, a->state, sizeof a->state);
		edms_col(st, 3, a->due, sizeof a->due);
		edms_col(st, 4, a->registered, sizeof a->registered);
		a->last_n = (long)sqlite3_column_int64(st, 5);
		a->postpones = sqlite3_column_int(st, 6);
		edms_col(st, 7, a->pos_due, sizeof a->pos_due);
		edms_col(st, 8, a->forward_due, sizeof a->forward_due);
		edms_col(st, 9, a->closed, sizeof a->closed);
		found = 1;
	}
	db_finalize(st);
	return found;
}

/* True while an appeal still waits for the agency (counts toward overdue). */
int
edms_state_open(const char *state)
{
	return strcmp(state, "new") == 0 || strcmp(state, "registered") == 0 ||
	       strcmp(state, "in_work") == 0 || strcmp(state, "postponed") == 0;
}

/* A state as operators read it. */
const char *
edms_state_label(const char *state)
{
	return strcmp(state, "in_work") == 0 ? "in work" : state;
}

/* Apply a postpone to the due date, or say why it is not allowed. */
static int
edms_postpone(
    struct edms_appeal *a, const struct edms_event *ev, struct error *why)
{
	long until, due;
	char lim[11];

	if (strcmp(a->kind, "appeal59") == 0 && a->postpones >= 1)
		return err_what(why, "transition",
		    "appeal %s was postponed already; a 59-FZ appeal may be "
		    "postponed once",
		    a->pos_id);
	if (edms_date_parse(ev->date, &until) == -1)
		return err_what(why, "schema",
		    "postpone/@until %s is not a date", ev->date);
	if (a->due[0] != '\0' && edms_date_parse(a->due, &due) == 0) {
		if (until <= due)
			return err_what(why, "transition",
			    "postpone until %s is not after the due date %s "
			    "of appeal %s",
			    ev->date, a->due, a->pos_id);
		if (strcmp(a->kind, "appeal59") == 0 &&
		    until > due + EDMS_POSTPONE_DAYS) {
			edms_date_format(due + EDMS_POSTPONE_DAYS, lim);
			return err_what(why, "transition",
			    "postpone until %s: 59-FZ allows at most %d more "
			    "days, i.e. until %s",
			    ev->date, EDMS_POSTPONE_DAYS, lim);
		}
	}
	a->postpones++;
	snprintf(a->due, sizeof a->due, "%s", ev->date);
	return 0;
}

/*
 * Check that ev is the next event of appeal a and that its type may follow
 * a's state, then apply it: new state, last_n, registration date, due date.
 * registered comes first (decline and forward may also come first: a
 * moderation refusal, a misrouted appeal); nothing follows decline, answer
 * or forward; take-to-work, set-executor, postpone and answer need a
 * registration; a 59-FZ appeal is postponed at most once, by at most 30
 * days; a 59-FZ appeal is due appeal_days after registration.
 */
int
edms_advance(struct edms_appeal *a, const struct edms_event *ev,
    const struct conf_edms *e, struct error *why)
{
	const char *s = a->state, *t = ev->type, *next = s;
	long reg, created;

	if (ev->n <= a->last_n)
		return err_what(why, "order",
		    "event n=%ld of appeal %s was accepted already; the next "
		    "one is n=%ld",
		    ev->n, a->pos_id, a->last_n + 1);
	if (ev->n != a->last_n + 1)
		return err_what(why, "order",
		    "event n=%ld of appeal %s is not next: the next one is "
		    "n=%ld",
		    ev->n, a->pos_id, a->last_n + 1);
	if (strcmp(s, "declined") == 0 || strcmp(s, "answered") == 0 ||
	    strcmp(s, "forwarded") == 0)
		return err_what(why, "transition",
		    "appeal %s was %s (event n=%ld); no %s may follow",
		    a->pos_id, s, a->last_n, t);
	if (strcmp(t, "registered") == 0) {
		if (strcmp(s, "new") != 0)
			return err_what(why, "transition",
			    "appeal %s is registered already", a->pos_id);
		if (edms_date_parse(ev->date, &reg) == -1)
			return err_what(why, "schema",
			    "registration/@date %s is not a date", ev->date);
		if (edms_date_parse(a->created, &created) == 0 &&
		    reg < created - 1)
			return err_what(why, "transition",
			    "registration date %s is before appeal %s was "
			    "filed (%s)",
			    ev->date, a->pos_id, a->created);
		snprintf(a->registered, sizeof a->registered, "%s", ev->date);
		/* ПОС's deadline wins; else 59-FZ: 30 days from registration */
		if (strcmp(a->kind, "appeal59") == 0 && a->pos_due[0] == '\0')
			edms_date_format(reg + (long)e->appeal_days, a->due);
		/* 59-FZ art. 8 part 3: forwarded within 7 days of registration */
		if (strcmp(a->kind, "appeal59") == 0)
			edms_date_format(
			    reg + (long)e->forward_days, a->forward_due);
		next = "registered";
	} else if (strcmp(t, "decline") == 0) {
		next = "declined";
	} else if (strcmp(t, "forward") == 0) {
		next = "forwarded";
	} else if (strcmp(s, "new") == 0) {
		return err_what(why, "transition",
		    "appeal %s is not registered yet: its first event must be "
		    "registered (or decline, forward), not %s",
		    a->pos_id, t);
	} else if (strcmp(t, "take-to-work") == 0) {
		next = "in_work";
	} else if (strcmp(t, "set-executor") == 0) {
		next = s;
	} else if (strcmp(t, "postpone") == 0) {
		if (edms_postpone(a, ev, why) == -1)
			return -1;
		next = "postponed";
	} else if (strcmp(t, "answer") == 0) {
		next = "answered";
	} else
		return err_what(why, "schema", "unknown event type %s", t);
	if (next != a->state)
		snprintf(a->state, sizeof a->state, "%s", next);
	if (!edms_state_open(a->state) && a->closed[0] == '\0')
		snprintf(a->closed, sizeof a->closed, "%.10s", ev->at);
	a->last_n = ev->n;
	return 0;
}
