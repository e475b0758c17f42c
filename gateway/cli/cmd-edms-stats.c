/*
 * cmd-edms-stats.c: posgw edms stats: the statistics for the витрина
 * (core-stats.c) shown, queued for ПОС on demand, and the EDMS's own counts
 * of appeals from other channels imported from a CSV by ССТУ topic, each
 * topic mapped back to exactly one ПОС category (ambiguous and unmapped ones
 * are reported and kept aside, never guessed).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "core-stats.h"
#include "edms.h"
#include "journal.h"
#include "log.h"
#include "xfer.h"
#include "xmalloc.h"

#define STATS_CSV_MAX (16u << 20) /* bytes of an import file */
#define STATS_CSV_LINE 1024       /* bytes of one line */
#define STATS_CSV_ROWS 100000     /* data rows of one file */
#define STATS_CSV_SHOWN 50        /* errors printed before giving up */

static const char cmd_edms_stats_usage[] =
    "usage: posgw edms stats show [--from DATE --to DATE] --config FILE\n"
    "       posgw edms stats send [--from DATE --to DATE] --config FILE\n"
    "       posgw edms stats import FILE.csv --config FILE\n"
    "\n"
    "Statistics for the ПОС витрина per ЛКО, ПОС category and territory "
    "(ОКТМО):\n"
    "new, in work, overdue, repeated, answered, and the EDMS's own counts "
    "of\n"
    "appeals from other channels. The period is DATE..DATE (YYYY-MM-DD, "
    "local\n"
    "days, both included, not after today); without --from/--to the "
    "current month\n"
    "up to today. show prints them (read-only); send queues them for the "
    "edge,\n"
    "which uploads them to ПОС (journal: stats.queued); posgw-core also "
    "sends them\n"
    "every [edms] stats_interval. import loads the EDMS's CSV (UTF-8, "
    "header\n"
    "period_from,period_to,lko_id,sstu_code,oktmo,new,in_work,overdue,"
    "answered),\n"
    "replacing what was imported for the same periods, in one transaction "
    "(journal:\n"
    "operator.stats-import); a ССТУ topic that maps back to several ПОС "
    "categories\n"
    "(ambiguous) or to none (unmapped) is reported and its counts are kept "
    "aside.\n"
    "A bad file is refused whole, each problem named with its line. send "
    "and\n"
    "import run as posgw-core, show as any reader of the core's state.\n"
    "Exit 0, 1 on a bad file or failure, 2 on a usage error.\n";

static const char *const stats_header[] = {"period_from", "period_to", "lko_id",
    "sstu_code", "oktmo", "new", "in_work", "overdue", "answered"};
#define STATS_NF (sizeof stats_header / sizeof stats_header[0])

/* One data row of an import file. */
struct stats_in {
	char from[11], to[11], lko[21], sstu[65], oktmo[12];
	int64_t c[4];
	long line;
	const char *mapping; /* mapped, ambiguous, unmapped */
	char *category;      /* mapped: the ПОС category */
	char *codes;         /* ambiguous: the ПОС codes, comma-separated */
};

static int cmd_edms_stats_period(
    const char *from, const char *to, char *f, char *t);
static int cmd_edms_stats_show(
    const char *config, const char *from, const char *to);
static int cmd_edms_stats_send(
    const char *config, const char *from, const char *to);
static int cmd_edms_stats_import(const char *config, const char *path);
static int cmd_edms_stats_code(const char *s);
static int cmd_edms_stats_count(const char *s, int64_t *v);
static int cmd_edms_stats_row(const char *path, long line, char **f,
    const struct conf *c, struct stats_in *r, long *errors);
static int cmd_edms_stats_load(
    const char *path, const struct conf *c, struct stats_in **rows, size_t *n);
static int cmd_edms_stats_cmp(const void *a, const void *b);
static long cmd_edms_stats_repeats(
    const char *path, const struct stats_in *rows, size_t n, long shown);
static void cmd_edms_stats_map(struct db *db, struct stats_in *r);
static int cmd_edms_stats_store(struct db *db, const char *path,
    struct stats_in *rows, size_t n, struct error *err);
static void cmd_edms_stats_free(struct stats_in *rows, size_t n);

