/*
 * cmd-edms.c: posgw edms: the EDMS's events by hand (register, take,
 * executor, postpone, forward, decline, answer), the ПОС-category to
 * ССТУ-topic map, and the list of appeals with their deadlines. The event
 * commands write event files into the core's import folder exactly as an
 * EDMS would (edms.c), so posgw-core checks and takes them the same way.
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

/* Options of the event commands, as bits. */
enum {
	O_NUMBER = 1 << 0,
	O_DATE = 1 << 1,
	O_COMMENT = 1 << 2,
	O_NAME = 1 << 3,
	O_POSITION = 1 << 4,
	O_DEPARTMENT = 1 << 5,
	O_UNTIL = 1 << 6,
	O_REASON = 1 << 7,
	O_TO = 1 << 8,
	O_LKO = 1 << 9,
	O_TEXT = 1 << 10,
	O_FILE = 1 << 11,
};

/* One event command: its name, the event type, options, help. */
struct edms_cmd {
	const char *name;
	const char *type;
	unsigned required;
	unsigned optional;
	const char *usage;
};

#define EDMS_TAIL                                                              \
	"\n"                                                                   \
	"Writes an event file into the [edms] import folder of the core's "    \
	"FILE,\n"                                                              \
	"exactly as an EDMS would: n is the next number after the core's "     \
	"database\n"                                                           \
	"(opened read-only) and the event files of the appeal already "        \
	"waiting\n"                                                            \
	"there. It is checked first with the core's own rules (schema, "       \
	"order,\n"                                                             \
	"allowed transition, files and signatures); posgw-core then takes it " \
	"on its\n"                                                             \
	"next round, or moves it to import/rejected/ with a .reason file.\n"   \
	"Exit 0 when written, 1 when refused or on failure, 2 on a usage "     \
	"error.\n"

static const struct edms_cmd edms_cmds[] = {
    {"register", "registered", O_NUMBER | O_DATE, 0,
        "usage: posgw edms register POS_ID --number NUM --date YYYY-MM-DD "
        "--config FILE\n"
        "\n"
        "The appeal was registered in the EDMS under NUM on the date "
        "(ПОС status\n"
        "MODERATION_ACCEPT). A 59-FZ appeal is then due [edms] "
        "appeal_days later.\n" EDMS_TAIL},
    {"take", "take-to-work", 0, O_COMMENT,
        "usage: posgw edms take POS_ID [--comment TEXT] --config FILE\n"
        "\n"
        "The appeal was taken to work (ПОС status TAKE_TO_WORK).\n" EDMS_TAIL},
    {"executor", "set-executor", O_NAME, O_POSITION | O_DEPARTMENT,
        "usage: posgw edms executor POS_ID --name TEXT [--position TEXT]\n"
        "                           [--department TEXT] --config FILE\n"
        "\n"
        "The official who answers the appeal (ПОС status SET_EXECUTOR): "
        "full name,\n"
        "optional position and department.\n" EDMS_TAIL},
    {"postpone", "postpone", O_UNTIL | O_REASON, 0,
        "usage: posgw edms postpone POS_ID --until YYYY-MM-DD --reason "
        "TEXT --config FILE\n"
        "\n"
        "The deadline moves to the date (ПОС status POSTPONE). A 59-FZ "
        "appeal may be\n"
        "postponed once, by at most 30 days past its due date.\n" EDMS_TAIL},
    {"forward", "forward", O_TO | O_LKO | O_REASON, 0,
        "usage: posgw edms forward POS_ID --to parent|subordinate "
        "--lko-id ID\n"
        "                          --reason TEXT --config FILE\n"
        "\n"
        "The appeal goes to the parent or a subordinate organization, ID "
        "being its\n"
        "ПОС organization (ЛКО) id (FORWARD_TO_PARENT / "
        "FORWARD_TO_SUBORDINATE).\n"
        "Nothing may follow.\n" EDMS_TAIL},
    {"decline", "decline", O_REASON, 0,
        "usage: posgw edms decline POS_ID --reason TEXT --config FILE\n"
        "\n"
        "The appeal is declined (ПОС status MODERATION_DECLINE). Nothing "
        "may follow.\n" EDMS_TAIL},
    {"answer", "answer", O_TEXT, O_FILE,
        "usage: posgw edms answer POS_ID --text TEXT [--file FILE "
        "--signature FILE.p7s]...\n"
        "                         --config FILE\n"
        "\n"
        "The answer (ПОС status SEND_RESPONSE): its text and the signed "
        "files, each\n"
        "--file followed by its detached CMS signature (DER or PEM) by an "
        "official\n"
        "whom [edms] signer_trust trusts. The original file name travels "
        "with it.\n"
        "Nothing may follow.\n" EDMS_TAIL},
};

