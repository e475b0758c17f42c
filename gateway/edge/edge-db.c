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
    " WHERE reply_to IS NOT NULL;",
    /* 2 -> 3: statistics for the витрина (edge-stats.c): the core's
     * statistics documents and their upload, and requests of kind
     * 'statistics' (n = the document's id) */
    "CREATE TABLE IF NOT EXISTS edge_stats ("
    " document_id INTEGER PRIMARY KEY,"
    " stats_id TEXT NOT NULL,"
    " period_from TEXT NOT NULL,"
    " period_to TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('waiting', 'sent', 'accepted',"
    "  'refused', 'failed')),"
    " client_id TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_try INTEGER NOT NULL DEFAULT 0,"
    " received INTEGER NOT NULL,"
    " sent_at INTEGER, answered INTEGER,"
    " transport TEXT, code TEXT, reason TEXT);"
    "CREATE INDEX IF NOT EXISTS edge_stats_open ON edge_stats(next_try)"
    " WHERE state = 'waiting';"
    "DROP TABLE IF EXISTS edge_requests_v3;"
    "CREATE TABLE edge_requests_v3 ("
    " client_id TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('event', 'received', 'reject',"
    "  'statistics')),"
    " pos_id TEXT, n INTEGER,"
    " reply_to TEXT, code TEXT, detail TEXT,"
    " sent_at INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('sent', 'answered', 'failed',"
    "  'retried')),"
    " attempts INTEGER NOT NULL DEFAULT 1,"
    " next_try INTEGER,"
    " transport TEXT);"
    "INSERT INTO edge_requests_v3 SELECT client_id, kind, pos_id, n,"
    " reply_to, code, detail, sent_at, state, attempts, next_try,"
    " transport FROM edge_requests;"
    "DROP TABLE edge_requests;"
    "ALTER TABLE edge_requests_v3 RENAME TO edge_requests;"
    "CREATE INDEX edge_requests_event ON edge_requests(pos_id, n);"
    "CREATE INDEX edge_requests_failed ON edge_requests(next_try) WHERE"
    " state = 'failed';"
    "CREATE INDEX edge_requests_reply ON edge_requests(reply_to)"
    " WHERE reply_to IS NOT NULL;"};
_Static_assert(sizeof edge_schema_steps / sizeof edge_schema_steps[0] ==
                   EDGE_SCHEMA_VERSION,
    "one step per edge schema version");

/* The edge's tables in the engine's database (meta key edge_schema). */
const struct db_schema edge_db_schema = {
    "edge", EDGE_SCHEMA_KEY, edge_schema_steps, EDGE_SCHEMA_VERSION};

/*
 * The appeals closed here at or before ?1, for retention: answered,
 * declined or forwarded in ПОС, no event left to send there.
 */
const char edge_db_closed_sql[] =
    "SELECT a.pos_id FROM edge_appeals a WHERE a.closed IS NOT NULL AND"
    " a.closed <= ?1 AND NOT EXISTS (SELECT 1 FROM edge_events v WHERE"
    " v.pos_id = a.pos_id AND v.final = 0)";

