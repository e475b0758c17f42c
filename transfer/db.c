/* db.c: the gateway's SQLite database: open, migrate, transactions, helpers. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "xmalloc.h"

/* Forward migrations; migrations[i] takes the schema from version i to i+1. */
static const char *const db_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE packages ("
    " id INTEGER PRIMARY KEY,"
    " direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),"
    " name TEXT NOT NULL,"
    " sender TEXT NOT NULL,"
    " recipient TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " uuid TEXT NOT NULL,"
    " manifest_digest TEXT,"
    " signer_fp TEXT,"
    " size INTEGER,"
    " control INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL,"
    " sent INTEGER, received INTEGER, receipted INTEGER,"
    " state TEXT NOT NULL,"
    " code TEXT, reason TEXT,"
    " offers INTEGER NOT NULL DEFAULT 0,"
    " last_offer INTEGER);"
    "CREATE UNIQUE INDEX packages_out_seq ON packages(seq)"
    " WHERE direction = 'out';"
    "CREATE UNIQUE INDEX packages_in_seq ON packages(sender, seq)"
    " WHERE direction = 'in' AND state = 'accepted';"
    "CREATE INDEX packages_uuid ON packages(uuid);"
    "CREATE INDEX packages_name ON packages(name);"
    "CREATE TABLE documents ("
    " id INTEGER PRIMARY KEY,"
    " package_id INTEGER REFERENCES packages(id),"
    " direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),"
    " kind TEXT NOT NULL,"
    " path TEXT NOT NULL,"
    " pos_id TEXT,"
    " n INTEGER,"
    " body TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " consumed INTEGER);"
    "CREATE INDEX documents_package ON documents(package_id);"
    "CREATE INDEX documents_pending ON documents(direction, package_id);"
    "CREATE INDEX documents_pos ON documents(pos_id);"
    "CREATE TABLE files ("
    " id INTEGER PRIMARY KEY,"
    " document_id INTEGER NOT NULL REFERENCES documents(id),"
    " path TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " digest TEXT NOT NULL);"
    "CREATE INDEX files_document ON files(document_id);"
    "CREATE TABLE inbound_files ("
    " name TEXT PRIMARY KEY, size INTEGER, mtime INTEGER,"
    " outcome TEXT NOT NULL, at INTEGER NOT NULL,"
    " kept INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE journal ("
    " seq INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " package TEXT,"
    " appeal TEXT,"
    " detail TEXT,"
    " prev TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal"
    " BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;"
    "CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal"
    " BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;"
    "CREATE TRIGGER journal_no_replace BEFORE INSERT ON journal"
    " WHEN EXISTS (SELECT 1 FROM journal WHERE seq = NEW.seq)"
    " BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;"
    "CREATE TABLE checkpoints ("
    " id INTEGER PRIMARY KEY,"
    " entry INTEGER NOT NULL,"
    " head TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " text BLOB NOT NULL,"
    " cms BLOB NOT NULL,"
    " shipped INTEGER);"
    "CREATE TABLE peer_checkpoints ("
    " id INTEGER PRIMARY KEY,"
    " gateway TEXT NOT NULL,"
    " entry INTEGER NOT NULL,"
    " head TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " text BLOB NOT NULL,"
    " cms BLOB NOT NULL,"
    " package TEXT,"
    " received INTEGER NOT NULL,"
    " UNIQUE (gateway, entry, head));",
    /* 2: the exporters look for unconsumed inbound documents each round */
    "CREATE INDEX documents_unconsumed ON documents(direction, id)"
    " WHERE consumed IS NULL;"
    /* ... and the packer for the checkpoint not shipped yet */
    "CREATE INDEX checkpoints_unshipped ON checkpoints(id)"
    " WHERE shipped IS NULL;",
    /* 3: media hand-overs (transfer/media-handover.c), once per inventory
     * and direction */
    "CREATE TABLE handovers ("
    " id INTEGER PRIMARY KEY,"
    " direction TEXT NOT NULL"
    "  CHECK (direction IN ('exported', 'imported', 'refused')),"
    " digest TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " operator TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " medium TEXT NOT NULL,"
    " packages INTEGER NOT NULL,"
    " replaces TEXT,"
    " reason TEXT,"
    " UNIQUE (direction, digest));",
    /* 4: key rollovers (transfer/rollover.c, formats/rollover.md): ours
     * announced to the peer, and the peer's learnt from it */
    "CREATE TABLE rollovers ("
    " id INTEGER PRIMARY KEY,"
    " side TEXT NOT NULL CHECK (side IN ('own', 'peer')),"
    " new_fp TEXT NOT NULL,"
    " old_fp TEXT NOT NULL,"
    " exchange_fp TEXT NOT NULL,"
    " old_exchange_fp TEXT,"
    " document_id INTEGER,"
    " package TEXT,"
    " started INTEGER NOT NULL,"
    " acknowledged INTEGER,"
    " switched_seq INTEGER,"
    " completed INTEGER,"
    " UNIQUE (side, new_fp));"};
