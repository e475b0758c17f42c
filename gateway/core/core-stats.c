/*
 * core-stats.c: statistics for the витрина (issue 15 item 5). For a period
 * [from, to] of local calendar days, per ЛКО x ПОС category x territory
 * (ОКТМО): new (filed in the period), in work (filed by its end and still
 * open then), overdue (edms_overdue_sql as of its end), repeated (confirmed,
 * filed in the period), answered (closed as answered in the period); beside
 * them the EDMS's own counts of appeals from other channels (posgw edms
 * stats import, table core_stats_other) whose ССТУ topic maps back to
 * exactly one ПОС category. The result is a <statistics> document
 * (statistics.xsd) queued for the edge with its journal entry in one
 * transaction: by posgw-core on its schedule ([edms] stats_interval; the
 * current month up to today, and once a month the whole month before) and by
 * posgw edms stats send.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>

#include "core-stats.h"
#include "edms.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "schema.h"
#include "xmalloc.h"

/* The document's attribute of each count. */
const char *const core_stats_names[CORE_STATS_NCOLS] = {"new", "in-work",
    "overdue", "repeated", "answered", "other-new", "other-in-work",
    "other-overdue", "other-answered"};

static void core_stats_text(sqlite3_stmt *st, int i, char *buf, size_t len);
static int core_stats_other_to(
    struct db *db, const char *from, const char *to, char *other_to);
static int core_stats_last(struct db *db, char *from, char *to, int64_t *at);
static int core_stats_scheduled(
    struct xfer *x, const char *from, const char *to);

/* The first day of the month of day today, and today, as YYYY-MM-DD. */
void
core_stats_month(long today, char *from, char *to)
{
	edms_date_format(today, to);
	snprintf(from, 11, "%.8s01", to);
}

/* Copy a text column into a fixed buffer ("" for NULL). */
static void
core_stats_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
}

/*
 * The other-channel counts a period uses: the import with the same first
 * day and the latest last day not after to. 1 with its last day, else 0.
 */
static int
core_stats_other_to(
    struct db *db, const char *from, const char *to, char *other_to)
{
	sqlite3_stmt *st;

	other_to[0] = '\0';
	st = db_prepare(db, "SELECT MAX(period_to) FROM core_stats_other"
	                    " WHERE period_from = ? AND period_to <= ?");
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		core_stats_text(st, 0, other_to, 11);
	db_finalize(st);
	return other_to[0] != '\0';
}

/*
 * Compute the statistics of [from, to] (checked dates, from <= to) into s.
 * Fails only on a database error or more than CORE_STATS_MAX_ROWS rows.
 */
int
core_stats_compute(struct db *db, const char *from, const char *to,
    struct core_stats *s, struct error *err)
{
	sqlite3_stmt *st;
	char *sql;
	int64_t sum;
	size_t k;
	int rc = 0, r;

	memset(s, 0, sizeof *s);
	snprintf(s->from, sizeof s->from, "%s", from);
	snprintf(s->to, sizeof s->to, "%s", to);
	core_stats_other_to(db, from, to, s->other_to);
	xasprintf(&sql,
	    "SELECT lko, cat, ok, SUM(a), SUM(b), SUM(c), SUM(d), SUM(e),"
	    " SUM(f), SUM(g), SUM(h), SUM(i) FROM ("
	    " SELECT COALESCE(lko_id, '') AS lko, COALESCE(category, '') AS"
	    "  cat, COALESCE(oktmo, '') AS ok,"
	    "  CASE WHEN substr(created, 1, 10) >= :from THEN 1 ELSE 0 END"
	    "  AS a,"
	    "  CASE WHEN state IN ('new', 'registered', 'in_work',"
	    "   'postponed') OR (closed_at IS NOT NULL AND closed_at > :today)"
	    "   THEN 1 ELSE 0 END AS b,"
	    "  CASE WHEN %s THEN 1 ELSE 0 END AS c,"
	    "  CASE WHEN repeated = 'confirmed' AND substr(created, 1, 10) >="
	    "   :from THEN 1 ELSE 0 END AS d,"
	    "  CASE WHEN state = 'answered' AND closed_at >= :from AND"
	    "   closed_at <= :today THEN 1 ELSE 0 END AS e,"
	    "  0 AS f, 0 AS g, 0 AS h, 0 AS i"
	    " FROM core_appeals WHERE substr(created, 1, 10) <= :today"
	    " UNION ALL"
	    " SELECT lko_id, category, oktmo, 0, 0, 0, 0, 0, new, in_work,"
	    "  overdue, answered FROM core_stats_other WHERE mapping ="
	    "  'mapped' AND period_from = :from AND period_to = :other)"
	    " GROUP BY lko, cat, ok ORDER BY lko, cat, ok",
	    edms_overdue_sql);
	st = db_prepare(db, sql);
	free(sql);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":from"), from,
	    -1, SQLITE_STATIC);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"), to,
	    -1, SQLITE_STATIC);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":other"),
	    s->other_to, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct core_stats_row row;
		memset(&row, 0, sizeof row);
		core_stats_text(st, 0, row.lko, sizeof row.lko);
		core_stats_text(st, 1, row.category, sizeof row.category);
		core_stats_text(st, 2, row.oktmo, sizeof row.oktmo);
		for (sum = 0, k = 0; k < CORE_STATS_NCOLS; k++) {
			row.c[k] = sqlite3_column_int64(st, (int)k + 3);
			if (row.c[k] > CORE_STATS_COUNT_MAX)
				row.c[k] = CORE_STATS_COUNT_MAX;
			sum += row.c[k];
		}
		if (sum == 0)
			continue;
		if (s->n >= CORE_STATS_MAX_ROWS) {
			err_set(err, ERR_NONE,
			    "statistics for %s..%s have more than %d rows "
			    "(ЛКО x category x territory); the document "
			    "cannot carry them, check core_appeals for "
			    "bogus codes",
			    from, to, CORE_STATS_MAX_ROWS);
			rc = -1;
			break;
		}
		s->rows = xreallocarray(s->rows, s->n + 1, sizeof *s->rows);
		s->rows[s->n++] = row;
	}
	if (rc == 0 && r != SQLITE_DONE && r != SQLITE_ROW) {
		db_set_err(db, err, "computing statistics");
		rc = -1;
	}
	db_finalize(st);
	if (rc == -1)
		core_stats_free(s);
	return rc;
}

