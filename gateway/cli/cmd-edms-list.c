/*
 * cmd-edms-list.c: posgw edms list and overdue: the core's appeals by due
 * date, with the counts the ПОС statistics ask for.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "edms.h"
#include "fsutil.h"
#include "journal.h"
#include "cli.h"
#include "schema.h"
#include "xfer.h"
#include "xmalloc.h"

static const char cmd_edms_list_usage[] =
    "usage: posgw edms list [--overdue | --due-within DAYS] --config FILE\n"
    "       posgw edms overdue --config FILE\n"
    "\n"
    "The appeals posgw-core exported: pos-id, kind, state, due date, days "
    "left and\n"
    "category, by due date; --overdue only those past their due date and "
    "not yet\n"
    "answered, declined or forwarded, --due-within those due within DAYS "
    "days\n"
    "(overdue included). Then the counts the ПОС statistics ask for: "
    "new, in work,\n"
    "answered, declined, forwarded, overdue, re-appealed, and by "
    "category. The\n"
    "core's database is opened read-only. Dates are local calendar days.\n"
    "Exit 0, 1 on failure, 2 on a usage error.\n";

/* One category's counts for the statistics. */
struct edms_cat {
	char *code;
	char *name;
	long total;
	long overdue;
};

static const char *cmd_edms_list_text(sqlite3_stmt *st, int i);
static int cmd_edms_list_run(int argc, char **argv, int overdue_only);

