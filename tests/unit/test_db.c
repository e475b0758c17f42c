/* test_db.c: opening, migrating and guarding the gateway's SQLite database. */
#include "config.h"

#include "testutil.h"

#include "db.h"
#include "log.h"

static const char *const tables[] = {"meta", "packages", "documents", "files",
    "inbound_files", "journal", "checkpoints", "peer_checkpoints", "handovers"};

/* The text of the first column of the first row of a query (malloc'd). */
static char *
db_text(struct db *db, const char *sql)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	char *v = NULL;

	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	db_finalize(st);
	return v;
}

/* Open dir/name with create mode; must succeed. */
static struct db *
open_ok(const char *dir, const char *name, int create)
{
	char *path = tu_path(dir, name);
	struct error err = {0};
	struct db *db;

	err_clear(&err);
	if ((db = db_open(path, create, &err)) == NULL)
		fail_msg("db_open %s (%d): %s", path, create, err.text);
	free(path);
	return db;
}

/* Open dir/name with create mode; must fail with needle in the error. */
static void
open_fails(const char *dir, const char *name, int create, const char *needle)
{
	char *path = tu_path(dir, name);
	struct error err = {0};
	struct db *db;

	err_clear(&err);
	if ((db = db_open(path, create, &err)) != NULL) {
		db_close(db);
		fail_msg("db_open %s (%d) succeeded", path, create);
	}
	if (strstr(err.text, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.text, needle);
	if (strstr(err.text, path) == NULL)
		fail_msg("error '%s' does not name %s", err.text, path);
	free(path);
}

/* Run db_open with stderr captured into *logp (malloc'd). */
static struct db *
open_logged(const char *dir, const char *name, char **logp)
{
	char *logf = tu_path(dir, "stderr.log");
	struct db *db;
	int fd, saved;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved != -1 && fd != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	db = open_ok(dir, name, 1);
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	*logp = tu_read_file(logf, NULL);
	unlink(logf);
	free(logf);
	return db;
}

/* A new database is in WAL mode with synchronous=FULL and foreign keys on. */
static void
test_open_pragmas(void **state)
{
	struct db *db = open_ok(*state, "g.db", 1);
	char *mode = db_text(db, "PRAGMA journal_mode");

	assert_non_null(mode);
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(db_int(db, "PRAGMA synchronous", -1), 2); /* FULL */
	assert_int_equal(db_int(db, "PRAGMA foreign_keys", -1), 1);
	assert_int_equal(
	    db_int(db, "PRAGMA user_version", -1), DB_SCHEMA_VERSION);
	db_close(db);
}

/* The first migration creates every table, both journal triggers and indexes. */
static void
test_open_schema(void **state)
{
	struct db *db = open_ok(*state, "g.db", 1);
	char sql[160];
	size_t i;

	for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		snprintf(sql, sizeof sql,
		    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
		    " AND name = '%s'",
		    tables[i]);
		if (db_int(db, sql, -1) != 1)
			fail_msg("table %s is missing", tables[i]);
		snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", tables[i]);
		assert_int_equal(db_int(db, sql, -1), 0);
	}
	assert_int_equal(db_int(db,
	                     "SELECT COUNT(*) FROM sqlite_master WHERE type ="
	                     " 'trigger' AND tbl_name = 'journal' AND name IN"
	                     " ('journal_no_update', 'journal_no_delete')",
	                     -1),
	    2);
	assert_int_equal(db_int(db,
	                     "SELECT COUNT(*) FROM sqlite_master WHERE type ="
	                     " 'index' AND name IN ('packages_out_seq',"
	                     " 'packages_in_seq', 'packages_uuid',"
	                     " 'packages_name', 'documents_package',"
	                     " 'documents_pending', 'documents_pos',"
	                     " 'files_document')",
	                     -1),
	    8);
	db_close(db);
}

/* Reopening a current database keeps its data and logs no migration. */
static void
test_reopen_no_migration(void **state)
{
	struct error err = {0};
	struct db *db;
	char *log, *v;

	log_set_level(LOG_LEVEL_INFO);
	db = open_logged(*state, "g.db", &log);
	if (strstr(log, "migrated to schema version 1") == NULL)
		fail_msg("no migration logged: '%s'", log);
	free(log);
	err_clear(&err);
	assert_int_equal(db_meta_set(db, "mark", "kept", &err), 0);
	db_close(db);

	db = open_logged(*state, "g.db", &log);
	if (strstr(log, "migrated") != NULL)
		fail_msg("migrated again: '%s'", log);
	free(log);
	assert_int_equal(
	    db_int(db, "PRAGMA user_version", -1), DB_SCHEMA_VERSION);
	v = db_meta_get(db, "mark");
	assert_non_null(v);
	assert_string_equal(v, "kept");
	free(v);
	db_close(db);
	log_set_level(LOG_LEVEL_WARN);
}

