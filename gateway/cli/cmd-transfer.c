/* cmd-transfer.c: posgw transfer enqueue|status|resend, beside a running daemon. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "certwatch.h"
#include "cli.h"
#include "conf.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "xfer.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static const char status_usage[] =
    "usage: posgw status --config FILE\n"
    "\n"
    "A gateway at a glance, beside the running daemon: its queues, the "
    "last\n"
    "packages sent and received, packages awaiting a receipt or rejected "
    "by\n"
    "the peer, gaps in what the peer sent, the quarantine, the journal "
    "and\n"
    "its checkpoints, and the oldest appeal ПОС has no answer to yet. The\n"
    "same as posgw transfer status. It opens the database read-only and\n"
    "creates nothing: run it as the gateway's account, a member of its "
    "group\n"
    "or root (posgw(1) ACCOUNTS). Exit 0, 1 on failure, 2 on a usage "
    "error.\n";

static const char transfer_usage[] =
    "usage: posgw transfer enqueue --config FILE DOC.xml "
    "[payload/PATH=FILE]...\n"
    "       posgw transfer status --config FILE\n"
    "       posgw transfer resend --config FILE [--all | PACKAGE...]\n"
    "\n"
    "enqueue  queue a document (appeal, event, outcome, classifier) and the\n"
    "         attachments it references for the peer; the daemon packs it.\n"
    "         It is validated and its references checked now.\n"
    "status   queues, packages awaiting a receipt, packages the peer "
    "rejected,\n"
    "         inbound counts and gaps, quarantine, journal and checkpoints.\n"
    "resend   ask the running daemon to offer unreceipted packages again now\n"
    "         (all of them, or the named ones): the same files, same bytes.\n"
    "enqueue and resend run as the gateway's account (sudo -u ACCOUNT);\n"
    "status reads only (posgw(1) ACCOUNTS).\n"
    "Exit 0 on success, 1 on failure, 2 on a usage error.\n";

/* Parse --config (and --all) for a transfer subcommand. */
static int
cmd_transfer_opts(
    int argc, char **argv, const char **config, int *all, const char *usage)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"all", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	*config = NULL;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*config = optarg;
			break;
		case 'a':
			if (all == NULL)
				cli_usage_error(
				    "--all is only for transfer resend");
			*all = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(EXIT_USAGE);
		}
	}
	if (*config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	return optind;
}

/*
 * Open the engine as a tool for a command that changes the gateway's state
 * (as the account that owns it), or print why not.
 */
static struct xfer *
cmd_transfer_open(const char *path, struct conf *c, const char *command)
{
	struct error err = {0};
	struct xfer *x;

	if (conf_load(path, c, &err) == -1) {
		fprintf(stderr, "posgw: %s\n", err.text);
		conf_free(c);
		return NULL;
	}
	if (cli_as_owner(c->state, command) == -1) {
		conf_free(c);
		return NULL;
	}
	if ((x = xfer_open(&c->x, 1, &err)) == NULL) {
		fprintf(stderr, "posgw: %s\n", err.text);
		conf_free(c);
	}
	return x;
}

