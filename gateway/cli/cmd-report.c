/*
 * cmd-report.c: posgw journal report, a self-contained HTML report for
 * auditors. The sections are written first (each records what it found in
 * struct report), then the verdict box that opens the report is made from
 * those findings, so the first box says everything that is wrong.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "error.h"
#include "journal.h"
#include "log.h"
#include "report.h"
#include "sig.h"
#include "xfer.h"
#include "xmalloc.h"

static const char report_usage[] =
    "usage: posgw journal report DB [--peer PEER.db] [--trust CERT]...\n"
    "                               [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
    "                               --out REPORT.html\n"
    "\n"
    "Write one self-contained HTML file (inline CSS and SVG charts, no\n"
    "scripts, nothing loaded from elsewhere) for auditors, in Russian. Its\n"
    "first box is the verdict: green only when the journal's hash chain is\n"
    "intact, its signed checkpoints verify against --trust, no package is\n"
    "missing, rejected or lost and no appeal is overdue; red, naming each\n"
    "problem, otherwise. Then: packages per day, rejects by code, delivery\n"
    "latency, gaps and packages in flight, appeals by status, overdue\n"
    "appeals; on the core's database, heat maps of appeals by ПОС category\n"
    "and territory (ОКТМО): new in the period, overdue as of its end (--to,\n"
    "else today), confirmed repeated ones in the period.\n"
    "  --peer PEER.db      reconcile with the other gateway's database and\n"
    "                      check its copies of this gateway's checkpoints\n"
    "  --trust CERT        the certificate this gateway signs checkpoints\n"
    "                      with, from an independent source; without it the\n"
    "                      checkpoints are not independently verified and\n"
    "                      the verdict cannot be green\n"
    "  --from, --to DATE   count packages, rejects and appeals of these UTC\n"
    "                      days only (the chain, gaps, losses and overdue\n"
    "                      appeals are always checked whole, as of now)\n"
    "  --out REPORT.html   the file to write\n"
    "Databases are opened read-only. Exit 0 when the report is written\n"
    "(whatever its verdict), 1 on failure, 2 on a usage error.\n";

static int cmd_report_date(const char *, int, int64_t *);

/* posgw journal report */
int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"peer", required_argument, NULL, 'p'},
	    {"trust", required_argument, NULL, 't'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 'T'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct report r = {0};
	struct error err = {0};
	const char *out = NULL;
	char *doc = NULL, *body = NULL;
	size_t dlen = 0, blen = 0;
	FILE *fh, *fb;
	int ch, rc;

	r.from = INT64_MIN;
	r.to = INT64_MAX;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			r.peerpath = optarg;
			break;
		case 't':
			if (r.trust == NULL)
				r.trust = trust_new();
			if (trust_add_file(r.trust, optarg, &err) == -1)
				cli_usage_error("--trust: %s", err.text);
			r.trustpath = xreallocarray(
			    r.trustpath, r.ntrust + 1, sizeof *r.trustpath);
			r.trustpath[r.ntrust++] = optarg;
			break;
		case 'f':
			if (cmd_report_date(optarg, 0, &r.from) == -1)
				cli_usage_error("--from %s: give a date as "
				                "YYYY-MM-DD",
				    optarg);
			snprintf(r.dfrom, sizeof r.dfrom, "%s", optarg);
			break;
		case 'T':
			if (cmd_report_date(optarg, 1, &r.to) == -1)
				cli_usage_error("--to %s: give a date as "
				                "YYYY-MM-DD",
				    optarg);
			snprintf(r.dto, sizeof r.dto, "%s", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		default:
			fputs(report_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		cli_usage_error("journal report needs one DB (see --help)");
	if (out == NULL)
		cli_usage_error("journal report needs --out REPORT.html");
	if (r.from > r.to)
		cli_usage_error("--from %s is after --to %s", r.dfrom, r.dto);
	r.path = argv[optind];
	r.now = (int64_t)time(NULL);
	if ((r.db = cli_db_read(r.path, "journal report")) == NULL)
		goto fail;
	if ((r.own = db_meta_get(r.db, "own_id")) == NULL) {
		fprintf(stderr,
		    "posgw: journal report: %s is not a posgw gateway "
		    "database (no own_id); give the gateway's posgw.db\n",
		    r.path);
		goto fail;
	}
	r.peer_id = db_meta_get(r.db, "peer_id");
	if (r.peerpath != NULL) {
		if ((r.peer = cli_db_read(
		         r.peerpath, "journal report --peer")) == NULL)
			goto fail;
		if ((r.peer_own = db_meta_get(r.peer, "own_id")) == NULL) {
			fprintf(stderr,
			    "posgw: journal report: --peer %s is not a posgw "
			    "gateway database (no own_id); give the other "
			    "gateway's posgw.db\n",
			    r.peerpath);
			goto fail;
		}
	}

	if ((fb = open_memstream(&body, &blen)) == NULL ||
	    (fh = open_memstream(&doc, &dlen)) == NULL)
		fatal("journal report: open_memstream");
	report_packages_totals(fb, &r);
	report_verdict_verify(fb, &r);
	report_packages_days(fb, &r);
	report_packages_rejects(fb, &r);
	report_packages_latency(fb, &r);
	report_packages_gaps(fb, &r);
	report_appeals(fb, &r);
	report_appeals_overdue(fb, &r);
	report_heatmap(fb, &r);
	report_handovers(fb, &r);
	if (r.peer != NULL)
		report_packages_peer(fb, &r);
	fputs("<p class=\"muted\">Отчёт сформирован командой <code>posgw "
	      "journal report</code>; базы открыты только для чтения.</p>\n"
	      "</body>\n</html>\n",
	    fb);
	/* the verdict, made from the sections' findings, comes first */
	if (fclose(fb) != 0)
		fatal("journal report: building the report in memory");
	report_verdict_head(fh, &r);
	report_verdict(fh, &r);
	fwrite(body, 1, blen, fh);
	if (fclose(fh) != 0)
		fatal("journal report: building the report in memory");
	rc = report_html_write(out, doc, dlen) == 0 ? 0 : 1;
	free(doc);
	free(body);
	goto out;
fail:
	rc = 1;
out:
	free(r.own);
	free(r.peer_id);
	free(r.peer_own);
	free(r.trustpath);
	trust_free(r.trust);
	db_close(r.peer);
	db_close(r.db);
	return rc;
}

/* Parse YYYY-MM-DD into the first (or, with end, the last) second of it. */
static int
cmd_report_date(const char *s, int end, int64_t *t)
{
	struct tm tm = {0}, back;
	const char *rest;
	time_t v;

	if (strlen(s) != 10 || (rest = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
	    *rest != '\0')
		return -1;
	back = tm;
	if ((v = timegm(&tm)) == (time_t)-1 || tm.tm_mday != back.tm_mday ||
	    tm.tm_mon != back.tm_mon)
		return -1; /* 2026-02-30 is not a day */
	*t = (int64_t)v + (end ? 86399 : 0);
	return 0;
}
