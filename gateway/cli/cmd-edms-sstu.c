/*
 * cmd-edms-sstu.c: posgw edms sstu: the monthly report of the core's
 * appeals by topic of the Общероссийский тематический классификатор (the
 * ССТУ code the map gave each appeal), per ЛКО, as CSV or XML
 * (formats/schemas/sstu-report.xsd) for an integrator to hand to ССТУ.РФ.
 *
 * Definitions, for the month [first, last] (dates, UTC days of created):
 *   received     created in the month
 *   considered   answered or declined, closed in the month (forwarded
 *                appeals are not considered by this agency)
 *   supported, explained, not_supported
 *                answered in the month with that result (no result given:
 *                explained)
 *   declined     declined in the month
 *   measures     answered in the month with measures taken
 *   forwarded    forwarded in the month
 *   in_progress  created by the month's end and not closed by then
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "edms.h"
#include "fsutil.h"
#include "log.h"
#include "xmalloc.h"

static const char cmd_edms_sstu_usage[] =
    "usage: posgw edms sstu --month YYYY-MM --config FILE [--format "
    "csv|xml]\n"
    "                       [--out FILE]\n"
    "\n"
    "The month's report for ССТУ.РФ: the core's appeals by ССТУ topic (the "
    "code\n"
    "posgw edms map import gave each appeal's ПОС category), one table per "
    "ЛКО.\n"
    "Columns: received (created in the month), considered (answered or "
    "declined\n"
    "in the month; forwarded appeals are not considered by this agency), "
    "supported,\n"
    "explained, not_supported (answered in the month with that result), "
    "declined,\n"
    "measures (answered in the month with measures taken), forwarded, "
    "in_progress\n"
    "(created by the month's end and not closed by then). Appeals without a "
    "topic\n"
    "are counted in the row 'unmapped' and named on stderr as a warning.\n"
    "  --format csv|xml  CSV (UTF-8, header line; the default) or XML\n"
    "                    (formats/schemas/sstu-report.xsd)\n"
    "  --out FILE        write there (replaced whole) instead of stdout\n"
    "The core's database is opened read-only. Exit 0, 1 on failure, 2 on a "
    "usage\n"
    "error.\n";

/* The counted columns, in the order of the CSV and the XML attributes. */
static const struct {
	const char *csv, *xml, *cond;
} cmd_edms_sstu_cols[] = {
    {"received", "received", "substr(created, 1, 10) BETWEEN :first AND :last"},
    {"considered", "considered",
        "state IN ('answered', 'declined') AND closed_at BETWEEN :first AND "
        ":last"},
    {"supported", "supported",
        "state = 'answered' AND closed_at BETWEEN :first AND :last AND "
        "COALESCE(result, 'explained') = 'supported'"},
    {"explained", "explained",
        "state = 'answered' AND closed_at BETWEEN :first AND :last AND "
        "COALESCE(result, 'explained') = 'explained'"},
    {"not_supported", "not-supported",
        "state = 'answered' AND closed_at BETWEEN :first AND :last AND "
        "COALESCE(result, 'explained') = 'not-supported'"},
    {"declined", "declined",
        "state = 'declined' AND closed_at BETWEEN :first AND :last"},
    {"measures", "measures",
        "state = 'answered' AND closed_at BETWEEN :first AND :last AND "
        "measures = 1"},
    {"forwarded", "forwarded",
        "state = 'forwarded' AND closed_at BETWEEN :first AND :last"},
    {"in_progress", "in-progress",
        "substr(created, 1, 10) <= :last AND ((closed_at IS NULL AND state "
        "IN ('new', 'registered', 'in_work', 'postponed')) OR closed_at > "
        ":last)"},
};
#define SSTU_NCOLS (sizeof cmd_edms_sstu_cols / sizeof cmd_edms_sstu_cols[0])

static int cmd_edms_sstu_month(const char *s, char *first, char *last);
static char *cmd_edms_sstu_sql(const char *select, const char *tail);
static void cmd_edms_sstu_bind(
    sqlite3_stmt *st, const char *first, const char *last);
static void cmd_edms_sstu_csv_field(FILE *f, const char *s);
static void cmd_edms_sstu_xml_attr(FILE *f, const char *name, const char *s);
static void cmd_edms_sstu_unmapped(
    struct db *db, const char *first, const char *last, const char *month);
static void cmd_edms_sstu_write(FILE *f, struct db *db, const char *first,
    const char *last, const char *month, int xml);

/*
 * Check YYYY-MM (a real month, year 1970..9999) and give its first and last
 * days as YYYY-MM-DD (11 bytes each); -1 if it is not one.
 */