/* Free computed statistics. */
void
core_stats_free(struct core_stats *s)
{
	free(s->rows);
	s->rows = NULL;
	s->n = 0;
}

/* Serialise statistics as a <statistics> document (statistics.xsd). */
void
core_stats_xml(const struct core_stats *s, const char *gateway, const char *id,
    const char *generated, char **xml, size_t *len)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr root, row;
	xmlChar *buf = NULL;
	char num[24];
	size_t i, k, ncols;
	int n = 0;

	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"statistics", NULL);
	if (doc == NULL || root == NULL)
		fatalx("cannot allocate an XML document");
	xmlSetNs(root, xmlNewNs(root, (const xmlChar *)NS_EXCHANGE, NULL));
	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, (const xmlChar *)"id", (const xmlChar *)id);
	xmlNewProp(root, (const xmlChar *)"gateway", (const xmlChar *)gateway);
	xmlNewProp(
	    root, (const xmlChar *)"period-from", (const xmlChar *)s->from);
	xmlNewProp(root, (const xmlChar *)"period-to", (const xmlChar *)s->to);
	xmlNewProp(
	    root, (const xmlChar *)"generated", (const xmlChar *)generated);
	if (s->other_to[0] != '\0')
		xmlNewProp(root, (const xmlChar *)"other-to",
		    (const xmlChar *)s->other_to);
	ncols =
	    s->other_to[0] != '\0' ? CORE_STATS_NCOLS : CORE_STATS_OTHER_NEW;
	for (i = 0; i < s->n; i++) {
		row = xmlNewChild(root, NULL, (const xmlChar *)"row", NULL);
		if (s->rows[i].lko[0] != '\0')
			xmlNewProp(row, (const xmlChar *)"lko-id",
			    (const xmlChar *)s->rows[i].lko);
		if (s->rows[i].category[0] != '\0')
			xmlNewProp(row, (const xmlChar *)"category",
			    (const xmlChar *)s->rows[i].category);
		if (s->rows[i].oktmo[0] != '\0')
			xmlNewProp(row, (const xmlChar *)"oktmo",
			    (const xmlChar *)s->rows[i].oktmo);
		for (k = 0; k < ncols; k++) {
			snprintf(num, sizeof num, "%" PRId64, s->rows[i].c[k]);
			xmlNewProp(row, (const xmlChar *)core_stats_names[k],
			    (const xmlChar *)num);
		}
	}
	xmlDocDumpFormatMemoryEnc(doc, &buf, &n, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (buf == NULL)
		fatalx("cannot serialise a statistics document");
	*xml = xstrndup((const char *)buf, (size_t)n);
	*len = (size_t)n;
	xmlFree(buf);
}

/*
 * Compute the statistics of [from, to] and queue them as a document for
 * the edge, with journal entry stats.queued and a row of core_stats_sent,
 * in one transaction; source says who asked (schedule, operator NAME). The
 * document's id goes into id (37 bytes), its row count into *rows.
 */
int
core_stats_queue(struct xfer *x, const char *gateway, const char *from,
    const char *to, const char *source, char *id, size_t *rows,
    struct error *err)
{
	struct db *db = xfer_db(x);
	struct core_stats s;
	sqlite3_stmt *st;
	char now[32], *xml = NULL, *detail;
	size_t len;