static const char edms_usage[] =
    "usage: posgw edms register|take|executor|postpone|forward|decline|"
    "answer POS_ID ... --config FILE\n"
    "       posgw edms map import FILE.csv --config FILE\n"
    "       posgw edms list [--overdue | --due-within DAYS] --config FILE\n"
    "       posgw edms overdue --config FILE\n"
    "\n"
    "The core's EDMS exchange by hand: each event command writes the event "
    "file an\n"
    "EDMS would write into the core's import folder; map import loads the "
    "ПОС\n"
    "category -> ССТУ topic table; list shows appeals, deadlines and the "
    "counts\n"
    "the ПОС statistics ask for. 'posgw edms COMMAND --help' describes "
    "each.\n";

static const char map_usage[] =
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

static const char list_usage[] =
    "usage: posgw edms list [--overdue | --due-within DAYS] --config FILE\n"
    "       posgw edms overdue --config FILE\n"
    "\n"
    "The appeals posgw-core exported: pos-id, kind, state, due date, days "
    "left and\n"
    "category, by due date; --overdue only those past their due date and "
    "not yet\n"
    "answered, declined or forwarded, --due-within those due within DAYS "
    "days\n"
    "(overdue included). Then the counts the ПОС statistics ask for: "
    "new, in work,\n"
    "answered, declined, forwarded, overdue, re-appealed, and by "
    "category. The\n"
    "core's database is opened read-only. Dates are local calendar days.\n"
    "Exit 0, 1 on failure, 2 on a usage error.\n";

/* Load the core's configuration, or print why not. */
static int
cmd_edms_conf(const char *path, struct conf *c)
{
	struct error err = {0};

	if (conf_load(path, c, &err) == -1 ||
	    conf_check_role(c, "core", &err) == -1) {
		fprintf(stderr, "posgw: %s\n", err.text);
		conf_free(c);
		return -1;
	}
	return 0;
}

/* Open the core's database read-only, with its tables, or print why not. */
static struct db *
cmd_edms_db_ro(const struct conf *c, int need_tables)
{
	struct error err = {0};
	struct db *db;
	char *path = edms_db_path(c);

	db = db_open(path, -1, &err);
	if (db == NULL)
		fprintf(stderr,
		    "posgw: %s; has posgw-core run with this configuration?\n",
		    err.text);
	else if (need_tables && !edms_have_schema(db)) {
		fprintf(stderr,
		    "posgw: %s: posgw-core has not exported any appeal yet\n",
		    path);
		db_close(db);
		db = NULL;
	}
	free(path);
	return db;
}

/* True for 1..20 decimal digits. */
static int
cmd_edms_is_pos_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return i >= 1 && i <= 20;
}

/*
 * The appeal's state after the events already waiting in the import folder.
 * The folder is read before the database, so that an event the core takes
 * meanwhile is seen in one or the other (n never repeats).
 */
static int
cmd_edms_replay(
    const struct conf *c, const char *pos, struct db *db, struct edms_appeal *a)
{
	struct edms_event *w = NULL;
	struct edms_why why;
	size_t nw = 0, i;
	int rc = -1;

	if (edms_event_waiting(
	        c->edms.import_dir, pos, &c->x.verify.limits, &w, &nw) == -1) {
		fprintf(stderr,
		    "posgw: cannot read [edms] import %s: %s; create it or fix "
		    "the configuration\n",
		    c->edms.import_dir, strerror(errno));
		return -1;
	}
	if (!edms_appeal_load(db, pos, a)) {
		fprintf(stderr,
		    "posgw: appeal %s is unknown to posgw-core (%s): it was "
		    "not "
		    "exported to the EDMS yet\n",
		    pos, db->path);
		goto out;
	}
	for (i = 0; i < nw; i++) {
		if (w[i].n <= a->last_n)
			continue; /* taken meanwhile */
		if (edms_advance(a, &w[i], &c->edms, &why) == -1)
			fprintf(stderr,
			    "posgw: warning: the waiting event n=%ld of appeal "
			    "%s will be rejected: %s: %s\n",
			    w[i].n, pos, why.what, why.text);
	}
	rc = 0;
out:
	for (i = 0; i < nw; i++)
		edms_event_free(&w[i]);
	free(w);
	return rc;
}

