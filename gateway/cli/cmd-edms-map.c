/*
 * cmd-edms-map.c: posgw edms map import: the ПОС category -> ССТУ topic
 * table from a CSV (UTF-8, header row), every problem reported with its
 * line, loaded in one transaction and journaled.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "edms.h"
#include "fsutil.h"
#include "journal.h"
#include "cli.h"
#include "schema.h"
#include "xfer.h"
#include "xmalloc.h"

#define EDMS_CSV_MAX (64u << 20) /* bytes of a mapping table */

static const char cmd_edms_map_usage[] =
    "usage: posgw edms map import FILE.csv --config FILE\n"
    "\n"
    "Load the table that maps ПОС category and subcategory codes to the "
    "agency's\n"
    "ССТУ topic codes into the core's database, replacing the previous "
    "table, in\n"
    "one transaction (journal: operator.map-import). The CSV is UTF-8 "
    "with a\n"
    "header row pos_code,sstu_code[,name]; fields may be quoted (\"...\", "
    "\"\" for a\n"
    "quote); ';' separates when the header has no ','. Codes are letters, "
    "digits,\n"
    "'.', '_', '-' (at most 64); name is the topic's name (optional). A "
    "pos_code\n"
    "given twice is an error naming both lines; repeated names are fine. "
    "posgw-core\n"
    "adds <topic sstu-code=\"...\"> to appeals it exports from then on "
    "(the\n"
    "subcategory's mapping first, else the category's).\n"
    "Exit 0 when loaded, 1 on a bad file or failure, 2 on a usage error.\n";

/* One row of the mapping table. */
struct edms_map {
	char *pos;
	char *sstu;
	char *name;
	long line;
};

/* A parsed CSV record: its fields and first line. */
struct edms_rec {
	char **f;
	size_t n;
	long line;
};

static void cmd_edms_map_rec_free(struct edms_rec *r);
static int cmd_edms_map_csv_record(const char **p, const char *end, char sep,
    long *line, struct edms_rec *r, char *err, size_t errlen);
static char *cmd_edms_map_trim(char *s);
static int cmd_edms_map_is_code(const char *s);
static size_t cmd_edms_map_utf8_bad(const unsigned char *s, size_t len);
static int cmd_edms_map_cmp(const void *a, const void *b);
static size_t cmd_edms_map_utf8_chars(const char *s);
static const char *cmd_edms_map_name_why(const char *s);
static int cmd_edms_map_csv_load(
    const char *path, struct edms_map **out, size_t *nout);

static int cmd_edms_map_csv_record(const char **p, const char *end, char sep,
    long *line, struct edms_rec *r, char *err, size_t errlen);
static char *cmd_edms_map_trim(char *s);
static const char *cmd_edms_map_name_why(const char *s);
static int cmd_edms_map_csv_load(
    const char *path, struct edms_map **out, size_t *nout);

static int cmd_edms_map_csv_record(const char **p, const char *end, char sep,
    long *line, struct edms_rec *r, char *err, size_t errlen);
static char *cmd_edms_map_trim(char *s);
static const char *cmd_edms_map_name_why(const char *s);
static long cmd_edms_map_repeats(
    const char *path, const struct edms_map *m, size_t n);
static int cmd_edms_map_csv_load(
    const char *path, struct edms_map **out, size_t *nout);

/* Free a record's fields. */
static void
cmd_edms_map_rec_free(struct edms_rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->f[i]);
	free(r->f);
	memset(r, 0, sizeof *r);
}

/*
 * Read one CSV record from *p (RFC 4180: quoted fields with "" for a quote,
 * which may span lines). Returns 1 with a record, 0 at the end, -1 with a
 * message in err.
 */
static int
cmd_edms_map_csv_record(const char **p, const char *end, char sep, long *line,
    struct edms_rec *r, char *err, size_t errlen)
{
	const char *s = *p;
	char *buf;
	size_t len, cap;
	int quoted;

	memset(r, 0, sizeof *r);
	if (s >= end)
		return 0;
	r->line = *line;
	for (;;) {
		cap = 64;
		len = 0;
		buf = xmalloc(cap);
		quoted = 0;
		if (s < end && *s == '"') {
			quoted = 1;
			s++;
			for (;;) {
				if (s >= end) {
					free(buf);
					snprintf(err, errlen,
					    "line %ld: a quoted field is not "
					    "closed",
					    r->line);
					cmd_edms_map_rec_free(r);
					return -1;
				}
				if (*s == '"' && s + 1 < end && s[1] == '"')
					s++;
				else if (*s == '"') {
					s++;
					break;
				}
				if (*s == '\n')
					(*line)++;
				if (len + 2 > cap)
					buf = xreallocarray(buf, cap *= 2, 1);
				buf[len++] = *s++;
			}
		}
		while (s < end && *s != sep && *s != '\n' && *s != '\r') {
			if (quoted) {
				free(buf);
				snprintf(err, errlen,
				    "line %ld: text after a closing quote",
				    *line);
				cmd_edms_map_rec_free(r);
				return -1;
			}
			if (len + 2 > cap)
				buf = xreallocarray(buf, cap *= 2, 1);
			buf[len++] = *s++;
		}
		buf[len] = '\0';
		r->f = xreallocarray(r->f, r->n + 1, sizeof *r->f);
		r->f[r->n++] = buf;
		if (s < end && *s == sep) {
			s++;
			continue;
		}
		if (s < end && *s == '\r')
			s++;
		if (s < end && *s == '\n')
			s++;
		(*line)++;
		break;
	}
	*p = s;
	return 1;
}