_Static_assert(
    sizeof db_migrations / sizeof db_migrations[0] == DB_SCHEMA_VERSION,
    "one migration per schema version");

/* The engine's tables (version in PRAGMA user_version). */
const struct db_schema db_engine_schema = {
    "engine", NULL, db_migrations, DB_SCHEMA_VERSION};

static int db_wal_hook(void *, sqlite3 *, const char *, int);
static int db_ro_wal_absent(const char *);
static int db_open_immutable(struct db *, struct error *);

/*
 * Prepared statements, kept per connection and handed out again for the
 * same SQL text: preparing afresh was 7-8 % of each daemon's CPU (perf of
 * benchmark workload 1). db_finalize gives one back (reset, bindings
 * cleared). One in use is never handed out twice: a nested use of the same
 * SQL gets a statement of its own, which db_finalize finalizes. The table
 * is shared by the process's connections, under a lock.
 */
#define DB_STMT_CACHE 128

struct db_stmt {
	sqlite3 *h; /* the connection; NULL: a free slot */
	char *sql;
	uint32_t hash;
	sqlite3_stmt *st;
	int busy; /* handed out and not given back */
};

static struct db_stmt db_stmts[DB_STMT_CACHE];
static pthread_mutex_t db_stmts_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned db_stmts_hand; /* where eviction looks next */

/*
 * SQLite's message for h, or msg if given, with the system error behind an
 * I/O failure added ("disk I/O error" alone does not say the disk is full).
 */
static const char *
db_errmsg(sqlite3 *h, const char *msg)
{
	static __thread char buf[640];
	int code = sqlite3_errcode(h) & 0xff, e = sqlite3_system_errno(h);

	if (msg == NULL)
		msg = sqlite3_errmsg(h);
	if (code == SQLITE_CANTOPEN) {
		/* SQLite retries read-only, so its errno is of the retry */
		snprintf(buf, sizeof buf,
		    "%.500s (it or its -wal/-shm file; check that the "
		    "directory is writable and its file system not full)",
		    msg);
		return buf;
	}
	if (e > 0 && (code == SQLITE_IOERR || code == SQLITE_FULL) &&
	    strstr(msg, strerror(e)) == NULL) {
		snprintf(buf, sizeof buf, "%.500s (%s)", msg, strerror(e));
		return buf;
	}
	return msg;
}

/* Copy SQLite's last error into err with a context; returns -1. */
int
db_set_err(struct db *db, struct error *err, const char *what)
{
	return err_set(err, ERR_NONE, "database %s: %s: %s", db->path, what,
	    db_errmsg(db->h, NULL));
}

/* Run SQL without results. */
int
db_exec(struct db *db, const char *sql, struct error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, ERR_NONE, "database %s: %s", db->path,
		    db_errmsg(db->h, msg));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* FNV-1a of a statement's text: the cache compares it before the text. */