/* posgw transfer enqueue */
static int
cmd_transfer_enqueue(int argc, char **argv)
{
	struct xfer_file files[1000];
	struct error err = {0};
	const char *path;
	struct conf c;
	struct xfer *x;
	xmlDocPtr doc;
	char *buf = NULL, *eq, kind[32], *pos = NULL;
	size_t len = 0, n = 0;
	int i, first, rc = 1;
	FILE *f;

	first = cmd_transfer_opts(argc, argv, &path, NULL, transfer_usage);
	if (first == argc)
		cli_usage_error("transfer enqueue needs DOC.xml (see --help)");
	for (i = first + 1; i < argc; i++) {
		if (strncmp(argv[i], "payload/", 8) != 0 ||
		    (eq = strchr(argv[i], '=')) == NULL)
			cli_usage_error(
			    "'%s' is not payload/PATH=FILE", argv[i]);
		if (n == sizeof files / sizeof files[0])
			cli_usage_error("too many attachments");
		*eq = '\0';
		files[n].take = 0; /* the operator keeps the file */
		files[n].hash = NULL;
		files[n].path = argv[i];
		files[n++].src = eq + 1;
	}
	if ((f = fopen(argv[first], "r")) == NULL) {
		fprintf(stderr, "posgw: cannot read %s\n", argv[first]);
		return 1;
	}
	{
		char chunk[65536];
		size_t got;
		while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
			buf = xreallocarray(buf, len + got, 1);
			memcpy(buf + len, chunk, got);
			len += got;
			if (len > (16u << 20))
				break;
		}
	}
	fclose(f);
	doc = xmlsafe_parse(buf, len, argv[first], 64, ERR_PAYLOAD, &err);
	if (doc == NULL) {
		fprintf(stderr, "posgw: transfer enqueue: %s\n", err.text);
		free(buf);
		return 1;
	}
	snprintf(kind, sizeof kind, "%s",
	    (const char *)xmlDocGetRootElement(doc)->name);
	if (xmlsafe_attr(xmlDocGetRootElement(doc), "pos-id") != NULL)
		pos =
		    xstrdup(xmlsafe_attr(xmlDocGetRootElement(doc), "pos-id"));
	xmlFreeDoc(doc);
	if (strcmp(kind, "receipt") == 0 || strcmp(kind, "checkpoint") == 0) {
		fprintf(stderr,
		    "posgw: transfer enqueue: %s documents are made "
		    "by the gateway itself\n",
		    kind);
		goto out;
	}
	if ((x = cmd_transfer_open(path, &c, "transfer enqueue")) == NULL)
		goto out;
	if (db_begin(xfer_db(x), &err) == -1 ||
	    spool_enqueue(x, kind, pos, buf, len, files, n, &err) == -1 ||
	    journal_append(xfer_db(x), "operator.enqueue", NULL, pos,
	        cli_operator(), &err) == -1 ||
	    db_commit(xfer_db(x), &err) == -1) {
		db_rollback(xfer_db(x));
		fprintf(stderr, "posgw: transfer enqueue: %s\n", err.text);
	} else {
		printf("queued %s%s%s with %zu attachment(s)\n", kind,
		    pos ? " " : "", pos ? pos : "", n);
		rc = 0;
	}
	xfer_close(x);
	conf_free(&c);
out:
	free(pos);
	free(buf);
	return rc;
}

/* Print a duration in a readable unit. */
static void
cmd_transfer_age(char *buf, size_t len, int64_t secs)
{
	if (secs < 120)
		snprintf(buf, len, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, len, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(buf, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)secs / 86400);
}

/* Print the newest package of a direction with its state and time. */
static void
cmd_transfer_last(struct db *db, const char *dir, const char *label)
{
	sqlite3_stmt *st;
	char t[32];

	st = db_prepare(db,
	    "SELECT name, state, COALESCE(sent, received, created)"
	    " FROM packages WHERE direction = ? AND control = 0"
	    " ORDER BY id DESC LIMIT 1");
	sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		pkg_time_format(
		    (time_t)sqlite3_column_int64(st, 2), t, sizeof t);
		printf("%s: %s (%s, %s)\n", label,
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), t);
	} else
		printf("%s: none\n", label);
	db_finalize(st);
}

static void cmd_transfer_rollovers(struct db *, const struct conf *);

/*
 * The oldest appeal without a final event (answer, decline, forward): the
 * appeals this gateway received (core) or sent (edge), matched with the
 * events that went the other way.
 */