/* Trim ASCII white space in place. */
static char *
cmd_edms_map_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* True for a code: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
static int
cmd_edms_map_is_code(const char *s)
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

/* Offset of the first byte that is not valid UTF-8, or len. */
static size_t
cmd_edms_map_utf8_bad(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 1, cp = s[i] & 0x1f;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 2, cp = s[i] & 0x0f;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 3, cp = s[i] & 0x07;
		else
			return i;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

/* Order mappings by pos_code, then line. */
static int
cmd_edms_map_cmp(const void *a, const void *b)
{
	const struct edms_map *x = a, *y = b;
	int c = strcmp(x->pos, y->pos);

	return c != 0 ? c : (x->line < y->line ? -1 : x->line > y->line);
}

/* Characters (not bytes) of a UTF-8 string. */
static size_t
cmd_edms_map_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Why a topic name is not one line of text (LineType), or NULL. */
static const char *
cmd_edms_map_name_why(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; p[i] != '\0'; i++)
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f))
			return "contains a control character (a line break?)";
	if (cmd_edms_map_utf8_chars(s) > 1000)
		return "is longer than 1000 characters";
	return NULL;
}

/*
 * Report every pos_code given twice (each ПОС code maps to one ССТУ topic),
 * naming both lines; returns how many.
 */
static long
cmd_edms_map_repeats(const char *path, const struct edms_map *m, size_t n)
{
	struct edms_map *sorted;
	long repeats = 0;
	size_t i;

	if (n < 2)
		return 0;
	sorted = xcalloc(n, sizeof *sorted);
	memcpy(sorted, m, n * sizeof *m);
	qsort(sorted, n, sizeof *sorted, cmd_edms_map_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(sorted[i].pos, sorted[i - 1].pos) != 0)
			continue;
		fprintf(stderr,
		    "posgw: %s: line %ld: pos_code %s repeats line %ld "
		    "(each ПОС code maps to one ССТУ topic)\n",
		    path, sorted[i].line, sorted[i].pos, sorted[i - 1].line);
		repeats++;
	}
	free(sorted);
	return repeats;
}

