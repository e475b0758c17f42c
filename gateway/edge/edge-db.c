/* edge-db.c: the edge's tables in the engine's database: every SQL of posgw-edge. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <libxml/tree.h>

#include "digest.h"
#include "edge-int.h"
#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "posmap.h"
#include "sig.h"
#include "smev.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* The edge's tables; a new version adds a step, never edits an old one. */
static const char *const edge_schema_steps[] = {
    /* 0 -> 1 */
    "CREATE TABLE IF NOT EXISTS edge_appeals ("
    " pos_id TEXT PRIMARY KEY,"
    " message_id TEXT NOT NULL,"
    " client_id TEXT NOT NULL,"
    " received INTEGER NOT NULL,"
    " document_id INTEGER,"
    " state TEXT NOT NULL CHECK (state IN ('acknowledged', 'answered',"
    "  'declined', 'forwarded')),"
    " closed INTEGER);"
    "CREATE INDEX IF NOT EXISTS edge_appeals_open ON edge_appeals(received)"
    " WHERE closed IS NULL;"
    "CREATE TABLE IF NOT EXISTS edge_smev_in ("
    " message_id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " client_id TEXT,"
    " pos_id TEXT,"
    " file TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " outcome TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS edge_waiting ("
    " message_id TEXT PRIMARY KEY,"
    " file TEXT NOT NULL,"
    " pos_id TEXT,"
    " first_seen INTEGER NOT NULL,"
    " missing TEXT);"
    "CREATE TABLE IF NOT EXISTS edge_events ("
    " pos_id TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " type TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " document_id INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('waiting', 'sent', 'accepted',"
    "  'refused', 'failed')),"
    " final INTEGER NOT NULL DEFAULT 0,"
    " client_id TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_try INTEGER NOT NULL DEFAULT 0,"
    " received INTEGER NOT NULL,"
    " sent_at INTEGER, answered INTEGER,"
    " transport TEXT, code TEXT, reason TEXT,"
    " PRIMARY KEY (pos_id, n));"
    "CREATE INDEX IF NOT EXISTS edge_events_open ON edge_events(state,"
    " next_try) WHERE final = 0;"
    "CREATE TABLE IF NOT EXISTS edge_requests ("
    " client_id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('event', 'received', 'reject')),"
    " pos_id TEXT, n INTEGER,"
    " reply_to TEXT, code TEXT, detail TEXT,"
    " sent_at INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('sent', 'answered', 'failed',"
    "  'retried')),"
    " attempts INTEGER NOT NULL DEFAULT 1,"
    " next_try INTEGER,"
    " transport TEXT);"
    "CREATE INDEX IF NOT EXISTS edge_requests_event ON edge_requests(pos_id,"
    " n);"
    "CREATE INDEX IF NOT EXISTS edge_requests_failed ON"
    " edge_requests(next_try) WHERE state = 'failed';"
    "CREATE TABLE IF NOT EXISTS edge_classifier ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " version TEXT NOT NULL,"
    " digest TEXT NOT NULL,"
    " document_id INTEGER NOT NULL,"
    " shipped INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS edge_documents_new ON documents(kind, id)"
    " WHERE direction = 'in' AND consumed IS NULL;"
    "CREATE VIEW IF NOT EXISTS edge_unanswered AS"
    " SELECT pos_id, received, message_id, client_id FROM edge_appeals"
    " WHERE closed IS NULL;"
    "CREATE VIEW IF NOT EXISTS edge_events_pending AS"
    " SELECT e.pos_id, e.n, e.type, e.state, e.attempts, e.next_try,"
    " e.client_id, CASE"
    "  WHEN e.state = 'sent' THEN 'in flight'"
    "  WHEN e.n > 1 AND NOT EXISTS (SELECT 1 FROM edge_events p WHERE"
    "   p.pos_id = e.pos_id AND p.n = e.n - 1) THEN 'earlier event missing'"
    "  WHEN e.n > 1 AND NOT EXISTS (SELECT 1 FROM edge_events p WHERE"
    "   p.pos_id = e.pos_id AND p.n = e.n - 1 AND p.final = 1)"
    "   THEN 'earlier event not answered yet'"
    "  WHEN e.next_try > CAST(strftime('%s', 'now') AS INTEGER)"
    "   THEN 'retry later'"
    "  ELSE 'due' END AS why"
    " FROM edge_events e WHERE e.final = 0;",
    /* 1 -> 2: in/ files handled but maybe not removed yet (a kill between
     * the commit and the removal): finished on sight, never answered
     * again; and the lookup of answers by the request they answer */
    "CREATE TABLE edge_in_handled ("
    " name TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime INTEGER NOT NULL,"
    " message_id TEXT,"
    " code TEXT,"
    " reason TEXT,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (name, size, mtime));"
    "CREATE INDEX edge_in_handled_at ON edge_in_handled(at);"
    "CREATE INDEX edge_requests_reply ON edge_requests(reply_to)"
    " WHERE reply_to IS NOT NULL;"};
_Static_assert(sizeof edge_schema_steps / sizeof edge_schema_steps[0] ==
                   EDGE_SCHEMA_VERSION,
    "one step per edge schema version");

/* Create or bring up to date the edge's tables (meta key edge_schema). */
int
edge_migrate(struct db *db, struct error *err)
{
	char *v = db_meta_get(db, EDGE_SCHEMA_KEY), num[24];
	long have = v != NULL ? strtol(v, NULL, 10) : 0;

	free(v);
	if (have > EDGE_SCHEMA_VERSION)
		return err_set(err, ERR_NONE,
		    "database %s has edge tables of version %ld, newer than "
		    "this posgw-edge (%d); upgrade posgw-edge",
		    db->path, have, EDGE_SCHEMA_VERSION);
	for (; have < EDGE_SCHEMA_VERSION; have++) {
		snprintf(num, sizeof num, "%ld", have + 1);
		if (db_begin(db, err) == -1)
			return -1;
		if (db_exec(db, edge_schema_steps[have], err) == -1 ||
		    db_meta_set(db, EDGE_SCHEMA_KEY, num, err) == -1) {
			db_rollback(db);
			return -1;
		}
		if (db_commit(db, err) == -1)
			return -1;
	}
	return 0;
}

/* Append a journal entry with a formatted detail (inside a transaction). */
int
edge_journal(struct edge *e, const char *kind, const char *pos,
    struct error *err, const char *fmt, ...)
{
	char detail[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return journal_append(e->db, kind, NULL, pos, detail, err);
}

/* A file's modification time in nanoseconds (with name and size, its identity). */
int64_t
edge_mtime_ns(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

/*
 * Record an adapter message as handled (inside the transaction): by its
 * MessageId for dedupe, and the in/ file itself so that a kill before the
 * file is removed finishes it on restart without a second answer. A code
 * means the file goes to in-rejected/ with that code and reason.
 */
int
edge_seen(struct edge *e, struct edge_msg *m, const char *outcome,
    const char *corr, const char *pos, const char *code, const char *reason,
    struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "INSERT OR REPLACE INTO edge_in_handled (name, size, mtime,"
	    " message_id, code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)m->sb.st_size);
	sqlite3_bind_int64(st, 3, edge_mtime_ns(&m->sb));
	sqlite3_bind_text(st, 4, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	if (m->message_id == NULL)
		return 0;
	st = db_prepare(e->db,
	    "INSERT OR IGNORE INTO edge_smev_in (message_id, type,"
	    " client_id, pos_id, file, at, outcome) VALUES (?, ?, ?, ?, ?, ?,"
	    " ?)");
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(
	    st, 2, m->type != NULL ? m->type : "?", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, corr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, pos, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
	sqlite3_bind_text(st, 7, outcome, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/* Record a ClientMessage we wrote (inside the transaction). */
int
edge_request_row(struct edge *e, const char *cid, const char *kind,
    const char *pos, int64_t n, const char *reply_to, const char *code,
    const char *detail, int64_t attempts, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "INSERT INTO edge_requests (client_id, kind, pos_id, n,"
	    " reply_to, code, detail, sent_at, state, attempts) VALUES"
	    " (?, ?, ?, ?, ?, ?, ?, ?, 'sent', ?)");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
	if (n > 0)
		sqlite3_bind_int64(st, 4, n);
	sqlite3_bind_text(st, 5, reply_to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 9, attempts);
	return db_step_done(e->db, st, err);
}

/* Forget that an appeal waits for its attachments (inside the transaction). */
int
edge_unwait(struct edge *e, struct edge_msg *m, struct error *err)
{
	sqlite3_stmt *st;

	if (m->message_id == NULL)
		return 0;
	st = db_prepare(e->db, "DELETE FROM edge_waiting WHERE message_id = ?");
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/* True if the database knows a request with this clientId. */
int
edge_request_known(struct edge *e, const char *cid)
{
	return db_exists(
	    e->db, "SELECT 1 FROM edge_requests WHERE client_id = ?", cid);
}

/* True if the edge has taken custody of this appeal before. */
int
edge_appeal_known(struct edge *e, const char *pos)
{
	sqlite3_stmt *st;
	int known;

	st = db_prepare(e->db, "SELECT 1 FROM edge_appeals WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	known = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return known;
}

/*
 * The clientId of our answer (P:Received or rejects) to the request
 * clientId cid, or NULL if we never answered it.
 */
char *
edge_answered(struct edge *e, const char *cid)
{
	sqlite3_stmt *st;
	char *answer = NULL;

	st = db_prepare(e->db,
	    "SELECT client_id FROM edge_requests WHERE reply_to = ? AND"
	    " kind IN ('received', 'reject') ORDER BY sent_at LIMIT 1");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		answer = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return answer;
}

/* A nullable text column as a new string. */
char *
edge_col(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL
	           ? NULL
	           : xstrdup((const char *)sqlite3_column_text(st, i));
}

/*
 * Forget in/ files handled more than EDGE_HANDLED_KEEP ago (their removal
 * was long done); once an hour. MessageIds stay in edge_smev_in for ever.
 */
void
edge_prune(struct edge *e)
{
	struct error err = {0};
	sqlite3_stmt *st;
	time_t now = time(NULL);

	if (now - e->pruned < 3600 && now >= e->pruned)
		return;
	e->pruned = now;
	if (db_begin(e->db, &err) == -1)
		goto fail;
	st = db_prepare(e->db, "DELETE FROM edge_in_handled WHERE at < ?");
	sqlite3_bind_int64(st, 1, (int64_t)now - EDGE_HANDLED_KEEP);
	if (db_step_done(e->db, st, &err) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == 0)
		return;
fail:
	log_warnx("pruning the edge's list of handled in/ files: %s", err.text);
}
