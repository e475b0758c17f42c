/* posgw.c: the operator and auditor tool: dispatch to command families. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "posgw.h"
#include "sig.h"
#include "xmlsafe.h"

/* Print the top-level help. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: posgw COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  keys generate   make a key pair and certificate for a gateway\n"
	    "  keys show       print a certificate's subject, validity and "
	    "fingerprints\n"
	    "  keys import     trust a peer certificate after its fingerprint "
	    "is confirmed\n"
	    "  pack create     build and sign an exchange package\n"
	    "  pack verify     check packages as a receiving gateway would\n"
	    "  pack list       show what a package holds (no verification)\n"
	    "  pack extract    verify a package, then unpack it into a "
	    "directory\n"
	    "  media export    copy outbox packages to removable media\n"
	    "  media import    check and copy packages from media to an inbox\n"
	    "  transfer enqueue|status|resend   a gateway's queues, beside the "
	    "daemon\n"
	    "  status          a gateway at a glance: queues, last packages, "
	    "gaps, oldest unanswered appeal\n"
	    "  edms ...        EDMS events by hand, ССТУ map, deadlines (posgw "
	    "edms --help)\n"
	    "  journal verify  check a journal's hash chain and checkpoints\n"
	    "  journal show    the journal as a table\n"
	    "  journal reconcile  match both gateways' journals package by "
	    "package\n"
	    "\n"
	    "'posgw COMMAND SUBCOMMAND --help' describes each; see "
	    "posgw(1).\n");
}

/* Report a usage error and exit with status 2. */
void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posgw: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	const char *cmd;

	log_init(
	    "posgw", getenv("POSGW_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("posgw %s\n", PACKAGE_VERSION);
		return 0;
	}
	sig_init();
	xmlsafe_init();
	if (strcmp(cmd, "keys") == 0)
		return cmd_keys(argc - 1, argv + 1);
	if (strcmp(cmd, "pack") == 0)
		return cmd_pack(argc - 1, argv + 1);
	if (strcmp(cmd, "media") == 0)
		return cmd_media(argc - 1, argv + 1);
	if (strcmp(cmd, "transfer") == 0)
		return cmd_transfer(argc - 1, argv + 1);
	if (strcmp(cmd, "journal") == 0)
		return cmd_journal(argc - 1, argv + 1);
	if (strcmp(cmd, "edms") == 0)
		return cmd_edms(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	fprintf(stderr, "posgw: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
