/* cmd-journal.c: posgw journal verify|show|reconcile, for auditors. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "journal.h"
#include "package.h"
#include "cli.h"
#include "xmalloc.h"

static const char journal_usage[] =
    "usage: posgw journal verify DB [--trust CERT]\n"
    "       posgw journal show DB [--since TIME] [--package NAME] [--appeal "
    "ID]\n"
    "       posgw journal reconcile EDGE.db CORE.db [--max-age HOURS]\n"
    "       posgw journal report DB [--peer PEER.db] --out report.html\n"
    "\n"
    "verify     recompute the hash chain and check every signed checkpoint;\n"
    "           exit 1 naming the first bad entry. --trust CERT checks the\n"
    "           checkpoint signatures against the gateway's certificate (or\n"
    "           its CA) as the auditor holds it; without it, against the\n"
    "           certificate stored in the database.\n"
    "show       the journal as a table; TIME is YYYY-MM-DD or\n"
    "           YYYY-MM-DDTHH:MM:SSZ.\n"
    "reconcile  for every package either side sent: received with the same\n"
    "           digest, rejected (with the code), or not seen (in flight, or\n"
    "           lost when older than --max-age hours, default 24); and each\n"
    "           side's copy of the other's checkpoints against its journal;\n"
    "           and every medium either side exported as a journaled\n"
    "           hand-over, matched by inventory digest to the other side's\n"
    "           import: handed over, refused, in transit, or not imported\n"
    "           when older than --max-age.\n"
    "           Exit 1 on a digest mismatch, a loss, a rewritten history, a\n"
    "           medium never imported or an import with no recorded export.\n"
    "Databases are opened read-only.\n";

/* Open a database read-only for an auditor, or say why not and who may. */
static struct db *
cmd_journal_open(const char *path)
{
	return cli_db_read(path, "journal");
}

/* posgw journal verify */
static int
cmd_journal_verify_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"trust", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct error err = {0};
	struct trust *t = NULL;
	struct db *db;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (t == NULL)
				t = trust_new();
			if (trust_add_file(t, optarg, &err) == -1)
				cli_usage_error("--trust: %s", err.text);
			break;
		case 'h':
			fputs(journal_usage, stdout);
			return 0;
		default:
			fputs(journal_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		cli_usage_error("journal verify needs one DB (see --help)");
	if ((db = cmd_journal_open(argv[optind])) == NULL) {
		trust_free(t);
		return 1;
	}
	rc = journal_verify(db, t, stdout, &err);
	if (rc != 0)
		printf("%s: FAILED: %s\n", argv[optind], err.text);
	else
		printf("%s: ok\n", argv[optind]);
	db_close(db);
	trust_free(t);
	return rc == 0 ? 0 : 1;
}

/* posgw journal show */
static int
cmd_journal_show(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"package", required_argument, NULL, 'p'},
	    {"appeal", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *pkg = NULL, *appeal = NULL;
	time_t since = 0;
	struct db *db;
	sqlite3_stmt *st;
	char t[32], buf[32];
	int ch, n = 0;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (strlen(optarg) == 10) {
				snprintf(
				    buf, sizeof buf, "%sT00:00:00Z", optarg);
				optarg = buf;
			}
			if (pkg_time_parse(optarg, &since) == -1)
				cli_usage_error("--since: YYYY-MM-DD or "
				                "YYYY-MM-DDTHH:MM:SSZ");
			break;
		case 'p':
			pkg = optarg;
			break;
		case 'a':
			appeal = optarg;
			break;
		case 'h':
			fputs(journal_usage, stdout);
			return 0;
		default:
			fputs(journal_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		cli_usage_error("journal show needs one DB (see --help)");
	if ((db = cmd_journal_open(argv[optind])) == NULL)
		return 1;
	st = db_prepare(db,
	    "SELECT seq, at, kind, package, appeal, detail FROM"
	    " journal WHERE at >= ? AND (? IS NULL OR package = ?) AND"
	    " (? IS NULL OR appeal = ?) ORDER BY seq");
	sqlite3_bind_int64(st, 1, (int64_t)since);
	sqlite3_bind_text(st, 2, pkg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pkg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, appeal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, appeal, -1, SQLITE_STATIC);
	printf("%-7s %-20s %-26s %-12s %s\n", "entry", "time (UTC)", "event",
	    "appeal", "package / detail");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *p = sqlite3_column_text(st, 3);
		const unsigned char *a = sqlite3_column_text(st, 4);
		const unsigned char *d = sqlite3_column_text(st, 5);

		pkg_time_format(
		    (time_t)sqlite3_column_int64(st, 1), t, sizeof t);
		printf("%-7lld %-20s %-26s %-12s %s%s%s\n",
		    (long long)sqlite3_column_int64(st, 0), t,
		    (const char *)sqlite3_column_text(st, 2),
		    a ? (const char *)a : "-", p ? (const char *)p : "",
		    p && d ? "  " : "", d ? (const char *)d : "");
		n++;
	}
	db_finalize(st);
	printf("(%d entries)\n", n);
	db_close(db);
	return 0;
}

