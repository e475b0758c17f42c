/*
 * cmd-edms.c: posgw edms: the EDMS's events by hand (register, take,
 * executor, postpone, forward, decline, answer), written into the core's
 * import folder exactly as an EDMS would (edms-write.c), so posgw-core
 * checks and takes them the same way; and what the map (cmd-edms-map.c)
 * and list (cmd-edms-list.c) commands share.
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
	O_ORG = 1 << 12,
	O_RESULT = 1 << 13,
	O_MEASURES = 1 << 14,
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
    {"forward", "forward", O_REASON, O_TO | O_LKO | O_ORG,
        "usage: posgw edms forward POS_ID --to parent|subordinate "
        "--lko-id ID\n"
        "                          --reason TEXT --config FILE\n"
        "       posgw edms forward POS_ID --to-org ID --reason TEXT "
        "--config FILE\n"
        "\n"
        "The appeal goes to the parent or a subordinate organization, ID "
        "being its\n"
        "ПОС organization (ЛКО) id (FORWARD_TO_PARENT / "
        "FORWARD_TO_SUBORDINATE),\n"
        "or with --to-org to another organization whose competence it is "
        "(59-FZ\n"
        "art. 8; FORWARD_TO_ORGANIZATION): ID must be listed in [orgs] of "
        "the\n"
        "configuration. A 59-FZ appeal is forwarded within 7 days of its\n"
        "registration ([edms] forward_days). Nothing may follow.\n" EDMS_TAIL},
    {"decline", "decline", O_REASON, 0,
        "usage: posgw edms decline POS_ID --reason TEXT --config FILE\n"
        "\n"
        "The appeal is declined (ПОС status MODERATION_DECLINE). Nothing "
        "may follow.\n" EDMS_TAIL},
    {"answer", "answer", O_TEXT, O_FILE | O_RESULT | O_MEASURES,
        "usage: posgw edms answer POS_ID --text TEXT [--file FILE "
        "--signature FILE.p7s]...\n"
        "                         [--result supported|explained|"
        "not-supported]\n"
        "                         [--measures] --config FILE\n"
        "\n"
        "The answer (ПОС status SEND_RESPONSE): its text and the signed "
        "files, each\n"
        "--file followed by its detached CMS signature (DER or PEM) by an "
        "official\n"
        "whom [edms] signer_trust trusts. The original file name travels "
        "with it.\n"
        "--result is what the answer decided, for the ССТУ.РФ report "
        "(posgw edms\n"
        "sstu): supported, explained or not-supported; without it the "
        "core records\n"
        "explained. --measures: measures were taken on the appeal.\n"
        "Nothing may follow.\n" EDMS_TAIL},
};

static const char edms_usage[] =
    "usage: posgw edms register|take|executor|postpone|forward|decline|"
    "answer POS_ID ... --config FILE\n"
    "       posgw edms map import FILE.csv --config FILE\n"
    "       posgw edms list [--overdue | --due-within DAYS] --config FILE\n"
    "       posgw edms overdue --config FILE\n"
    "       posgw edms sstu --month YYYY-MM --config FILE [--format csv|xml]"
    " [--out FILE]\n"
    "       posgw edms stats show|send|import ... --config FILE\n"
    "\n"
    "The core's EDMS exchange by hand: each event command writes the event "
    "file an\n"
    "EDMS would write into the core's import folder; map import loads the "
    "ПОС\n"
    "category -> ССТУ topic table; list shows appeals, deadlines and the "
    "counts\n"
    "the ПОС statistics ask for; sstu writes the month's report for "
    "ССТУ.РФ by\n"
    "topic. 'posgw edms COMMAND --help' describes each.\n"
    "Event commands run as an EDMS clerk (groups posgw-edms and "
    "posgw-core)\n"
    "or root, list, overdue and sstu as any reader of the core's state, map "
    "import\n"
    "as posgw-core (posgw(1) ACCOUNTS).\n";

static int cmd_edms_is_pos_id(const char *s);
static int cmd_edms_replay(const struct conf *c, const char *pos, struct db *db,
    struct edms_appeal *a);
static void cmd_edms_cmd_usage(const struct edms_cmd *cmd, int status);
static void cmd_edms_event_opts(const struct edms_cmd *cmd, int argc,
    char **argv, struct edms_new *s, const char **config);
static int cmd_edms_event_cmd(
    const struct edms_cmd *cmd, int argc, char **argv);

static int cmd_edms_replay(const struct conf *c, const char *pos, struct db *db,
    struct edms_appeal *a);
static void cmd_edms_event_opts(const struct edms_cmd *cmd, int argc,
    char **argv, struct edms_new *s, const char **config);
static int cmd_edms_event_cmd(
    const struct edms_cmd *cmd, int argc, char **argv);

/* Load the core's configuration, or print why not. */
int
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