	pkg_uuid_new(id);
	pkg_time_format(time(NULL), now, sizeof now);
	if (db_begin(db, err) == -1)
		return -1;
	if (core_stats_compute(db, from, to, &s, err) == -1)
		goto rollback;
	core_stats_xml(&s, gateway, id, now, &xml, &len);
	*rows = s.n;
	xasprintf(&detail,
	    "statistics %s for %s..%s: %zu row(s)%s%s, by %.100s", id, from, to,
	    s.n, s.other_to[0] ? ", other channels to " : "", s.other_to,
	    source);
	core_stats_free(&s);
	if (spool_enqueue(x, "statistics", NULL, xml, len, NULL, 0, err) ==
	        -1 ||
	    journal_append(db, "stats.queued", NULL, NULL, detail, err) == -1) {
		free(detail);
		goto rollback;
	}
	free(detail);
	st = db_prepare(db,
	    "INSERT INTO core_stats_sent (id, period_from, period_to, rows,"
	    " document_id, source, at) VALUES (?, ?, ?, ?, (SELECT MAX(id)"
	    " FROM documents WHERE direction = 'out' AND kind ="
	    " 'statistics'), ?, ?)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)*rows);
	sqlite3_bind_text(st, 5,
	    strcmp(source, "schedule") == 0 ? "schedule" : "operator", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
	if (db_step_done(db, st, err) == -1 || db_commit(db, err) == -1)
		goto rollback;
	free(xml);
	return 0;
rollback:
	db_rollback(db);
	free(xml);
	return -1;
}

/* The last scheduled statistics: 1 with their period and time, else 0. */
static int
core_stats_last(struct db *db, char *from, char *to, int64_t *at)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(db,
	    "SELECT period_from, period_to, at FROM core_stats_sent WHERE"
	    " source = 'schedule' ORDER BY at DESC, rowid DESC LIMIT 1");
	if (sqlite3_step(st) == SQLITE_ROW) {
		core_stats_text(st, 0, from, 11);
		core_stats_text(st, 1, to, 11);
		*at = sqlite3_column_int64(st, 2);
		found = 1;
	}
	db_finalize(st);
	return found;
}

/* Queue the statistics of a period for the schedule, logging the outcome. */
static int
core_stats_scheduled(struct xfer *x, const char *from, const char *to)
{
	struct error err = {0};
	char id[37];
	size_t rows = 0;

	if (core_stats_queue(x, xfer_config(x)->own_id, from, to, "schedule",
	        id, &rows, &err) == -1) {
		log_warnx("statistics for %s..%s not queued: %s; trying again "
		          "in a minute",
		    from, to, err.text);
		return -1;
	}
	log_info("statistics %s for %s..%s queued for the edge (%zu row(s))",
	    id, from, to, rows);
	return 0;
}

/*
 * posgw-core's schedule, once a round: every interval seconds (0: never),
 * counted from when the schedule first ran (meta core_stats_since), the
 * current month up to today; when the month changed since the last
 * scheduled statistics, first the whole month before, so that each month
 * ends with its final counts. A failure is retried a minute later.
 */
int
core_stats_step(struct xfer *x, unsigned interval, int *did)
{
	static time_t failed;
	struct db *db = xfer_db(x);
	struct error err = {0};
	char lf[11], lt[11], from[11], to[11], pf[11], pt[11], num[24], *since;
	time_t now = time(NULL);
	int64_t at = 0;
	long first;
	int have;

	if (interval == 0 ||
	    (failed != 0 && now >= failed && now - failed < 60))
		return 0;
	if ((since = db_meta_get(db, "core_stats_since")) == NULL) {
		/* the schedule starts now: the first statistics an interval on */
		snprintf(num, sizeof num, "%lld", (long long)now);
		if (db_meta_set(db, "core_stats_since", num, &err) == -1) {
			log_warnx("statistics schedule: %s", err.text);
			failed = now;
			return -1;
		}
		return 0;
	}
	have = core_stats_last(db, lf, lt, &at);
	if (!have)
		at = strtoll(since, NULL, 10);
	free(since);
	if (now - (time_t)at < (time_t)interval && (time_t)at <= now)
		return 0;
	failed = 0;
	core_stats_month(edms_today(), from, to);
	if (have && strcmp(lf, from) < 0 &&
	    edms_date_parse(from, &first) == 0) {
		core_stats_month(first - 1, pf, pt);
		if (strcmp(lt, pt) < 0) {
			if (core_stats_scheduled(x, pf, pt) == -1) {
				failed = now;
				return -1;
			}
			(*did)++;
		}
	}
	if (core_stats_scheduled(x, from, to) == -1) {
		failed = now;
		return -1;
	}
	(*did)++;
	return 0;
}
