/* db.h: the gateway's SQLite database: open, migrate, transactions, helpers. */
#ifndef POSGW_DB_H
#define POSGW_DB_H

#include <stdint.h>

#include <sqlite3.h>

#include "error.h"

#define DB_SCHEMA_VERSION 4

struct db {
	sqlite3 *h;
	char *path;
	int depth; /* open db_begin levels; inner ones are savepoints */
	int wal;   /* opened for writing: we run its checkpoints */
};

/*
 * A set of tables with a version of its own: the engine's (in PRAGMA
 * user_version), the edge's and the core's (in a meta key). steps[i] takes
 * the set from version i to i + 1; a new version adds a step, never edits
 * one (each array is checked against its version by _Static_assert).
 */
struct db_schema {
	const char *name; /* "engine", "edge", "core": for messages */
	const char *key;  /* meta key of the version; NULL: user_version */
	const char *const *steps; /* the migrations */
	int version;              /* how many: the version this posgw writes */
};

extern const struct db_schema db_engine_schema;

struct db *db_open(const char *, int, struct error *);
int db_upgrade(struct db *, const struct db_schema *, struct error *);
long db_schema_version(struct db *, const struct db_schema *);
void db_close(struct db *);
int db_truncate_wal(struct db *, struct error *);
int db_begin(struct db *, struct error *);
int db_commit(struct db *, struct error *);
int db_nested(struct db *);
void db_rollback(struct db *);
int db_exec(struct db *, const char *, struct error *);
sqlite3_stmt *db_prepare(struct db *, const char *);
void db_finalize(sqlite3_stmt *);
int db_step_done(struct db *, sqlite3_stmt *, struct error *);
int64_t db_int(struct db *, const char *, int64_t);
int db_exists(struct db *, const char *, const char *);
char *db_meta_get(struct db *, const char *);
int db_meta_set(struct db *, const char *, const char *, struct error *);
int db_set_err(struct db *, struct error *, const char *);

#endif
