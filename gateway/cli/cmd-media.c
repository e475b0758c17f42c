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

static const char export_usage[] =
    "usage: posgw media export --from OUTBOX --to MEDIA [--resend] "
    "[--operator NAME]\n"
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
    "terminal. Exit 0 if all went well, 1 on any failure, 2 on a usage "
    "error.\n";

static const char import_usage[] =
    "usage: posgw media import --from MEDIA --to INBOX [--for ID]\n"
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
    "a progress bar goes to stderr when it is a terminal. Exit 0 if all "
    "went\n"
    "well, 1 on any failure or refusal, 2 on a usage error.\n";

/* posgw media export */
static int
cmd_media_export_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"resend", no_argument, NULL, 'r'},
	    {"operator", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct media_opts o = {0};
	struct media_stats st;
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
	rc = media_export(&o, &st);
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
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct media_opts o = {0};
	struct media_stats st;
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
	rc = media_import(&o, &st);
	if (st.ran)
		printf("imported %lu, already there %lu, refused %lu, left on "
		       "media %lu\n",
		    st.imported, st.already, st.refused, st.left);
	return rc;
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