/* posgw edms stats show|send|import */
int
cmd_edms_stats(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *from = NULL, *to = NULL, *verb;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:f:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'h':
			fputs(cmd_edms_stats_usage, stdout);
			return 0;
		default:
			fputs(cmd_edms_stats_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 1)
		cli_usage_error("usage: posgw edms stats show|send|import ... "
		                "--config FILE (see --help)");
	verb = argv[optind];
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	if ((from == NULL) != (to == NULL))
		cli_usage_error("--from and --to go together (see --help)");
	if (strcmp(verb, "import") == 0) {
		if (argc - optind != 2 || from != NULL)
			cli_usage_error("usage: posgw edms stats import "
			                "FILE.csv --config FILE (see --help)");
		return cmd_edms_stats_import(config, argv[optind + 1]);
	}
	if (argc - optind != 1)
		cli_usage_error("posgw edms stats %s takes no file (see "
		                "--help)",
		    verb);
	if (strcmp(verb, "show") == 0)
		return cmd_edms_stats_show(config, from, to);
	if (strcmp(verb, "send") == 0)
		return cmd_edms_stats_send(config, from, to);
	cli_usage_error("posgw edms stats: unknown command '%s' (show, send, "
	                "import; see --help)",
	    verb);
	return EXIT_USAGE;
}

/*
 * The period asked for into f and t (11 bytes each): from..to, checked, or
 * the current month up to today. Returns 0, or -1 (printed).
 */
static int
cmd_edms_stats_period(const char *from, const char *to, char *f, char *t)
{
	long df, dt, today = edms_today();

	if (from == NULL) {
		core_stats_month(today, f, t);
		return 0;
	}
	if (edms_date_parse(from, &df) == -1 || from[10] != '\0' ||
	    edms_date_parse(to, &dt) == -1 || to[10] != '\0') {
		fprintf(stderr, "posgw: edms stats: --from and --to are "
		                "calendar dates YYYY-MM-DD\n");
		return -1;
	}
	if (df > dt || dt > today) {
		fprintf(stderr,
		    "posgw: edms stats: the period %s..%s %s; give a first "
		    "day not after the last, and a last day not after "
		    "today\n",
		    from, to,
		    df > dt ? "ends before it begins" : "ends after today");
		return -1;
	}
	snprintf(f, 11, "%s", from);
	snprintf(t, 11, "%s", to);
	return 0;
}

/* posgw edms stats show: the statistics of a period, one row a line. */
static int
cmd_edms_stats_show(const char *config, const char *from, const char *to)
{
	struct error err = {0};
	struct core_stats s;
	sqlite3_stmt *st;
	struct conf c;
	struct db *db;
	char f[11], t[11];
	size_t i, k, ncols;

	if (cmd_edms_stats_period(from, to, f, t) == -1)
		return EXIT_USAGE;
	if (cmd_edms_conf(config, &c) == -1)
		return 1;
	if ((db = cmd_edms_db_ro(&c, 1, "edms stats show")) == NULL) {
		conf_free(&c);
		return 1;
	}
	if (db_schema_version(db, &edms_db_schema) < EDMS_SCHEMA_VERSION) {
		fprintf(stderr,
		    "posgw: edms stats show: the core's tables are older "
		    "than this posgw; start posgw-core once to upgrade "
		    "them\n");
		db_close(db);
		conf_free(&c);
		return 1;
	}
	if (core_stats_compute(db, f, t, &s, &err) == -1) {
		fprintf(stderr, "posgw: edms stats show: %s\n", err.text);
		db_close(db);
		conf_free(&c);
		return 1;
	}
	printf("statistics %s..%s: %zu row(s)", f, t, s.n);
	if (s.other_to[0] != '\0')
		printf(", other channels %s..%s", f, s.other_to);
	printf("\n");
	ncols = s.other_to[0] != '\0' ? CORE_STATS_NCOLS : CORE_STATS_OTHER_NEW;
	for (i = 0; i < s.n; i++) {
		printf("lko=%s category=%s oktmo=%s",
		    s.rows[i].lko[0] ? s.rows[i].lko : "-",
		    s.rows[i].category[0] ? s.rows[i].category : "-",
		    s.rows[i].oktmo[0] ? s.rows[i].oktmo : "-");
		for (k = 0; k < ncols; k++)
			printf(" %s=%" PRId64, core_stats_names[k],
			    s.rows[i].c[k]);
		printf("\n");
	}
	st = db_prepare(db,
	    "SELECT mapping, sstu_code, lko_id, oktmo, new, in_work, overdue,"
	    " answered FROM core_stats_other WHERE mapping != 'mapped' AND"
	    " period_from = ? AND period_to = ? ORDER BY line");
	sqlite3_bind_text(st, 1, f, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s.other_to, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("kept aside (%s): sstu=%s lko=%s oktmo=%s new=%lld "
		       "in-work=%lld overdue=%lld answered=%lld\n",
		    sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2),
		    *sqlite3_column_text(st, 3)
		        ? (const char *)sqlite3_column_text(st, 3)
		        : "-",
		    sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
		    sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7));
	db_finalize(st);
	core_stats_free(&s);
	db_close(db);
	conf_free(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "posgw: edms stats show: cannot write to "
		                "standard output\n");
		return 1;
	}
	return 0;
}