static void
cmd_transfer_oldest_unanswered(struct db *db, const char *own, int64_t now)
{
	sqlite3_stmt *st;
	char age[32];
	/* the edge sends appeals, the core receives them */
	int edge = db_int(db,
	               "SELECT COUNT(*) FROM documents WHERE kind ="
	               " 'appeal' AND direction = 'out'",
	               0) > 0;

	st = db_prepare(db,
	    "SELECT a.pos_id, a.created / 1000, (SELECT COUNT(*) FROM "
	    "documents a2"
	    "  WHERE a2.kind = 'appeal' AND a2.direction = a.direction"
	    "  AND NOT EXISTS (SELECT 1 FROM documents e2 WHERE e2.kind = "
	    "'event'"
	    "  AND e2.pos_id = a2.pos_id AND e2.direction != a2.direction AND"
	    "  (instr(e2.body, 'type=\"answer\"') OR instr(e2.body, "
	    "'type=\"decline\"')"
	    "  OR instr(e2.body, 'type=\"forward\"'))))"
	    " FROM documents a WHERE a.kind = 'appeal' AND a.direction = ?"
	    " AND NOT EXISTS (SELECT 1 FROM documents e WHERE e.kind = 'event'"
	    " AND e.pos_id = a.pos_id AND e.direction != a.direction AND"
	    " (instr(e.body, 'type=\"answer\"') OR instr(e.body, "
	    "'type=\"decline\"')"
	    " OR instr(e.body, 'type=\"forward\"')))"
	    " ORDER BY a.created LIMIT 1");
	sqlite3_bind_text(st, 1, edge ? "out" : "in", -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cmd_transfer_age(
		    age, sizeof age, now - sqlite3_column_int64(st, 1));
		printf(
		    "oldest unanswered appeal: %s, %s old (%lld unanswered)\n",
		    (const char *)sqlite3_column_text(st, 0), age,
		    (long long)sqlite3_column_int64(st, 2));
	} else
		printf("oldest unanswered appeal: none\n");
	db_finalize(st);
}

/* posgw status: one expiring certificate. */
static void
cmd_transfer_cert(const struct certwatch_item *it, void *arg)
{
	char line[600];

	(void)arg;
	certwatch_format(it, line, sizeof line);
	printf("certificates: %s\n", line);
}

/*
 * posgw transfer status (and posgw status, named by command): the database
 * opened read-only, nothing created, no key loaded, so that an account of
 * the gateway's group can run it.
 */
static int
cmd_transfer_status(int argc, char **argv, const char *command)
{
	struct error err = {0};
	const char *path;
	struct conf c;
	struct db *db;
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);
	char age[32], t[32], *dbpath;

	if (cmd_transfer_opts(argc, argv, &path, NULL, transfer_usage) != argc)
		cli_usage_error("%s takes no operands", command);
	if (conf_load(path, &c, &err) == -1) {
		fprintf(stderr, "posgw: %s\n", err.text);
		conf_free(&c);
		return 1;
	}
	xasprintf(&dbpath, "%s/posgw.db", c.state);
	db = cli_db_read(dbpath, command);
	free(dbpath);
	if (db == NULL) {
		conf_free(&c);
		return 1;
	}
	printf("gateway %s <-> %s, state %s\n", c.own_id, c.peer_id, c.state);
	printf("outbound: %" PRId64 " document(s) queued, %" PRId64
	       " receipt(s) queued\n",
	    db_int(db,
	        "SELECT COUNT(*) FROM documents WHERE direction = 'out' AND"
	        " package_id IS NULL AND kind NOT IN ('receipt', 'checkpoint')",
	        0),
	    db_int(db,
	        "SELECT COUNT(*) FROM documents WHERE direction = 'out' AND"
	        " package_id IS NULL AND kind = 'receipt'",
	        0));
	st = db_prepare(db,
	    "SELECT name, sent, offers FROM packages WHERE direction ="
	    " 'out' AND state = 'sent' AND control = 0 ORDER BY seq");
	printf("awaiting receipt:\n");
	while (sqlite3_step(st) == SQLITE_ROW) {
		cmd_transfer_age(
		    age, sizeof age, now - sqlite3_column_int64(st, 1));
		printf("  %s  sent %s ago, offered %lld time(s)\n",
		    (const char *)sqlite3_column_text(st, 0), age,
		    (long long)sqlite3_column_int64(st, 2));
	}
	db_finalize(st);
	st = db_prepare(db,
	    "SELECT name, code, reason FROM packages WHERE direction ="
	    " 'out' AND state = 'rejected' ORDER BY seq");
	printf("rejected by the peer:\n");
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("  %s  %s: %s\n",
		    (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1)
		        ? (const char *)sqlite3_column_text(st, 1)
		        : "?",
		    sqlite3_column_text(st, 2)
		        ? (const char *)sqlite3_column_text(st, 2)
		        : "");
	db_finalize(st);
	printf("delivered: %" PRId64 "\n",
	    db_int(db,
	        "SELECT COUNT(*) FROM packages WHERE direction = 'out' AND"
	        " state = 'delivered'",
	        0));
	printf("inbound: %" PRId64 " accepted (highest seq %" PRId64
	       "), %" PRId64 " rejected, %" PRId64 " conflicts\n",
	    db_int(db,
	        "SELECT COUNT(*) FROM packages WHERE direction = 'in' AND"
	        " state = 'accepted'",
	        0),
	    db_int(db,
	        "SELECT MAX(seq) FROM packages WHERE direction = 'in' AND"
	        " state = 'accepted'",
	        0),
	    db_int(db,
	        "SELECT COUNT(*) FROM packages WHERE direction = 'in' AND"
	        " state = 'rejected'",
	        0),
	    db_int(db,
	        "SELECT COUNT(*) FROM packages WHERE direction = 'in' AND"
	        " state = 'conflict'",
	        0));
	cli_print_gaps(db, c.peer_id, stdout);
	st = db_prepare(db,
	    "SELECT name, code, reason FROM packages WHERE direction ="
	    " 'in' AND state IN ('rejected', 'conflict') ORDER BY id DESC "
	    "LIMIT 10");
	printf("quarantined (latest 10):\n");
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("  %s  %s: %s\n",
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
	db_finalize(st);
	cmd_transfer_last(db, "out", "last package out");
	cmd_transfer_last(db, "in", "last package in");
	cmd_transfer_oldest_unanswered(db, c.own_id, now);
	cmd_transfer_rollovers(db, &c);
	if (certwatch_scan(&c, (time_t)now, c.expiry_warn_days,
	        cmd_transfer_cert, NULL) == 0 &&
	    c.expiry_warn_days > 0)
		printf("certificates: none expires within %d days\n",
		    c.expiry_warn_days);
	pkg_time_format(
	    (time_t)db_int(db, "SELECT MAX(at) FROM checkpoints", 0), t,
	    sizeof t);
	printf("journal: %" PRId64 " entries, last checkpoint at entry %" PRId64
	       " (%s), %" PRId64 " checkpoint(s) of the peer received\n",
	    db_int(db, "SELECT MAX(seq) FROM journal", 0),
	    db_int(db, "SELECT MAX(entry) FROM checkpoints", 0), t,
	    db_int(db, "SELECT COUNT(*) FROM peer_checkpoints", 0));
	db_close(db);
	conf_free(&c);
	return 0;
}

