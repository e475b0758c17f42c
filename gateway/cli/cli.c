/*
 * cli.c: what posgw's commands share: usage errors, who runs them and who
 * may (the account model of posgw(1), ACCOUNTS), gaps.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xfer.h"
#include "xmalloc.h"

static void cli_gap(int64_t, int64_t, void *);
static const char *cli_user_name(uid_t, char *, size_t);
static const char *cli_group_name(gid_t, char *, size_t);

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

/* An account's name (copied into buf), or its number when it has none. */
static const char *
cli_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/* A group's name (copied into buf), or its number when it has none. */
static const char *
cli_group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "gid %lu", (unsigned long)gid);
	return buf;
}

/*
 * Open a gateway's database read-only for a reading command: nothing is
 * created. When this account may not read it, say which accounts may.
 */
struct db *
cli_db_read(const char *path, const char *command)
{
	struct error err = {0};
	struct stat st;
	char *copy, *dir, ub[64], gb[64];
	const char *owner, *group;
	struct db *db;

	if ((db = db_open(path, -1, &err)) != NULL)
		return db;
	fprintf(stderr, "posgw: %s: %s\n", command, err.text);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return NULL;
	copy = xstrdup(path);
	dir = dirname(copy);
	if (stat(dir, &st) == 0) {
		owner = cli_user_name(st.st_uid, ub, sizeof ub);
		group = cli_group_name(st.st_gid, gb, sizeof gb);
		if ((st.st_mode & 0050) == 0050)
			fprintf(stderr,
			    "posgw: %s reads the state of %s (%s): run it as "
			    "%s (sudo -u %s posgw %s ...), as root, or as a "
			    "member of group %s (sudo usermod -a -G %s LOGIN, "
			    "then log in again)\n",
			    command, owner, dir, owner, owner, command, group,
			    group);
		else
			fprintf(stderr,
			    "posgw: %s reads the state of %s (%s, mode %04o): "
			    "run it as %s (sudo -u %s posgw %s ...) or as "
			    "root; to let group %s read it, make the folder "
			    "0750 (StateDirectoryMode=0750 in the unit)\n",
			    command, owner, dir, (unsigned)(st.st_mode & 07777),
			    owner, owner, command, group);
	}
	free(copy);
	return NULL;
}

/*
 * Refuse a command that changes a gateway's state unless it runs as the
 * account that owns the state folder dir: anything else (root included)
 * would leave files the gateway cannot use. Says which account to use.
 */
int
cli_as_owner(const char *dir, const char *command)
{
	struct stat st;
	char ub[64], mb[64];

	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			return 0; /* the command says what is missing */
		fprintf(stderr,
		    "posgw: %s: cannot reach the gateway's state %s: %s; run "
		    "it as the gateway's account (sudo -u ACCOUNT posgw %s "
		    "...)\n",
		    command, dir, strerror(errno), command);
		return -1;
	}
	if (st.st_uid == geteuid())
		return 0;
	fprintf(stderr,
	    "posgw: %s changes the state of %s (%s), so it runs as that "
	    "account, not as %s: sudo -u %s posgw %s ...\n",
	    command, cli_user_name(st.st_uid, ub, sizeof ub), dir,
	    cli_user_name(geteuid(), mb, sizeof mb), ub, command);
	return -1;
}