static uint32_t
db_sql_hash(const char *sql)
{
	uint32_t h = 2166136261u;

	for (; *sql != '\0'; sql++)
		h = (h ^ (unsigned char)*sql) * 16777619u;
	return h;
}

/* Forget h's statements (before it closes); those in use stay theirs. */
static void
db_stmts_drop(sqlite3 *h)
{
	struct db_stmt *e;
	size_t i;

	pthread_mutex_lock(&db_stmts_mu);
	for (i = 0; i < DB_STMT_CACHE; i++) {
		e = &db_stmts[i];
		if (e->h != h)
			continue;
		/* one in use is finalized by its db_finalize */
		if (!e->busy)
			sqlite3_finalize(e->st);
		free(e->sql);
		memset(e, 0, sizeof *e);
	}
	pthread_mutex_unlock(&db_stmts_mu);
}

/* Keep a new statement of h for reuse, in use, if a slot can be had. */
static void
db_stmts_keep(sqlite3 *h, const char *sql, uint32_t hash, sqlite3_stmt *st)
{
	struct db_stmt *e = NULL;
	size_t i;

	pthread_mutex_lock(&db_stmts_mu);
	for (i = 0; i < DB_STMT_CACHE && e == NULL; i++)
		if (db_stmts[i].h == NULL)
			e = &db_stmts[i];
	for (i = 0; i < DB_STMT_CACHE && e == NULL; i++) {
		/* full: the next one not in use makes room */
		struct db_stmt *v = &db_stmts[db_stmts_hand++ % DB_STMT_CACHE];
		if (!v->busy) {
			sqlite3_finalize(v->st);
			free(v->sql);
			e = v;
		}
	}
	if (e != NULL) {
		e->h = h;
		e->sql = xstrdup(sql);
		e->hash = hash;
		e->st = st;
		e->busy = 1;
	}
	pthread_mutex_unlock(&db_stmts_mu);
}

/*
 * Prepare a statement, or hand out the kept one of the same text; give it
 * back with db_finalize. A failure to prepare is a programming error.
 */
sqlite3_stmt *
db_prepare(struct db *db, const char *sql)
{
	uint32_t hash = db_sql_hash(sql);
	sqlite3_stmt *st;
	struct db_stmt *e;
	size_t i;

	pthread_mutex_lock(&db_stmts_mu);
	for (i = 0; i < DB_STMT_CACHE; i++) {
		e = &db_stmts[i];
		if (e->h == db->h && !e->busy && e->hash == hash &&
		    strcmp(e->sql, sql) == 0) {
			e->busy = 1;
			pthread_mutex_unlock(&db_stmts_mu);
			return e->st;
		}
	}
	pthread_mutex_unlock(&db_stmts_mu);
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	        NULL) != SQLITE_OK)
		fatalx("database %s: cannot prepare \"%.60s\": %s", db->path,
		    sql, sqlite3_errmsg(db->h));
	if (st != NULL) /* NULL for SQL without a statement */
		db_stmts_keep(db->h, sql, hash, st);
	return st;
}

/*
 * Give back a statement of db_prepare: a kept one is reset for the next
 * use, any other finalized. Always use this, never sqlite3_finalize.
 */
void
db_finalize(sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	pthread_mutex_lock(&db_stmts_mu);
	for (i = 0; i < DB_STMT_CACHE; i++)
		if (db_stmts[i].st == st && db_stmts[i].busy)
			break;
	if (i == DB_STMT_CACHE) {
		pthread_mutex_unlock(&db_stmts_mu);
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	db_stmts[i].busy = 0;
	pthread_mutex_unlock(&db_stmts_mu);
}

/* Step a statement that returns no rows and finalize it. */
int
db_step_done(struct db *db, sqlite3_stmt *st, struct error *err)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_set_err(db, err, "write");
		db_finalize(st);
		return -1;
	}
	db_finalize(st);
	return 0;
}

