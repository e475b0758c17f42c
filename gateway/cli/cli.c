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
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xfer.h"
#include "xmalloc.h"

static void cli_gap(int64_t, int64_t, void *);
static const char *cli_user_name(uid_t, char *, size_t);
static const char *cli_group_name(gid_t, char *, size_t);
static int cli_reconcile_found(const char *, const char *, const char *,
    const char *, const char *, const char *, const char *, int *, FILE *);

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

/* Report one package the other side recorded; 1 if that is a problem. */
static int
cli_reconcile_found(const char *name, const char *fromname, const char *toname,
    const char *dig, const char *state, const char *d2, const char *code,
    int *counts, FILE *out)
{
	if (strcmp(state, "accepted") != 0) {
		if (out != NULL)
			fprintf(out, "rejected  %s: %s by %s\n", name,
			    code ? code : state, toname);
		counts[1]++;
		return 0;
	}
	if (dig && d2 && strcmp(dig, d2) == 0) {
		counts[0]++;
		return 0;
	}
	if (out != NULL)
		fprintf(out,
		    "MISMATCH  %s: %s sent manifest %s, %s received %s\n", name,
		    fromname, dig ? dig : "?", toname, d2 ? d2 : "?");
	counts[3]++;
	return 1;
}

/*
 * Reconcile the packages one side sent with what the other recorded: the
 * row of the same uuid and seq, an accepted one first; counts[0..4] are
 * received, rejected, in flight, mismatched, lost, and each is told to out
 * (NULL: counted only). Returns 1 when something is wrong. The accepted row
 * from this sender is looked up by (sender, seq), the index the receiver
 * keeps in seq order, so the lookups follow the scan; anything else (a
 * rejected, unseen or odd package) by uuid as before.
 */
int
cli_reconcile_dir(struct db *from, const char *fromname, struct db *to,
    const char *toname, int64_t maxage, int *counts, FILE *out)
{
	sqlite3_stmt *st, *acc, *q;
	int64_t now = (int64_t)time(NULL);
	int bad = 0;

	st = db_prepare(from,
	    "SELECT name, seq, uuid, manifest_digest, created,"
	    " state FROM packages WHERE direction = 'out' AND state !="
	    " 'building' ORDER BY seq");
	/* the lookup statements serve all packages, reset after each */
	acc = db_prepare(to, "SELECT manifest_digest FROM packages WHERE"
	                     " direction = 'in' AND state = 'accepted' AND"
	                     " sender = ? AND seq = ? AND uuid = ?");
	sqlite3_bind_text(acc, 1, fromname, -1, SQLITE_STATIC);
	q = db_prepare(to, "SELECT state, manifest_digest, code FROM packages"
	                   " WHERE direction = 'in' AND uuid = ? AND seq = ?"
	                   " ORDER BY state = 'accepted' DESC");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *uuid = (const char *)sqlite3_column_text(st, 2);
		const char *dig = (const char *)sqlite3_column_text(st, 3);
		int64_t seq = sqlite3_column_int64(st, 1);
		int64_t created = sqlite3_column_int64(st, 4);
		int64_t age = now - created;

		sqlite3_bind_int64(acc, 2, seq);
		sqlite3_bind_text(acc, 3, uuid, -1, SQLITE_STATIC);
		if (sqlite3_step(acc) == SQLITE_ROW) {
			bad |= cli_reconcile_found(name, fromname, toname, dig,
			    "accepted",
			    (const char *)sqlite3_column_text(acc, 0), NULL,
			    counts, out);
			sqlite3_reset(acc);
			continue;
		}
		sqlite3_reset(acc);
		sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, seq);
		if (sqlite3_step(q) == SQLITE_ROW)
			bad |= cli_reconcile_found(name, fromname, toname, dig,
			    (const char *)sqlite3_column_text(q, 0),
			    (const char *)sqlite3_column_text(q, 1),
			    (const char *)sqlite3_column_text(q, 2), counts,
			    out);
		else if (age >= maxage) {
			if (out != NULL)
				fprintf(out,
				    "LOST      %s: sent by %s %lld h ago, "
				    "never "
				    "seen by %s\n",
				    name, fromname, (long long)age / 3600,
				    toname);
			counts[4]++;
			bad = 1;
		} else {
			if (out != NULL)
				fprintf(out,
				    "in flight %s: sent by %s %lld min ago\n",
				    name, fromname, (long long)age / 60);
			counts[2]++;
		}
		sqlite3_reset(q);
	}
	db_finalize(acc);
	db_finalize(q);
	db_finalize(st);
	return bad;
}

/*
 * An --out FILE is written beside and renamed over: refuse a path that
 * exists as anything but a regular file (a device such as /dev/null, a
 * FIFO, a symbolic link, a folder), which the rename would replace.
 * Regression out-replaces-devices: posgw edms sstu --out /dev/full as root
 * turned the device into a CSV file.
 */
int
cli_out_ok(const char *path, const char *command)
{
	struct stat sb;

	if (path[0] == '\0') {
		fprintf(
		    stderr, "posgw: %s: --out needs a file name\n", command);
		return -1;
	}
	if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		fprintf(stderr,
		    "posgw: %s: --out %s exists and is not a regular file (a "
		    "device, FIFO, link or folder); give the path of a file "
		    "to create or replace, or leave --out out to write to "
		    "standard output where the command allows it\n",
		    command, path);
		return -1;
	}
	return 0;
}