/* Append a journal entry with a formatted detail (inside a transaction). */
int
edge_db_journal(struct edge *e, const char *kind, const char *pos,
    struct error *err, const char *fmt, ...)
{
	char detail[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return journal_append(e->db, kind, NULL, pos, detail, err);
}

/*
 * Record an adapter message as handled (inside the transaction): by its
 * MessageId for dedupe, and the in/ file itself so that a kill before the
 * file is removed finishes it on restart without a second answer. A code
 * means the file goes to in-rejected/ with that code and reason.
 */
int
edge_db_seen(struct edge *e, struct edge_msg *m, const char *outcome,
    const char *corr, const char *pos, const char *code, const char *reason,
    struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "INSERT OR REPLACE INTO edge_in_handled (name, size, mtime,"
	    " message_id, code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)m->sb.st_size);
	sqlite3_bind_int64(st, 3, fs_mtime_ns(&m->sb));
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
edge_db_request_add(struct edge *e, const char *cid, const char *kind,
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
edge_db_unwait(struct edge *e, struct edge_msg *m, struct error *err)
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
edge_db_request_known(struct edge *e, const char *cid)
{
	return db_exists(
	    e->db, "SELECT 1 FROM edge_requests WHERE client_id = ?", cid);
}

/* True if the edge has taken custody of this appeal before. */
int
edge_db_appeal_known(struct edge *e, const char *pos)
{
	sqlite3_stmt *st;
	int known;

	st = db_prepare(e->db, "SELECT 1 FROM edge_appeals WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	known = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	return known;
}

/*
 * The clientId of our answer (P:Received or rejects) to the request
 * clientId cid, or NULL if we never answered it.
 */
char *
edge_db_answered(struct edge *e, const char *cid)
{
	sqlite3_stmt *st;
	char *answer = NULL;

	st = db_prepare(e->db,
	    "SELECT client_id FROM edge_requests WHERE reply_to = ? AND"
	    " kind IN ('received', 'reject') ORDER BY sent_at LIMIT 1");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		answer = xstrdup((const char *)sqlite3_column_text(st, 0));
	db_finalize(st);
	return answer;
}

/* A nullable text column as a new string. */
char *
edge_db_col(sqlite3_stmt *st, int i)
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
edge_db_prune(struct edge *e)
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
/*
 * Was this in/ file (name, size, time) handled before? Then its refusal
 * code and reason (NULL when it was not refused) and its MessageId (into
 * m) come back, and 1.
 */
int
edge_db_handled(struct edge *e, struct edge_msg *m, char **code, char **reason)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(e->db,
	    "SELECT code, reason, message_id FROM edge_in_handled WHERE"
	    " name = ? AND size = ? AND mtime = ?");
	sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)m->sb.st_size);
	sqlite3_bind_int64(st, 3, fs_mtime_ns(&m->sb));
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		*code = edge_db_col(st, 0);
		*reason = edge_db_col(st, 1);
		free(m->message_id);
		m->message_id = edge_db_col(st, 2);
	}
	db_finalize(st);
	return found;
}

/*
 * Was an adapter message with this MessageId handled before? Then the file
 * it came in and what became of it (both new strings), and 1.
 */
int
edge_db_message(
    struct edge *e, const char *message_id, char **file, char **outcome)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(e->db, "SELECT file, outcome FROM edge_smev_in WHERE"
	                       " message_id = ?");
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		*file = edge_db_col(st, 0);
		*outcome = edge_db_col(st, 1);
	}
	db_finalize(st);
	return found;
}

/*
 * Record custody of an appeal whose document was just queued in this write
 * transaction; its document id goes to docid.
 */
int
edge_db_appeal_add(struct edge *e, const char *pos, const struct edge_msg *m,
    int64_t *docid, struct error *err)
{
	sqlite3_stmt *st;

	/* the row spool_enqueue just added in this write transaction (the
	 * rowid maximum is one index step; filtering by kind was a scan) */
	*docid = db_int(e->db, "SELECT MAX(id) FROM documents", 0);
	st = db_prepare(e->db,
	    "INSERT INTO edge_appeals (pos_id, message_id, client_id,"
	    " received, document_id, state) VALUES (?, ?, ?, ?, ?,"
	    " 'acknowledged')");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->client_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 5, *docid);
	return db_step_done(e->db, st, err);
}

/* Since when an appeal waits for its attachments: 1 and *first if it does. */
int
edge_db_waiting(struct edge *e, const char *message_id, int64_t *first)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(
	    e->db, "SELECT first_seen FROM edge_waiting WHERE message_id = ?");
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*first = sqlite3_column_int64(st, 0);
		found = 1;
	}
	db_finalize(st);
	return found;
}