static int
cmd_edms_sstu_month(const char *s, char *first, char *last)
{
	long days;
	int day;

	if (strlen(s) != 7 || s[4] != '-' || strspn(s, "0123456789") != 4 ||
	    strspn(s + 5, "0123456789") != 2 || atoi(s) < 1970)
		return -1;
	memcpy(first, s, 7);
	memcpy(first + 7, "-01", 4);
	if (edms_date_parse(first, &days) == -1)
		return -1; /* month 00 or 13..99 */
	memcpy(last, first, 11);
	for (day = 31; day >= 28; day--) {
		last[8] = (char)('0' + day / 10);
		last[9] = (char)('0' + day % 10);
		if (edms_date_parse(last, &days) == 0)
			return 0;
	}
	return -1;
}

/*
 * The statement "SELECT select, SUM(col)... FROM core_appeals tail", each
 * column counting the rows its condition holds for; allocated.
 */
static char *
cmd_edms_sstu_sql(const char *select, const char *tail)
{
	char *sql, *more;
	size_t i;

	xasprintf(&sql, "SELECT %s", select);
	for (i = 0; i < SSTU_NCOLS; i++) {
		xasprintf(&more, "%s, SUM(CASE WHEN %s THEN 1 ELSE 0 END)", sql,
		    cmd_edms_sstu_cols[i].cond);
		free(sql);
		sql = more;
	}
	xasprintf(&more, "%s FROM core_appeals %s", sql, tail);
	free(sql);
	return more;
}

/* Bind the month's :first and :last days. */
static void
cmd_edms_sstu_bind(sqlite3_stmt *st, const char *first, const char *last)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(st, ":first")) > 0)
		sqlite3_bind_text(st, i, first, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(st, ":last")) > 0)
		sqlite3_bind_text(st, i, last, -1, SQLITE_STATIC);
}

/* One CSV field, quoted when it holds a comma, a quote or a line break. */
static void
cmd_edms_sstu_csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* One XML attribute, its value escaped. */
static void
cmd_edms_sstu_xml_attr(FILE *f, const char *name, const char *s)
{
	fprintf(f, " %s=\"", name);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\n':
			fputs("&#10;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
	fputc('"', f);
}

/*
 * Warn on stderr about the month's appeals without an ССТУ topic, by ПОС
 * category: they are counted as 'unmapped', never given a guessed topic.
 */
static void
cmd_edms_sstu_unmapped(
    struct db *db, const char *first, const char *last, const char *month)
{
	sqlite3_stmt *st;
	char *sql, *any = NULL, *more;
	const char *cat;
	size_t i;

	for (i = 0; i < SSTU_NCOLS; i++) {
		xasprintf(&more, "%s%s(%s)", any != NULL ? any : "",
		    any != NULL ? " OR " : "", cmd_edms_sstu_cols[i].cond);
		free(any);
		any = more;
	}
	xasprintf(&sql,
	    "SELECT COALESCE(category, '-'), COUNT(*) FROM core_appeals WHERE"
	    " (sstu IS NULL OR sstu = '') AND (%s) GROUP BY 1 ORDER BY 1",
	    any);
	free(any);
	st = db_prepare(db, sql);
	free(sql);
	cmd_edms_sstu_bind(st, first, last);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cat = (const char *)sqlite3_column_text(st, 0);
		fprintf(stderr,
		    "posgw: edms sstu: warning: %s: %lld appeal(s) of ПОС "
		    "category %s have no ССТУ topic and are counted as "
		    "'unmapped'; add the category to the map (posgw edms map "
		    "import), which applies to appeals exported after it\n",
		    month, (long long)sqlite3_column_int64(st, 1), cat);
	}
	db_finalize(st);
}