/* posgw edms stats send: queue the statistics of a period for ПОС. */
static int
cmd_edms_stats_send(const char *config, const char *from, const char *to)
{
	struct error err = {0};
	struct xfer *x;
	struct conf c;
	char f[11], t[11], id[37], *source;
	size_t rows = 0;
	int rc = 1;

	if (cmd_edms_stats_period(from, to, f, t) == -1)
		return EXIT_USAGE;
	if (cmd_edms_conf(config, &c) == -1)
		return 1;
	if (cli_as_owner(c.state, "edms stats send") == -1) {
		conf_free(&c);
		return 1;
	}
	if ((x = xfer_open(&c.x, 1, &err)) == NULL) {
		fprintf(stderr, "posgw: %s\n", err.text);
		conf_free(&c);
		return 1;
	}
	xasprintf(&source, "operator %.64s", cli_operator());
	if (db_upgrade(xfer_db(x), &edms_db_schema, &err) == -1 ||
	    core_stats_queue(x, c.x.own_id, f, t, source, id, &rows, &err) ==
	        -1)
		fprintf(stderr,
		    "posgw: edms stats send: %s; nothing was queued\n",
		    err.text);
	else {
		printf("queued statistics %s for %s..%s (%zu row(s)); the edge "
		       "uploads them to ПОС\n",
		    id, f, t, rows);
		rc = 0;
	}
	free(source);
	xfer_close(x);
	conf_free(&c);
	return rc;
}

/* True for a code: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
static int
cmd_edms_stats_code(const char *s)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("._-", s[i]) == NULL)
			return 0;
	return i <= 64;
}

/* A count: 1 to 9 decimal digits into *v; -1 if it is not one. */
static int
cmd_edms_stats_count(const char *s, int64_t *v)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 9 || s[n] != '\0')
		return -1;
	*v = strtoll(s, NULL, 10);
	return 0;
}

/*
 * Check one data row's fields f[STATS_NF] into r; every problem is printed
 * with file and line and counted in *errors. Returns 0 if the row is good.
 */