/* The latest key rollovers of either side (formats/rollover.md), a line each. */
static void
cmd_transfer_rollovers(struct db *db, const struct conf *c)
{
	sqlite3_stmt *st;
	char t1[32], t2[32];

	if (db_int(db,
	        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'rollovers'",
	        0) == 0)
		return; /* a database the daemon has not upgraded yet */
	st = db_prepare(db,
	    "SELECT side, new_fp, old_fp, started, acknowledged, completed,"
	    " COALESCE(package, ''), (SELECT p.state || ': ' ||"
	    " COALESCE(p.reason, '') FROM documents d JOIN packages p ON"
	    " p.id = d.package_id WHERE d.id = r.document_id AND p.state ="
	    " 'rejected') FROM (SELECT * FROM rollovers ORDER BY id DESC"
	    " LIMIT 4) r ORDER BY id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *side = (const char *)sqlite3_column_text(st, 0);
		const char *nfp = (const char *)sqlite3_column_text(st, 1);
		const char *ofp = (const char *)sqlite3_column_text(st, 2);
		const char *refused = (const char *)sqlite3_column_text(st, 7);
		int acked = sqlite3_column_type(st, 4) != SQLITE_NULL;
		int done = sqlite3_column_type(st, 5) != SQLITE_NULL;

		pkg_time_format(
		    (time_t)sqlite3_column_int64(st, 3), t1, sizeof t1);
		pkg_time_format((time_t)sqlite3_column_int64(st, done    ? 5
		                                                 : acked ? 4
		                                                         : 3),
		    t2, sizeof t2);
		if (strcmp(side, "own") == 0 && done)
			printf("rollover: our certificate %.16s... replaced "
			       "%.16s..., completed %s%s\n",
			    nfp, ofp, t2,
			    c->previous_key != NULL
			        ? ": remove previous_key and previous_cert "
			          "from [gateway] and destroy the old key"
			        : "");
		else if (strcmp(side, "own") == 0 && acked)
			printf("rollover: our certificate %.16s... is known to "
			       "%s since %s and signs; the previous key still "
			       "opens envelopes until %s seals for the new one "
			       "with no gap below\n",
			    nfp, c->peer_id, t2, c->peer_id);
		else if (strcmp(side, "own") == 0)
			printf("rollover: announcing our certificate %.16s... "
			       "(replaces %.16s...) since %s: signing with the "
			       "previous key until %s receipts it%s%s\n",
			    nfp, ofp, t1, c->peer_id,
			    refused != NULL ? "; REFUSED by the peer: " : "",
			    refused != NULL ? refused : "");
		else if (done)
			printf("rollover: %s's certificate %.16s... retired %s "
			       "for %.16s... (kept in %s/certs/): name the new "
			       "one in [gateway] trust instead of the old\n",
			    c->peer_id, ofp, t2, nfp, c->state);
		else
			printf("rollover: %s announced certificate %.16s... "
			       "(replacing %.16s...) on %s in %s: both trusted "
			       "until a package signed with it arrives with no "
			       "gap below\n",
			    c->peer_id, nfp, ofp, t1,
			    (const char *)sqlite3_column_text(st, 6));
	}
	db_finalize(st);
}