/* Note that an appeal waits for its attachments since first. */
int
edge_db_wait(struct edge *e, const struct edge_msg *m, const char *pos,
    const char *missing, int64_t first, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "INSERT INTO edge_waiting (message_id, file, pos_id,"
	    " first_seen, missing) VALUES (?, ?, ?, ?, ?) ON CONFLICT"
	    " (message_id) DO UPDATE SET first_seen = excluded.first_seen");
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, first);
	sqlite3_bind_text(st, 5, missing, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/*
 * The size the file store recorded for a file of the appeal document just
 * queued for pos, or -1.
 */
int64_t
edge_db_stored_size(struct edge *e, const char *pos, const char *path)
{
	sqlite3_stmt *st;
	int64_t size = -1;

	st = db_prepare(e->db,
	    "SELECT f.size FROM files f WHERE f.path = ? AND f.document_id ="
	    " (SELECT MAX(id) FROM documents WHERE direction = 'out' AND"
	    " kind = 'appeal' AND pos_id = ?)");
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pos, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		size = sqlite3_column_int64(st, 0);
	db_finalize(st);
	return size;
}

/*
 * Remember the classifier just queued in this transaction (its version and
 * content digest), to ship an unchanged one only once.
 */
int
edge_db_classifier_set(
    struct edge *e, const char *version, const char *digest, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "INSERT OR REPLACE INTO edge_classifier (id, version,"
	    " digest, document_id, shipped) VALUES (1, ?, ?, (SELECT"
	    " MAX(id) FROM documents), ?)"); /* just enqueued */
	sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	return db_step_done(e->db, st, err);
}

/* The content digest of the classifier shipped last (new string), or NULL. */
char *
edge_db_classifier_digest(struct edge *e)
{
	sqlite3_stmt *st;
	char *digest = NULL;

	st = db_prepare(
	    e->db, "SELECT digest FROM edge_classifier WHERE id = 1");
	if (sqlite3_step(st) == SQLITE_ROW)
		digest = edge_db_col(st, 0);
	db_finalize(st);
	return digest;
}

/*
 * The oldest event document from the core not taken yet: 1 with its id and
 * a copy of its body, or 0.
 */
int
edge_db_event_next(struct edge *e, int64_t *id, void **body, size_t *len)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(e->db,
	    "SELECT id, body FROM documents WHERE direction = 'in' AND"
	    " kind = 'event' AND consumed IS NULL ORDER BY id LIMIT 1");
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		*id = sqlite3_column_int64(st, 0);
		*len = (size_t)sqlite3_column_bytes(st, 1);
		*body = xmalloc(*len + 1);
		memcpy(*body, sqlite3_column_blob(st, 1), *len);
	}
	db_finalize(st);
	return found;
}

/* A copy of a document's body; -1 if it is gone. */
int
edge_db_document(struct edge *e, int64_t id, void **body, size_t *len)
{
	sqlite3_stmt *st;
	int rc = -1;

	st = db_prepare(e->db, "SELECT body FROM documents WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*body = xmalloc(*len + 1);
		memcpy(*body, sqlite3_column_blob(st, 0), *len);
		rc = 0;
	}
	db_finalize(st);
	return rc;
}

/* Mark an inbound document consumed (inside the transaction). */
int
edge_db_consume(struct edge *e, int64_t id, struct error *err)
{
	sqlite3_stmt *st;

	st =
	    db_prepare(e->db, "UPDATE documents SET consumed = ? WHERE id = ?");
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(e->db, st, err);
}

/*
 * Add the core's event (from document id) as waiting to be sent; *dup is
 * set when the appeal already has an event n (the first one stands).
 */
int
edge_db_event_add(struct edge *e, const struct posmap_event *ev, int64_t id,
    int *dup, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "INSERT INTO edge_events (pos_id, n, type, status,"
	    " document_id, state, received) VALUES (?, ?, ?, ?, ?,"
	    " 'waiting', ?) ON CONFLICT (pos_id, n) DO NOTHING");
	sqlite3_bind_text(st, 1, ev->pos_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ev->n);
	sqlite3_bind_text(st, 3, ev->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ev->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	*dup = sqlite3_changes(e->db->h) == 0;
	return 0;
}

/*
 * The events due now (at most 1000, oldest first): waiting, their retry
 * time reached, the previous event of the appeal final, nothing of the
 * appeal in flight. A retry never lies more than retry_max ahead unless
 * the clock went back: then it is due now.
 */