/* The first column of the first row of a query as an integer, or dflt. */
int64_t
db_int(struct db *db, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int64_t v = dflt;

	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	db_finalize(st);
	return v;
}

/* True if a query with one text parameter returns a row. */
int
db_exists(struct db *db, const char *sql, const char *param)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int found;

	sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	return found;
}

/* A meta value, newly allocated, or NULL. */
char *
db_meta_get(struct db *db, const char *key)
{
	sqlite3_stmt *st =
	    db_prepare(db, "SELECT value FROM meta WHERE key = ?");
	char *v = NULL;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	db_finalize(st);
	return v;
}

/* Set a meta value. */
int
db_meta_set(
    struct db *db, const char *key, const char *value, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(db,
	    "INSERT INTO meta (key, value) VALUES (?, ?)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return db_step_done(db, st, err);
}

/* The version a set of tables has in this database (0: none yet). */
long
db_schema_version(struct db *db, const struct db_schema *sc)
{
	char *v;
	long have;

	if (sc->key == NULL)
		return (long)db_int(db, "PRAGMA user_version", 0);
	v = db_meta_get(db, sc->key);
	have = v != NULL ? strtol(v, NULL, 10) : 0;
	free(v);
	return have;
}

/*
 * Bring a set of tables up to its version, one step per transaction; a
 * database of a newer posgw is refused, untouched.
 */
int
db_upgrade(struct db *db, const struct db_schema *sc, struct error *err)
{
	long v = db_schema_version(db, sc);
	char sql[64], num[24];

	if (v > sc->version)
		return err_set(err, ERR_NONE,
		    "database %s has %s%sschema version %ld, newer than "
		    "this posgw (%d); upgrade posgw",
		    db->path, sc->key != NULL ? sc->name : "",
		    sc->key != NULL ? " " : "", v, sc->version);
	for (; v < sc->version; v++) {
		if (db_begin(db, err) == -1)
			return -1;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %ld", v + 1);
		snprintf(num, sizeof num, "%ld", v + 1);
		if (db_exec(db, sc->steps[v], err) == -1 ||
		    (sc->key == NULL
		            ? db_exec(db, sql, err)
		            : db_meta_set(db, sc->key, num, err)) == -1) {
			db_rollback(db);
			return -1;
		}
		if (db_commit(db, err) == -1)
			return -1;
		log_info("database %s: %s%smigrated to schema version %ld",
		    db->path, sc->key != NULL ? sc->name : "",
		    sc->key != NULL ? " tables " : "", v + 1);
	}
	return 0;
}

/*
 * Log statements slower than POSGW_DB_SLOW_MS milliseconds (a developer's
 * aid for finding scans; off unless the variable is set).
 */
static int
db_profile(unsigned type, void *arg, void *stmt, void *ns)
{
	long limit = (long)(intptr_t)arg;
	char *sql;

	if (type != SQLITE_TRACE_PROFILE ||
	    *(sqlite3_int64 *)ns < (sqlite3_int64)limit * 1000000)
		return 0;
	sql = sqlite3_expanded_sql(stmt);
	log_info("slow statement (%.1f ms): %.300s",
	    (double)*(sqlite3_int64 *)ns / 1e6, sql != NULL ? sql : "?");
	sqlite3_free(sql);
	return 0;
}

/*
 * Open (creating if allowed) a database in WAL mode with synchronous=FULL and
 * migrate it. Read-only opens are for auditors' tools and never migrate.
 */
struct db *
db_open(const char *path, int create, struct error *err)
{
	struct db *db;
	int flags, rc;

	db = xcalloc(1, sizeof *db);
	db->path = xstrdup(path);
	if (create == -1)
		flags = SQLITE_OPEN_READONLY;
	else
		flags =
		    SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	if (create != 1 &&
	    access(path, create == -1 ? R_OK : R_OK | W_OK) == -1) {
		if (errno == ENOENT)
			err_set(
			    err, ERR_NONE, "database %s does not exist", path);
		else
			err_set(err, ERR_NONE, "cannot %s database %s: %s",
			    create == -1 ? "read" : "write", path,
			    strerror(errno));
		goto fail;
	}
	if (create == 1 && strcmp(path, ":memory:") != 0 &&
	    access(path, F_OK) == -1 && errno == ENOENT) {
		/* made here so that a failure says why (SQLite retries and
		 * reports only "unable to open database file") */
		int fd = open(path,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd == -1 && errno != EEXIST) {
			err_set(err, ERR_NONE, "cannot create database %s: %s",
			    path, strerror(errno));
			goto fail;
		}
		if (fd != -1)
			close(fd);
	}
	rc = sqlite3_open_v2(path, &db->h, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK && getenv("POSGW_DB_SLOW_MS") != NULL)
		sqlite3_trace_v2(db->h, SQLITE_TRACE_PROFILE, db_profile,
		    (void *)(intptr_t)atol(getenv("POSGW_DB_SLOW_MS")));
	if (rc != SQLITE_OK) {
		err_set(err, ERR_NONE, "cannot open database %s: %s", path,
		    db->h ? db_errmsg(db->h, NULL) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 10000);
	sqlite3_extended_result_codes(db->h, 1);
	if (create == -1) {
		/* read now, so that a reader who may not is told here */
		if (db_exec(db,
		        "PRAGMA query_only = ON; SELECT COUNT(*) FROM "
		        "sqlite_schema",
		        err) == 0)
			return db;
		if ((sqlite3_extended_errcode(db->h) & 0xff) !=
		        SQLITE_READONLY ||
		    db_ro_wal_absent(path) != 1)
			goto fail;
		/* no -wal: no writer has it open and the file holds all;
		 * this account may not create -shm, so read it as it is */
		db_stmts_drop(db->h);
		sqlite3_close(db->h);
		db->h = NULL;
		err_clear(err);
		if (db_open_immutable(db, err) == -1)
			goto fail;
		return db;
	}
	if (db_exec(db,
	        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	        "PRAGMA foreign_keys = ON; PRAGMA recursive_triggers = ON;"
	        /* removed data is overwritten, not left in free space */
	        "PRAGMA secure_delete = ON;"
	        /* no temp files outside the state directory (sandbox) */
	        "PRAGMA temp_store = MEMORY;",
	        err) == -1 ||
	    db_upgrade(db, &db_engine_schema, err) == -1)
		goto fail;
	db->wal = 1;
	sqlite3_wal_hook(db->h, db_wal_hook, db);
	return db;
fail:
	db_close(db);
	return NULL;
}

/*
 * Copy the write-ahead log into the database file ourselves, so that a
 * failure is logged: SQLite's own checkpoints after a commit and at close
 * fail silently. The data stays safe in the -wal file either way.
 */
static void
db_checkpoint(struct db *db)
{
	if (sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE,
	        NULL, NULL) != SQLITE_OK &&
	    (sqlite3_errcode(db->h) & 0xff) != SQLITE_BUSY)
		log_warnx("database %s: copying the write-ahead log into the "
		          "database failed: %s; the data is safe in %s-wal, "
		          "the copy is tried again later",
		    db->path, db_errmsg(db->h, NULL), db->path);
}

/*
 * Copy the whole write-ahead log into the database and truncate it to zero
 * bytes, so that no old page (data removed since) stays in the -wal file.
 * A reader holding an old snapshot makes it fail with SQLITE_BUSY: retry.
 */
int
db_truncate_wal(struct db *db, struct error *err)
{
	if (sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	        NULL, NULL) == SQLITE_OK)
		return 0;
	if (err != NULL)
		db_set_err(db, err, "truncating the write-ahead log");
	return -1;
}