/* A database of a newer schema is refused with both versions named. */
static void
test_newer_schema_refused(void **state)
{
	struct error err = {0};
	struct db *db = open_ok(*state, "g.db", 1);
	char want[64];

	err_clear(&err);
	assert_int_equal(db_exec(db, "PRAGMA user_version = 7", &err), 0);
	db_close(db);
	snprintf(
	    want, sizeof want, "newer than this posgw (%d)", DB_SCHEMA_VERSION);
	open_fails(*state, "g.db", 1, "has schema version 7");
	open_fails(*state, "g.db", 0, want);
	/* refusing did not touch it */
	db = open_ok(*state, "g.db", -1);
	assert_int_equal(db_int(db, "PRAGMA user_version", -1), 7);
	db_close(db);
}

/* Without create, a missing database is an error and no file appears. */
static void
test_open_missing(void **state)
{
	char *path = tu_path(*state, "none.db");

	open_fails(*state, "none.db", 0, "does not exist");
	open_fails(*state, "none.db", -1, "does not exist");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(tu_dir_count(*state, 0), 0);
	free(path);
}

/* An existing database opens without create and is migrated if older. */
static void
test_open_existing_migrates(void **state)
{
	char *path = tu_path(*state, "old.db");
	struct db *db;
	sqlite3 *h;

	/* a database file at version 0, as sqlite3 would make it */
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(h, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	db = open_ok(*state, "old.db", 0);
	assert_int_equal(
	    db_int(db, "PRAGMA user_version", -1), DB_SCHEMA_VERSION);
	assert_int_equal(db_int(db, "SELECT COUNT(*) FROM journal", -1), 0);
	db_close(db);
	free(path);
}

/* A read-only open reads but refuses writes and never migrates. */
static void
test_read_only(void **state)
{
	struct error err = {0};
	struct db *db = open_ok(*state, "g.db", 1);
	char *v, *path;
	sqlite3 *h;

	err_clear(&err);
	assert_int_equal(db_meta_set(db, "own_id", "edge-01", &err), 0);
	db_close(db);

	db = open_ok(*state, "g.db", -1);
	v = db_meta_get(db, "own_id");
	assert_non_null(v);
	assert_string_equal(v, "edge-01");
	free(v);
	err_clear(&err);
	assert_int_equal(db_meta_set(db, "own_id", "core-01", &err), -1);
	assert_non_null(strstr(err.text, "readonly"));
	err_clear(&err);
	assert_int_equal(
	    db_exec(db, "INSERT INTO meta VALUES ('a', 'b')", &err), -1);
	assert_true(err.text[0] != '\0');
	err_clear(&err);
	assert_int_equal(db_exec(db, "CREATE TABLE x (y)", &err), -1);
	db_close(db);

	db = open_ok(*state, "g.db", 0);
	v = db_meta_get(db, "own_id");
	assert_string_equal(v, "edge-01");
	free(v);
	assert_null(db_meta_get(db, "a"));
	db_close(db);

	/* a version-0 file stays at version 0 when opened read-only */
	path = tu_path(*state, "v0.db");
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(h, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	db = open_ok(*state, "v0.db", -1);
	assert_int_equal(db_int(db, "PRAGMA user_version", -1), 0);
	assert_int_equal(db_int(db,
	                     "SELECT COUNT(*) FROM sqlite_master WHERE name ="
	                     " 'journal'",
	                     -1),
	    0);
	db_close(db);
	free(path);
}

/* db_meta_set inserts and overwrites; db_meta_get returns copies or NULL. */
static void
test_meta_roundtrip(void **state)
{
	struct db *db = open_ok(*state, "g.db", 1);
	struct error err = {0};
	char *v;

	assert_null(db_meta_get(db, "peer_id"));
	err_clear(&err);
	assert_int_equal(db_meta_set(db, "peer_id", "core-01", &err), 0);
	v = db_meta_get(db, "peer_id");
	assert_string_equal(v, "core-01");
	free(v);
	assert_int_equal(db_meta_set(db, "peer_id", "core-02", &err), 0);
	v = db_meta_get(db, "peer_id");
	assert_string_equal(v, "core-02");
	free(v);
	assert_int_equal(db_int(db, "SELECT COUNT(*) FROM meta", -1), 1);
	assert_int_equal(db_meta_set(db, "empty", "", &err), 0);
	v = db_meta_get(db, "empty");
	assert_non_null(v);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(db_meta_set(db, "utf8", "Калуга\nline 2", &err), 0);
	v = db_meta_get(db, "utf8");
	assert_string_equal(v, "Калуга\nline 2");
	free(v);
	assert_null(db_meta_get(db, "PEER_ID"));
	db_close(db);
	db = open_ok(*state, "g.db", 0);
	v = db_meta_get(db, "peer_id");
	assert_string_equal(v, "core-02");
	free(v);
	db_close(db);
}

/* A rolled-back transaction leaves nothing; a committed one persists. */
static void
test_transactions(void **state)
{
	struct db *db = open_ok(*state, "g.db", 1);
	struct error err = {0};
	char *v;

	err_clear(&err);
	assert_int_equal(db_begin(db, &err), 0);
	assert_int_equal(db_meta_set(db, "k", "rolled back", &err), 0);
	db_rollback(db);
	assert_null(db_meta_get(db, "k"));
	db_rollback(db); /* without a transaction: harmless */
	assert_int_equal(db_begin(db, &err), 0);
	assert_int_equal(db_meta_set(db, "k", "committed", &err), 0);
	assert_int_equal(db_commit(db, &err), 0);
	/* COMMIT without a transaction fails and says why */
	assert_int_equal(db_commit(db, &err), -1);
	assert_non_null(strstr(err.text, "no transaction"));
	db_close(db);
	db = open_ok(*state, "g.db", 0);
	v = db_meta_get(db, "k");
	assert_string_equal(v, "committed");
	free(v);
	assert_int_equal(
	    db_int(db, "SELECT value FROM meta WHERE key = 'x'", 42), 42);
	assert_int_equal(db_int(db, "SELECT NULL", 42), 42);
	db_close(db);
}

/* The journal triggers refuse UPDATE and DELETE but let INSERT through. */
static void
test_journal_append_only(void **state)
{
	struct db *db = open_ok(*state, "g.db", 1);
	struct error err = {0};

	err_clear(&err);
	assert_int_equal(db_exec(db,
	                     "INSERT INTO journal (seq, at, kind, prev, hash)"
	                     " VALUES (1, 0, 'k', 'p', 'h'), (2, 0, 'k', 'h',"
	                     " 'i')",
	                     &err),
	    0);
	err_clear(&err);
	assert_int_equal(
	    db_exec(db, "UPDATE journal SET kind = 'x' WHERE seq = 1", &err),
	    -1);
	assert_non_null(strstr(err.text, "the journal is append-only"));
	err_clear(&err);
	assert_int_equal(
	    db_exec(db, "DELETE FROM journal WHERE seq = 2", &err), -1);
	assert_non_null(strstr(err.text, "the journal is append-only"));
	/* a plain INSERT cannot take an existing seq either */
	err_clear(&err);
	assert_int_equal(db_exec(db,
	                     "INSERT INTO journal (seq, at, kind, prev, hash)"
	                     " VALUES (1, 0, 'x', 'p', 'h')",
	                     &err),
	    -1);
	assert_int_equal(
	    db_int(db, "SELECT COUNT(*) FROM journal WHERE kind = 'k'", -1), 2);
	/* the triggers are in the file: a fresh connection is guarded too */
	db_close(db);
	db = open_ok(*state, "g.db", 0);
	err_clear(&err);
	assert_int_equal(db_exec(db, "DELETE FROM journal", &err), -1);
	assert_int_equal(db_int(db, "SELECT COUNT(*) FROM journal", -1), 2);
	db_close(db);
}

/* Constraints of the schema: direction, unique outbound seq, foreign keys. */
static void
test_constraints(void **state)
{
	struct db *db = open_ok(*state, "g.db", 1);
	struct error err = {0};

#define PKG(dir, seq, st)                                                      \
	"INSERT INTO packages (direction, name, sender, recipient, seq, uuid," \
	" created, state) VALUES ('" dir "', 'n', 'edge-01', 'core-01', " seq  \
	", 'u', 0, '" st "')"
	err_clear(&err);
	assert_int_equal(db_exec(db, PKG("sideways", "1", "sent"), &err), -1);
	assert_non_null(strstr(err.text, "CHECK"));
	assert_int_equal(db_exec(db, PKG("out", "1", "sent"), &err), 0);
	err_clear(&err);
	assert_int_equal(db_exec(db, PKG("out", "1", "building"), &err), -1);
	assert_non_null(strstr(err.text, "UNIQUE"));
	/* inbound: one accepted package per sender and seq, rejects beside it */
	assert_int_equal(db_exec(db, PKG("in", "1", "accepted"), &err), 0);
	assert_int_equal(db_exec(db, PKG("in", "1", "rejected"), &err), 0);
	assert_int_equal(db_exec(db, PKG("in", "1", "conflict"), &err), 0);
	assert_int_equal(db_exec(db, PKG("in", "1", "accepted"), &err), -1);
#undef PKG
	err_clear(&err);
	assert_int_equal(db_exec(db,
	                     "INSERT INTO files (document_id, path, size,"
	                     " digest) VALUES (999, 'payload/a', 1, 'd')",
	                     &err),
	    -1);
	assert_non_null(strstr(err.text, "FOREIGN KEY"));
	db_close(db);
}

/* Schema step 3: a hand-over is recorded once per direction and digest. */
static void
test_handovers_once(void **state)
{
	struct db *db = open_ok(*state, "g.db", 1);
	struct error err = {0};
#define HO(dir, dig)                                                           \
	"INSERT INTO handovers (direction, digest, at, operator, host,"        \
	" medium, packages) VALUES ('" dir "', '" dig "', 1, 'op', 'h',"       \
	" '/m', 2)"
	assert_int_equal(db_exec(db, HO("exported", "aa"), &err), 0);
	assert_int_equal(db_exec(db, HO("imported", "aa"), &err), 0);
	assert_int_equal(db_exec(db, HO("refused", "aa"), &err), 0);
	assert_int_equal(db_exec(db, HO("exported", "bb"), &err), 0);
	assert_int_equal(db_exec(db, HO("exported", "aa"), &err), -1);
	assert_non_null(strstr(err.text, "UNIQUE"));
	err_clear(&err);
	assert_int_equal(db_exec(db, HO("lost", "cc"), &err), -1);
	assert_non_null(strstr(err.text, "CHECK"));
#undef HO
	db_close(db);
}

/*
 * Statements are kept and handed out again: the same text gives the same
 * statement back, reset and with its bindings cleared; one in use is never
 * handed out twice; each connection has its own.
 */
static void
test_stmt_reuse(void **state)
{
	struct db *db = open_ok(*state, "s.db", 1), *db2;
	const char *q = "SELECT ?1 IS NULL, value FROM meta WHERE key = ?1";
	sqlite3_stmt *a, *b, *c;
	struct error err = {0};
	char sql[64], *v;
	int i;

	assert_int_equal(db_meta_set(db, "k", "v", &err), 0);
	a = db_prepare(db, q);
	sqlite3_bind_text(a, 1, "k", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW); /* left mid-result */
	assert_string_equal((const char *)sqlite3_column_text(a, 1), "v");
	db_finalize(a);
	b = db_prepare(db, q);
	assert_ptr_equal(a, b); /* kept */
	/* reset and its binding cleared: ?1 is NULL, no row */
	assert_int_equal(sqlite3_step(b), SQLITE_DONE);
	/* nested use of the same text: a statement of its own */
	c = db_prepare(db, q);
	assert_ptr_not_equal(b, c);
	sqlite3_bind_text(c, 1, "k", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(c), SQLITE_ROW);
	db_finalize(c);
	db_finalize(b);
	/* given back mid-result, it keeps no read snapshot open: another
	 * connection's write is seen by the next read */
	a = db_prepare(db, "SELECT value FROM meta");
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	db_finalize(a);
	db2 = open_ok(*state, "s.db", 0);
	assert_int_equal(db_meta_set(db2, "k", "w", &err), 0);
	v = db_meta_get(db, "k");
	assert_string_equal(v, "w");
	free(v);
	/* another connection, the same text: another statement */
	c = db_prepare(db2, "SELECT value FROM meta");
	assert_ptr_not_equal(a, c);
	assert_int_equal(sqlite3_step(c), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(c, 0), "w");
	/* one in use when its connection closes stays its user's */
	db_close(db2);
	db_finalize(c);
	/* more texts than the table holds: old ones make room */
	for (i = 0; i < 300; i++) {
		snprintf(sql, sizeof sql, "SELECT %d", i);
		a = db_prepare(db, sql);
		assert_int_equal(sqlite3_step(a), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(a, 0), i);
		db_finalize(a);
	}
	assert_int_equal(db_int(db, "SELECT COUNT(*) FROM meta", -1), 1);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)                                                                   \
	cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_open_pragmas),
	    T(test_open_schema),
	    T(test_reopen_no_migration),
	    T(test_newer_schema_refused),
	    T(test_open_missing),
	    T(test_open_existing_migrates),
	    T(test_read_only),
	    T(test_meta_roundtrip),
	    T(test_transactions),
	    T(test_journal_append_only),
	    T(test_constraints),
	    T(test_handovers_once),
	    T(test_stmt_reuse),
#undef T
	};

	tu_init();
	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests_name("test_db", tests, NULL, NULL);
}