/* Check one side's copies of the other's checkpoints against its journal. */
static int
cmd_journal_reconcile_cp(struct db *holder, const char *holdername,
    struct db *owner, const char *ownername)
{
	sqlite3_stmt *st, *q;
	int bad = 0, n = 0;

	st = db_prepare(
	    holder, "SELECT entry, head FROM peer_checkpoints ORDER BY entry");
	q = db_prepare(owner, "SELECT hash FROM journal WHERE seq = ?");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t entry = sqlite3_column_int64(st, 0);
		const char *head = (const char *)sqlite3_column_text(st, 1);

		sqlite3_bind_int64(q, 1, entry);
		if (sqlite3_step(q) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(q, 0), head) !=
		        0) {
			printf("REWRITTEN %s journal entry %" PRId64
			       " differs from "
			       "the checkpoint %s holds (or is gone)\n",
			    ownername, entry, holdername);
			bad = 1;
		}
		sqlite3_reset(q);
		n++;
	}
	db_finalize(q);
	db_finalize(st);
	printf("checkpoints: %d of %s's held by %s checked%s\n", n, ownername,
	    holdername, bad ? ": MISMATCH" : ", all match");
	return bad;
}

/* posgw journal reconcile */
static int
cmd_journal_reconcile(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"max-age", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct error err = {0};
	struct db *a, *b;
	int64_t maxage = 24 * 3600;
	int ch, bad = 0, counts[5] = {0};
	char *an, *bn, *end;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			errno = 0;
			maxage = strtoll(optarg, &end, 10) * 3600;
			if (errno || *end != '\0' || maxage < 0)
				cli_usage_error("--max-age needs hours");
			break;
		case 'h':
			fputs(journal_usage, stdout);
			return 0;
		default:
			fputs(journal_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		cli_usage_error("journal reconcile needs EDGE.db and CORE.db");
	if ((a = cmd_journal_open(argv[optind])) == NULL)
		return 1;
	if ((b = cmd_journal_open(argv[optind + 1])) == NULL) {
		db_close(a);
		return 1;
	}
	/* each side read at one moment, and not locked again per query */
	if (db_exec(a, "BEGIN", &err) == -1 ||
	    db_exec(b, "BEGIN", &err) == -1) {
		fprintf(stderr, "posgw: journal reconcile: %s\n", err.text);
		bad = 1;
		an = bn = NULL;
		goto out;
	}
	an = db_meta_get(a, "own_id");
	bn = db_meta_get(b, "own_id");
	if (an == NULL || bn == NULL) {
		fprintf(
		    stderr, "posgw: journal reconcile: not posgw databases\n");
		bad = 1;
		goto out;
	}
	bad |= cli_reconcile_dir(a, an, b, bn, maxage, counts, stdout);
	bad |= cli_reconcile_dir(b, bn, a, an, maxage, counts, stdout);
	bad |= cmd_journal_reconcile_cp(a, an, b, bn);
	bad |= cmd_journal_reconcile_cp(b, bn, a, an);
	bad |= cli_handover_reconcile(a, an, b, bn, maxage, stdout);
	printf("received %d, rejected %d, in flight %d, mismatched %d, lost "
	       "%d: %s\n",
	    counts[0], counts[1], counts[2], counts[3], counts[4],
	    bad ? "PROBLEMS FOUND" : "consistent");
out:
	free(an);
	free(bn);
	db_close(a);
	db_close(b);
	return bad ? 1 : 0;
}

/* posgw journal SUBCOMMAND */
int
cmd_journal(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(journal_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_journal_verify_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_journal_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "reconcile") == 0)
		return cmd_journal_reconcile(argc - 1, argv + 1);
	cli_usage_error(
	    "unknown journal command '%s' (verify, show, reconcile)", argv[1]);
}