/* After a commit: checkpoint as SQLite's autocheckpoint would (1000 pages). */
static int
db_wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	(void)h;
	(void)name;
	if (pages >= 1000)
		db_checkpoint(arg);
	return SQLITE_OK;
}

/* Close a database. */
void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->h != NULL && db->wal)
		db_checkpoint(db);
	if (db->h != NULL) {
		db_stmts_drop(db->h);
		sqlite3_close_v2(db->h);
	}
	free(db->path);
	free(db);
}

/* Start a write transaction (takes the write lock now). */
int
db_begin(struct db *db, struct error *err)
{
	char sql[32];

	if (db->depth > 0 && sqlite3_get_autocommit(db->h))
		db->depth = 0; /* SQLite rolled back on its own (I/O error) */
	if (db->depth == 0) {
		if (db_exec(db, "BEGIN IMMEDIATE", err) == -1)
			return -1;
	} else {
		snprintf(sql, sizeof sql, "SAVEPOINT posgw%d", db->depth);
		if (db_exec(db, sql, err) == -1)
			return -1;
	}
	db->depth++;
	return 0;
}

/*
 * Commit the transaction; inside an outer one (a batch), release the
 * savepoint instead: the work becomes durable with the outer commit.
 */
int
db_commit(struct db *db, struct error *err)
{
	char sql[32];

	if (db->depth > 1 && !sqlite3_get_autocommit(db->h)) {
		snprintf(sql, sizeof sql, "RELEASE posgw%d", db->depth - 1);
		if (db_exec(db, sql, err) == -1) {
			db_rollback(db);
			return -1;
		}
		db->depth--;
		return 0;
	}
	if (db_exec(db, "COMMIT", err) == -1) {
		db_rollback(db);
		return -1;
	}
	db->depth = 0;
	return 0;
}