static int
cmd_edms_stats_row(const char *path, long line, char **f, const struct conf *c,
    struct stats_in *r, long *errors)
{
	long df, dt;
	size_t k, n;
	int bad = 0;

#define STATS_BAD(...)                                                         \
	do {                                                                   \
		if (*errors < STATS_CSV_SHOWN) {                               \
			fprintf(stderr, "posgw: %s:%ld: ", path, line);        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
		(*errors)++;                                                   \
		bad = 1;                                                       \
	} while (0)

	memset(r, 0, sizeof *r);
	r->line = line;
	if (edms_date_parse(f[0], &df) == -1 || f[0][10] != '\0' ||
	    edms_date_parse(f[1], &dt) == -1 || f[1][10] != '\0')
		STATS_BAD("period_from '%.40s' or period_to '%.40s' is not a "
		          "date YYYY-MM-DD; export the dates in ISO form",
		    f[0], f[1]);
	else if (df > dt)
		STATS_BAD(
		    "the period %s..%s ends before it begins", f[0], f[1]);
	else if (dt > edms_today())
		STATS_BAD("the period %s..%s ends after today; statistics "
		          "are for days that have passed",
		    f[0], f[1]);
	n = strspn(f[2], "0123456789");
	if (n == 0 || n > 20 || f[2][n] != '\0')
		STATS_BAD("lko_id '%.40s' is not a ПОС organization id (1 to "
		          "20 digits)",
		    f[2]);
	else if (c->nlko > 0 && conf_lko_find(c, f[2]) == NULL)
		STATS_BAD("ЛКО %s is not one this gateway serves ([lko] of "
		          "%s); fix the file or add the ЛКО to [lko]",
		    f[2], c->path);
	if (!cmd_edms_stats_code(f[3]))
		STATS_BAD("sstu_code '%.80s' is not a ССТУ code (letters, "
		          "digits, '.', '_', '-', at most 64)",
		    f[3]);
	n = strspn(f[4], "0123456789");
	if (f[4][n] != '\0' || (n != 0 && n != 8 && n != 11))
		STATS_BAD("oktmo '%.40s' is not an ОКТМО code (8 or 11 "
		          "digits, or empty)",
		    f[4]);
	for (k = 0; k < 4; k++)
		if (cmd_edms_stats_count(f[5 + k], &r->c[k]) == -1)
			STATS_BAD("%s '%.40s' is not a count (0 to 999999999, "
			          "digits only, no sign)",
			    stats_header[5 + k], f[5 + k]);
#undef STATS_BAD
	if (bad)
		return -1;
	snprintf(r->from, sizeof r->from, "%s", f[0]);
	snprintf(r->to, sizeof r->to, "%s", f[1]);
	snprintf(r->lko, sizeof r->lko, "%s", f[2]);
	snprintf(r->sstu, sizeof r->sstu, "%s", f[3]);
	snprintf(r->oktmo, sizeof r->oktmo, "%s", f[4]);
	return 0;
}

/* Order import rows by period, ЛКО, topic, territory, then line. */
static int
cmd_edms_stats_cmp(const void *a, const void *b)
{
	const struct stats_in *x = *(const struct stats_in *const *)a;
	const struct stats_in *y = *(const struct stats_in *const *)b;
	int c;

	if ((c = strcmp(x->from, y->from)) != 0 ||
	    (c = strcmp(x->to, y->to)) != 0 ||
	    (c = strcmp(x->lko, y->lko)) != 0 ||
	    (c = strcmp(x->sstu, y->sstu)) != 0 ||
	    (c = strcmp(x->oktmo, y->oktmo)) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Report every row that repeats an earlier one (same period, ЛКО, topic and
 * territory), naming both lines; shown errors were printed already.
 * Returns how many.
 */
static long
cmd_edms_stats_repeats(
    const char *path, const struct stats_in *rows, size_t n, long shown)
{
	const struct stats_in **p;
	long repeats = 0;
	size_t i, run = 1;

	if (n < 2)
		return 0;
	p = xcalloc(n, sizeof *p);
	for (i = 0; i < n; i++)
		p[i] = &rows[i];
	qsort(p, n, sizeof *p, cmd_edms_stats_cmp);
	for (i = 1; i < n; i++) {
		/* one period must fit one statistics document */
		if (strcmp(p[i]->from, p[i - 1]->from) == 0 &&
		    strcmp(p[i]->to, p[i - 1]->to) == 0) {
			if (++run == CORE_STATS_MAX_ROWS + 1) {
				fprintf(stderr,
				    "posgw: %s:%ld: more than %d rows for the "
				    "period %s..%s; a statistics document "
				    "carries at most %d rows: export shorter "
				    "periods\n",
				    path, p[i]->line, CORE_STATS_MAX_ROWS,
				    p[i]->from, p[i]->to, CORE_STATS_MAX_ROWS);
				repeats++;
			}
		} else
			run = 1;
		if (strcmp(p[i]->from, p[i - 1]->from) != 0 ||
		    strcmp(p[i]->to, p[i - 1]->to) != 0 ||
		    strcmp(p[i]->lko, p[i - 1]->lko) != 0 ||
		    strcmp(p[i]->sstu, p[i - 1]->sstu) != 0 ||
		    strcmp(p[i]->oktmo, p[i - 1]->oktmo) != 0)
			continue;
		if (shown + repeats < STATS_CSV_SHOWN)
			fprintf(stderr,
			    "posgw: %s:%ld: repeats line %ld (same period, "
			    "lko_id, sstu_code and oktmo); give each once\n",
			    path, p[i]->line, p[i - 1]->line);
		repeats++;
	}
	free(p);
	return repeats;
}

/*
 * Refuse a file with a NUL byte, naming its line: the line reader would
 * stop at it and silently drop the rest of the line (regression
 * stats-import-nul-truncates). Rewinds the file.
 */
static int
cmd_edms_stats_nul(const char *path, FILE *fp)
{
	char chunk[65536];
	size_t n, i;
	long line = 1;

	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		for (i = 0; i < n; i++) {
			if (chunk[i] == '\n')
				line++;
			else if (chunk[i] == '\0') {
				fprintf(stderr,
				    "posgw: %s:%ld: contains a NUL byte; this "
				    "is not a UTF-8 text export; nothing "
				    "stored\n",
				    path, line);
				return -1;
			}
		}
	rewind(fp);
	return 0;
}

/*
 * Read and check an import file: header, then rows of STATS_NF fields
 * separated by ',' (no quoting: every field is a date, code or count).
 * Prints every problem (file:line); -1 if there was any.
 */
static int
cmd_edms_stats_load(
    const char *path, const struct conf *c, struct stats_in **rows, size_t *n)
{
	char buf[STATS_CSV_LINE + 2], *f[STATS_NF + 1], *p, *q;
	struct stats_in r;
	struct stat sb;
	long line = 0, errors = 0;
	size_t nf, len, i, j;
	FILE *fp;
	int fd;

	*rows = NULL;
	*n = 0;
	/* regression stats-import-fifo-hangs: O_NONBLOCK, then the type */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		fprintf(stderr, "posgw: cannot read %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr,
		    "posgw: %s: not a regular file (a folder, device or "
		    "FIFO); give the CSV file the EDMS exported\n",
		    path);
		close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size > STATS_CSV_MAX) {
		fprintf(stderr,
		    "posgw: %s: larger than %u MiB; split the export by "
		    "period\n",
		    path, STATS_CSV_MAX >> 20);
		close(fd);
		return -1;
	}
	if ((fp = fdopen(fd, "rb")) == NULL)
		fatal("fdopen %s", path);
	if (cmd_edms_stats_nul(path, fp) == -1) {
		fclose(fp);
		return -1;
	}
	while (fgets(buf, sizeof buf, fp) != NULL) {
		line++;
		len = strlen(buf);

		if (len == sizeof buf - 1 && buf[len - 1] != '\n') {
			fprintf(stderr,
			    "posgw: %s:%ld: line longer than %d bytes; this "
			    "is not a statistics export\n",
			    path, line, STATS_CSV_LINE);
			errors++;
			break;
		}
		while (
		    len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		p = buf;
		if (line == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
			p += 3; /* byte order mark */
		if (line > 1 && *p == '\0')
			continue;
		for (nf = 0; nf <= STATS_NF; nf++) {
			f[nf] = p;
			if ((q = strchr(p, ',')) == NULL) {
				nf++;
				break;
			}
			*q = '\0';
			p = q + 1;
		}
		for (i = 0; i < nf && i < STATS_NF; i++) {
			/* trim blanks around a field */
			while (*f[i] == ' ' || *f[i] == '\t')
				f[i]++;
			for (j = strlen(f[i]);
			     j > 0 &&
			     (f[i][j - 1] == ' ' || f[i][j - 1] == '\t');
			     j--)
				f[i][j - 1] = '\0';
		}
		if (line == 1) {
			for (i = 0; i < nf && i < STATS_NF; i++)
				if (strcasecmp(f[i], stats_header[i]) != 0)
					break;
			if (nf != STATS_NF || i != STATS_NF) {
				fprintf(stderr,
				    "posgw: %s:1: the header row must be "
				    "period_from,period_to,lko_id,sstu_code,"
				    "oktmo,new,in_work,overdue,answered "
				    "(comma-separated, UTF-8); see "
				    "operator.md\n",
				    path);
				errors++;
				break;
			}
			continue;
		}
		if (nf != STATS_NF) {
			if (errors < STATS_CSV_SHOWN)
				fprintf(stderr,
				    "posgw: %s:%ld: %s field(s) where the "
				    "header has %zu; fields are separated by "
				    "',' and never quoted\n",
				    path, line,
				    nf > STATS_NF ? "more" : "fewer", STATS_NF);
			errors++;
			continue;
		}
		if (*n >= STATS_CSV_ROWS) {
			fprintf(stderr,
			    "posgw: %s:%ld: more than %d rows; split the "
			    "export by period\n",
			    path, line, STATS_CSV_ROWS);
			errors++;
			break;
		}
		if (cmd_edms_stats_row(path, line, f, c, &r, &errors) == -1)
			continue;
		*rows = xreallocarray(*rows, *n + 1, sizeof **rows);
		(*rows)[(*n)++] = r;
	}
	errors += cmd_edms_stats_repeats(path, *rows, *n, errors);
	if (ferror(fp)) {
		fprintf(stderr, "posgw: cannot read %s: %s\n", path,
		    strerror(errno));
		errors++;
	}
	fclose(fp);
	if (line == 0) {
		fprintf(stderr,
		    "posgw: %s:1: the file is empty; it needs the header "
		    "row\n",
		    path);
		errors++;
	}
	if (errors > 0) {
		if (errors > STATS_CSV_SHOWN)
			fprintf(stderr,
			    "posgw: %s: %ld more error(s) not "
			    "shown\n",
			    path, errors - STATS_CSV_SHOWN);
		fprintf(stderr, "posgw: %s: %ld error(s); nothing stored\n",
		    path, errors);
		cmd_edms_stats_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/* Map a row's ССТУ topic back to ПОС: exactly one pos_code, or not. */
static void
cmd_edms_stats_map(struct db *db, struct stats_in *r)
{
	sqlite3_stmt *st;
	size_t k = 0;

	st = db_prepare(db, "SELECT pos_code FROM core_topics WHERE"
	                    " sstu_code = ? ORDER BY pos_code LIMIT 11");
	sqlite3_bind_text(st, 1, r->sstu, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(st, 0);
		if (k == 0)
			r->category = xstrdup(code);
		else if (k < 10) {
			char *s;
			xasprintf(&s, "%s, %s",
			    r->codes != NULL ? r->codes : r->category, code);
			free(r->codes);
			r->codes = s;
		} else {
			char *s;
			xasprintf(&s, "%s, ...", r->codes);
			free(r->codes);
			r->codes = s;
		}
		k++;
	}
	db_finalize(st);
	r->mapping = k == 1 ? "mapped" : k == 0 ? "unmapped" : "ambiguous";
	if (k > 1) {
		free(r->category);
		r->category = NULL;
	}
}

/*
 * Store checked rows, replacing each period they cover, with journal
 * entries (the import, and each ambiguous or unmapped topic), inside the
 * caller's transaction; ambiguous and unmapped rows are printed.
 */
static int
cmd_edms_stats_store(struct db *db, const char *path, struct stats_in *rows,
    size_t n, struct error *err)
{
	sqlite3_stmt *st;
	char *detail;
	long replaced = 0, counts[3] = {0, 0, 0};
	size_t i, j;
	int k;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(rows[j].from, rows[i].from) == 0 &&
			    strcmp(rows[j].to, rows[i].to) == 0)
				break;
		if (j < i)
			continue; /* period replaced already */
		st = db_prepare(db, "DELETE FROM core_stats_other WHERE"
		                    " period_from = ? AND period_to = ?");
		sqlite3_bind_text(st, 1, rows[i].from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rows[i].to, -1, SQLITE_STATIC);
		if (db_step_done(db, st, err) == -1)
			return -1;
		replaced += sqlite3_changes(db->h);
	}
	for (i = 0; i < n; i++) {
		struct stats_in *r = &rows[i];
		cmd_edms_stats_map(db, r);
		k = r->mapping[0] == 'm' ? 0 : r->mapping[0] == 'a' ? 1 : 2;
		counts[k]++;
		st = db_prepare(db,
		    "INSERT INTO core_stats_other (period_from, period_to,"
		    " lko_id, sstu_code, oktmo, mapping, category, new,"
		    " in_work, overdue, answered, line, imported) VALUES"
		    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
		sqlite3_bind_text(st, 1, r->from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->to, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->lko, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->sstu, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->oktmo, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, r->mapping, -1, SQLITE_STATIC);
		if (r->category != NULL)
			sqlite3_bind_text(
			    st, 7, r->category, -1, SQLITE_STATIC);
		for (j = 0; j < 4; j++)
			sqlite3_bind_int64(st, (int)j + 8, r->c[j]);
		sqlite3_bind_int64(st, 12, r->line);
		sqlite3_bind_int64(st, 13, (int64_t)time(NULL));
		if (db_step_done(db, st, err) == -1)
			return -1;
		if (k == 0)
			continue;
		/* the first few named; the summary entry counts them all */
		if (counts[1] + counts[2] > STATS_CSV_SHOWN)
			continue;
		if (k == 1)
			xasprintf(&detail,
			    "%.300s:%ld: ССТУ topic %s (ЛКО %s, %s..%s) maps "
			    "back to several ПОС categories (%s): ambiguous, "
			    "its counts kept aside",
			    path, r->line, r->sstu, r->lko, r->from, r->to,
			    r->codes);
		else
			xasprintf(&detail,
			    "%.300s:%ld: ССТУ topic %s (ЛКО %s, %s..%s) maps "
			    "back to no ПОС category: unmapped, its counts "
			    "kept aside",
			    path, r->line, r->sstu, r->lko, r->from, r->to);
		printf("%s; not added to any category (fix the ПОС -> ССТУ "
		       "table with posgw edms map import, then import "
		       "again)\n",
		    detail);
		if (journal_append(db,
		        k == 1 ? "stats.ambiguous" : "stats.unmapped", NULL,
		        NULL, detail, err) == -1) {
			free(detail);
			return -1;
		}
		free(detail);
	}
	xasprintf(&detail,
	    "%zu row(s) of other-channel counts from %.300s by %.64s: %ld "
	    "mapped, %ld ambiguous, %ld unmapped; %ld earlier row(s) of the "
	    "same period(s) replaced",
	    n, path, cli_operator(), counts[0], counts[1], counts[2], replaced);
	printf("%s\n", detail);
	if (journal_append(
	        db, "operator.stats-import", NULL, NULL, detail, err) == -1) {
		free(detail);
		return -1;
	}
	free(detail);
	return 0;
}

/* Free import rows. */
static void
cmd_edms_stats_free(struct stats_in *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].category);
		free(rows[i].codes);
	}
	free(rows);
}

/* posgw edms stats import: the EDMS's other-channel counts from a CSV. */
static int
cmd_edms_stats_import(const char *config, const char *path)
{
	struct stats_in *rows = NULL;
	struct error err = {0};
	struct xfer *x;
	struct conf c;
	struct db *db;
	size_t n = 0;
	int rc = 1;

	if (cmd_edms_conf(config, &c) == -1)
		return 1;
	if (cmd_edms_stats_load(path, &c, &rows, &n) == -1) {
		conf_free(&c);
		return 1;
	}
	if (cli_as_owner(c.state, "edms stats import") == -1)
		goto out;
	{
		/* never a new database: the core's must be there */
		char *dbp = edms_db_path(&c);
		int missing = access(dbp, F_OK) == -1;
		if (missing)
			fprintf(stderr,
			    "posgw: edms stats import: database %s does not "
			    "exist; has posgw-core run with %s? Nothing "
			    "stored\n",
			    dbp, config);
		free(dbp);
		if (missing)
			goto out;
	}
	if ((x = xfer_open(&c.x, 1, &err)) == NULL) {
		fprintf(stderr, "posgw: %s\n", err.text);
		goto out;
	}
	db = xfer_db(x);
	if (db_upgrade(db, &edms_db_schema, &err) == -1 ||
	    db_begin(db, &err) == -1)
		goto fail;
	if (cmd_edms_stats_store(db, path, rows, n, &err) == -1) {
		db_rollback(db);
		goto fail;
	}
	if (db_commit(db, &err) == -1)
		goto fail;
	rc = 0;
	goto done;
fail:
	fprintf(
	    stderr, "posgw: edms stats import: %s; nothing stored\n", err.text);
done:
	xfer_close(x);
out:
	cmd_edms_stats_free(rows, n);
	conf_free(&c);
	return rc;
}