/* A text column, or NULL. */
static const char *
cmd_edms_list_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* posgw edms list, posgw edms overdue */
static int
cmd_edms_list_run(int argc, char **argv, int overdue_only)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"overdue", no_argument, NULL, 'o'},
	    {"due-within", required_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *state, *due, *cat;
	struct edms_cat *cats = NULL;
	struct conf c;
	struct db *db;
	sqlite3_stmt *st;
	long within = -1, today = edms_today(), d, left;
	long nnew = 0, nwork = 0, nans = 0, ndecl = 0, nfwd = 0, nover = 0;
	long nsoon = 0, nre = 0, total = 0, shown = 0;
	size_t ncats = 0, i;
	char *endp, leftbuf[24], catbuf[600], todaybuf[11], *sql;
	int ch, open, over, show, late;
	long nlate = 0;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'o':
			overdue_only = 1;
			break;
		case 'w':
			errno = 0;
			within = strtol(optarg, &endp, 10);
			if (errno != 0 || *endp != '\0' || within < 0 ||
			    within > 3650)
				cli_usage_error(
				    "--due-within takes a number of days "
				    "0..3650");
			break;
		case 'h':
			fputs(cmd_edms_list_usage, stdout);
			return 0;
		default:
			fputs(cmd_edms_list_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		cli_usage_error("edms list takes no arguments (see --help)");
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	if (overdue_only && within >= 0)
		cli_usage_error("give --overdue or --due-within, not both");
	if (cmd_edms_conf(config, &c) == -1)
		return 1;
	if ((db = cmd_edms_db_ro(
	         &c, 0, overdue_only ? "edms overdue" : "edms list")) == NULL) {
		conf_free(&c);
		return 1;
	}
	if (!edms_have_schema(db)) {
		printf("no appeals yet: posgw-core has exported none\n");
		db_close(db);
		conf_free(&c);
		return 0;
	}
	if (db_schema_version(db, &edms_db_schema) < EDMS_SCHEMA_VERSION) {
		fprintf(stderr,
		    "posgw: edms list: the core's tables in %s are of an older "
		    "posgw; start posgw-core once (it upgrades them), then "
		    "try again\n",
		    db->path);
		db_close(db);
		conf_free(&c);
		return 1;
	}
	edms_today_str(todaybuf);
	xasprintf(&sql,
	    "SELECT pos_id, kind, state, due, category, category_name,"
	    " subcategory, subcategory_name, reappeal, %s, forward_due,"
	    " closed_at FROM core_appeals ORDER BY due, pos_id",
	    edms_overdue_sql);
	st = db_prepare(db, sql);
	free(sql);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"),
	    todaybuf, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		state = cmd_edms_list_text(st, 2);
		due = cmd_edms_list_text(st, 3);
		cat = cmd_edms_list_text(st, 4);
		open = edms_state_open(state);
		left = 0;
		if (due != NULL && edms_date_parse(due, &d) == 0)
			left = d - today;
		else
			due = NULL;
		over = sqlite3_column_int(st, 9) != 0;
		late = over && !open; /* forwarded after its deadline */
		nlate += late;
		total++;
		nnew += strcmp(state, "new") == 0;
		nwork += open && strcmp(state, "new") != 0;
		nans += strcmp(state, "answered") == 0;
		ndecl += strcmp(state, "declined") == 0;
		nfwd += strcmp(state, "forwarded") == 0;
		nover += over;
		nsoon += open && due != NULL && left >= 0 && left <= 3;
		nre += sqlite3_column_int(st, 8) != 0;
		for (i = 0; i < ncats; i++)
			if (strcmp(cats[i].code, cat ? cat : "-") == 0)
				break;
		if (i == ncats) {
			cats = xreallocarray(cats, ncats + 1, sizeof *cats);
			cats[i].code = xstrdup(cat ? cat : "-");
			cats[i].name = xstrdup(cmd_edms_list_text(st, 5)
			                           ? cmd_edms_list_text(st, 5)
			                           : "");
			cats[i].total = cats[i].overdue = 0;
			ncats++;
		}
		cats[i].total++;
		cats[i].overdue += over;
		show = overdue_only  ? over
		       : within >= 0 ? open && due != NULL && left <= within
		                     : 1;
		if (!show)
			continue;
		if (shown++ == 0)
			printf("%-20s %-8s %-10s %-10s %5s  %s\n", "POS-ID",
			    "KIND", "STATE", "DUE", "LEFT", "CATEGORY");
		if (open && due != NULL)
			snprintf(leftbuf, sizeof leftbuf, "%ld", left);
		else
			snprintf(leftbuf, sizeof leftbuf, "-");
		snprintf(catbuf, sizeof catbuf, "%s%s%s%s%s%s%s",
		    cat ? cat : "-", cmd_edms_list_text(st, 5) ? " " : "",
		    cmd_edms_list_text(st, 5) ? cmd_edms_list_text(st, 5) : "",
		    cmd_edms_list_text(st, 6) ? " / " : "",
		    cmd_edms_list_text(st, 6) ? cmd_edms_list_text(st, 6) : "",
		    cmd_edms_list_text(st, 7) ? " " : "",
		    cmd_edms_list_text(st, 7) ? cmd_edms_list_text(st, 7) : "");
		if (late)
			snprintf(leftbuf, sizeof leftbuf, "late");
		printf("%-20s %-8s %-10s %-10s %5s  %s\n",
		    cmd_edms_list_text(st, 0), cmd_edms_list_text(st, 1),
		    edms_state_label(state), due ? due : "-", leftbuf, catbuf);
	}
	db_finalize(st);
	if (shown == 0)
		printf("%s\n", overdue_only  ? "no overdue appeals"
		               : within >= 0 ? "no appeals due within that time"
		                             : "no appeals yet");
	printf(
	    "\nappeals %ld: new %ld, in work %ld, answered %ld, declined %ld, "
	    "forwarded %ld; overdue %ld, due within 3 days %ld, re-appealed "
	    "%ld, forwarded late %ld\n",
	    total, nnew, nwork, nans, ndecl, nfwd, nover, nsoon, nre, nlate);
	if (db_int(db,
	        "SELECT COUNT(*) FROM core_appeals WHERE repeated IS NOT NULL",
	        0) > 0)
		printf("repeated (59-FZ art. 11): %" PRId64 " candidate(s) to "
		       "decide, %" PRId64 " confirmed, %" PRId64
		       " rejected (posgw edms repeated --list)\n",
		    db_int(db,
		        "SELECT COUNT(*) FROM core_appeals WHERE repeated ="
		        " 'candidate'",
		        0),
		    db_int(db,
		        "SELECT COUNT(*) FROM core_appeals WHERE repeated ="
		        " 'confirmed'",
		        0),
		    db_int(db,
		        "SELECT COUNT(*) FROM core_appeals WHERE repeated ="
		        " 'rejected'",
		        0));
	if (nlate > 0)
		printf("(forwarded late: forwarded more than %u days after "
		       "registration, 59-FZ art. 8; counted as overdue, LEFT "
		       "shows late)\n",
		    c.edms.forward_days);
	if (ncats > 0)
		printf("by category:\n");
	for (i = 0; i < ncats; i++) {
		printf("  %s %s: %ld (overdue %ld)\n", cats[i].code,
		    cats[i].name, cats[i].total, cats[i].overdue);
		free(cats[i].code);
		free(cats[i].name);
	}
	free(cats);
	db_close(db);
	conf_free(&c);
	return 0;
}

/* posgw edms list */
int
cmd_edms_list(int argc, char **argv)
{
	return cmd_edms_list_run(argc, argv, 0);
}

/* posgw edms overdue */
int
cmd_edms_overdue(int argc, char **argv)
{
	return cmd_edms_list_run(argc, argv, 1);
}