void
edge_db_events_due(struct edge *e, struct edge_due **due, size_t *n)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);

	st = db_prepare(e->db,
	    "SELECT ev.pos_id, ev.n, ev.document_id FROM edge_events ev"
	    " WHERE ev.final = 0 AND ev.state = 'waiting' AND"
	    " (ev.next_try <= ?1 OR ev.next_try > ?2)"
	    " AND NOT EXISTS (SELECT 1 FROM edge_events s WHERE"
	    "  s.pos_id = ev.pos_id AND s.state = 'sent')"
	    " AND (ev.n = 1 OR EXISTS (SELECT 1 FROM edge_events p WHERE"
	    "  p.pos_id = ev.pos_id AND p.n = ev.n - 1 AND p.final = 1))"
	    " ORDER BY ev.received, ev.pos_id, ev.n LIMIT 1000");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, now + e->retry_max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		*due = xreallocarray(*due, *n + 1, sizeof **due);
		snprintf((*due)[*n].pos, sizeof(*due)[*n].pos, "%s",
		    sqlite3_column_text(st, 0));
		(*due)[*n].n = sqlite3_column_int64(st, 1);
		(*due)[*n].docid = sqlite3_column_int64(st, 2);
		(*n)++;
	}
	db_finalize(st);
}

/*
 * Event n goes out as request cid (inside the transaction): 1 with its
 * attempt number, 0 if it no longer waits, -1 on error.
 */
int
edge_db_event_sent(struct edge *e, const char *pos, int64_t n, const char *cid,
    int64_t *attempts, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_events SET state = 'sent', client_id = ?,"
	    " attempts = attempts + 1, sent_at = ? WHERE pos_id = ? AND"
	    " n = ? AND state = 'waiting'");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, n);
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	if (sqlite3_changes(e->db->h) == 0)
		return 0;
	st = db_prepare(e->db, "SELECT attempts FROM edge_events WHERE"
	                       " pos_id = ? AND n = ?");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	*attempts =
	    sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
	db_finalize(st);
	return 1;
}

/* Event n can never be sent: final state failed with a code and reason. */
int
edge_db_event_fail(struct edge *e, const char *pos, int64_t n, const char *code,
    const char *why, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_events SET state = 'failed', final = 1,"
	    " answered = ?, code = ?, reason = ? WHERE pos_id = ? AND n = ?");
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, n);
	return db_step_done(e->db, st, err);
}

/* The file-store digest of a document's attachment by payload path. */
char *
edge_db_file_digest(struct edge *e, int64_t docid, const char *path)
{
	sqlite3_stmt *st;
	char *d = NULL;

	st = db_prepare(e->db, "SELECT digest FROM files WHERE document_id = ?"
	                       " AND path = ? ORDER BY id LIMIT 1");
	sqlite3_bind_int64(st, 1, docid);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		d = edge_db_col(st, 0);
	db_finalize(st);
	return d;
}
/* The event request cid carried (1), or 0 if cid is no event request. */
int
edge_db_event_of(struct edge *e, const char *cid, struct edge_sent *ev)
{
	sqlite3_stmt *st;
	int found = 0;

	memset(ev, 0, sizeof *ev);
	st = db_prepare(e->db,
	    "SELECT ev.pos_id, ev.n, ev.state, ev.type, ev.status FROM"
	    " edge_requests r JOIN edge_events ev ON ev.pos_id = r.pos_id AND"
	    " ev.n = r.n WHERE r.client_id = ? AND r.kind = 'event'");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		snprintf(
		    ev->pos, sizeof ev->pos, "%s", sqlite3_column_text(st, 0));
		ev->n = sqlite3_column_int64(st, 1);
		snprintf(ev->state, sizeof ev->state, "%s",
		    sqlite3_column_text(st, 2));
		snprintf(ev->type, sizeof ev->type, "%s",
		    sqlite3_column_text(st, 3));
		snprintf(ev->status, sizeof ev->status, "%s",
		    sqlite3_column_text(st, 4));
	}
	db_finalize(st);
	return found;
}

