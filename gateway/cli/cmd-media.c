/* cmd-media.c: posgw media export|import. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media.h"
#include "package.h"
#include "cli.h"
#include "xfer.h"

/* A gateway opened for a journaled hand-over. */
struct cmd_media_gw {
	struct conf c;
	struct xfer *x;
	struct media_handover h;
};

static int cmd_media_open(
    const char *, int, const char *, struct cmd_media_gw *);
static void cmd_media_close(struct cmd_media_gw *);

static const char export_usage[] =
    "usage: posgw media export --from OUTBOX --to MEDIA [--resend] "
    "[--operator NAME]\n"
    "                          [--config FILE]\n"
    "\n"
    "Copy the complete packages of OUTBOX (names as in package.md section "
    "2;\n"
    "names starting with '.' are work in progress and skipped, other names "
    "are\n"
    "skipped with a warning) to MEDIA, in name order. Each is written as\n"
    "MEDIA/.NAME, fsynced, read back and compared by its Streebog-256 "
    "digest,\n"
    "then renamed to MEDIA/NAME and MEDIA fsynced; only then is the line\n"
    "'NAME SIZE DIGEST TIME' appended to OUTBOX/.posgw-exported. Skipped:\n"
    "  - a package MEDIA already holds with the same size and digest "
    "(already\n"
    "    there); a different file of that name on MEDIA is replaced;\n"
    "  - a package the export log lists (exported before), unless --resend "
    "is\n"
    "    given, e.g. because the medium was lost.\n"
    "Nothing is ever removed from OUTBOX: the gateway removes a package when "
    "its\n"
    "receipt arrives. Finally MEDIA/posgw-inventory.txt, the hand-over "
    "list, is\n"
    "written atomically with every package now on MEDIA, existing ones "
    "read\n"
    "again (one that no longer matches the previous inventory is left out "
    "and\n"
    "reported):\n"
    "  posgw-inventory 1\n"
    "  host HOSTNAME\n"
    "  operator NAME          (--operator, else $SUDO_USER, $USER, the "
    "account)\n"
    "  time YYYY-MM-DDTHH:MM:SSZ\n"
    "  package NAME SIZE STREEBOG256-HEX     (one line per package)\n"
    "If MEDIA is removed or full mid-copy, the export stops with an error "
    "naming\n"
    "the package; only files starting with '.' can be incomplete, and "
    "every\n"
    "reader ignores them. Prints 'exported N, skipped M (already there K,\n"
    "exported before L), on media P'; a progress bar goes to stderr when it "
    "is a\n"
    "terminal.\n"
    "--config FILE (the exporting gateway's configuration; run as the "
    "gateway's\n"
    "account) makes it a journaled hand-over: the inventory is signed with "
    "the\n"
    "gateway's [gateway] key into MEDIA/posgw-inventory.txt.p7s, kept in\n"
    "STATE/handovers/DIGEST.txt, and recorded once as media.exported "
    "(operator,\n"
    "host, time, inventory digest, medium, packages) in the gateway's "
    "journal;\n"
    "a re-run that finds the same packages keeps the signed inventory as it "
    "is.\n"
    "A medium holding the peer's signed hand-over with packages still on "
    "it is\n"
    "refused: import it first.\n"
    "Exit 0 if all went well, 1 on any failure, 2 on a usage error.\n";

static const char import_usage[] =
    "usage: posgw media import --from MEDIA --to INBOX [--for ID]\n"
    "                          [--config FILE] [--operator NAME]\n"
    "\n"
    "Read MEDIA/posgw-inventory.txt (written by media export); if it is "
    "missing\n"
    "or malformed in any way, nothing is imported and the exit status is "
    "1.\n"
    "For each package it lists, MEDIA/NAME must have the listed size and\n"
    "Streebog-256 digest; if not, it is refused and left on MEDIA (digest\n"
    "mismatch on media: export it again). A good one is copied to "
    "INBOX/.NAME\n"
    "while its digest is checked, fsynced, read back and compared, renamed "
    "to\n"
    "INBOX/NAME and INBOX fsynced; a package INBOX already holds with the "
    "same\n"
    "digest counts as already there. Then the inventory is rewritten\n"
    "atomically without the delivered packages, and only after that are "
    "they\n"
    "removed from MEDIA (the inventory too, once no package is left).\n"
    "--for ID names this side's gateway id: packages whose sender (the "
    "first\n"
    "part of their name) is ID are this side's own and are skipped and "
    "left\n"
    "on MEDIA; a side never imports its own packages. Files on MEDIA that "
    "the\n"
    "inventory does not list, and names starting with '.', are reported "
    "and\n"
    "left alone. Prints 'imported N, already there K, refused R, left on "
    "media P';\n"
    "a progress bar goes to stderr when it is a terminal.\n"
    "--config FILE (the importing gateway's configuration; run as the "
    "gateway's\n"
    "account) makes it a journaled hand-over: MEDIA/posgw-inventory.txt "
    "must be\n"
    "signed (posgw-inventory.txt.p7s) by the peer, the [gateway] trust, "
    "list only\n"
    "the peer's and this side's packages and describe this medium; else "
    "nothing\n"
    "is imported and the refusal is journaled as media.refused. The "
    "inventory\n"
    "stays on MEDIA unchanged and is kept in STATE/handovers; the import is\n"
    "recorded once as media.imported (--operator NAME, else $SUDO_USER, "
    "$USER,\n"
    "the account). --for defaults to the gateway's id.\n"
    "Exit 0 if all went well, 1 on any failure or refusal, 2 on a usage "
    "error.\n";

