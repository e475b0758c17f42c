/* cli.c: what posgw's commands share: usage errors, who runs them, gaps. */
#include "config.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "xfer.h"

static void cli_gap(int64_t, int64_t, void *);

/* Report a usage error and exit with status 2. */
void
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posgw: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(EXIT_USAGE);
}

/* Who runs this command, for the journal. */
const char *
cli_operator(void)
{
	const char *u = getenv("SUDO_USER");
	struct passwd *pw;

	if (u == NULL || *u == '\0')
		u = getenv("USER");
	if ((u == NULL || *u == '\0') && (pw = getpwuid(getuid())) != NULL)
		u = pw->pw_name;
	return u ? u : "unknown";
}

/* Print the seqs of the peer never seen below the highest accepted one. */
void
cli_print_gaps(struct db *db, const char *peer, FILE *out)
{
	int64_t ngaps;

	fprintf(out, "gaps:");
	ngaps = ingest_gaps(db, peer, cli_gap, out);
	if (ngaps == 0)
		fprintf(out, " none\n");
	else
		fprintf(out, "  (%" PRId64 " package(s) of %s never seen)\n",
		    ngaps, peer);
}

/* Print one run of missing seqs (ingest_gaps callback). */
static void
cli_gap(int64_t from, int64_t to, void *arg)
{
	if (from == to)
		fprintf((FILE *)arg, " %" PRId64, from);
	else
		fprintf((FILE *)arg, " %" PRId64 "-%" PRId64, from, to);
}