/*
 * ПОС's verdict on request cid makes event ev final (state accepted or
 * refused, with code and reason), answers the request and any later
 * attempt still in flight, and closes the appeal as closes (if not NULL).
 */
int
edge_db_event_final(struct edge *e, const char *cid, const struct edge_sent *ev,
    const char *state, const char *code, const char *reason, const char *closes,
    struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_events SET state = ?, final = 1, answered = ?,"
	    " code = ?, reason = ? WHERE pos_id = ? AND n = ?");
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ev->pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, ev->n);
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	st = db_prepare(e->db,
	    "UPDATE edge_requests SET state = 'answered' WHERE client_id = ?"
	    " OR (kind = 'event' AND pos_id = ? AND n = ? AND state = 'sent')");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ev->n);
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	if (closes == NULL)
		return 0;
	st = db_prepare(e->db,
	    "UPDATE edge_appeals SET state = ?, closed = ? WHERE"
	    " pos_id = ? AND closed IS NULL");
	sqlite3_bind_text(st, 1, closes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, ev->pos, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/* The clientIds of every request that carried event n of an appeal. */
void
edge_db_event_requests(
    struct edge *e, const char *pos, int64_t n, char ***cids, size_t *ncids)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db, "SELECT client_id FROM edge_requests WHERE"
	                       " kind = 'event' AND pos_id = ? AND n = ?");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	while (sqlite3_step(st) == SQLITE_ROW) {
		*cids = xreallocarray(*cids, *ncids + 1, sizeof **cids);
		(*cids)[(*ncids)++] = edge_db_col(st, 0);
	}
	db_finalize(st);
}

/* What the edge knows of request cid (kind "" if nothing). */
void
edge_db_request_get(struct edge *e, const char *cid, struct edge_req *r)
{
	sqlite3_stmt *st;

	memset(r, 0, sizeof *r);
	r->attempts = r->evattempts = 1;
	st = db_prepare(e->db,
	    "SELECT r.kind, r.state, COALESCE(r.pos_id, ''), COALESCE(r.n, 0),"
	    " r.attempts, COALESCE(ev.state, ''), COALESCE(ev.client_id, ''),"
	    " COALESCE(ev.attempts, 1) FROM edge_requests r LEFT JOIN"
	    " edge_events ev ON r.kind = 'event' AND ev.pos_id = r.pos_id AND"
	    " ev.n = r.n WHERE r.client_id = ?");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(
		    r->kind, sizeof r->kind, "%s", sqlite3_column_text(st, 0));
		snprintf(r->state, sizeof r->state, "%s",
		    sqlite3_column_text(st, 1));
		snprintf(
		    r->pos, sizeof r->pos, "%s", sqlite3_column_text(st, 2));
		r->n = sqlite3_column_int64(st, 3);
		r->attempts = sqlite3_column_int64(st, 4);
		snprintf(r->evstate, sizeof r->evstate, "%s",
		    sqlite3_column_text(st, 5));
		snprintf(r->evcid, sizeof r->evcid, "%s",
		    sqlite3_column_text(st, 6));
		r->evattempts = sqlite3_column_int64(st, 7);
	}
	db_finalize(st);
}

/*
 * Request cid failed in transport (why); a response is resent at next_try,
 * an event request (next_try 0) through its event.
 */
int
edge_db_request_failed(struct edge *e, const char *cid, const char *why,
    int64_t next_try, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_requests SET state = 'failed', transport = ?,"
	    " next_try = CASE WHEN ?2 > 0 THEN ?2 ELSE next_try END"
	    " WHERE client_id = ?3");
	sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, next_try);
	sqlite3_bind_text(st, 3, cid, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/* Event n waits again, to be resent at next_try after a transport failure. */
int
edge_db_event_retry(struct edge *e, const char *pos, int64_t n,
    int64_t next_try, const char *why, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_events SET state = 'waiting', next_try = ?,"
	    " transport = ? WHERE pos_id = ? AND n = ?");
	sqlite3_bind_int64(st, 1, next_try);
	sqlite3_bind_text(st, 2, why, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, n);
	return db_step_done(e->db, st, err);
}

