/*
 * cmd-edms-repeated.c: posgw edms repeated: the clerk's decision on a
 * repeated-appeal mark (59-FZ art. 11), or the list of the marks. A
 * decision is a <repeated> file written into the EDMS import folder like an
 * event (event.xsd), which posgw-core records; the list reads the core's
 * database read-only.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>

#include "cli.h"
#include "conf.h"
#include "edms.h"
#include "fsutil.h"
#include "package.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static const char cmd_edms_repeated_usage[] =
    "usage: posgw edms repeated POS_ID --confirm|--reject [--comment TEXT]\n"
    "                           --config FILE\n"
    "       posgw edms repeated --list --config FILE\n"
    "\n"
    "posgw-core marks an appeal as a candidate repeated appeal (59-FZ art. "
    "11)\n"
    "when the same ESIA-verified author asked the same question (ПОС "
    "category\n"
    "and subcategory) and was answered within [edms] repeat_days (365); "
    "the\n"
    "EDMS export carries <repeated of=\"...\" status=\"candidate\"/>. The "
    "clerk\n"
    "confirms or rejects the mark (a decision may be corrected later); the\n"
    "statistics count the confirmed ones. The decision is written into the\n"
    "[edms] import folder; posgw-core records it on its next round.\n"
    "--list prints the marked appeals with their earlier appeals and the\n"
    "decisions. Exit 0, 1 on failure, 2 on a usage error.\n";

/* Print the marked appeals (read-only). */
static int
cmd_edms_repeated_list(const struct conf *c)
{
	struct db *db;
	sqlite3_stmt *st;
	long n = 0, cand = 0, conf = 0, rej = 0;

	if ((db = cmd_edms_db_ro(c, 1, "edms repeated")) == NULL)
		return 1;
	st = db_prepare(db,
	    "SELECT pos_id, repeated, repeated_of, category,"
	    " COALESCE(category_name, '') FROM core_appeals WHERE repeated IS"
	    " NOT NULL ORDER BY created, pos_id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 1);
		if (n++ == 0)
			printf("%-20s %-10s %-30s %s\n", "POS-ID", "MARK",
			    "EARLIER", "CATEGORY");
		printf("%-20s %-10s %-30s %s %s\n",
		    (const char *)sqlite3_column_text(st, 0), d,
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4));
		cand += strcmp(d, "candidate") == 0;
		conf += strcmp(d, "confirmed") == 0;
		rej += strcmp(d, "rejected") == 0;
	}
	db_finalize(st);
	if (n == 0)
		printf("no repeated appeals marked\n");
	printf("\nrepeated: %ld marked: %ld candidate(s) to decide, %ld "
	       "confirmed, %ld rejected\n",
	    n, cand, conf, rej);
	db_close(db);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "posgw: edms repeated: cannot write the list "
		                "to standard output\n");
		return 1;
	}
	return 0;
}