/* posgw transfer resend */
static int
cmd_transfer_resend(int argc, char **argv)
{
	struct error err = {0};
	const char *path;
	struct conf c;
	struct xfer *x;
	sqlite3_stmt *st;
	int i, first, all = 0, rc = 0, n;

	first = cmd_transfer_opts(argc, argv, &path, &all, transfer_usage);
	if (all == (first < argc))
		cli_usage_error("transfer resend needs --all or package names");
	if ((x = cmd_transfer_open(path, &c, "transfer resend")) == NULL)
		return 1;
	if (db_begin(xfer_db(x), &err) == -1)
		goto fail;
	for (i = all ? argc - 1 : first; i < argc; i++) {
		st = db_prepare(xfer_db(x),
		    all ? "UPDATE packages SET last_offer = 0 WHERE direction "
		          "= 'out'"
		          " AND state = 'sent' AND control = 0"
		        : "UPDATE packages SET last_offer = 0 WHERE direction "
		          "= 'out'"
		          " AND state = 'sent' AND control = 0 AND name = ?");
		if (!all)
			sqlite3_bind_text(st, 1, argv[i], -1, SQLITE_STATIC);
		if (db_step_done(xfer_db(x), st, &err) == -1)
			goto fail;
		n = sqlite3_changes(xfer_db(x)->h);
		if (!all && n == 0) {
			fprintf(stderr,
			    "posgw: transfer resend: %s is not a package "
			    "awaiting a receipt\n",
			    argv[i]);
			rc = 1;
		}
		if (n > 0 &&
		    journal_append(xfer_db(x), "operator.resend",
		        all ? NULL : argv[i], NULL, cli_operator(), &err) == -1)
			goto fail;
		printf("%d package(s) will be offered again\n", n);
	}
	if (db_commit(xfer_db(x), &err) == -1)
		goto fail;
	xfer_close(x);
	conf_free(&c);
	return rc;
fail:
	db_rollback(xfer_db(x));
	fprintf(stderr, "posgw: transfer resend: %s\n", err.text);
	xfer_close(x);
	conf_free(&c);
	return 1;
}

/* posgw status --config FILE: the gateway at a glance (= transfer status). */
int
cmd_transfer_overview(int argc, char **argv)
{
	const char *path;

	/* its own help; the work is transfer status's */
	cmd_transfer_opts(argc, argv, &path, NULL, status_usage);
	optind = 0; /* getopt starts afresh */
	return cmd_transfer_status(argc, argv, "status");
}

/* posgw transfer SUBCOMMAND */
int
cmd_transfer(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(transfer_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "enqueue") == 0)
		return cmd_transfer_enqueue(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_transfer_status(
		    argc - 1, argv + 1, "transfer status");
	if (strcmp(argv[1], "resend") == 0)
		return cmd_transfer_resend(argc - 1, argv + 1);
	cli_usage_error(
	    "unknown transfer command '%s' (enqueue, status, resend)", argv[1]);
}