/*
 * Open the core's database read-only, with its tables, for command, or
 * print why not (and which accounts may read it).
 */
struct db *
cmd_edms_db_ro(const struct conf *c, int need_tables, const char *command)
{
	struct db *db;
	char *path = edms_db_path(c);

	if (access(path, F_OK) == -1 && errno == ENOENT) {
		fprintf(stderr,
		    "posgw: %s: database %s does not exist; has posgw-core "
		    "run with this configuration?\n",
		    command, path);
		db = NULL;
	} else if ((db = cli_db_read(path, command)) == NULL)
		;
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
	struct error why = {0};
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

/*
 * Read an event command's options into s (answer files and signatures in
 * arrays the caller frees) and *config; exit 2 on a usage error.
 */
static void
cmd_edms_event_opts(const struct edms_cmd *cmd, int argc, char **argv,
    struct edms_new *s, const char **config)
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
	    {"to-org", required_argument, NULL, 'o'},
	    {"text", required_argument, NULL, 'T'},
	    {"file", required_argument, NULL, 'f'},
	    {"signature", required_argument, NULL, 's'},
	    {"result", required_argument, NULL, 'R'},
	    {"measures", no_argument, NULL, 'M'},
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
	    {'o', O_ORG, "--to-org"},
	    {'T', O_TEXT, "--text"},
	    {'f', O_FILE, "--file"},
	    {'s', O_FILE, "--signature"},
	    {'R', O_RESULT, "--result"},
	    {'M', O_MEASURES, "--measures"},
	};
	const char **files = NULL, **sigs = NULL, *to_org = NULL;
	unsigned seen = 0;
	size_t nfiles = 0, nsigs = 0, i;
	long days;
	int ch;

	memset(s, 0, sizeof *s);
	*config = NULL;
	s->type = cmd->type;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (ch == 'h')
			cmd_edms_cmd_usage(cmd, 0);
		if (ch == 'c') {
			*config = optarg;
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
			s->number = optarg;
			break;
		case 'D':
			s->date = optarg;
			break;
		case 'C':
		case 'n':
		case 'r':
		case 'T':
			s->text = optarg;
			break;
		case 'P':
			s->position = optarg;
			break;
		case 'd':
			s->department = optarg;
			break;
		case 'u':
			s->until = optarg;
			break;
		case 't':
			s->direction = optarg;
			break;
		case 'l':
			s->lko_id = optarg;
			break;
		case 'o':
			to_org = optarg;
			if (strlen(optarg) < 1 || strlen(optarg) > 20 ||
			    strspn(optarg, "0123456789") != strlen(optarg))
				cli_usage_error(
				    "--to-org takes an "
				    "organization's ПОС id (1 to 20 "
				    "digits), not '%s'",
				    optarg);
			break;
		case 'f':
			files = xreallocarray(files, nfiles + 1, sizeof *files);
			files[nfiles++] = optarg;
			break;
		case 's':
			sigs = xreallocarray(sigs, nsigs + 1, sizeof *sigs);
			sigs[nsigs++] = optarg;
			break;
		case 'R':
			s->result = optarg;
			break;
		case 'M':
			s->measures = 1;
			break;
		}
	}
	if (argc - optind != 1)
		cli_usage_error(
		    "edms %s needs one POS_ID (see --help)", cmd->name);
	s->pos_id = argv[optind];
	if (!cmd_edms_is_pos_id(s->pos_id))
		cli_usage_error(
		    "'%s' is not a ПОС appeal id (1..20 digits)", s->pos_id);
	if (*config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	for (i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if ((cmd->required & bits[i].bit) && !(seen & bits[i].bit))
			cli_usage_error("edms %s needs %s (see --help)",
			    cmd->name, bits[i].name);
	if (nfiles != nsigs)
		cli_usage_error("give each --file its --signature FILE.p7s");
	if (nfiles > EDMS_MAX_FILES)
		cli_usage_error("at most %d files", EDMS_MAX_FILES);
	if ((s->date != NULL && edms_date_parse(s->date, &days) == -1) ||
	    (s->until != NULL && edms_date_parse(s->until, &days) == -1))
		cli_usage_error("'%s' is not a date YYYY-MM-DD",
		    s->date != NULL ? s->date : s->until);
	if (s->direction != NULL && strcmp(s->direction, "parent") != 0 &&
	    strcmp(s->direction, "subordinate") != 0)
		cli_usage_error("--to is parent or subordinate (another "
		                "organization: --to-org ID)");
	if (to_org != NULL) {
		if (s->direction != NULL || s->lko_id != NULL)
			cli_usage_error(
			    "give --to-org ID, or --to and --lko-id, "
			    "not both");
		s->direction = "organization";
		s->lko_id = to_org;
	} else if (strcmp(cmd->name, "forward") == 0 &&
	           (s->direction == NULL || s->lko_id == NULL))
		cli_usage_error("edms forward needs --to and --lko-id, or "
		                "--to-org (see --help)");
	if (s->result != NULL && strcmp(s->result, "supported") != 0 &&
	    strcmp(s->result, "explained") != 0 &&
	    strcmp(s->result, "not-supported") != 0)
		cli_usage_error("--result is supported, explained or "
		                "not-supported, not '%s'",
		    s->result);
	s->file_src = files;
	s->sig_src = sigs;
	s->nfiles = nfiles;
}

/* posgw edms register|take|executor|postpone|forward|decline|answer */
static int
cmd_edms_event_cmd(const struct edms_cmd *cmd, int argc, char **argv)
{
	const char *config;
	struct edms_new s;
	struct edms_appeal a;
	struct error err = {0};
	struct trust *t = NULL;
	struct conf c;
	struct db *db;
	char written[128], command[32];
	int rc = 1;

	snprintf(command, sizeof command, "edms %s", cmd->name);
	cmd_edms_event_opts(cmd, argc, argv, &s, &config);
	if (cmd_edms_conf(config, &c) == -1)
		goto out_free;
	if (s.direction != NULL && strcmp(s.direction, "organization") == 0 &&
	    conf_org_find(&c, s.lko_id) == NULL) {
		fprintf(stderr,
		    "posgw: edms forward: organization %s is not listed in "
		    "[orgs] "
		    "of %s: add it (%s = its name) if appeals may go there; "
		    "nothing was written\n",
		    s.lko_id, config, s.lko_id);
		goto out_conf;
	}
	if (schema_load(&err) == -1 ||
	    (t = edms_sign_trust(&c.edms, &c.x, &err)) == NULL) {
		fprintf(stderr, "posgw: %s\n", err.text);
		goto out_conf;
	}
	if ((db = cmd_edms_db_ro(&c, 1, command)) == NULL)
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
	free(s.file_src);
	free(s.sig_src);
	return rc;
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
	fprintf(stderr, "posgw: edms: unknown command '%s'\n", argv[1]);
	fputs(edms_usage, stderr);
	return EXIT_USAGE;
}