/* True inside an outer transaction, where db_commit only releases. */
int
db_nested(struct db *db)
{
	return db->depth > 1 && !sqlite3_get_autocommit(db->h);
}

/* 1 when path's -wal file does not exist, 0 when it does, -1 on error. */
static int
db_ro_wal_absent(const char *path)
{
	char *wal;
	int rc;

	xasprintf(&wal, "%s-wal", path);
	rc = access(wal, F_OK) == 0 ? 0 : errno == ENOENT ? 1 : -1;
	free(wal);
	return rc;
}

/*
 * Open db->path read-only as an immutable file (no locks, no -shm), for a
 * reader that may not create -shm beside a database no writer has open.
 */
static int
db_open_immutable(struct db *db, struct error *err)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char *uri, *u;
	int rc;

	uri = xmalloc(strlen(db->path) * 3 + 32);
	u = uri + sprintf(uri, "file:");
	for (p = (const unsigned char *)db->path; *p != '\0'; p++) {
		if (isalnum(*p) || strchr("/-._~", *p) != NULL)
			*u++ = (char)*p;
		else {
			*u++ = '%';
			*u++ = hex[*p >> 4];
			*u++ = hex[*p & 15];
		}
	}
	strcpy(u, "?immutable=1");
	rc = sqlite3_open_v2(uri, &db->h,
	    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return err_set(err, ERR_NONE, "cannot read database %s: %s",
		    db->path,
		    db->h ? db_errmsg(db->h, NULL) : sqlite3_errstr(rc));
	return db_exec(db,
	    "PRAGMA query_only = ON; SELECT COUNT(*) FROM "
	    "sqlite_schema",
	    err);
}

/*
 * Roll back the innermost level, ignoring errors (there may be no
 * transaction): a savepoint inside a batch, else the whole transaction.
 */
void
db_rollback(struct db *db)
{
	char sql[64];

	if (db->depth > 1 && !sqlite3_get_autocommit(db->h)) {
		snprintf(sql, sizeof sql,
		    "ROLLBACK TO posgw%d; RELEASE posgw%d", db->depth - 1,
		    db->depth - 1);
		sqlite3_exec(db->h, sql, NULL, NULL, NULL);
		db->depth--;
		return;
	}
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	db->depth = 0;
}
