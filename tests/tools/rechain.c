/*
 * rechain.c: recompute every journal row's prev and hash in a gateway
 * database, as an attacker who rewrites history consistently would. For
 * tamper tests only; not installed. usage: rechain DB
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "journal.h"
#include "log.h"

int
main(int argc, char **argv)
{
	char prev[DIGEST_HEX_LEN + 1], hash[DIGEST_HEX_LEN + 1];
	struct error err = {0};
	sqlite3_stmt *st, *up;
	struct db *db;

	if (argc != 2) {
		fprintf(stderr, "usage: rechain DB\n");
		return 2;
	}
	log_init("rechain", LOG_LEVEL_WARN);
	if ((db = db_open(argv[1], 0, &err)) == NULL ||
	    db_exec(db, "DROP TRIGGER IF EXISTS journal_no_update;", &err) ==
	        -1 ||
	    db_begin(db, &err) == -1) {
		fprintf(stderr, "rechain: %s\n", err.text);
		return 1;
	}
	memset(prev, '0', DIGEST_HEX_LEN);
	prev[DIGEST_HEX_LEN] = '\0';
	st = db_prepare(db, "SELECT seq, at, kind, package, appeal, detail FROM"
	                    " journal ORDER BY seq");
	while (sqlite3_step(st) == SQLITE_ROW) {
		journal_row_hash(prev, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5), hash);
		up = db_prepare(
		    db, "UPDATE journal SET prev = ?, hash = ? WHERE seq = ?");
		sqlite3_bind_text(up, 1, prev, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(up, 2, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(up, 3, sqlite3_column_int64(st, 0));
		if (db_step_done(db, up, &err) == -1) {
			fprintf(stderr, "rechain: %s\n", err.text);
			return 1;
		}
		memcpy(prev, hash, sizeof prev);
	}
	db_finalize(st);
	if (db_commit(db, &err) == -1) {
		fprintf(stderr, "rechain: %s\n", err.text);
		return 1;
	}
	db_close(db);
	return 0;
}