/* Parse and check a mapping CSV; prints every problem; -1 if any. */
static int
cmd_edms_map_csv_load(const char *path, struct edms_map **out, size_t *nout)
{
	const char *p, *end, *why;
	unsigned char *buf = NULL;
	struct edms_map *m = NULL;
	struct edms_rec r;
	struct stat sb;
	char err[256], sep = ',', *pos, *sstu, *name;
	size_t len = 0, n = 0, bad, i, ncols;
	long line = 1, errors = 0;
	FILE *f;

	*out = NULL;
	*nout = 0;
	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &sb) == -1) {
		fprintf(stderr, "posgw: cannot read %s: %s\n", path,
		    strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > EDMS_CSV_MAX) {
		fprintf(stderr,
		    "posgw: %s: not a regular file of at most %u "
		    "MiB\n",
		    path, EDMS_CSV_MAX >> 20);
		fclose(f);
		return -1;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	len = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	buf[len] = '\0';
	if ((bad = cmd_edms_map_utf8_bad(buf, len)) != len) {
		for (i = 0; i < bad; i++)
			line += buf[i] == '\n';
		fprintf(stderr,
		    "posgw: %s: line %ld: not UTF-8; save the table as CSV "
		    "UTF-8\n",
		    path, line);
		free(buf);
		return -1;
	}
	p = (const char *)buf;
	end = p + len;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* byte order mark */
	{
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *hend = nl != NULL ? nl : end;
		if (memchr(p, ',', (size_t)(hend - p)) == NULL &&
		    memchr(p, ';', (size_t)(hend - p)) != NULL)
			sep = ';';
	}
	if (cmd_edms_map_csv_record(&p, end, sep, &line, &r, err, sizeof err) !=
	        1 ||
	    r.n < 2 || r.n > 3 ||
	    strcasecmp(cmd_edms_map_trim(r.f[0]), "pos_code") != 0 ||
	    strcasecmp(cmd_edms_map_trim(r.f[1]), "sstu_code") != 0 ||
	    (r.n == 3 && strcasecmp(cmd_edms_map_trim(r.f[2]), "name") != 0)) {
		fprintf(stderr,
		    "posgw: %s: line 1: the header row must be "
		    "pos_code,sstu_code[,name]\n",
		    path);
		cmd_edms_map_rec_free(&r);
		free(buf);
		return -1;
	}
	ncols = r.n;
	cmd_edms_map_rec_free(&r);
	for (;;) {
		int got = cmd_edms_map_csv_record(
		    &p, end, sep, &line, &r, err, sizeof err);
		if (got == 0)
			break;
		if (got == -1) {
			fprintf(stderr, "posgw: %s: %s\n", path, err);
			errors++;
			break;
		}
		if (r.n == 1 && cmd_edms_map_trim(r.f[0])[0] == '\0') {
			cmd_edms_map_rec_free(&r);
			continue; /* empty line */
		}
		if (r.n < 2 || r.n > ncols) {
			fprintf(stderr,
			    "posgw: %s: line %ld: %zu field(s), the header has "
			    "%zu\n",
			    path, r.line, r.n, ncols);
			errors++;
			cmd_edms_map_rec_free(&r);
			continue;
		}
		pos = cmd_edms_map_trim(r.f[0]);
		sstu = cmd_edms_map_trim(r.f[1]);
		name = r.n == 3 ? cmd_edms_map_trim(r.f[2]) : NULL;
		if (!cmd_edms_map_is_code(pos) || !cmd_edms_map_is_code(sstu)) {
			fprintf(stderr,
			    "posgw: %s: line %ld: '%.80s' is not a code "
			    "(letters, "
			    "digits, '.', '_', '-', at most 64)\n",
			    path, r.line,
			    cmd_edms_map_is_code(pos) ? sstu : pos);
			errors++;
		} else if (name != NULL &&
		           (why = cmd_edms_map_name_why(name)) != NULL) {
			fprintf(stderr, "posgw: %s: line %ld: the name %s\n",
			    path, r.line, why);
			errors++;
		} else {
			m = xreallocarray(m, n + 1, sizeof *m);
			m[n].pos = xstrdup(pos);
			m[n].sstu = xstrdup(sstu);
			m[n].name = name != NULL && *name != '\0'
			                ? xstrdup(name)
			                : NULL;
			m[n].line = r.line;
			n++;
		}
		cmd_edms_map_rec_free(&r);
	}
	free(buf);
	errors += cmd_edms_map_repeats(path, m, n);
	if (errors > 0) {
		fprintf(stderr, "posgw: %s: %ld error(s); nothing loaded\n",
		    path, errors);
		for (i = 0; i < n; i++) {
			free(m[i].pos);
			free(m[i].sstu);
			free(m[i].name);
		}
		free(m);
		return -1;
	}
	*out = m;
	*nout = n;
	return 0;
}

/* posgw edms map import */
int
cmd_edms_map(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	struct edms_map *m = NULL;
	struct error err = {0};
	struct xfer *x = NULL;
	struct conf c;
	struct db *db;
	sqlite3_stmt *st;
	char detail[512];
	size_t n = 0, i;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(cmd_edms_map_usage, stdout);
			return 0;
		default:
			fputs(cmd_edms_map_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "import") != 0)
		cli_usage_error(
		    "usage: posgw edms map import FILE.csv --config "
		    "FILE (see --help)");
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	if (cmd_edms_map_csv_load(argv[optind + 1], &m, &n) == -1)
		return 1;
	if (cmd_edms_conf(config, &c) == -1)
		goto out;
	if (cli_as_owner(c.state, "edms map import") == -1) {
		conf_free(&c);
		goto out;
	}
	if ((x = xfer_open(&c.x, 1, &err)) == NULL) {
		fprintf(stderr, "posgw: %s\n", err.text);
		conf_free(&c);
		goto out;
	}
	db = xfer_db(x);
	snprintf(detail, sizeof detail, "%zu mapping(s) from %.300s by %.64s",
	    n, argv[optind + 1], cli_operator());
	if (db_upgrade(db, &edms_db_schema, &err) == -1 ||
	    db_begin(db, &err) == -1)
		goto fail;
	if (db_exec(db, "DELETE FROM core_topics", &err) == -1)
		goto rollback;
	for (i = 0; i < n; i++) {
		st = db_prepare(db,
		    "INSERT INTO core_topics (pos_code,"
		    " sstu_code, name, line) VALUES (?, ?, ?, ?)");
		sqlite3_bind_text(st, 1, m[i].pos, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, m[i].sstu, -1, SQLITE_STATIC);
		if (m[i].name != NULL)
			sqlite3_bind_text(st, 3, m[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, m[i].line);
		if (db_step_done(db, st, &err) == -1)
			goto rollback;
	}
	if (journal_append(
	        db, "operator.map-import", NULL, NULL, detail, &err) == -1)
		goto rollback;
	if (db_commit(db, &err) == -1)
		goto fail;
	printf("loaded %zu mapping(s) from %s; posgw-core uses them for "
	       "appeals it exports from now on\n",
	    n, argv[optind + 1]);
	rc = 0;
	goto done;
rollback:
	db_rollback(db);
fail:
	fprintf(stderr, "posgw: edms map import: %s\n", err.text);
done:
	xfer_close(x);
	conf_free(&c);
out:
	for (i = 0; i < n; i++) {
		free(m[i].pos);
		free(m[i].sstu);
		free(m[i].name);
	}
	free(m);
	return rc;
}