/* Which request a correlation id names: its kind, or "" if none. */
void
edge_db_request_kind(struct edge *e, const char *cid, char *kind, size_t len)
{
	sqlite3_stmt *st;

	kind[0] = '\0';
	st = db_prepare(
	    e->db, "SELECT kind FROM edge_requests WHERE client_id = ?");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(kind, len, "%s", sqlite3_column_text(st, 0));
	db_finalize(st);
}

/* A transport status of request cid, recorded without changing states. */
int
edge_db_transport(
    struct edge *e, const char *cid, const char *text, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_requests SET transport = ? WHERE client_id = ?");
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	st = db_prepare(e->db, "UPDATE edge_events SET transport = ? WHERE"
	                       " client_id = ? AND state = 'sent'");
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/* True if request cid carried event n of appeal pos. */
int
edge_db_request_for(struct edge *e, const char *cid, const char *pos, int64_t n)
{
	sqlite3_stmt *st;
	int r;

	st = db_prepare(e->db, "SELECT 1 FROM edge_requests WHERE client_id = ?"
	                       " AND pos_id = ? AND n = ?");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	r = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	return r;
}

/* True if request cid is in flight (its kind into kind). */
int
edge_db_request_sent(struct edge *e, const char *cid, char *kind, size_t len)
{
	sqlite3_stmt *st;
	int sent = 0;

	st = db_prepare(e->db,
	    "SELECT kind FROM edge_requests WHERE client_id = ? AND"
	    " state = 'sent'");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(kind, len, "%s", sqlite3_column_text(st, 0));
		sent = 1;
	}
	db_finalize(st);
	return sent;
}

/*
 * Our answers to ПОС whose transport failed and whose retry time came (at
 * most 1000; a retry never lies more than retry_max ahead unless the clock
 * went back: then it is due now).
 */
void
edge_db_resend_due(struct edge *e, struct edge_resend **rs, size_t *n)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);

	st = db_prepare(e->db,
	    "SELECT client_id, kind, pos_id, reply_to, code, detail, attempts"
	    " FROM edge_requests WHERE state = 'failed' AND kind IN"
	    " ('received', 'reject')"
	    " AND (next_try <= ?1 OR next_try > ?2) ORDER BY next_try"
	    " LIMIT 1000");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, now + e->retry_max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		*rs = xreallocarray(*rs, *n + 1, sizeof **rs);
		(*rs)[*n].cid = edge_db_col(st, 0);
		(*rs)[*n].kind = edge_db_col(st, 1);
		(*rs)[*n].pos = edge_db_col(st, 2);
		(*rs)[*n].reply_to = edge_db_col(st, 3);
		(*rs)[*n].code = edge_db_col(st, 4);
		(*rs)[*n].detail = edge_db_col(st, 5);
		(*rs)[*n].attempts = sqlite3_column_int64(st, 6);
		(*n)++;
	}
	db_finalize(st);
}

/* A failed answer was sent again under a new clientId. */
int
edge_db_request_retried(struct edge *e, const char *cid, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db, "UPDATE edge_requests SET state ="
	                       " 'retried' WHERE client_id = ?");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/*
 * The oldest statistics document from the core not taken yet: 1 with its
 * id and a copy of its body, or 0.
 */
int
edge_db_stats_next(struct edge *e, int64_t *id, void **body, size_t *len)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(e->db,
	    "SELECT id, body FROM documents WHERE direction = 'in' AND"
	    " kind = 'statistics' AND consumed IS NULL ORDER BY id LIMIT 1");
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		*id = sqlite3_column_int64(st, 0);
		*len = (size_t)sqlite3_column_bytes(st, 1);
		*body = xmalloc(*len + 1);
		memcpy(*body, sqlite3_column_blob(st, 1), *len);
	}
	db_finalize(st);
	return found;
}