/* Print a command's usage and exit (0 for --help, 2 otherwise). */
static void
cmd_edms_cmd_usage(const struct edms_cmd *cmd, int status)
{
	fputs(cmd->usage, status == 0 ? stdout : stderr);
	exit(status);
}

/* posgw edms register|take|executor|postpone|forward|decline|answer */
static int
cmd_edms_event_cmd(const struct edms_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"number", required_argument, NULL, 'N'},
	    {"date", required_argument, NULL, 'D'},
	    {"comment", required_argument, NULL, 'C'},
	    {"name", required_argument, NULL, 'n'},
	    {"position", required_argument, NULL, 'P'},
	    {"department", required_argument, NULL, 'd'},
	    {"until", required_argument, NULL, 'u'},
	    {"reason", required_argument, NULL, 'r'},
	    {"to", required_argument, NULL, 't'},
	    {"lko-id", required_argument, NULL, 'l'},
	    {"text", required_argument, NULL, 'T'},
	    {"file", required_argument, NULL, 'f'},
	    {"signature", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct {
		int ch;
		unsigned bit;
		const char *name;
	} bits[] = {
	    {'N', O_NUMBER, "--number"},
	    {'D', O_DATE, "--date"},
	    {'C', O_COMMENT, "--comment"},
	    {'n', O_NAME, "--name"},
	    {'P', O_POSITION, "--position"},
	    {'d', O_DEPARTMENT, "--department"},
	    {'u', O_UNTIL, "--until"},
	    {'r', O_REASON, "--reason"},
	    {'t', O_TO, "--to"},
	    {'l', O_LKO, "--lko-id"},
	    {'T', O_TEXT, "--text"},
	    {'f', O_FILE, "--file"},
	    {'s', O_FILE, "--signature"},
	};
	const char **files = NULL, **sigs = NULL, *config = NULL;
	struct edms_new s;
	struct edms_appeal a;
	struct error err = {0};
	struct trust *t = NULL;
	struct conf c;
	struct db *db;
	unsigned seen = 0;
	size_t nfiles = 0, nsigs = 0, i;
	char written[128];
	long days;
	int ch, rc = 1;

	memset(&s, 0, sizeof s);
	s.type = cmd->type;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (ch == 'h')
			cmd_edms_cmd_usage(cmd, 0);
		if (ch == 'c') {
			config = optarg;
			continue;
		}
		for (i = 0; i < sizeof bits / sizeof bits[0]; i++)
			if (bits[i].ch == ch)
				break;
		if (i == sizeof bits / sizeof bits[0])
			cmd_edms_cmd_usage(cmd, EXIT_USAGE);
		if (((cmd->required | cmd->optional) & bits[i].bit) == 0)
			cli_usage_error("edms %s does not take %s (see --help)",
			    cmd->name, bits[i].name);
		seen |= bits[i].bit;
		switch (ch) {
		case 'N':
			s.number = optarg;
			break;
		case 'D':
			s.date = optarg;
			break;
		case 'C':
		case 'n':
		case 'r':
		case 'T':
			s.text = optarg;
			break;
		case 'P':
			s.position = optarg;
			break;
		case 'd':
			s.department = optarg;
			break;
		case 'u':
			s.until = optarg;
			break;
		case 't':
			s.direction = optarg;
			break;
		case 'l':
			s.lko_id = optarg;
			break;
		case 'f':
			files = xreallocarray(files, nfiles + 1, sizeof *files);
			files[nfiles++] = optarg;
			break;
		case 's':
			sigs = xreallocarray(sigs, nsigs + 1, sizeof *sigs);
			sigs[nsigs++] = optarg;
			break;
		}
	}
	if (argc - optind != 1)
		cli_usage_error(
		    "edms %s needs one POS_ID (see --help)", cmd->name);
	s.pos_id = argv[optind];
	if (!cmd_edms_is_pos_id(s.pos_id))
		cli_usage_error(
		    "'%s' is not a ПОС appeal id (1..20 digits)", s.pos_id);
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	for (i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if ((cmd->required & bits[i].bit) && !(seen & bits[i].bit))
			cli_usage_error("edms %s needs %s (see --help)",
			    cmd->name, bits[i].name);
	if (nfiles != nsigs)
		cli_usage_error("give each --file its --signature FILE.p7s");
	if (nfiles > EDMS_MAX_FILES)
		cli_usage_error("at most %d files", EDMS_MAX_FILES);
	if ((s.date != NULL && edms_date_parse(s.date, &days) == -1) ||
	    (s.until != NULL && edms_date_parse(s.until, &days) == -1))
		cli_usage_error("'%s' is not a date YYYY-MM-DD",
		    s.date != NULL ? s.date : s.until);
	if (s.direction != NULL && strcmp(s.direction, "parent") != 0 &&
	    strcmp(s.direction, "subordinate") != 0)
		cli_usage_error("--to is parent or subordinate");
	s.file_src = files;
	s.sig_src = sigs;
	s.nfiles = nfiles;

	if (cmd_edms_conf(config, &c) == -1)
		goto out_free;
	if (schema_load(&err) == -1 ||
	    (t = edms_sign_trust(&c.edms, &err)) == NULL) {
		fprintf(stderr, "posgw: %s\n", err.text);
		goto out_conf;
	}
	if ((db = cmd_edms_db_ro(&c, 1)) == NULL)
		goto out_conf;
	if (cmd_edms_replay(&c, s.pos_id, db, &a) == -1) {
		db_close(db);
		goto out_conf;
	}
	db_close(db);
	s.n = a.last_n + 1;
	if (edms_write(&c, &s, t, &a, written, sizeof written, &err) == -1) {
		fprintf(stderr, "posgw: edms %s: %s\n", cmd->name, err.text);
		goto out_conf;
	}
	printf("wrote %s/%s: appeal %s event n=%ld %s; posgw-core takes it on "
	       "its next round\n",
	    c.edms.import_dir, written, s.pos_id, s.n, s.type);
	rc = 0;
out_conf:
	trust_free(t);
	conf_free(&c);
out_free:
	free(files);
	free(sigs);
	return rc;
}

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