/* posgw media export */
static int
cmd_media_export_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"resend", no_argument, NULL, 'r'},
	    {"operator", required_argument, NULL, 'o'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct media_opts o = {0};
	struct media_stats st;
	struct cmd_media_gw gw;
	const char *config = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o.from = optarg;
			break;
		case 't':
			o.to = optarg;
			break;
		case 'r':
			o.resend = 1;
			break;
		case 'c':
			config = optarg;
			break;
		case 'o':
			if (!media_text_valid(optarg))
				cli_usage_error(
				    "--operator must be 1 to %d bytes "
				    "without control characters",
				    MEDIA_TEXT_MAX);
			o.operator_name = optarg;
			break;
		case 'h':
			fputs(export_usage, stdout);
			return 0;
		default:
			fputs(export_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (o.from == NULL || o.to == NULL)
		cli_usage_error(
		    "media export needs --from OUTBOX and --to MEDIA "
		    "(see --help)");
	if (optind != argc)
		cli_usage_error(
		    "media export: unexpected argument '%s' (see --help)",
		    argv[optind]);
	o.progress = isatty(STDERR_FILENO);
	if (config != NULL) {
		if (cmd_media_open(config, 1, "media export", &gw) == -1)
			return 1;
		o.handover = &gw.h;
	}
	rc = media_export(&o, &st);
	if (config != NULL)
		cmd_media_close(&gw);
	if (st.ran)
		printf("exported %lu, skipped %lu (already there %lu, exported "
		       "before %lu), on media %lu\n",
		    st.exported, st.skipped, st.already, st.before,
		    st.on_media);
	return rc;
}

/* posgw media import */
static int
cmd_media_import_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"for", required_argument, NULL, 'i'},
	    {"config", required_argument, NULL, 'c'},
	    {"operator", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct media_opts o = {0};
	struct media_stats st;
	struct cmd_media_gw gw;
	const char *config = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o.from = optarg;
			break;
		case 't':
			o.to = optarg;
			break;
		case 'i':
			if (!pkg_id_valid(optarg))
				cli_usage_error("--for %s is not a gateway id "
				                "([a-z0-9][a-z0-9-]{0,31})",
				    optarg);
			o.for_id = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'o':
			if (!media_text_valid(optarg))
				cli_usage_error(
				    "--operator must be 1 to %d bytes "
				    "without control characters",
				    MEDIA_TEXT_MAX);
			o.operator_name = optarg;
			break;
		case 'h':
			fputs(import_usage, stdout);
			return 0;
		default:
			fputs(import_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (o.from == NULL || o.to == NULL)
		cli_usage_error(
		    "media import needs --from MEDIA and --to INBOX "
		    "(see --help)");
	if (optind != argc)
		cli_usage_error(
		    "media import: unexpected argument '%s' (see --help)",
		    argv[optind]);
	o.progress = isatty(STDERR_FILENO);
	if (config != NULL) {
		if (cmd_media_open(config, 0, "media import", &gw) == -1)
			return 1;
		o.handover = &gw.h;
		if (o.for_id == NULL)
			o.for_id = gw.c.x.own_id;
	}
	rc = media_import(&o, &st);
	if (config != NULL)
		cmd_media_close(&gw);
	if (st.ran)
		printf("imported %lu, already there %lu, refused %lu, left on "
		       "media %lu\n",
		    st.imported, st.already, st.refused, st.left);
	return rc;
}

/*
 * Open the gateway of a journaled hand-over as a tool (as the account that
 * owns its state): its database, and its key to sign (export) or its peer's
 * certificate to verify (import). Prints why not.
 */
static int
cmd_media_open(const char *path, int exporting, const char *command,
    struct cmd_media_gw *g)
{
	struct error err = {0};

	memset(g, 0, sizeof *g);
	if (conf_load(path, &g->c, &err) == -1) {
		fprintf(stderr, "posgw: %s: %s\n", command, err.text);
		conf_free(&g->c);
		return -1;
	}
	if (cli_as_owner(g->c.state, command) == -1)
		goto fail;
	if ((g->x = xfer_open(&g->c.x, 1, &err)) == NULL)
		goto fail_err;
	g->h.db = xfer_db(g->x);
	g->h.state = g->c.state;
	g->h.own_id = g->c.x.own_id;
	g->h.peer_id = g->c.x.peer_id;
	/*
	 * The engine's keys and lists, as its packages use them during a
	 * rollover (formats/rollover.md): the signer of the moment, our
	 * certificates old and new, the peer's configured and learnt ones.
	 */
	if (exporting) {
		g->h.own = xfer_self_trust(g->x);
		g->h.signer = xfer_signer(g->x);
	}
	/* import verifies with it; export looks for the peer's hand-over */
	g->h.peer = xfer_peer_trust(g->x);
	return 0;
fail_err:
	fprintf(stderr, "posgw: %s: %s (configuration %s)\n", command, err.text,
	    path);
fail:
	cmd_media_close(g);
	return -1;
}

/* Close what cmd_media_open opened. */
static void
cmd_media_close(struct cmd_media_gw *g)
{
	/* signer and lists belong to the engine */
	if (g->x != NULL)
		xfer_close(g->x);
	conf_free(&g->c);
}

/* posgw media SUBCOMMAND */
int
cmd_media(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "%s\n%s", export_usage, import_usage);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "export") == 0)
		return cmd_media_export_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cmd_media_import_main(argc - 1, argv + 1);
	cli_usage_error("unknown media command '%s' (export, import)", argv[1]);
}