/* Write the decision file into the import folder (dot file, then rename). */
static int
cmd_edms_repeated_write(const struct conf *c, const char *pos,
    const char *decision, const char *comment)
{
	struct error err = {0};
	xmlChar *esc;
	char *xml, name[96], at[32], uuid[37];
	xmlDocPtr doc;
	int n, rc = 1;

	pkg_time_format(time(NULL), at, sizeof at);
	esc = xmlEncodeSpecialChars(
	    NULL, (const xmlChar *)(comment != NULL ? comment : ""));
	n = xasprintf(&xml,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<repeated xmlns=\"%s\" pos-id=\"%s\" decision=\"%s\" "
	    "at=\"%s\">%s</repeated>\n",
	    NS_EXCHANGE, pos, decision, at, (const char *)esc);
	xmlFree(esc);
	/* what the core would refuse is refused here, before writing */
	if (schema_load(&err) == -1 ||
	    (doc = xmlsafe_parse(
	         xml, (size_t)n, "repeated", 64, ERR_PAYLOAD, &err)) == NULL) {
		fprintf(stderr, "posgw: edms repeated: %s\n", err.text);
		goto out;
	}
	if (schema_validate(
	        SCHEMA_EXCHANGE, doc, "repeated", ERR_PAYLOAD, &err) == -1) {
		fprintf(stderr, "posgw: edms repeated: %s\n", err.text);
		xmlFreeDoc(doc);
		goto out;
	}
	xmlFreeDoc(doc);
	/* unique: two decisions within a second must not overwrite */
	pkg_uuid_new(uuid);
	snprintf(name, sizeof name, "repeated-%s-%.8s.xml", pos, uuid);
	if (fs_write_file(c->edms.import_dir, name, xml, (size_t)n, 0660,
	        FS_WRITE_SHARE, &err) == -1) {
		fprintf(stderr, "posgw: edms repeated: %s\n", err.text);
		goto out;
	}
	printf("wrote %s/%s: appeal %s repeated-appeal mark %s; posgw-core "
	       "takes it on its next round\n",
	    c->edms.import_dir, name, pos, decision);
	rc = 0;
out:
	free(xml);
	return rc;
}

/* posgw edms repeated */
int
cmd_edms_repeated(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"confirm", no_argument, NULL, 'y'},
	    {"reject", no_argument, NULL, 'n'},
	    {"comment", required_argument, NULL, 'm'},
	    {"list", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *decision = NULL, *comment = NULL, *pos;
	struct edms_appeal a;
	struct conf c;
	struct db *db;
	char mark[16] = "";
	int ch, list = 0, rc = 1;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'y':
		case 'n':
			if (decision != NULL)
				cli_usage_error("give --confirm or --reject, "
				                "not both");
			decision = ch == 'y' ? "confirmed" : "rejected";
			break;
		case 'm':
			comment = optarg;
			break;
		case 'l':
			list = 1;
			break;
		case 'h':
			fputs(cmd_edms_repeated_usage, stdout);
			return 0;
		default:
			fputs(cmd_edms_repeated_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (config == NULL)
		cli_usage_error("--config FILE is required (see --help)");
	if (list) {
		if (optind != argc || decision != NULL || comment != NULL)
			cli_usage_error("--list takes nothing else");
	} else {
		if (argc - optind != 1)
			cli_usage_error("edms repeated needs one POS_ID (see "
			                "--help)");
		if (decision == NULL)
			cli_usage_error("give --confirm or --reject");
		pos = argv[optind];
		if (strspn(pos, "0123456789") != strlen(pos) ||
		    strlen(pos) == 0 || strlen(pos) > 20)
			cli_usage_error(
			    "'%s' is not a ПОС appeal id (1..20 digits)", pos);
	}
	if (cmd_edms_conf(config, &c) == -1)
		return 1;
	if (list) {
		rc = cmd_edms_repeated_list(&c);
		goto out;
	}
	if ((db = cmd_edms_db_ro(&c, 1, "edms repeated")) == NULL)
		goto out;
	if (!edms_appeal_load(db, pos, &a)) {
		fprintf(stderr,
		    "posgw: edms repeated: appeal %s is unknown to posgw-core "
		    "(%s)\n",
		    pos, db->path);
		db_close(db);
		goto out;
	}
	{
		sqlite3_stmt *st = db_prepare(db,
		    "SELECT COALESCE(repeated, '') FROM core_appeals WHERE"
		    " pos_id = ?");
		sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(mark, sizeof mark, "%s",
			    (const char *)sqlite3_column_text(st, 0));
		db_finalize(st);
	}
	db_close(db);
	if (mark[0] == '\0') {
		fprintf(stderr,
		    "posgw: edms repeated: appeal %s is not marked as a "
		    "repeated appeal (posgw edms repeated --list shows the "
		    "marks); nothing was written\n",
		    pos);
		goto out;
	}
	rc = cmd_edms_repeated_write(&c, pos, decision, comment);
out:
	conf_free(&c);
	return rc;
}