/* Free a record's fields. */
static void
cmd_edms_rec_free(struct edms_rec *r)
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
cmd_edms_csv_record(const char **p, const char *end, char sep, long *line,
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
					cmd_edms_rec_free(r);
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
				cmd_edms_rec_free(r);
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
cmd_edms_trim(char *s)
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
cmd_edms_is_code(const char *s)
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
cmd_edms_utf8_bad(const unsigned char *s, size_t len)
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
cmd_edms_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Why a topic name is not one line of text (LineType), or NULL. */
static const char *
cmd_edms_name_why(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; p[i] != '\0'; i++)
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f))
			return "contains a control character (a line break?)";
	if (cmd_edms_utf8_chars(s) > 1000)
		return "is longer than 1000 characters";
	return NULL;
}

/* Parse and check a mapping CSV; prints every problem; -1 if any. */
static int
cmd_edms_csv_load(const char *path, struct edms_map **out, size_t *nout)
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
	if ((bad = cmd_edms_utf8_bad(buf, len)) != len) {
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
	if (cmd_edms_csv_record(&p, end, sep, &line, &r, err, sizeof err) !=
	        1 ||
	    r.n < 2 || r.n > 3 ||
	    strcasecmp(cmd_edms_trim(r.f[0]), "pos_code") != 0 ||
	    strcasecmp(cmd_edms_trim(r.f[1]), "sstu_code") != 0 ||
	    (r.n == 3 && strcasecmp(cmd_edms_trim(r.f[2]), "name") != 0)) {
		fprintf(stderr,
		    "posgw: %s: line 1: the header row must be "
		    "pos_code,sstu_code[,name]\n",
		    path);
		cmd_edms_rec_free(&r);
		free(buf);
		return -1;
	}
	ncols = r.n;
	cmd_edms_rec_free(&r);
	for (;;) {
		int got = cmd_edms_csv_record(
		    &p, end, sep, &line, &r, err, sizeof err);
		if (got == 0)
			break;
		if (got == -1) {
			fprintf(stderr, "posgw: %s: %s\n", path, err);
			errors++;
			break;
		}
		if (r.n == 1 && cmd_edms_trim(r.f[0])[0] == '\0') {
			cmd_edms_rec_free(&r);
			continue; /* empty line */
		}
		if (r.n < 2 || r.n > ncols) {
			fprintf(stderr,
			    "posgw: %s: line %ld: %zu field(s), the header has "
			    "%zu\n",
			    path, r.line, r.n, ncols);
			errors++;
			cmd_edms_rec_free(&r);
			continue;
		}
		pos = cmd_edms_trim(r.f[0]);
		sstu = cmd_edms_trim(r.f[1]);
		name = r.n == 3 ? cmd_edms_trim(r.f[2]) : NULL;
		if (!cmd_edms_is_code(pos) || !cmd_edms_is_code(sstu)) {
			fprintf(stderr,
			    "posgw: %s: line %ld: '%.80s' is not a code "
			    "(letters, "
			    "digits, '.', '_', '-', at most 64)\n",
			    path, r.line, cmd_edms_is_code(pos) ? sstu : pos);
			errors++;
		} else if (name != NULL &&
		           (why = cmd_edms_name_why(name)) != NULL) {
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
		cmd_edms_rec_free(&r);
	}
	free(buf);
	if (n > 1) {
		struct edms_map *sorted = xcalloc(n, sizeof *sorted);
		memcpy(sorted, m, n * sizeof *m);
		qsort(sorted, n, sizeof *sorted, cmd_edms_map_cmp);
		for (i = 1; i < n; i++) {
			if (strcmp(sorted[i].pos, sorted[i - 1].pos) != 0)
				continue;
			fprintf(stderr,
			    "posgw: %s: line %ld: pos_code %s repeats line %ld "
			    "(each ПОС code maps to one ССТУ topic)\n",
			    path, sorted[i].line, sorted[i].pos,
			    sorted[i - 1].line);
			errors++;
		}
		free(sorted);
	}
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
static int
cmd_edms_map_main(int argc, char **argv)
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
			fputs(map_usage, stdout);
			return 0;
		default:
			fputs(map_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "import") != 0)
		cli_usage_error(
		    "usage: posgw edms map import FILE.csv --config "
		    "FILE (see --help)");
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	if (cmd_edms_csv_load(argv[optind + 1], &m, &n) == -1)
		return 1;
	if (cmd_edms_conf(config, &c) == -1)
		goto out;
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

/* A text column, or NULL. */
static const char *
cmd_edms_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* One category's counts for the statistics. */
struct edms_cat {
	char *code;
	char *name;
	long total;
	long overdue;
};

/* posgw edms list, posgw edms overdue */
static int
cmd_edms_list_main(int argc, char **argv, int overdue_only)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"overdue", no_argument, NULL, 'o'},
	    {"due-within", required_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *state, *due, *cat;
	struct edms_cat *cats = NULL;
	struct conf c;
	struct db *db;
	sqlite3_stmt *st;
	long within = -1, today = edms_today(), d, left;
	long nnew = 0, nwork = 0, nans = 0, ndecl = 0, nfwd = 0, nover = 0;
	long nsoon = 0, nre = 0, total = 0, shown = 0;
	size_t ncats = 0, i;
	char *endp, leftbuf[24], catbuf[600];
	int ch, open, over, show;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			overdue_only = 1;
			break;
		case 'w':
			errno = 0;
			within = strtol(optarg, &endp, 10);
			if (errno != 0 || *endp != '\0' || within < 0 ||
			    within > 3650)
				cli_usage_error(
				    "--due-within takes a number of days "
				    "0..3650");
			break;
		case 'h':
			fputs(list_usage, stdout);
			return 0;
		default:
			fputs(list_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		cli_usage_error("edms list takes no arguments (see --help)");
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	if (overdue_only && within >= 0)
		cli_usage_error("give --overdue or --due-within, not both");
	if (cmd_edms_conf(config, &c) == -1)
		return 1;
	if ((db = cmd_edms_db_ro(&c, 0)) == NULL) {
		conf_free(&c);
		return 1;
	}
	if (!edms_have_schema(db)) {
		printf("no appeals yet: posgw-core has exported none\n");
		db_close(db);
		conf_free(&c);
		return 0;
	}
	st = db_prepare(db,
	    "SELECT pos_id, kind, state, due, category, category_name,"
	    " subcategory, subcategory_name, reappeal FROM core_appeals"
	    " ORDER BY due, pos_id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		state = cmd_edms_text(st, 2);
		due = cmd_edms_text(st, 3);
		cat = cmd_edms_text(st, 4);
		open = edms_state_open(state);
		left = 0;
		if (due != NULL && edms_date_parse(due, &d) == 0)
			left = d - today;
		else
			due = NULL;
		over = open && due != NULL && left < 0;
		total++;
		nnew += strcmp(state, "new") == 0;
		nwork += open && strcmp(state, "new") != 0;
		nans += strcmp(state, "answered") == 0;
		ndecl += strcmp(state, "declined") == 0;
		nfwd += strcmp(state, "forwarded") == 0;
		nover += over;
		nsoon += open && due != NULL && left >= 0 && left <= 3;
		nre += sqlite3_column_int(st, 8) != 0;
		for (i = 0; i < ncats; i++)
			if (strcmp(cats[i].code, cat ? cat : "-") == 0)
				break;
		if (i == ncats) {
			cats = xreallocarray(cats, ncats + 1, sizeof *cats);
			cats[i].code = xstrdup(cat ? cat : "-");
			cats[i].name = xstrdup(
			    cmd_edms_text(st, 5) ? cmd_edms_text(st, 5) : "");
			cats[i].total = cats[i].overdue = 0;
			ncats++;
		}
		cats[i].total++;
		cats[i].overdue += over;
		show = overdue_only  ? over
		       : within >= 0 ? open && due != NULL && left <= within
		                     : 1;
		if (!show)
			continue;
		if (shown++ == 0)
			printf("%-20s %-8s %-10s %-10s %5s  %s\n", "POS-ID",
			    "KIND", "STATE", "DUE", "LEFT", "CATEGORY");
		if (open && due != NULL)
			snprintf(leftbuf, sizeof leftbuf, "%ld", left);
		else
			snprintf(leftbuf, sizeof leftbuf, "-");
		snprintf(catbuf, sizeof catbuf, "%s%s%s%s%s%s%s",
		    cat ? cat : "-", cmd_edms_text(st, 5) ? " " : "",
		    cmd_edms_text(st, 5) ? cmd_edms_text(st, 5) : "",
		    cmd_edms_text(st, 6) ? " / " : "",
		    cmd_edms_text(st, 6) ? cmd_edms_text(st, 6) : "",
		    cmd_edms_text(st, 7) ? " " : "",
		    cmd_edms_text(st, 7) ? cmd_edms_text(st, 7) : "");
		printf("%-20s %-8s %-10s %-10s %5s  %s\n", cmd_edms_text(st, 0),
		    cmd_edms_text(st, 1), edms_state_label(state),
		    due ? due : "-", leftbuf, catbuf);
	}
	sqlite3_finalize(st);
	if (shown == 0)
		printf("%s\n", overdue_only  ? "no overdue appeals"
		               : within >= 0 ? "no appeals due within that time"
		                             : "no appeals yet");
	printf(
	    "\nappeals %ld: new %ld, in work %ld, answered %ld, declined %ld, "
	    "forwarded %ld; overdue %ld, due within 3 days %ld, re-appealed "
	    "%ld\n",
	    total, nnew, nwork, nans, ndecl, nfwd, nover, nsoon, nre);
	if (ncats > 0)
		printf("by category:\n");
	for (i = 0; i < ncats; i++) {
		printf("  %s %s: %ld (overdue %ld)\n", cats[i].code,
		    cats[i].name, cats[i].total, cats[i].overdue);
		free(cats[i].code);
		free(cats[i].name);
	}
	free(cats);
	db_close(db);
	conf_free(&c);
	return 0;
}

/* posgw edms ... */
int
cmd_edms(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(edms_usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(edms_usage, stdout);
		return 0;
	}
	for (i = 0; i < sizeof edms_cmds / sizeof edms_cmds[0]; i++)
		if (strcmp(argv[1], edms_cmds[i].name) == 0)
			return cmd_edms_event_cmd(
			    &edms_cmds[i], argc - 1, argv + 1);
	if (strcmp(argv[1], "map") == 0)
		return cmd_edms_map_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_edms_list_main(argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "overdue") == 0)
		return cmd_edms_list_main(argc - 1, argv + 1, 1);
	fprintf(stderr, "posgw: edms: unknown command '%s'\n", argv[1]);
	fputs(edms_usage, stderr);
	return EXIT_USAGE;
}
