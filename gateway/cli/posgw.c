/*
 * posgw.c: the operator and auditor tool: one table of its commands, the
 * help built from it, and the dispatch. Each family lives in
 * cmd-<family>.c; what they share is in cli.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "sig.h"
#include "xmlsafe.h"

/*
 * A command: family and subcommand as typed, the function and one line of
 * help. The function gets the arguments from the family on (argv[0] is
 * the family), or with sub set from the subcommand on.
 */
struct posgw_cmd {
	const char *family;
	const char *name; /* NULL: the family takes its own subcommands */
	int (*fn)(int, char **);
	int sub;
	const char *help;
};

static const struct posgw_cmd posgw_cmds[] = {
    {"keys", "generate", cmd_keys, 0,
        "make a key pair and certificate for a gateway"},
    {"keys", "show", cmd_keys, 0,
        "print a certificate's subject, validity and fingerprints"},
    {"keys", "import", cmd_keys, 0,
        "trust a peer certificate after its fingerprint is confirmed"},
    {"keys", "crl", cmd_keys, 0,
        "install a CA's revocation list after checking its signature"},
    {"pack", "create", cmd_pack, 0, "build and sign an exchange package"},
    {"pack", "verify", cmd_pack, 0,
        "check packages as a receiving gateway would"},
    {"pack", "list", cmd_pack, 0,
        "show what a package holds (no verification)"},
    {"pack", "extract", cmd_pack, 0,
        "verify a package, then unpack it into a directory"},
    {"pack", "encrypt", cmd_pack, 0,
        "seal a package for its recipient (envelope)"},
    {"pack", "decrypt", cmd_pack, 0,
        "check an envelope, then write the package inside"},
    {"media", "export", cmd_media, 0,
        "copy outbox packages to removable media"},
    {"media", "import", cmd_media, 0,
        "check and copy packages from media to an inbox"},
    {"transfer", "enqueue|status|resend", cmd_transfer, 0,
        "a gateway's queues, beside the daemon"},
    {"status", NULL, cmd_transfer_overview, 0,
        "a gateway at a glance: queues, last packages, gaps, oldest "
        "unanswered appeal"},
    {"edms", "...", cmd_edms, 0,
        "EDMS events by hand, ССТУ map, deadlines (posgw edms --help)"},
    {"edms", "map", cmd_edms_map, 1,
        "load the ПОС category -> ССТУ topic table from a CSV"},
    {"edms", "list", cmd_edms_list, 1,
        "the core's appeals by due date, with counts"},
    {"edms", "overdue", cmd_edms_overdue, 1, "the overdue appeals only"},
    {"edms", "repeated", cmd_edms_repeated, 1,
        "confirm or reject a repeated-appeal mark, or list them"},
    {"edms", "sstu", cmd_edms_sstu, 1,
        "the month's report for ССТУ.РФ by topic, CSV or XML"},
    {"edms", "stats", cmd_edms_stats, 1,
        "statistics for the ПОС витрина: show, send, import other channels"},
    {"journal", "verify", cmd_journal, 0,
        "check a journal's hash chain and checkpoints"},
    {"journal", "show", cmd_journal, 0, "the journal as a table"},
    {"journal", "reconcile", cmd_journal, 0,
        "match both gateways' journals package by package"},
    {"journal", "report", cmd_report, 1,
        "an HTML report of a gateway, readable offline"},
};

static void posgw_usage(FILE *);
static const struct posgw_cmd *posgw_find(int, char **);

int
main(int argc, char **argv)
{
	const struct posgw_cmd *c;
	const char *cmd;

	log_init(
	    "posgw", getenv("POSGW_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (argc < 2) {
		posgw_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		posgw_usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("posgw %s\n", PACKAGE_VERSION);
		return 0;
	}
	if ((c = posgw_find(argc, argv)) == NULL) {
		fprintf(stderr, "posgw: unknown command '%s'\n", cmd);
		posgw_usage(stderr);
		return EXIT_USAGE;
	}
	sig_init();
	xmlsafe_init();
	if (c->sub)
		return c->fn(argc - 2, argv + 2);
	return c->fn(argc - 1, argv + 1);
}

/*
 * The command argv names: the family's row for its subcommand if that row
 * takes the subcommand itself, else the family's first row.
 */
static const struct posgw_cmd *
posgw_find(int argc, char **argv)
{
	const struct posgw_cmd *first = NULL;
	size_t i;

	for (i = 0; i < sizeof posgw_cmds / sizeof posgw_cmds[0]; i++) {
		if (strcmp(posgw_cmds[i].family, argv[1]) != 0)
			continue;
		if (posgw_cmds[i].sub && argc > 2 &&
		    strcmp(posgw_cmds[i].name, argv[2]) == 0)
			return &posgw_cmds[i];
		if (first == NULL && !posgw_cmds[i].sub)
			first = &posgw_cmds[i];
	}
	return first;
}

/* Print the top-level help, from the table. */
static void
posgw_usage(FILE *f)
{
	char words[64];
	size_t i;

	fprintf(f, "usage: posgw COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof posgw_cmds / sizeof posgw_cmds[0]; i++) {
		snprintf(words, sizeof words, "%s%s%s", posgw_cmds[i].family,
		    posgw_cmds[i].name ? " " : "",
		    posgw_cmds[i].name ? posgw_cmds[i].name : "");
		fprintf(f, "  %-18s %s\n", words, posgw_cmds[i].help);
	}
	fprintf(f, "\n'posgw COMMAND SUBCOMMAND --help' describes each; see "
	           "posgw(1).\n");
}