/* Add statistics (document id) as waiting to be uploaded. */
int
edge_db_stats_add(
    struct edge *e, int64_t id, const struct posmap_stats *s, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "INSERT INTO edge_stats (document_id, stats_id, period_from,"
	    " period_to, state, received) VALUES (?, ?, ?, ?, 'waiting', ?)"
	    " ON CONFLICT (document_id) DO NOTHING");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	return db_step_done(e->db, st, err);
}

/*
 * The statistics due for upload (at most 100, oldest first): waiting, their
 * retry time reached (or more than retry_max ahead: the clock went back).
 */
void
edge_db_stats_due(struct edge *e, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);

	st = db_prepare(e->db,
	    "SELECT document_id FROM edge_stats WHERE state = 'waiting' AND"
	    " (next_try <= ?1 OR next_try > ?2) ORDER BY document_id"
	    " LIMIT 100");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, now + e->retry_max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		*ids = xreallocarray(*ids, *n + 1, sizeof **ids);
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_finalize(st);
}

/*
 * Statistics id go out as request cid (inside the transaction): 1 with the
 * attempt number, 0 if they no longer wait, -1 on error.
 */
int
edge_db_stats_sent(struct edge *e, int64_t id, const char *cid,
    int64_t *attempts, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_stats SET state = 'sent', client_id = ?,"
	    " attempts = attempts + 1, sent_at = ? WHERE document_id = ? AND"
	    " state = 'waiting' RETURNING attempts");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 3, id);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		*attempts = sqlite3_column_int64(st, 0);
		db_finalize(st);
		return 1;
	case SQLITE_DONE:
		db_finalize(st);
		return 0;
	default:
		db_finalize(st);
		return db_set_err(e->db, err, "recording statistics sent");
	}
}

/*
 * The statistics request cid carried and their state (1), or 0 if cid is
 * no statistics request of ours.
 */
int
edge_db_stats_of(struct edge *e, const char *cid, struct edge_stats_row *r)
{
	sqlite3_stmt *st;
	int found = 0;

	memset(r, 0, sizeof *r);
	st = db_prepare(e->db,
	    "SELECT s.document_id, s.stats_id, s.state, COALESCE(s.client_id,"
	    " ''), s.attempts, s.period_from, s.period_to FROM edge_requests"
	    " r JOIN edge_stats s ON s.document_id = r.n WHERE r.client_id ="
	    " ? AND r.kind = 'statistics'");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		r->docid = sqlite3_column_int64(st, 0);
		snprintf(r->id, sizeof r->id, "%s", sqlite3_column_text(st, 1));
		snprintf(r->state, sizeof r->state, "%s",
		    sqlite3_column_text(st, 2));
		snprintf(
		    r->cid, sizeof r->cid, "%s", sqlite3_column_text(st, 3));
		r->attempts = sqlite3_column_int64(st, 4);
		snprintf(
		    r->from, sizeof r->from, "%s", sqlite3_column_text(st, 5));
		snprintf(r->to, sizeof r->to, "%s", sqlite3_column_text(st, 6));
	}
	db_finalize(st);
	return found;
}

/*
 * Statistics id reach a final state (accepted, refused, failed) with code
 * and reason; their requests still in flight are answered.
 */
int
edge_db_stats_final(struct edge *e, int64_t id, const char *state,
    const char *code, const char *reason, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_stats SET state = ?, answered = ?, code = ?,"
	    " reason = ? WHERE document_id = ?");
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	st = db_prepare(e->db,
	    "UPDATE edge_requests SET state = 'answered' WHERE kind ="
	    " 'statistics' AND n = ? AND state = 'sent'");
	sqlite3_bind_int64(st, 1, id);
	return db_step_done(e->db, st, err);
}

/* Statistics id wait again, to be resent at next_try (transport failure). */
int
edge_db_stats_retry(struct edge *e, int64_t id, int64_t next_try,
    const char *why, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(e->db,
	    "UPDATE edge_stats SET state = 'waiting', next_try = ?,"
	    " transport = ? WHERE document_id = ?");
	sqlite3_bind_int64(st, 1, next_try);
	sqlite3_bind_text(st, 2, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return db_step_done(e->db, st, err);
}