/* Write the month's table as CSV or XML to f. */
static void
cmd_edms_sstu_write(FILE *f, struct db *db, const char *first, const char *last,
    const char *month, int xml)
{
	sqlite3_stmt *st;
	char *sql, *lko = NULL;
	const char *l, *topic;
	size_t i;

	sql = cmd_edms_sstu_sql(
	    "COALESCE(lko_id, ''), CASE WHEN sstu IS NULL OR sstu = '' THEN"
	    " 'unmapped' ELSE sstu END",
	    "GROUP BY 1, 2 ORDER BY 1, 2 = 'unmapped', 2");
	st = db_prepare(db, sql);
	free(sql);
	cmd_edms_sstu_bind(st, first, last);
	if (xml)
		fprintf(f,
		    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<sstu-report xmlns=\"urn:posgw:sstu-report:1\" "
		    "month=\"%s\" from=\"%s\" to=\"%s\">\n",
		    month, first, last);
	else {
		fputs("lko_id,topic", f);
		for (i = 0; i < SSTU_NCOLS; i++)
			fprintf(f, ",%s", cmd_edms_sstu_cols[i].csv);
		fputc('\n', f);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t sum = 0;

		for (i = 0; i < SSTU_NCOLS; i++)
			sum += sqlite3_column_int64(st, (int)i + 2);
		if (sum == 0)
			continue; /* nothing of this month */
		l = (const char *)sqlite3_column_text(st, 0);
		topic = (const char *)sqlite3_column_text(st, 1);
		if (xml && (lko == NULL || strcmp(lko, l) != 0)) {
			if (lko != NULL)
				fputs("  </lko>\n", f);
			fputs("  <lko", f);
			if (*l != '\0')
				cmd_edms_sstu_xml_attr(f, "id", l);
			fputs(">\n", f);
			free(lko);
			lko = xstrdup(l);
		}
		if (xml) {
			fputs("    <topic", f);
			cmd_edms_sstu_xml_attr(f, "code", topic);
			for (i = 0; i < SSTU_NCOLS; i++)
				fprintf(f, " %s=\"%lld\"",
				    cmd_edms_sstu_cols[i].xml,
				    (long long)sqlite3_column_int64(
				        st, (int)i + 2));
			fputs("/>\n", f);
			continue;
		}
		cmd_edms_sstu_csv_field(f, l);
		fputc(',', f);
		cmd_edms_sstu_csv_field(f, topic);
		for (i = 0; i < SSTU_NCOLS; i++)
			fprintf(f, ",%lld",
			    (long long)sqlite3_column_int64(st, (int)i + 2));
		fputc('\n', f);
	}
	db_finalize(st);
	if (xml)
		fprintf(
		    f, "%s</sstu-report>\n", lko != NULL ? "  </lko>\n" : "");
	free(lko);
}

/* posgw edms sstu */
int
cmd_edms_sstu(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"month", required_argument, NULL, 'm'},
	    {"format", required_argument, NULL, 'f'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *month = NULL, *format = "csv", *out = NULL;
	char first[11], last[11], *buf = NULL, *d, *b;
	struct error err = {0};
	struct conf c;
	struct db *db;
	size_t len = 0;
	FILE *f;
	int ch, xml, rc = 1;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'm':
			month = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(cmd_edms_sstu_usage, stdout);
			return 0;
		default:
			fputs(cmd_edms_sstu_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		cli_usage_error("edms sstu takes no arguments (see --help)");
	if (month == NULL)
		cli_usage_error("edms sstu needs --month YYYY-MM (see --help)");
	if (cmd_edms_sstu_month(month, first, last) == -1)
		cli_usage_error("--month %s: give a month as YYYY-MM, e.g. "
		                "2026-03",
		    month);
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	if (strcmp(format, "csv") != 0 && strcmp(format, "xml") != 0)
		cli_usage_error("--format is csv or xml, not '%s'", format);
	xml = strcmp(format, "xml") == 0;
	if (cmd_edms_conf(config, &c) == -1)
		return 1;
	if ((db = cmd_edms_db_ro(&c, 1, "edms sstu")) == NULL) {
		conf_free(&c);
		return 1;
	}
	if (db_schema_version(db, &edms_db_schema) < EDMS_SCHEMA_VERSION) {
		fprintf(stderr,
		    "posgw: edms sstu: the core's tables in %s are of an older "
		    "posgw; start posgw-core once (it upgrades them), then "
		    "try again\n",
		    db->path);
		goto out;
	}
	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("edms sstu: open_memstream");
	cmd_edms_sstu_write(f, db, first, last, month, xml);
	if (fclose(f) != 0)
		fatal("edms sstu: building the report in memory");
	cmd_edms_sstu_unmapped(db, first, last, month);
	if (out == NULL) {
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr,
			    "posgw: edms sstu: cannot write to stdout: %s\n",
			    strerror(errno));
			goto out;
		}
	} else if (cli_out_ok(out, "edms sstu") == -1) {
		goto out;
	} else {
		d = xstrdup(out);
		b = xstrdup(out);
		if (fs_write_file(dirname(d), basename(b), buf, len, 0644,
		        FS_WRITE_REPLACE, &err) == -1) {
			fprintf(stderr,
			    "posgw: edms sstu: cannot write %s: %s; check that "
			    "the folder exists and is writable and that there "
			    "is free space\n",
			    out, err.text);
			free(d);
			free(b);
			goto out;
		}
		free(d);
		free(b);
	}
	rc = 0;
out:
	free(buf);
	db_close(db);
	conf_free(&c);
	return rc;
}
