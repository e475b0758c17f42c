/*
 * edge.c: posgw-edge's business side, the ПОС side of the SMEV 3 adapter's
 * file channel (formats/smev/README.md). Appeals found in <base>/in/ become
 * appeal documents for the core: custody is taken in ONE transaction
 * (document and attachments queued, tables, journal), then P:Received is
 * answered in <base>/out/. The core's events leave as StatusUpdate requests,
 * strictly in order n per appeal and one request in flight per appeal;
 * ПОС's verdicts come back as outcome documents for the core; transport
 * failures are retried with a new clientId after a doubling delay. What the
 * ПОС content looks like is posmap.c's business only.
 *
 * A ClientMessage is written crash-safely in three steps: out/.<clientId>.xml
 * is written and fsynced, the transaction recording the request commits,
 * then the file is renamed into place. At start, leftover temporaries whose
 * clientId the database knows are renamed into place and the others are
 * removed, so a committed request is always published and an uncommitted
 * one never is. An in/ file is removed only after its transaction commits,
 * which records the file (name, size, time) in edge_in_handled: a file a
 * crash left behind is then finished as decided (removed, or moved to
 * in-rejected/) without a second answer or journal entry. A copy of a
 * message (its MessageId handled before) and a request whose clientId was
 * answered before are journaled and never answered again: ПОС gets exactly
 * one answer per request.
 *
 * Tables (in the transfer engine's database, meta key edge_schema):
 *   edge_appeals    appeals taken: incoming ids, custody time, closed once
 *                   ПОС accepted the answer, decline or forward (view
 *                   edge_unanswered)
 *   edge_smev_in    every adapter message handled, by MessageId (dedupe)
 *   edge_in_handled in/ files handled, until their removal is surely done
 *   edge_waiting    appeals whose attachments are not complete yet
 *   edge_events     the core's events and their delivery state (view
 *                   edge_events_pending says why each unfinished one waits)
 *   edge_requests   every ClientMessage written, by clientId (correlation)
 *   edge_classifier the last classifier shipped to the core
 */
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
#include "edge.h"
#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "posmap.h"
#include "sig.h"
#include "smev.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define EDGE_MAX_SIG (1 << 20)        /* largest detached signature we send */
#define EDGE_FAILED_CODE "POSGW_EDGE" /* outcome code: the edge cannot send */
#define EDGE_HANDLED_KEEP (7 * 86400) /* s a handled in/ file is remembered */

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

struct edge {
	struct xfer *x;
	struct db *db;
	char *mnemonic;
	char *in, *out, *out_error, *rejected, *ain, *aout;
	unsigned attachment_wait, settle, retry_min, retry_max;
	int test_message;
	size_t max_xml;
	int max_depth;
	int recover;    /* publish or drop leftover out/ temporaries */
	int in_missing; /* logged that in/ cannot be read */
	struct timespec errdir_mtime;
	int errdir_seen;
	char **stuck; /* in/ files handled but not removable: skipped */
	size_t nstuck;
	int batch;                 /* in a batch: file moves wait for commit */
	struct fs_syncset answers; /* batch: answers written, not yet synced */
	struct edge_defer *defer;  /* what to do once the batch commits */
	size_t ndefer;
	time_t pruned; /* when edge_in_handled was last pruned */
};

/* A file-system step postponed until its batch transaction commits. */
enum edge_defer_kind {
	EDGE_DEFER_PUBLISH,    /* a: clientId */
	EDGE_DEFER_IN_DONE,    /* a: path, b: name */
	EDGE_DEFER_RMTREE,     /* a: attachment path */
	EDGE_DEFER_QUARANTINE, /* a: path, b: name, c: MessageId, d, e: why */
};

struct edge_defer {
	enum edge_defer_kind kind;
	char *s[5];
};

/* One adapter message from in/, as far as it could be read. */
struct edge_msg {
	const char *name;
	char *path;
	struct stat sb;
	xmlDocPtr doc;
	xmlNodePtr message;
	char *message_id;
	char *type; /* local part of Message/@xsi:type */
	enum smev_type kind;
	char *client_id; /* a request's own clientId: whom to answer */
};

static int edge_journal(struct edge *, const char *, const char *,
    struct error *, const char *, ...) __attribute__((format(printf, 5, 6)));
static void edge_rmtree(struct edge *, const char *);
static void edge_in_move(struct edge *, const char *, const char *,
    const char *, const char *, const char *);
static int edge_drop(struct edge *, struct edge_msg *, const char *,
    const char *, int *, const char *, ...)
    __attribute__((format(printf, 6, 7)));

/* Append a journal entry with a formatted detail (inside a transaction). */
static int
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

/* Seconds to wait before attempt number attempts + 1 of a failed request. */
static unsigned
edge_backoff(const struct edge *e, int64_t attempts)
{
	uint64_t d = e->retry_min;
	int64_t i;

	for (i = 1; i < attempts && d < e->retry_max; i++)
		d *= 2;
	return d > e->retry_max ? e->retry_max : (unsigned)d;
}

/* Current time as a posgw UTC timestamp. */
static void
edge_now(char *buf, size_t len)
{
	time_format(time(NULL), buf, len);
}

/* A new ClientMessage document for our itSystem. */
static xmlDocPtr
edge_envelope(struct edge *e, xmlNodePtr *rootp, xmlNsPtr *nsp)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr root;
	xmlNsPtr ns;

	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"ClientMessage", NULL);
	if (doc == NULL || root == NULL)
		fatalx("cannot allocate an XML document");
	ns = xmlNewNs(root, (const xmlChar *)SMEV_NS, (const xmlChar *)"T");
	xmlSetNs(root, ns);
	xmlDocSetRootElement(doc, root);
	xmlNewTextChild(root, ns, (const xmlChar *)"itSystem",
	    (const xmlChar *)e->mnemonic);
	*rootp = root;
	*nsp = ns;
	return doc;
}

/*
 * A ResponseMessage answering reply_to: P:Received (code NULL) or
 * rejects{code, description}.
 */
static xmlDocPtr
edge_response_doc(struct edge *e, const char *cid, const char *reply_to,
    const char *pos, const char *version, const char *code, const char *desc)
{
	xmlNodePtr root, rm, md, rc, c;
	xmlNsPtr ns;
	xmlDocPtr doc = edge_envelope(e, &root, &ns);
	char *d;

	rm = xmlNewChild(root, ns, (const xmlChar *)"ResponseMessage", NULL);
	md = xmlNewChild(rm, ns, (const xmlChar *)"ResponseMetadata", NULL);
	xmlNewTextChild(
	    md, ns, (const xmlChar *)"clientId", (const xmlChar *)cid);
	xmlNewTextChild(md, ns, (const xmlChar *)"replyToClientId",
	    (const xmlChar *)reply_to);
	rc = xmlNewChild(rm, ns, (const xmlChar *)"ResponseContent", NULL);
	if (code == NULL) {
		c = xmlNewChild(rc, ns, (const xmlChar *)"content", NULL);
		c = xmlNewChild(
		    c, ns, (const xmlChar *)"MessagePrimaryContent", NULL);
		posmap_received(c, pos, version);
	} else {
		c = xmlNewChild(rc, ns, (const xmlChar *)"rejects", NULL);
		xmlNewTextChild(
		    c, ns, (const xmlChar *)"code", (const xmlChar *)code);
		d = posmap_clean_text(desc != NULL ? desc : "", 4000);
		xmlNewTextChild(
		    c, ns, (const xmlChar *)"description", (const xmlChar *)d);
		free(d);
	}
	return doc;
}

/* Postpone a file-system step until the batch commits (strings copied). */
static void
edge_defer(struct edge *e, enum edge_defer_kind kind, const char *a,
    const char *b, const char *c, const char *d, const char *f)
{
	struct edge_defer *x;
	const char *v[5] = {a, b, c, d, f};
	int i;

	e->defer = xreallocarray(e->defer, e->ndefer + 1, sizeof *e->defer);
	x = &e->defer[e->ndefer++];
	x->kind = kind;
	for (i = 0; i < 5; i++)
		x->s[i] = v[i] != NULL ? xstrdup(v[i]) : NULL;
}

/* Write a ClientMessage durably as out/.<cid>.xml (frees doc). */
static int
edge_out_write(
    struct edge *e, const char *cid, xmlDocPtr doc, struct error *err)
{
	xmlChar *buf = NULL;
	char *tmp;
	int n = 0, fd, rc = -1;

	xmlDocDumpFormatMemoryEnc(doc, &buf, &n, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (buf == NULL)
		fatalx("cannot serialise a ClientMessage");
	xasprintf(&tmp, "%s/.%s.xml", e->out, cid);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd == -1) {
		err_set(err, ERR_NONE,
		    "cannot create %s: %s; check that the adapter's out/ "
		    "directory exists and is writable",
		    tmp, strerror(errno));
		goto out;
	}
	/* in a batch, synced with the others before the commit */
	if (fs_write_all(fd, buf, (size_t)n) == -1 ||
	    (!e->batch && fsync(fd) == -1)) {
		err_set(
		    err, ERR_NONE, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) == -1) {
		err_set(
		    err, ERR_NONE, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (e->batch)
		fs_syncset_add(&e->answers, tmp);
	rc = 0;
out:
	xmlFree(buf);
	free(tmp);
	return rc;
}

/* Remove an unpublished out/.<cid>.xml (its transaction did not commit). */
static void
edge_out_discard(struct edge *e, const char *cid)
{
	char *tmp;

	xasprintf(&tmp, "%s/.%s.xml", e->out, cid);
	unlink(tmp);
	free(tmp);
}

/* Rename out/.<cid>.xml into place once its request is committed. */
static int
edge_out_publish(struct edge *e, const char *cid)
{
	struct error err = {0};
	char *tmp, *dst;
	int rc = 0;

	if (e->batch) {
		edge_defer(e, EDGE_DEFER_PUBLISH, cid, NULL, NULL, NULL, NULL);
		return 0;
	}
	xasprintf(&tmp, "%s/.%s.xml", e->out, cid);
	xasprintf(&dst, "%s/%s.xml", e->out, cid);
	if (rename(tmp, dst) == -1) {
		log_warn("cannot publish %s as %s; will retry", tmp, dst);
		e->recover = 1;
		rc = -1;
	} else if (fs_fsync_dir(e->out, &err) == -1) {
		log_warnx("%s", err.text);
		rc = -1;
	}
	free(tmp);
	free(dst);
	return rc;
}

/* True if the database knows a request with this clientId. */
static int
edge_request_known(struct edge *e, const char *cid)
{
	return db_exists(
	    e->db, "SELECT 1 FROM edge_requests WHERE client_id = ?", cid);
}

/*
 * Finish interrupted writes to out/: publish temporaries whose request was
 * committed, remove the others.
 */
static void
edge_recover(struct edge *e)
{
	struct dirent *de;
	char cid[160], *path;
	size_t len;
	DIR *d;

	e->recover = 0;
	if ((d = opendir(e->out)) == NULL) {
		log_warn("cannot read %s", e->out);
		e->recover = 1;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] != '.' || len < 6 || len - 5 >= sizeof cid ||
		    strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		memcpy(cid, de->d_name + 1, len - 5);
		cid[len - 5] = '\0';
		if (!smev_id_ok(cid))
			continue;
		if (edge_request_known(e, cid)) {
			if (edge_out_publish(e, cid) == 0)
				log_info("published %s/%s.xml, interrupted "
				         "before",
				    e->out, cid);
		} else {
			xasprintf(&path, "%s/%s", e->out, de->d_name);
			if (unlink(path) == 0)
				log_info("removed %s: its request was never "
				         "recorded",
				    path);
			free(path);
		}
	}
	closedir(d);
}

/* A file's modification time in nanoseconds (with name and size, its identity). */
static int64_t
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
static int
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
static int
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
static int
edge_unwait(struct edge *e, struct edge_msg *m, struct error *err)
{
	sqlite3_stmt *st;

	if (m->message_id == NULL)
		return 0;
	st = db_prepare(e->db, "DELETE FROM edge_waiting WHERE message_id = ?");
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	return db_step_done(e->db, st, err);
}

/* Remember an in/ file we cannot remove, so that it is not handled again. */
static void
edge_stuck(struct edge *e, const char *name)
{
	if (e->nstuck >= 4096)
		return;
	e->stuck = xreallocarray(e->stuck, e->nstuck + 1, sizeof *e->stuck);
	e->stuck[e->nstuck++] = xstrdup(name);
}

/* True if an in/ file is one we could not remove. */
static int
edge_is_stuck(struct edge *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nstuck; i++)
		if (strcmp(e->stuck[i], name) == 0)
			return 1;
	return 0;
}

/*
 * Remove the attachment directories of a request: <attachments-in>/<Id> for
 * each AttachmentHeader and <attachments-in>/<clientId>.
 */
static void
edge_attachments_remove(struct edge *e, struct edge_msg *m)
{
	xmlNodePtr list, h;
	char *id, *path;

	list = smev_path(m->message, "RequestContent", "content",
	    "AttachmentHeaderList", NULL);
	if (list == NULL)
		return;
	for (h = list->children; h != NULL; h = h->next) {
		if (!xmlsafe_is(h, SMEV_NS, "AttachmentHeader"))
			continue;
		id = smev_text(smev_child(h, "Id"));
		if (smev_id_ok(id)) {
			xasprintf(&path, "%s/%s", e->ain, id);
			edge_rmtree(e, path);
			free(path);
		}
		free(id);
	}
	if (smev_id_ok(m->client_id)) {
		xasprintf(&path, "%s/%s", e->ain, m->client_id);
		edge_rmtree(e, path);
		free(path);
	}
}

/* Remove an adapter's attachment file or folder (now or at batch commit). */
static void
edge_rmtree(struct edge *e, const char *path)
{
	if (e->batch)
		edge_defer(e, EDGE_DEFER_RMTREE, path, NULL, NULL, NULL, NULL);
	else if (fs_rmtree(path) == -1)
		log_warn("cannot remove %s", path);
}

/* Unlink a handled in/ file; returns -1 (logged) if it stays. */
static int
edge_in_unlink(struct edge *e, const char *path, const char *name)
{
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("cannot remove %s (handled); it will be ignored "
		         "until restart, remove it by hand",
		    path);
		edge_stuck(e, name);
		return -1;
	}
	return 0;
}

/* Remove a handled in/ file (after its transaction committed). */
static void
edge_in_done(struct edge *e, struct edge_msg *m)
{
	struct error err = {0};

	if (e->batch) {
		edge_defer(
		    e, EDGE_DEFER_IN_DONE, m->path, m->name, NULL, NULL, NULL);
		return;
	}
	if (edge_in_unlink(e, m->path, m->name) == -1)
		return;
	if (fs_fsync_dir(e->in, &err) == -1)
		log_warnx("%s", err.text);
}

/* Move a refused in/ file to in-rejected/ beside a <name>.reason file. */
static void
edge_in_quarantine(
    struct edge *e, struct edge_msg *m, const char *code, const char *text)
{
	if (e->batch)
		edge_defer(e, EDGE_DEFER_QUARANTINE, m->path, m->name,
		    m->message_id, code, text);
	else
		edge_in_move(e, m->path, m->name, m->message_id, code, text);
}

/* Move in/<name> to in-rejected/ and write its .reason file. */
static void
edge_in_move(struct edge *e, const char *path, const char *name,
    const char *message_id, const char *code, const char *text)
{
	char *dst = NULL, *reason, *rname, t[32];
	struct error err = {0};
	int i, n;

	if (fs_mkdir_p(e->rejected, 0750) == -1)
		log_warn("cannot create %s", e->rejected);
	for (i = 0; i < 1000; i++) {
		free(dst);
		if (i == 0)
			xasprintf(&dst, "%s/%s", e->rejected, name);
		else
			xasprintf(&dst, "%s/%s.%d", e->rejected, name, i);
		if (access(dst, F_OK) == -1)
			break;
	}
	/* the reason first: a kill between the two leaves no file without
	 * its reason (the file is moved on restart, edge_leftover) */
	edge_now(t, sizeof t);
	n = xasprintf(&reason, "%s: %s\nfile: %s\nMessageId: %s\nat: %s\n",
	    code, text, name, message_id ? message_id : "(none)", t);
	xasprintf(&rname, "%s.reason", strrchr(dst, '/') + 1);
	if (fs_write_file(
	        e->rejected, rname, reason, (size_t)n, 0640, 1, &err) == -1)
		log_warnx("%s", err.text);
	if (rename(path, dst) == -1) {
		log_warn("cannot move %s to %s; it will be ignored until "
		         "restart, move it by hand",
		    path, dst);
		edge_stuck(e, name);
	}
	err_clear(&err);
	if (fs_fsync_dir(e->rejected, &err) == -1 ||
	    fs_fsync_dir(e->in, &err) == -1)
		log_warnx("%s", err.text);
	free(rname);
	free(reason);
	free(dst);
}

/*
 * The clientId of our answer (P:Received or rejects) to the request
 * clientId cid, or NULL if we never answered it.
 */
static char *
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

/*
 * Refuse an in/ file: answer the request's sender with rejects{code} when
 * answer is set and we know whom to answer (and never answered them
 * before: a broken copy of a request), journal it under kind, and move
 * the file to in-rejected/ with a .reason file.
 */
static int
edge_reject(struct edge *e, struct edge_msg *m, const char *code, int answer,
    const char *kind, const char *pos, const char *text, int *did)
{
	struct error err = {0};
	char cid[37] = "", *before;

	answer = answer && m->client_id != NULL;
	if (answer && (before = edge_answered(e, m->client_id)) != NULL) {
		answer = 0;
		free(before);
	}
	if (answer) {
		pkg_uuid_new(cid);
		if (edge_out_write(e, cid,
		        edge_response_doc(
		            e, cid, m->client_id, NULL, NULL, code, text),
		        &err) == -1) {
			log_warnx("%s", err.text);
			return -1;
		}
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if ((answer && edge_request_row(e, cid, "reject", pos, 0, m->client_id,
	                   code, text, 1, &err) == -1) ||
	    edge_seen(e, m, "rejected", m->client_id, pos, code, text, &err) ==
	        -1 ||
	    edge_unwait(e, m, &err) == -1 ||
	    edge_journal(e, kind, pos, &err,
	        "%s: %s (file %s, MessageId %s%s%s)", code, text, m->name,
	        m->message_id ? m->message_id : "none",
	        answer ? ", answered with rejects clientId " : ", not answered",
	        cid) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	if (answer)
		edge_out_publish(e, cid);
	edge_in_quarantine(e, m, code, text);
	edge_attachments_remove(e, m);
	log_warnx("rejected %s/%s: %s: %s", e->in, m->name, code, text);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	if (answer)
		edge_out_discard(e, cid);
	return -1;
}

/* Journal an adapter message we do nothing with, and remove it. */
static int
edge_drop(struct edge *e, struct edge_msg *m, const char *kind, const char *pos,
    int *did, const char *fmt, ...)
{
	struct error err = {0};
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_seen(e, m, kind, NULL, pos, NULL, NULL, &err) == -1 ||
	    edge_journal(e, kind, pos, &err, "%s (file %s, MessageId %s)",
	        detail, m->name, m->message_id) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	log_info("%s/%s: %s; dropped", e->in, m->name, detail);
	edge_in_done(e, m);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	return -1;
}

/*
 * Acknowledge a request again or without queueing anything (a copy of an
 * appeal already taken, a repeated feedback, an unchanged classifier).
 */
static int
edge_ack(struct edge *e, struct edge_msg *m, const char *pos,
    const char *version, const char *kind, const char *why, int *did)
{
	struct error err = {0};
	char cid[37];

	pkg_uuid_new(cid);
	if (edge_out_write(e, cid,
	        edge_response_doc(
	            e, cid, m->client_id, pos, version, NULL, NULL),
	        &err) == -1) {
		log_warnx("%s", err.text);
		return -1;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_request_row(e, cid, "received", pos, 0, m->client_id, NULL,
	        version, 1, &err) == -1 ||
	    edge_seen(e, m, "acknowledged", m->client_id, pos, NULL, NULL,
	        &err) == -1 ||
	    edge_unwait(e, m, &err) == -1 ||
	    edge_journal(e, kind, pos, &err,
	        "%s; acknowledged again with P:Received clientId %s (file %s, "
	        "MessageId %s, clientId %s)",
	        why, cid, m->name, m->message_id, m->client_id) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	edge_in_done(e, m);
	edge_attachments_remove(e, m);
	log_info("%s/%s: %s; acknowledged again", e->in, m->name, why);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	edge_out_discard(e, cid);
	return -1;
}

/* True if the edge has taken custody of this appeal before. */
static int
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
 * Find an attachment as the adapter stores it: <attachments-in>/<Id>/
 * <clientId>/<filePath> or <attachments-in>/<clientId>/<filePath>. Returns
 * the path of a regular non-empty file with its size and status, or NULL
 * (not yet).
 */
static char *
edge_locate(struct edge *e, const char *id, const char *client, const char *fp,
    uint64_t *size, struct stat *sb)
{
	char *path;
	int i;

	for (i = 0; i < 2; i++) {
		if (i == 0)
			xasprintf(&path, "%s/%s/%s/%s", e->ain, id, client, fp);
		else
			xasprintf(&path, "%s/%s/%s", e->ain, client, fp);
		if (lstat(path, sb) == 0 && S_ISREG(sb->st_mode) &&
		    sb->st_size > 0) {
			*size = (uint64_t)sb->st_size;
			return path;
		}
		free(path);
	}
	return NULL;
}

/*
 * True once a file has stayed unchanged for the settle time: its
 * modification and change times (the change time cannot be set back by
 * copying tools) are at least that old. A time further ahead than that
 * was written before the clock was set back: settled too.
 */
static int
edge_settled(const struct edge *e, const struct stat *sb)
{
	int64_t settle = (int64_t)e->settle * 1000000000, now, t;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	t = edge_mtime_ns(sb);
	if ((int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec > t)
		t = (int64_t)sb->st_ctim.tv_sec * 1000000000 +
		    sb->st_ctim.tv_nsec;
	if (t > now + settle)
		return 1;
	return now - t >= settle;
}

/*
 * An appeal's attachments are not complete: note when that was first seen,
 * and once attachment_wait has passed, refuse the request with FAILURE.
 */
static int
edge_wait(struct edge *e, struct edge_msg *m, const char *pos,
    const char *missing, int *did)
{
	struct error err = {0};
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL), first = now;
	char text[1024];

	st = db_prepare(
	    e->db, "SELECT first_seen FROM edge_waiting WHERE message_id = ?");
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		first = sqlite3_column_int64(st, 0);
	else {
		sqlite3_finalize(st);
		st = db_prepare(e->db,
		    "INSERT INTO edge_waiting (message_id, file, pos_id,"
		    " first_seen, missing) VALUES (?, ?, ?, ?, ?)");
		sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		sqlite3_bind_text(st, 5, missing, -1, SQLITE_STATIC);
		if (db_step_done(e->db, st, &err) == -1) {
			log_warnx("%s", err.text);
			return -1;
		}
		st = NULL;
		log_info("appeal %s (%s/%s): attachment %s is not complete "
		         "yet; waiting up to %u s for it",
		    pos, e->in, m->name, missing, e->attachment_wait);
	}
	if (st != NULL)
		sqlite3_finalize(st);
	if (first > now) {
		/* the clock went back: wait the whole time from now */
		st = db_prepare(e->db, "UPDATE edge_waiting SET first_seen = ?"
		                       " WHERE message_id = ?");
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_text(st, 2, m->message_id, -1, SQLITE_STATIC);
		if (db_step_done(e->db, st, &err) == -1) {
			log_warnx("%s", err.text);
			return -1;
		}
		first = now;
	}
	if (now - first < (int64_t)e->attachment_wait)
		return 0;
	snprintf(text, sizeof text,
	    "appeal %s: attachment %s did not arrive complete within %u s", pos,
	    missing, e->attachment_wait);
	return edge_reject(
	    e, m, "FAILURE", 1, "appeal.rejected", pos, text, did);
}

/* True if any attachment's size differs from what was seen when mapping. */
static int
edge_sizes_changed(const struct posmap_appeal *pa, char *const *src)
{
	struct stat sb;
	size_t k;

	for (k = 0; k < pa->natt; k++)
		if (stat(src[k], &sb) == -1 ||
		    (uint64_t)sb.st_size != pa->att[k].size)
			return 1;
	return 0;
}

/* True if the stored copies of a queued appeal's files have the mapped sizes. */
static int
edge_sizes_stored(struct edge *e, const struct posmap_appeal *pa)
{
	sqlite3_stmt *st;
	size_t k;
	int ok = 1;

	st = db_prepare(e->db,
	    "SELECT f.size FROM files f WHERE f.path = ? AND f.document_id ="
	    " (SELECT MAX(id) FROM documents WHERE direction = 'out' AND"
	    " kind = 'appeal' AND pos_id = ?)");
	for (k = 0; k < pa->natt && ok; k++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, pa->att[k].path, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, pa->pos_id, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_ROW &&
		     (uint64_t)sqlite3_column_int64(st, 0) == pa->att[k].size;
	}
	sqlite3_finalize(st);
	return ok;
}

/*
 * A new appeal: find its attachments (or wait for them), then take custody
 * in one transaction and answer P:Received.
 */
static int
edge_appeal(struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did)
{
	struct posmap_appeal pa;
	struct xfer_file *files = NULL;
	struct error err = {0};
	struct stat sb;
	sqlite3_stmt *st;
	char **src = NULL, *fp, missing[512] = "", cid[37], text[1200];
	char *xml = NULL;
	size_t len, k;
	int64_t docid;
	int rc = -1;

	if (posmap_appeal_read(content, &pa, &err) == -1)
		return edge_reject(
		    e, m, "FAILURE", 1, "appeal.rejected", NULL, err.text, did);
	if (edge_appeal_known(e, pa.pos_id)) {
		rc = edge_ack(e, m, pa.pos_id, NULL, "appeal.acknowledged",
		    "a copy of an appeal already taken", did);
		goto out;
	}
	src = xcalloc(pa.natt + 1, sizeof *src);
	files = xcalloc(pa.natt + 1, sizeof *files);
	if (pa.natt > 0 && !smev_id_ok(m->client_id)) {
		snprintf(text, sizeof text,
		    "appeal %s: clientId \"%.100s\" cannot name an attachment "
		    "directory",
		    pa.pos_id, m->client_id);
		rc = edge_reject(e, m, "FAILURE", 1, "appeal.rejected",
		    pa.pos_id, text, did);
		goto out;
	}
	for (k = 0; k < pa.natt; k++) {
		fp = smev_attachment_path(m->message, pa.att[k].header_id);
		if (!smev_id_ok(pa.att[k].header_id) || fp == NULL) {
			snprintf(text, sizeof text,
			    "appeal %s: P:Attachment headerId \"%.100s\" has "
			    "no AttachmentHeader with a usable Id and filePath",
			    pa.pos_id, pa.att[k].header_id);
			free(fp);
			rc = edge_reject(e, m, "FAILURE", 1, "appeal.rejected",
			    pa.pos_id, text, did);
			goto out;
		}
		src[k] = edge_locate(e, pa.att[k].header_id, m->client_id, fp,
		    &pa.att[k].size, &sb);
		if (src[k] != NULL && pa.att[k].declared > 0 &&
		    pa.att[k].size > pa.att[k].declared &&
		    edge_settled(e, &sb)) {
			/* no more writing makes it the file ПОС declared */
			snprintf(text, sizeof text,
			    "appeal %s: attachment %s (%.200s) has %" PRIu64
			    " bytes, but ПОС declared %" PRIu64
			    ": not the file ПОС sent",
			    pa.pos_id, pa.att[k].header_id, fp, pa.att[k].size,
			    pa.att[k].declared);
			free(fp);
			rc = edge_reject(e, m, "FAILURE", 1, "appeal.rejected",
			    pa.pos_id, text, did);
			goto out;
		}
		if (missing[0] == '\0' && src[k] == NULL)
			snprintf(missing, sizeof missing,
			    "%s (%.200s, missing or empty)",
			    pa.att[k].header_id, fp);
		else if (missing[0] == '\0' && pa.att[k].declared > 0 &&
		         pa.att[k].size != pa.att[k].declared)
			snprintf(missing, sizeof missing,
			    "%s (%.200s, %" PRIu64 " bytes of %" PRIu64
			    " declared)",
			    pa.att[k].header_id, fp, pa.att[k].size,
			    pa.att[k].declared);
		else if (missing[0] == '\0' && pa.att[k].declared == 0 &&
		         !edge_settled(e, &sb))
			snprintf(missing, sizeof missing,
			    "%s (%.200s, no size declared, still changing)",
			    pa.att[k].header_id, fp);
		free(fp);
	}
	if (missing[0] != '\0') {
		rc = edge_wait(e, m, pa.pos_id, missing, did);
		goto out;
	}
	if (posmap_appeal_doc(content, &pa, &xml, &len, &err) == -1) {
		rc = edge_reject(e, m, "FAILURE", 1, "appeal.rejected",
		    pa.pos_id, err.text, did);
		goto out;
	}
	for (k = 0; k < pa.natt; k++) {
		files[k].path = pa.att[k].path;
		files[k].src = src[k];
		files[k].take = 1; /* removed from attachments-in on commit */
	}
	pkg_uuid_new(cid);
	if (edge_out_write(e, cid,
	        edge_response_doc(
	            e, cid, m->client_id, pa.pos_id, NULL, NULL, NULL),
	        &err) == -1) {
		log_warnx("appeal %s: %s", pa.pos_id, err.text);
		goto out;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (xfer_enqueue(e->x, "appeal", pa.pos_id, xml, len, files, pa.natt,
	        &err) == -1) {
		db_rollback(e->db);
		edge_out_discard(e, cid);
		if (edge_sizes_changed(&pa, src)) {
			log_info("appeal %s: an attachment is still being "
			         "written; later",
			    pa.pos_id);
			rc = 0;
		} else if (err.code != ERR_NONE) {
			snprintf(text, sizeof text,
			    "appeal %s does not fit posgw's appeal document: "
			    "%s",
			    pa.pos_id, err.text);
			rc = edge_reject(e, m, "FAILURE", 1, "appeal.rejected",
			    pa.pos_id, text, did);
		} else
			log_warnx("appeal %s (%s): %s; will retry", pa.pos_id,
			    m->path, err.text);
		goto out;
	}
	if (!edge_sizes_stored(e, &pa)) {
		db_rollback(e->db);
		edge_out_discard(e, cid);
		log_info("appeal %s: an attachment changed while it was "
		         "stored; later",
		    pa.pos_id);
		rc = 0;
		goto out;
	}
	/* the row xfer_enqueue just added in this write transaction (the
	 * rowid maximum is one index step; filtering by kind was a scan) */
	docid = db_int(e->db, "SELECT MAX(id) FROM documents", 0);
	st = db_prepare(e->db,
	    "INSERT INTO edge_appeals (pos_id, message_id, client_id,"
	    " received, document_id, state) VALUES (?, ?, ?, ?, ?,"
	    " 'acknowledged')");
	sqlite3_bind_text(st, 1, pa.pos_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->client_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 5, docid);
	if (db_step_done(e->db, st, &err) == -1 ||
	    edge_request_row(e, cid, "received", pa.pos_id, 0, m->client_id,
	        NULL, NULL, 1, &err) == -1 ||
	    edge_seen(e, m, "accepted", m->client_id, pa.pos_id, NULL, NULL,
	        &err) == -1 ||
	    edge_unwait(e, m, &err) == -1 ||
	    edge_journal(e, "appeal.received", pa.pos_id, &err,
	        "MessageId %s, clientId %s, %zu attachment(s), document "
	        "%" PRId64,
	        m->message_id, m->client_id, pa.natt, docid) == -1 ||
	    edge_journal(e, "appeal.acknowledged", pa.pos_id, &err,
	        "P:Received clientId %s to clientId %s", cid,
	        m->client_id) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	edge_in_done(e, m);
	edge_attachments_remove(e, m);
	log_info("appeal %s taken from %s/%s with %zu attachment(s); "
	         "acknowledged as %s",
	    pa.pos_id, e->in, m->name, pa.natt, cid);
	(*did)++;
	rc = 0;
	goto out;
fail:
	log_warnx("appeal %s (%s): %s", pa.pos_id, m->path, err.text);
	edge_out_discard(e, cid);
out:
	for (k = 0; src != NULL && k < pa.natt; k++)
		free(src[k]);
	free(src);
	free(files);
	free(xml);
	posmap_appeal_free(&pa);
	return rc;
}

/*
 * Queue a document for the core and acknowledge the request that carried it,
 * in one transaction (feedback, classifier).
 */
static int
edge_take_doc(struct edge *e, struct edge_msg *m, const char *kind,
    const char *pos, const char *version, const char *key, const char *xml,
    size_t len, const char *jkind, const char *detail, int *did)
{
	struct error err = {0};
	sqlite3_stmt *st;
	char cid[37], text[1200];

	pkg_uuid_new(cid);
	if (edge_out_write(e, cid,
	        edge_response_doc(
	            e, cid, m->client_id, pos, version, NULL, NULL),
	        &err) == -1) {
		log_warnx("%s", err.text);
		return -1;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (xfer_enqueue(e->x, kind, pos, xml, len, NULL, 0, &err) == -1) {
		db_rollback(e->db);
		edge_out_discard(e, cid);
		if (err.code == ERR_NONE) {
			log_warnx("%s: %s; will retry", m->path, err.text);
			return -1;
		}
		snprintf(text, sizeof text,
		    "%s does not fit posgw's %s document: %s", detail, kind,
		    err.text);
		return edge_reject(
		    e, m, "FAILURE", 1, "smev.rejected", pos, text, did);
	}
	if (key != NULL) {
		st = db_prepare(e->db,
		    "INSERT OR REPLACE INTO edge_classifier (id, version,"
		    " digest, document_id, shipped) VALUES (1, ?, ?, (SELECT"
		    " MAX(id) FROM documents), ?)"); /* just enqueued */
		sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
		if (db_step_done(e->db, st, &err) == -1) {
			db_rollback(e->db);
			goto fail;
		}
	}
	if (edge_request_row(e, cid, "received", pos, 0, m->client_id, NULL,
	        version, 1, &err) == -1 ||
	    edge_seen(e, m, "accepted", m->client_id, pos, NULL, NULL, &err) ==
	        -1 ||
	    edge_journal(e, jkind, pos, &err,
	        "%s (MessageId %s, clientId %s); P:Received clientId %s",
	        detail, m->message_id, m->client_id, cid) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	edge_in_done(e, m);
	log_info("%s/%s: %s queued for the core", e->in, m->name, detail);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	edge_out_discard(e, cid);
	return -1;
}

/*
 * Citizen feedback: an outcome document for the core, once per message;
 * feedback on an appeal this edge never took is refused NO_DATA here (the
 * core could only drop it).
 */
static int
edge_feedback(struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did)
{
	struct error err = {0};
	char pos[POSMAP_ID_MAX], now[32], text[256], *xml = NULL;
	size_t len;
	int rc;

	edge_now(now, sizeof now);
	if (posmap_feedback_doc(content, now, pos, &xml, &len, &err) == -1)
		return edge_reject(
		    e, m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
	if (!edge_appeal_known(e, pos)) {
		free(xml);
		snprintf(text, sizeof text,
		    "feedback on appeal %s, which this agency never received "
		    "from ПОС",
		    pos);
		return edge_reject(
		    e, m, "NO_DATA", 1, "feedback.rejected", pos, text, did);
	}
	rc = edge_take_doc(e, m, "outcome", pos, NULL, NULL, xml, len,
	    "outcome.queued", "citizen feedback", did);
	free(xml);
	return rc;
}

/* A classifier: queued for the core only if it differs from the last one. */
static int
edge_classifier(
    struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did)
{
	struct error err = {0};
	char version[256], now[32], hex[DIGEST_HEX_LEN + 1], *last, *xml = NULL;
	char detail[512];
	size_t len;
	int rc;

	/* the key leaves out the fetch time, which always differs */
	if (posmap_classifier_doc(content, "1970-01-01T00:00:00Z", version,
	        sizeof version, &xml, &len, &err) == -1)
		return edge_reject(
		    e, m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
	digest_mem_hex(DIGEST_STREEBOG256, xml, len, hex);
	free(xml);
	xml = NULL;
	last = NULL;
	{
		sqlite3_stmt *st = db_prepare(
		    e->db, "SELECT digest FROM edge_classifier WHERE id = 1");
		if (sqlite3_step(st) == SQLITE_ROW)
			last =
			    xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	if (last != NULL && strcmp(last, hex) == 0) {
		free(last);
		return edge_ack(e, m, NULL, version, "smev.acknowledged",
		    "a classifier equal to the one last shipped", did);
	}
	free(last);
	edge_now(now, sizeof now);
	if (posmap_classifier_doc(
	        content, now, version, sizeof version, &xml, &len, &err) == -1)
		return edge_reject(
		    e, m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
	snprintf(detail, sizeof detail, "classifier %.200s, content %.16s...",
	    version, hex);
	rc = edge_take_doc(e, m, "classifier", NULL, version, hex, xml, len,
	    "classifier.queued", detail, did);
	free(xml);
	return rc;
}

/* A request of ПОС (RequestMessageType): appeal, feedback or classifier. */
static int
edge_request(struct edge *e, struct edge_msg *m, int *did)
{
	xmlNodePtr content;
	char text[512];

	if (m->client_id == NULL)
		return edge_reject(e, m, "malformed", 0, "smev.rejected", NULL,
		    "RequestMessageType without RequestMetadata/clientId: "
		    "nobody to answer",
		    did);
	content = smev_request_content(m->message);
	switch (posmap_kind(content)) {
	case POSMAP_APPEAL:
		return edge_appeal(e, m, content, did);
	case POSMAP_FEEDBACK:
		return edge_feedback(e, m, content, did);
	case POSMAP_CLASSIFIER:
		return edge_classifier(e, m, content, did);
	default:
		snprintf(text, sizeof text,
		    "MessagePrimaryContent holds %s%.100s%s, which posgw does "
		    "not take",
		    content ? "<" : "",
		    content ? (const char *)content->name : "nothing",
		    content ? ">" : "");
		return edge_reject(e, m, "UNKNOWN_REQUEST_DESCRIPTION", 1,
		    "smev.rejected", NULL, text, did);
	}
}

/* Remove the attachments we sent for an event (all its requests). */
static void
edge_aout_remove(struct edge *e, const char *pos, int64_t n)
{
	sqlite3_stmt *st;
	char *path;

	st = db_prepare(e->db, "SELECT client_id FROM edge_requests WHERE"
	                       " kind = 'event' AND pos_id = ? AND n = ?");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *cid = (const char *)sqlite3_column_text(st, 0);
		if (!smev_id_ok(cid))
			continue;
		xasprintf(&path, "%s/%s", e->aout, cid);
		if (fs_rmtree(path) == -1)
			log_warn("cannot remove %s", path);
		free(path);
	}
	sqlite3_finalize(st);
}

/* Queue an outcome document about event n for the core (in a transaction). */
static int
edge_outcome(struct edge *e, const char *pos, int64_t n, int refused,
    const char *code, const char *reason, struct error *err)
{
	char now[32], *xml;
	size_t len;
	int rc;

	edge_now(now, sizeof now);
	posmap_outcome_doc(pos, n, now, refused, code, reason, &xml, &len);
	rc = xfer_enqueue(e->x, "outcome", pos, xml, len, NULL, 0, err);
	if (rc == 0)
		rc = edge_journal(e, "outcome.queued", pos, err,
		    "n=%" PRId64 " %s%s%s", n,
		    refused ? "refused" : "delivered", code ? " " : "",
		    code ? code : "");
	free(xml);
	return rc;
}

/*
 * The state an appeal ends in once ПОС accepted an event of this type, or
 * NULL if the appeal stays open (the agency's work on it goes on).
 */
static const char *
edge_closes(const char *type)
{
	if (strcmp(type, "answer") == 0)
		return "answered";
	if (strcmp(type, "decline") == 0)
		return "declined";
	if (strcmp(type, "forward") == 0)
		return "forwarded";
	return NULL;
}

/*
 * ПОС's verdict on the request cid: the event becomes accepted or refused
 * (final; a final event is never changed again) and an outcome goes to the
 * core.
 */
static int
edge_verdict(struct edge *e, struct edge_msg *m, const char *cid, int accepted,
    const char *code, const char *reason, int *did)
{
	struct error err = {0};
	sqlite3_stmt *st;
	char pos[POSMAP_ID_MAX] = "", state[16] = "", type[32] = "";
	char status[64] = "";
	const char *closes;
	int64_t n = 0;
	int found = 0;

	if (db_begin(e->db, &err) == -1)
		goto fail;
	st = db_prepare(e->db,
	    "SELECT ev.pos_id, ev.n, ev.state, ev.type, ev.status FROM"
	    " edge_requests r JOIN edge_events ev ON ev.pos_id = r.pos_id AND"
	    " ev.n = r.n WHERE r.client_id = ? AND r.kind = 'event'");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		snprintf(pos, sizeof pos, "%s", sqlite3_column_text(st, 0));
		n = sqlite3_column_int64(st, 1);
		snprintf(state, sizeof state, "%s", sqlite3_column_text(st, 2));
		snprintf(type, sizeof type, "%s", sqlite3_column_text(st, 3));
		snprintf(
		    status, sizeof status, "%s", sqlite3_column_text(st, 4));
	}
	sqlite3_finalize(st);
	if (!found) {
		db_rollback(e->db);
		return edge_drop(e, m, "smev.unknown", NULL, did,
		    "a verdict on clientId %s, which is no event request of "
		    "ours",
		    cid);
	}
	if (strcmp(state, "accepted") == 0 || strcmp(state, "refused") == 0 ||
	    strcmp(state, "failed") == 0) {
		if (edge_seen(e, m, "late", cid, pos, NULL, NULL, &err) == -1 ||
		    edge_journal(e, "smev.late", pos, &err,
		        "%s on n=%" PRId64 " (clientId %s), which is already "
		        "%s: kept %s (MessageId %s)",
		        accepted ? "accepted" : "refused", n, cid, state, state,
		        m->message_id) == -1) {
			db_rollback(e->db);
			goto fail;
		}
		if (db_commit(e->db, &err) == -1)
			goto fail;
		edge_in_done(e, m);
		(*did)++;
		return 0;
	}
	st = db_prepare(e->db,
	    "UPDATE edge_events SET state = ?, final = 1, answered = ?,"
	    " code = ?, reason = ? WHERE pos_id = ? AND n = ?");
	sqlite3_bind_text(
	    st, 1, accepted ? "accepted" : "refused", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, n);
	if (db_step_done(e->db, st, &err) == -1)
		goto rollback;
	/* the answered request, and any later attempt still in flight */
	st = db_prepare(e->db,
	    "UPDATE edge_requests SET state = 'answered' WHERE client_id = ?"
	    " OR (kind = 'event' AND pos_id = ? AND n = ? AND state = 'sent')");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	if (db_step_done(e->db, st, &err) == -1)
		goto rollback;
	if (accepted && (closes = edge_closes(type)) != NULL) {
		st = db_prepare(e->db,
		    "UPDATE edge_appeals SET state = ?, closed = ? WHERE"
		    " pos_id = ? AND closed IS NULL");
		sqlite3_bind_text(st, 1, closes, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
		if (db_step_done(e->db, st, &err) == -1)
			goto rollback;
	}
	if ((accepted ? edge_journal(e, "event.accepted", pos, &err,
	                    "n=%" PRId64 " %s accepted by ПОС (clientId %s, "
	                    "MessageId %s)",
	                    n, status, cid, m->message_id)
	              : edge_journal(e, "event.refused", pos, &err,
	                    "n=%" PRId64 " %s refused by ПОС: %s: %.600s "
	                    "(clientId %s, MessageId %s)",
	                    n, status, code ? code : "no code",
	                    reason ? reason : "", cid, m->message_id)) == -1 ||
	    edge_outcome(e, pos, n, !accepted, accepted ? status : code, reason,
	        &err) == -1 ||
	    edge_seen(e, m, accepted ? "accepted" : "refused", cid, pos, NULL,
	        NULL, &err) == -1)
		goto rollback;
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_in_done(e, m);
	edge_aout_remove(e, pos, n);
	log_info("appeal %s event %" PRId64 " (%s) %s by ПОС", pos, n, status,
	    accepted ? "accepted" : "refused");
	(*did)++;
	return 0;
rollback:
	db_rollback(e->db);
fail:
	log_warnx("%s: %s", m->path, err.text);
	return -1;
}

/*
 * A transport failure of request cid (inside a transaction): an event goes
 * back to waiting with a doubling delay, a response is marked for resending.
 * A request that is no longer in flight is left alone (never downgraded).
 */
static int
edge_fail_request(
    struct edge *e, const char *cid, const char *why, struct error *err)
{
	sqlite3_stmt *st;
	char kind[16] = "", state[16] = "", pos[POSMAP_ID_MAX] = "";
	char evstate[16] = "", evcid[64] = "";
	int64_t n = 0, attempts = 1, evattempts = 1;
	int64_t now = (int64_t)time(NULL);
	unsigned delay;

	st = db_prepare(e->db,
	    "SELECT r.kind, r.state, COALESCE(r.pos_id, ''), COALESCE(r.n, 0),"
	    " r.attempts, COALESCE(ev.state, ''), COALESCE(ev.client_id, ''),"
	    " COALESCE(ev.attempts, 1) FROM edge_requests r LEFT JOIN"
	    " edge_events ev ON r.kind = 'event' AND ev.pos_id = r.pos_id AND"
	    " ev.n = r.n WHERE r.client_id = ?");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(kind, sizeof kind, "%s", sqlite3_column_text(st, 0));
		snprintf(state, sizeof state, "%s", sqlite3_column_text(st, 1));
		snprintf(pos, sizeof pos, "%s", sqlite3_column_text(st, 2));
		n = sqlite3_column_int64(st, 3);
		attempts = sqlite3_column_int64(st, 4);
		snprintf(
		    evstate, sizeof evstate, "%s", sqlite3_column_text(st, 5));
		snprintf(evcid, sizeof evcid, "%s", sqlite3_column_text(st, 6));
		evattempts = sqlite3_column_int64(st, 7);
	}
	sqlite3_finalize(st);
	if (strcmp(state, "sent") != 0)
		return 0;
	if (strcmp(kind, "event") == 0) {
		st = db_prepare(e->db, "UPDATE edge_requests SET state ="
		                       " 'failed', transport = ? WHERE"
		                       " client_id = ?");
		sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
		if (db_step_done(e->db, st, err) == -1)
			return -1;
		if (strcmp(evstate, "sent") != 0 || strcmp(evcid, cid) != 0)
			return 0;
		delay = edge_backoff(e, evattempts);
		st = db_prepare(e->db,
		    "UPDATE edge_events SET state = 'waiting', next_try = ?,"
		    " transport = ? WHERE pos_id = ? AND n = ?");
		sqlite3_bind_int64(st, 1, now + delay);
		sqlite3_bind_text(st, 2, why, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, n);
		if (db_step_done(e->db, st, err) == -1)
			return -1;
		log_warnx("appeal %s event %" PRId64 ": request %s failed "
		          "(%s); resending in %u s",
		    pos, n, cid, why, delay);
		return edge_journal(e, "event.retry", pos, err,
		    "n=%" PRId64 " request %s failed after %" PRId64
		    " attempt(s): %.600s; resent with a new clientId in %u s",
		    n, cid, evattempts, why, delay);
	}
	delay = edge_backoff(e, attempts);
	st = db_prepare(e->db,
	    "UPDATE edge_requests SET state = 'failed', transport = ?,"
	    " next_try = ? WHERE client_id = ?");
	sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now + delay);
	sqlite3_bind_text(st, 3, cid, -1, SQLITE_STATIC);
	if (db_step_done(e->db, st, err) == -1)
		return -1;
	log_warnx(
	    "response %s failed (%s); resending in %u s", cid, why, delay);
	return edge_journal(e, "smev.retry", pos[0] ? pos : NULL, err,
	    "%s response %s failed: %.600s; resent with a new clientId in "
	    "%u s",
	    kind, cid, why, delay);
}

/* Which request a correlation id names: its kind, or "" if none. */
static void
edge_request_kind(struct edge *e, const char *cid, char *kind, size_t len)
{
	sqlite3_stmt *st;

	kind[0] = '\0';
	st = db_prepare(
	    e->db, "SELECT kind FROM edge_requests WHERE client_id = ?");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(kind, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* An adapter message reporting a transport failure of request cid. */
static int
edge_failure(struct edge *e, struct edge_msg *m, const char *cid,
    const char *why, int *did)
{
	struct error err = {0};

	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_fail_request(e, cid, why, &err) == -1 ||
	    edge_seen(e, m, "failure", cid, NULL, NULL, NULL, &err) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_in_done(e, m);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	return -1;
}

/* A transport status of request cid: recorded, never changing its state. */
static int
edge_status(struct edge *e, struct edge_msg *m, const char *cid,
    const char *text, int *did)
{
	struct error err = {0};
	sqlite3_stmt *st;

	if (db_begin(e->db, &err) == -1)
		goto fail;
	st = db_prepare(e->db,
	    "UPDATE edge_requests SET transport = ? WHERE client_id = ?");
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
	if (db_step_done(e->db, st, &err) == -1)
		goto rollback;
	st = db_prepare(e->db, "UPDATE edge_events SET transport = ? WHERE"
	                       " client_id = ? AND state = 'sent'");
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
	if (db_step_done(e->db, st, &err) == -1 ||
	    edge_seen(e, m, "status", cid, NULL, NULL, NULL, &err) == -1)
		goto rollback;
	if (db_commit(e->db, &err) == -1)
		goto fail;
	log_debug("request %s: %s", cid, text);
	edge_in_done(e, m);
	(*did)++;
	return 0;
rollback:
	db_rollback(e->db);
fail:
	log_warnx("%s: %s", m->path, err.text);
	return -1;
}

/*
 * ПОС answers one of our requests (ResponseMessageType): a verdict, rejects
 * (FAILURE is retried, others refuse the event) or a status.
 */
static int
edge_response(struct edge *e, struct edge_msg *m, int *did)
{
	struct posmap_verdict v;
	struct smev_answer a;
	struct error err = {0};
	xmlNodePtr content, rj, status;
	char *reply, *code = NULL, *desc = NULL, *why, kind[16], text[1400];
	int r;

	if (smev_answer(m->message, &a) == -1)
		return edge_reject(e, m, "malformed", 0, "smev.rejected", NULL,
		    "ResponseMessageType without replyToClientId", did);
	reply = a.reply_to;
	content = a.content;
	rj = a.rejects;
	status = a.status;
	edge_request_kind(e, reply, kind, sizeof kind);
	if (kind[0] == '\0') {
		r = edge_drop(e, m, "smev.unknown", NULL, did,
		    "replyToClientId %.100s matches no request of ours", reply);
		free(reply);
		return r;
	}
	if (content != NULL && strcmp(kind, "event") == 0) {
		if (posmap_kind(content) != POSMAP_VERDICT ||
		    posmap_verdict_read(content, &v, &err) == -1) {
			snprintf(text, sizeof text,
			    "the answer to %.100s is not a verdict on a status "
			    "update: %s",
			    reply, err.text[0] ? err.text : "unknown content");
			r = edge_reject(e, m, "malformed", 0, "smev.rejected",
			    NULL, text, did);
			free(reply);
			return r;
		}
		{
			sqlite3_stmt *st = db_prepare(e->db,
			    "SELECT 1 FROM edge_requests WHERE client_id = ?"
			    " AND pos_id = ? AND n = ?");
			sqlite3_bind_text(st, 1, reply, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, v.pos_id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, v.n);
			r = sqlite3_step(st) == SQLITE_ROW;
			sqlite3_finalize(st);
		}
		if (!r) {
			snprintf(text, sizeof text,
			    "the verdict names appeal %s event %" PRId64
			    ", but request %s was about another",
			    v.pos_id, v.n, reply);
			r = edge_reject(e, m, "mismatch", 0, "smev.rejected",
			    v.pos_id, text, did);
		} else
			r = edge_verdict(
			    e, m, reply, v.accepted, v.code, v.reason, did);
		posmap_verdict_free(&v);
	} else if (rj != NULL) {
		code = smev_text(smev_child(rj, "code"));
		desc = smev_text(smev_child(rj, "description"));
		why = smev_code_text(rj, "rejected");
		if (code != NULL && strcmp(code, "FAILURE") == 0)
			r = edge_failure(e, m, reply, why, did);
		else if (strcmp(kind, "event") == 0)
			r = edge_verdict(e, m, reply, 0, code, desc, did);
		else
			r = edge_drop(e, m, "smev.refused", NULL, did,
			    "ПОС refused our %s response %s: %s", kind, reply,
			    why);
		free(why);
	} else if (status != NULL) {
		why = smev_code_text(status, "status");
		r = edge_status(e, m, reply, why, did);
		free(why);
	} else if (content != NULL) {
		r = edge_drop(e, m, "smev.unknown", NULL, did,
		    "content answering our %s response %s", kind, reply);
	} else
		r = edge_reject(e, m, "malformed", 0, "smev.rejected", NULL,
		    "ResponseContent holds neither content, rejects nor status",
		    did);
	free(code);
	free(desc);
	free(reply);
	return r;
}

/* A StatusMessage or ErrorMessage of the adapter about one of our requests. */
static int
edge_transport(struct edge *e, struct edge_msg *m, int error, int *did)
{
	char *orig, *why, kind[16];
	int r;

	orig = smev_original(m->message);
	if (orig == NULL)
		return edge_reject(e, m, "malformed", 0, "smev.rejected", NULL,
		    error ? "ErrorMessage without originalClientId"
		          : "StatusMessage without originalClientId",
		    did);
	edge_request_kind(e, orig, kind, sizeof kind);
	if (kind[0] == '\0') {
		r = edge_drop(e, m, "smev.unknown", NULL, did,
		    "%s for originalClientId %.100s, which matches no request "
		    "of ours",
		    error ? "ErrorMessage" : "StatusMessage", orig);
		free(orig);
		return r;
	}
	why = smev_code_text(smev_find(m->message, "status"),
	    error ? "ErrorMessage" : "StatusMessage");
	if (error) {
		char *w;
		xasprintf(&w, "ErrorMessage: %s", why);
		r = edge_failure(e, m, orig, w, did);
		free(w);
	} else
		r = edge_status(e, m, orig, why, did);
	free(why);
	free(orig);
	return r;
}

/* A nullable text column as a new string. */
static char *
edge_col(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL
	           ? NULL
	           : xstrdup((const char *)sqlite3_column_text(st, i));
}

/*
 * Remove the attachment directories named by an in/ file handled before,
 * if it can still be read as a request (best effort: they only take room).
 */
static void
edge_leftover_attachments(struct edge *e, struct edge_msg *m)
{
	struct error err = {0};
	struct smev_msg sm;
	struct edge_msg t;
	xmlDocPtr doc;

	doc = xmlsafe_parse_file(
	    m->path, e->max_xml, e->max_depth, ERR_PAYLOAD, &err);
	if (doc == NULL)
		return;
	if (smev_read(doc, &sm, err.text, sizeof err.text) == 0 &&
	    sm.kind == SMEV_REQUEST) {
		memset(&t, 0, sizeof t);
		t.message = sm.message;
		t.client_id = sm.client_id;
		edge_attachments_remove(e, &t);
	}
	smev_free(&sm);
	xmlFreeDoc(doc);
}

/*
 * An in/ file this edge handled and committed before but had not removed
 * yet when it was stopped (same name, size and time): finish it as then,
 * removed or moved to in-rejected/ with the reason given then, and neither
 * answer nor journal it again. Returns 1 if it was such a file.
 */
static int
edge_leftover(struct edge *e, struct edge_msg *m, int *did)
{
	sqlite3_stmt *st;
	char *code = NULL, *reason = NULL;
	int found = 0;

	st = db_prepare(e->db,
	    "SELECT code, reason, message_id FROM edge_in_handled WHERE"
	    " name = ? AND size = ? AND mtime = ?");
	sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)m->sb.st_size);
	sqlite3_bind_int64(st, 3, edge_mtime_ns(&m->sb));
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		code = edge_col(st, 0);
		reason = edge_col(st, 1);
		free(m->message_id);
		m->message_id = edge_col(st, 2);
	}
	sqlite3_finalize(st);
	if (!found)
		return 0;
	edge_leftover_attachments(e, m);
	if (code != NULL)
		edge_in_quarantine(e, m, code, reason != NULL ? reason : "");
	else
		edge_in_done(e, m);
	log_info("%s/%s (MessageId %s) was handled before the edge stopped; "
	         "%s now, not answered again",
	    e->in, m->name, m->message_id ? m->message_id : "none",
	    code != NULL ? "moved to in-rejected/" : "removed");
	free(code);
	free(reason);
	(*did)++;
	return 1;
}

/*
 * A message this edge handled before from another file (the adapter
 * delivered it twice), or a request whose clientId was answered before
 * under another MessageId: journaled and removed, never answered again,
 * because ПОС gets one answer per request. Returns 1 if so, with the
 * result in *rc, else 0.
 */
static int
edge_duplicate(struct edge *e, struct edge_msg *m, int *did, int *rc)
{
	sqlite3_stmt *st;
	char *file = NULL, *outcome = NULL, *answer = NULL;

	st = db_prepare(e->db, "SELECT file, outcome FROM edge_smev_in WHERE"
	                       " message_id = ?");
	sqlite3_bind_text(st, 1, m->message_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		file = edge_col(st, 0);
		outcome = edge_col(st, 1);
	}
	sqlite3_finalize(st);
	if (file != NULL) {
		*rc = edge_drop(e, m, "smev.duplicate", NULL, did,
		    "a copy of MessageId %s, handled before from %.200s (%s); "
		    "not answered again",
		    m->message_id, file, outcome != NULL ? outcome : "?");
		free(file);
		free(outcome);
		return 1;
	}
	if (m->client_id == NULL || m->kind != SMEV_REQUEST ||
	    (answer = edge_answered(e, m->client_id)) == NULL)
		return 0;
	*rc = edge_drop(e, m, "smev.duplicate", NULL, did,
	    "request clientId %.100s was answered before (by clientId %s); "
	    "not answered again",
	    m->client_id, answer);
	free(answer);
	return 1;
}

/* The clientId smev_salvage finds in the first 64 KiB of a broken file. */
static char *
edge_salvage(const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	n = read(fd, buf, sizeof buf);
	close(fd);
	return n > 0 ? smev_salvage(buf, (size_t)n) : NULL;
}

/* Handle one in/ file by name; -1 only for trouble of ours (it stays). */
static int
edge_in_file(struct edge *e, const char *name, int *did)
{
	struct edge_msg m;
	struct smev_msg sm;
	struct error err = {0};
	char text[1200];
	int rc = 0;

	memset(&m, 0, sizeof m);
	m.name = name;
	xasprintf(&m.path, "%s/%s", e->in, name);
	if (lstat(m.path, &m.sb) == -1)
		goto out; /* gone meanwhile */
	if (!S_ISREG(m.sb.st_mode)) {
		log_warnx("%s is not a regular file; left alone", m.path);
		edge_stuck(e, name);
		goto out;
	}
	if (edge_leftover(e, &m, did))
		goto out;
	m.doc = xmlsafe_parse_file(
	    m.path, e->max_xml, e->max_depth, ERR_PAYLOAD, &err);
	if (m.doc == NULL) {
		if (err.code == ERR_NONE) {
			log_warnx("%s", err.text);
			rc = -1;
			goto out;
		}
		/* maybe the adapter is still writing it in place */
		if (!edge_settled(e, &m.sb))
			goto out;
		m.client_id = edge_salvage(m.path);
		/* name the file, not our directories, in an answer to ПОС */
		if (strncmp(err.text, m.path, strlen(m.path)) == 0) {
			snprintf(text, sizeof text, "%s%s", name,
			    err.text + strlen(m.path));
			snprintf(err.text, sizeof err.text, "%.1000s", text);
		}
		rc = edge_reject(
		    e, &m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
		goto out;
	}
	if (smev_read(m.doc, &sm, text, sizeof text) == -1) {
		m.client_id = sm.client_id;
		sm.client_id = NULL;
		smev_free(&sm);
		rc = edge_reject(
		    e, &m, "FAILURE", 1, "smev.rejected", NULL, text, did);
		goto out;
	}
	m.message = sm.message;
	m.message_id = sm.message_id;
	m.type = sm.type;
	m.client_id = sm.client_id;
	m.kind = sm.kind;
	if (edge_duplicate(e, &m, did, &rc))
		goto out;
	switch (sm.kind) {
	case SMEV_REQUEST:
		rc = edge_request(e, &m, did);
		break;
	case SMEV_RESPONSE:
		rc = edge_response(e, &m, did);
		break;
	case SMEV_STATUS:
	case SMEV_ERROR:
		rc = edge_transport(e, &m, sm.kind == SMEV_ERROR, did);
		break;
	default:
		snprintf(
		    text, sizeof text, "unknown Message type %.100s", m.type);
		rc = edge_reject(
		    e, &m, "FAILURE", 1, "smev.rejected", NULL, text, did);
		break;
	}
out:
	if (m.doc != NULL)
		xmlFreeDoc(m.doc);
	free(m.path);
	free(m.message_id);
	free(m.type);
	free(m.client_id);
	return rc;
}

/* Order names for handling in a stable order. */
static int
edge_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * End a batch: on commit, do the postponed file-system steps (answers
 * renamed into out/, handled in/ files removed, one directory fsync each);
 * otherwise drop the unpublished answers and leave in/ as it was.
 */
static void
edge_batch_end(struct edge *e, int committed)
{
	struct error err = {0};
	struct edge_defer *d;
	char *tmp;
	size_t i;
	int pub = 0, in = 0;

	e->batch = 0;
	for (i = 0; i < e->ndefer; i++) {
		d = &e->defer[i];
		if (!committed) {
			if (d->kind == EDGE_DEFER_PUBLISH) {
				xasprintf(&tmp, "%s/.%s.xml", e->out, d->s[0]);
				unlink(tmp);
				free(tmp);
			}
		} else if (d->kind == EDGE_DEFER_PUBLISH) {
			xasprintf(&tmp, "%s/.%s.xml", e->out, d->s[0]);
			xasprintf(&d->s[1], "%s/%s.xml", e->out, d->s[0]);
			if (rename(tmp, d->s[1]) == -1) {
				log_warn("cannot publish %s as %s; will retry",
				    tmp, d->s[1]);
				e->recover = 1;
			} else
				pub = 1;
			free(tmp);
		} else if (d->kind == EDGE_DEFER_IN_DONE) {
			if (edge_in_unlink(e, d->s[0], d->s[1]) == 0)
				in = 1;
		} else if (d->kind == EDGE_DEFER_RMTREE) {
			if (fs_rmtree(d->s[0]) == -1)
				log_warn("cannot remove %s", d->s[0]);
		} else
			edge_in_move(
			    e, d->s[0], d->s[1], d->s[2], d->s[3], d->s[4]);
		free(d->s[0]);
		free(d->s[1]);
		free(d->s[2]);
		free(d->s[3]);
		free(d->s[4]);
	}
	e->ndefer = 0;
	if (pub && fs_fsync_dir(e->out, &err) == -1)
		log_warnx("%s", err.text);
	err_clear(&err);
	if (in && fs_fsync_dir(e->in, &err) == -1)
		log_warnx("%s", err.text);
}

/*
 * Scan in/ and handle the *.xml files (dot files are work in progress) in
 * name order, at most one package's worth of documents per round, so the
 * packer and the peer work while the rest of a flood waits its turn.
 */
static int
edge_scan_in(struct edge *e, int *did)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, len, i;
	unsigned budget = xfer_config(e->x)->max_docs;
	struct error err = {0};
	int start = *did;
	DIR *d;
	int rc = 0;

	if ((d = opendir(e->in)) == NULL) {
		if (!e->in_missing)
			log_warn("cannot read the adapter's %s; waiting for "
			         "it",
			    e->in);
		e->in_missing = 1;
		return 0;
	}
	e->in_missing = 0;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".xml") != 0 ||
		    edge_is_stuck(e, de->d_name))
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, edge_name_cmp);
	/*
	 * One transaction for the round (each file in its own savepoint), so
	 * a flood costs one commit per package's worth, not one per appeal.
	 */
	if (n > 0 && db_begin(e->db, &err) == 0)
		e->batch = 1;
	else if (n > 0)
		log_warnx("%s; taking files one by one", err.text);
	for (i = 0; i < n; i++) {
		if ((unsigned)(*did - start) < budget &&
		    edge_in_file(e, names[i], did) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	if (e->batch) {
		err_clear(&err);
		if (xfer_store_sync(e->x, &err) == -1 ||
		    fs_syncset_sync(&e->answers, e->out, &err) == -1 ||
		    db_commit(e->db, &err) == -1) {
			log_warnx("cannot commit the files taken from %s: %s; "
			          "they stay there for the next round",
			    e->in, err.text);
			db_rollback(e->db);
			fs_syncset_clear(&e->answers);
			edge_batch_end(e, 0);
			return -1;
		}
		edge_batch_end(e, 1);
	}
	return rc;
}

/*
 * Take the core's new event documents into edge_events, marking each
 * document consumed in the same transaction.
 */
static int
edge_take_events(struct edge *e, int *did)
{
	struct posmap_event ev;
	struct error err = {0};
	sqlite3_stmt *st, *q;
	int64_t id;
	int rc = 0, dup;

	q = db_prepare(e->db,
	    "SELECT id, body FROM documents WHERE direction = 'in' AND"
	    " kind = 'event' AND consumed IS NULL ORDER BY id LIMIT 1");
	for (;;) {
		sqlite3_reset(q);
		if (sqlite3_step(q) != SQLITE_ROW)
			break;
		id = sqlite3_column_int64(q, 0);
		err_clear(&err);
		if (posmap_event_read(sqlite3_column_blob(q, 1),
		        (size_t)sqlite3_column_bytes(q, 1), &ev, &err) == -1) {
			char text[1100];
			snprintf(text, sizeof text, "%s", err.text);
			sqlite3_reset(q);
			if (db_begin(e->db, &err) == -1)
				goto fail;
			st = db_prepare(e->db, "UPDATE documents SET consumed ="
			                       " ? WHERE id = ?");
			sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
			sqlite3_bind_int64(st, 2, id);
			if (db_step_done(e->db, st, &err) == -1 ||
			    edge_journal(e, "event.invalid", NULL, &err,
			        "document %" PRId64 ": %s", id, text) == -1) {
				db_rollback(e->db);
				goto fail;
			}
			if (db_commit(e->db, &err) == -1)
				goto fail;
			log_warnx("event document %" PRId64 " cannot be sent: "
			          "%s",
			    id, text);
			continue;
		}
		sqlite3_reset(q);
		if (db_begin(e->db, &err) == -1) {
			posmap_event_free(&ev);
			goto fail;
		}
		st = db_prepare(e->db,
		    "INSERT INTO edge_events (pos_id, n, type, status,"
		    " document_id, state, received) VALUES (?, ?, ?, ?, ?,"
		    " 'waiting', ?) ON CONFLICT (pos_id, n) DO NOTHING");
		sqlite3_bind_text(st, 1, ev.pos_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, ev.n);
		sqlite3_bind_text(st, 3, ev.type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, ev.status, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, id);
		sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
		if (db_step_done(e->db, st, &err) == -1)
			goto rollback;
		dup = sqlite3_changes(e->db->h) == 0;
		st = db_prepare(
		    e->db, "UPDATE documents SET consumed = ? WHERE id = ?");
		sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
		sqlite3_bind_int64(st, 2, id);
		if (db_step_done(e->db, st, &err) == -1 ||
		    (dup && edge_journal(e, "event.duplicate", ev.pos_id, &err,
		                "n=%" PRId64 " again in document %" PRId64
		                "; the first one stands",
		                ev.n, id) == -1))
			goto rollback;
		if (db_commit(e->db, &err) == -1) {
			posmap_event_free(&ev);
			goto fail;
		}
		if (dup)
			log_warnx("appeal %s event %" PRId64 " arrived twice; "
			          "the first one stands",
			    ev.pos_id, ev.n);
		else
			log_info("appeal %s event %" PRId64 " (%s) from the "
			         "core",
			    ev.pos_id, ev.n, ev.type);
		posmap_event_free(&ev);
		(*did)++;
		continue;
	rollback:
		db_rollback(e->db);
		posmap_event_free(&ev);
	fail:
		log_warnx("taking events: %s", err.text);
		rc = -1;
		break;
	}
	sqlite3_finalize(q);
	return rc;
}

/*
 * An event the edge can never send (unreadable, its files lost): final
 * state failed, and the core learns it as a refused outcome.
 */
static int
edge_event_broken(
    struct edge *e, const char *pos, int64_t n, const char *why, int *did)
{
	struct error err = {0};
	sqlite3_stmt *st;

	if (db_begin(e->db, &err) == -1)
		goto fail;
	st = db_prepare(e->db,
	    "UPDATE edge_events SET state = 'failed', final = 1,"
	    " answered = ?, code = ?, reason = ? WHERE pos_id = ? AND n = ?");
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_text(st, 2, EDGE_FAILED_CODE, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, n);
	if (db_step_done(e->db, st, &err) == -1 ||
	    edge_journal(e, "event.failed", pos, &err,
	        "n=%" PRId64 " cannot be sent: %s", n, why) == -1 ||
	    edge_outcome(e, pos, n, 1, EDGE_FAILED_CODE, why, &err) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	log_warnx("appeal %s event %" PRId64 " cannot be sent: %s; the core "
	          "is told",
	    pos, n, why);
	(*did)++;
	return 0;
fail:
	log_warnx("appeal %s event %" PRId64 ": %s", pos, n, err.text);
	return -1;
}

/* The file-store digest of a document's attachment by payload path. */
static char *
edge_store_digest(struct edge *e, int64_t docid, const char *path)
{
	sqlite3_stmt *st;
	char *d = NULL;

	st = db_prepare(e->db, "SELECT digest FROM files WHERE document_id = ?"
	                       " AND path = ? ORDER BY id LIMIT 1");
	sqlite3_bind_int64(st, 1, docid);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		d = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return d;
}

/* Copy a file durably to dir/name (through dir/.name, fsynced, renamed). */
static int
edge_copy(const char *src, const char *dir, const char *name, struct error *err)
{
	unsigned char buf[1 << 16];
	char *tmp, *dst;
	int in, out, rc = -1;
	ssize_t n;

	xasprintf(&tmp, "%s/.%s", dir, name);
	xasprintf(&dst, "%s/%s", dir, name);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(
		    err, ERR_NONE, "cannot open %s: %s", src, strerror(errno));
		goto out;
	}
	out = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (out == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s", tmp,
		    strerror(errno));
		close(in);
		goto out;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (fs_write_all(out, buf, (size_t)n) == -1)
			break;
	if (n != 0 || fsync(out) == -1 || close(out) == -1) {
		err_set(err, ERR_NONE, "cannot copy %s to %s: %s", src, tmp,
		    strerror(errno));
		if (n != 0)
			close(out);
		close(in);
		unlink(tmp);
		goto out;
	}
	close(in);
	if (rename(tmp, dst) == -1) {
		err_set(err, ERR_NONE, "cannot rename %s: %s", tmp,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(dst);
	return rc;
}

/* Read a small file whole and return it base64-encoded on one line. */
static char *
edge_base64_file(const char *path, struct error *err)
{
	gnutls_datum_t in, out;
	struct stat sb;
	unsigned char *buf;
	char *s;
	ssize_t n;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || sb.st_size <= 0 ||
	    sb.st_size > EDGE_MAX_SIG) {
		err_set(err, ERR_NONE, "%s: a signature of %lld bytes", path,
		    (long long)sb.st_size);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size);
	while (off < (size_t)sb.st_size &&
	       (n = read(fd, buf + off, (size_t)sb.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	if (off != (size_t)sb.st_size) {
		err_set(err, ERR_NONE, "cannot read %s", path);
		free(buf);
		return NULL;
	}
	in.data = buf;
	in.size = (unsigned)off;
	if (gnutls_base64_encode2(&in, &out) < 0)
		fatalx("base64 encoding failed");
	free(buf);
	s = xmalloc(out.size + 1);
	for (off = 0, n = 0; off < out.size; off++)
		if (out.data[off] != '\n' && out.data[off] != '\r')
			s[n++] = (char)out.data[off];
	s[n] = '\0';
	gnutls_free(out.data);
	return s;
}

/*
 * Send one event: copy its files to attachments-out/<clientId>/, write the
 * StatusUpdate request, record it, publish it.
 */
static int
edge_send_event(
    struct edge *e, const char *pos, int64_t n, int64_t docid, int *did)
{
	struct posmap_event ev;
	struct error err = {0};
	xmlNodePtr root, rq, md, rc, ct, mpc, list, ah;
	xmlNsPtr ns;
	xmlDocPtr doc;
	sqlite3_stmt *st;
	char cid[37], **hids = NULL, **sigs = NULL, *dir = NULL, *fname;
	char *digest, *src, why[1200];
	const char *base;
	int64_t attempts;
	size_t i;
	int r = -1, broken = 0;

	st = db_prepare(e->db, "SELECT body FROM documents WHERE id = ?");
	sqlite3_bind_int64(st, 1, docid);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		snprintf(
		    why, sizeof why, "document %" PRId64 " is gone", docid);
		return edge_event_broken(e, pos, n, why, did);
	}
	r = posmap_event_read(sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0), &ev, &err);
	sqlite3_finalize(st);
	if (r == -1)
		return edge_event_broken(e, pos, n, err.text, did);
	r = -1;
	pkg_uuid_new(cid);
	hids = xcalloc(ev.nfiles + 1, sizeof *hids);
	sigs = xcalloc(ev.nfiles + 1, sizeof *sigs);
	if (ev.nfiles > 0) {
		xasprintf(&dir, "%s/%s", e->aout, cid);
		if (fs_mkdir_p(dir, 0750) == -1) {
			log_warn("cannot create %s", dir);
			goto out;
		}
	}
	for (i = 0; i < ev.nfiles; i++) {
		hids[i] = xmalloc(37);
		pkg_uuid_new(hids[i]);
		if ((digest = edge_store_digest(e, docid, ev.files[i].path)) ==
		    NULL) {
			snprintf(why, sizeof why,
			    "%s is not in the edge's file store",
			    ev.files[i].path);
			broken = 1;
			goto out;
		}
		src = xstrdup(xfer_file_path(e->x, digest));
		free(digest);
		base = strrchr(ev.files[i].path, '/');
		xasprintf(&fname, "%zu-%s", i + 1,
		    base != NULL ? base + 1 : ev.files[i].path);
		if (edge_copy(src, dir, fname, &err) == -1) {
			int lost = access(src, F_OK) == -1 && errno == ENOENT;
			free(src);
			free(fname);
			if (lost) {
				snprintf(why, sizeof why, "%s", err.text);
				broken = 1;
			} else
				log_warnx("appeal %s event %" PRId64 ": %s; "
				          "will retry",
				    pos, n, err.text);
			goto out;
		}
		free(src);
		free(fname);
		if ((digest = edge_store_digest(
		         e, docid, ev.files[i].signature)) == NULL) {
			snprintf(why, sizeof why,
			    "signature %s is not in the edge's file store",
			    ev.files[i].signature);
			broken = 1;
			goto out;
		}
		src = xstrdup(xfer_file_path(e->x, digest));
		free(digest);
		sigs[i] = edge_base64_file(src, &err);
		free(src);
		if (sigs[i] == NULL) {
			snprintf(why, sizeof why, "%s", err.text);
			broken = 1;
			goto out;
		}
	}
	if (dir != NULL && (fs_fsync_dir(dir, &err) == -1 ||
	                       fs_fsync_dir(e->aout, &err) == -1)) {
		log_warnx("%s", err.text);
		goto out;
	}

	doc = edge_envelope(e, &root, &ns);
	rq = xmlNewChild(root, ns, (const xmlChar *)"RequestMessage", NULL);
	md = xmlNewChild(rq, ns, (const xmlChar *)"RequestMetadata", NULL);
	xmlNewTextChild(
	    md, ns, (const xmlChar *)"clientId", (const xmlChar *)cid);
	if (e->test_message)
		xmlNewTextChild(md, ns, (const xmlChar *)"testMessage",
		    (const xmlChar *)"true");
	rc = xmlNewChild(rq, ns, (const xmlChar *)"RequestContent", NULL);
	ct = xmlNewChild(rc, ns, (const xmlChar *)"content", NULL);
	mpc =
	    xmlNewChild(ct, ns, (const xmlChar *)"MessagePrimaryContent", NULL);
	posmap_status_update(mpc, &ev, hids);
	if (ev.nfiles > 0) {
		list = xmlNewChild(
		    ct, ns, (const xmlChar *)"AttachmentHeaderList", NULL);
		for (i = 0; i < ev.nfiles; i++) {
			base = strrchr(ev.files[i].path, '/');
			xasprintf(&fname, "%s/%zu-%s", dir, i + 1,
			    base != NULL ? base + 1 : ev.files[i].path);
			ah = xmlNewChild(list, ns,
			    (const xmlChar *)"AttachmentHeader", NULL);
			xmlNewTextChild(ah, ns, (const xmlChar *)"Id",
			    (const xmlChar *)hids[i]);
			xmlNewTextChild(ah, ns, (const xmlChar *)"filePath",
			    (const xmlChar *)fname);
			xmlNewTextChild(ah, ns,
			    (const xmlChar *)"SignaturePKCS7",
			    (const xmlChar *)sigs[i]);
			xmlNewTextChild(ah, ns,
			    (const xmlChar *)"TransferMethod",
			    (const xmlChar *)"REFERENCE");
			free(fname);
		}
	}
	if (edge_out_write(e, cid, doc, &err) == -1) {
		log_warnx("appeal %s event %" PRId64 ": %s", pos, n, err.text);
		goto out;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	st = db_prepare(e->db,
	    "UPDATE edge_events SET state = 'sent', client_id = ?,"
	    " attempts = attempts + 1, sent_at = ? WHERE pos_id = ? AND"
	    " n = ? AND state = 'waiting'");
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, n);
	if (db_step_done(e->db, st, &err) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (sqlite3_changes(e->db->h) == 0) {
		/* no longer waiting: nothing to send */
		db_rollback(e->db);
		edge_out_discard(e, cid);
		goto out;
	}
	st = db_prepare(e->db, "SELECT attempts FROM edge_events WHERE"
	                       " pos_id = ? AND n = ?");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	attempts =
	    sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
	sqlite3_finalize(st);
	if (edge_request_row(e, cid, "event", pos, n, NULL, NULL, ev.status,
	        attempts, &err) == -1 ||
	    edge_journal(e, "event.sent", pos, &err,
	        "n=%" PRId64 " %s as clientId %s with %zu file(s)", n,
	        ev.status, cid, ev.nfiles) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	log_info("appeal %s event %" PRId64 " sent as %s (%s)", pos, n,
	    ev.status, cid);
	(*did)++;
	r = 0;
	goto out;
fail:
	log_warnx("appeal %s event %" PRId64 ": %s", pos, n, err.text);
	edge_out_discard(e, cid);
out:
	if (r == -1 && dir != NULL && fs_rmtree(dir) == -1)
		log_warn("cannot remove %s", dir);
	for (i = 0; i < ev.nfiles; i++) {
		free(hids[i]);
		free(sigs[i]);
	}
	free(hids);
	free(sigs);
	free(dir);
	posmap_event_free(&ev);
	if (broken)
		return edge_event_broken(e, pos, n, why, did);
	return r;
}

/*
 * Send every event that is due: waiting, its retry time reached, the
 * previous event of its appeal final, and nothing of its appeal in flight.
 */
static int
edge_send_events(struct edge *e, int *did)
{
	struct due {
		char pos[POSMAP_ID_MAX];
		int64_t n, docid;
	} *due = NULL;
	sqlite3_stmt *st;
	size_t nd = 0, i;
	int rc = 0;

	st = db_prepare(e->db,
	    "SELECT ev.pos_id, ev.n, ev.document_id FROM edge_events ev"
	    " WHERE ev.final = 0 AND ev.state = 'waiting' AND (ev.next_try <= "
	    "?1"
	    "  OR ev.next_try > ?2)"
	    " AND NOT EXISTS (SELECT 1 FROM edge_events s WHERE"
	    "  s.pos_id = ev.pos_id AND s.state = 'sent')"
	    " AND (ev.n = 1 OR EXISTS (SELECT 1 FROM edge_events p WHERE"
	    "  p.pos_id = ev.pos_id AND p.n = ev.n - 1 AND p.final = 1))"
	    " ORDER BY ev.received, ev.pos_id, ev.n LIMIT 1000");
	/* a retry never lies more than retry_max ahead unless the clock went
	 * back: then it is due now */
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL) + e->retry_max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		due = xreallocarray(due, nd + 1, sizeof *due);
		snprintf(due[nd].pos, sizeof due[nd].pos, "%s",
		    sqlite3_column_text(st, 0));
		due[nd].n = sqlite3_column_int64(st, 1);
		due[nd].docid = sqlite3_column_int64(st, 2);
		nd++;
	}
	sqlite3_finalize(st);
	for (i = 0; i < nd; i++)
		if (edge_send_event(
		        e, due[i].pos, due[i].n, due[i].docid, did) == -1)
			rc = -1;
	free(due);
	return rc;
}

/*
 * Requests the adapter moved to out/error/ failed in transport: retry them.
 * The directory is read again only when it changed.
 */
static int
edge_scan_errors(struct edge *e, int *did)
{
	struct error err = {0};
	struct dirent *de;
	struct stat sb;
	char cid[160], **cids = NULL, state[16];
	size_t n = 0, len, i;
	sqlite3_stmt *st;
	DIR *d;
	int rc = 0;

	if (stat(e->out_error, &sb) == -1)
		return 0;
	if (e->errdir_seen && sb.st_mtim.tv_sec == e->errdir_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == e->errdir_mtime.tv_nsec)
		return 0;
	if ((d = opendir(e->out_error)) == NULL)
		return 0;
	e->errdir_mtime = sb.st_mtim;
	e->errdir_seen = 1;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 || len - 4 >= sizeof cid ||
		    strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		memcpy(cid, de->d_name, len - 4);
		cid[len - 4] = '\0';
		if (!smev_id_ok(cid))
			continue;
		st = db_prepare(e->db,
		    "SELECT state FROM edge_requests WHERE client_id = ?");
		sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
		state[0] = '\0';
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(state, sizeof state, "%s",
			    sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (strcmp(state, "sent") != 0)
			continue;
		cids = xreallocarray(cids, n + 1, sizeof *cids);
		cids[n++] = xstrdup(cid);
	}
	closedir(d);
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (db_begin(e->db, &err) == -1 ||
		    edge_fail_request(e, cids[i],
		        "the adapter moved it to out/error", &err) == -1 ||
		    db_commit(e->db, &err) == -1) {
			db_rollback(e->db);
			log_warnx(
			    "%s/%s.xml: %s", e->out_error, cids[i], err.text);
			e->errdir_seen = 0; /* look again next round */
			rc = -1;
		} else
			(*did)++;
		free(cids[i]);
	}
	free(cids);
	return rc;
}

/*
 * Resend acknowledgements and rejects whose transport failed, once their
 * delay has passed: the same answer with a new clientId.
 */
static int
edge_resend_responses(struct edge *e, int *did)
{
	struct resend {
		char *cid, *kind, *pos, *reply_to, *code, *detail;
		int64_t attempts;
	} *rs = NULL;
	struct error err = {0};
	sqlite3_stmt *st;
	char cid[37];
	size_t n = 0, i;
	int rc = 0;

	st = db_prepare(e->db,
	    "SELECT client_id, kind, pos_id, reply_to, code, detail, attempts"
	    " FROM edge_requests WHERE state = 'failed' AND kind != 'event'"
	    " AND (next_try <= ?1 OR next_try > ?2) ORDER BY next_try"
	    " LIMIT 1000");
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL) + e->retry_max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		rs = xreallocarray(rs, n + 1, sizeof *rs);
#define EDGE_COL(k)                                                            \
	(sqlite3_column_type(st, k) == SQLITE_NULL                             \
	        ? NULL                                                         \
	        : xstrdup((const char *)sqlite3_column_text(st, k)))
		rs[n].cid = EDGE_COL(0);
		rs[n].kind = EDGE_COL(1);
		rs[n].pos = EDGE_COL(2);
		rs[n].reply_to = EDGE_COL(3);
		rs[n].code = EDGE_COL(4);
		rs[n].detail = EDGE_COL(5);
#undef EDGE_COL
		rs[n].attempts = sqlite3_column_int64(st, 6);
		n++;
	}
	sqlite3_finalize(st);
	for (i = 0; i < n; i++) {
		int reject = strcmp(rs[i].kind, "reject") == 0;
		err_clear(&err);
		pkg_uuid_new(cid);
		if (edge_out_write(e, cid,
		        edge_response_doc(e, cid,
		            rs[i].reply_to ? rs[i].reply_to : "", rs[i].pos,
		            reject ? NULL : rs[i].detail,
		            reject ? rs[i].code : NULL, rs[i].detail),
		        &err) == -1) {
			log_warnx("%s", err.text);
			rc = -1;
			continue;
		}
		st = db_prepare(e->db, "UPDATE edge_requests SET state ="
		                       " 'retried' WHERE client_id = ?");
		sqlite3_bind_text(st, 1, rs[i].cid, -1, SQLITE_STATIC);
		if (db_begin(e->db, &err) == -1) {
			sqlite3_finalize(st);
			goto fail;
		}
		if (db_step_done(e->db, st, &err) == -1 ||
		    edge_request_row(e, cid, rs[i].kind, rs[i].pos, 0,
		        rs[i].reply_to, rs[i].code, rs[i].detail,
		        rs[i].attempts + 1, &err) == -1 ||
		    edge_journal(e,
		        strcmp(rs[i].kind, "received") == 0 && rs[i].pos
		            ? "appeal.acknowledged"
		            : "smev.resent",
		        rs[i].pos, &err,
		        "%s response to clientId %s resent as %s (attempt "
		        "%" PRId64 ")",
		        rs[i].kind, rs[i].reply_to ? rs[i].reply_to : "?", cid,
		        rs[i].attempts + 1) == -1) {
			db_rollback(e->db);
			goto fail;
		}
		if (db_commit(e->db, &err) == -1)
			goto fail;
		edge_out_publish(e, cid);
		(*did)++;
		continue;
	fail:
		log_warnx("resending %s: %s", rs[i].cid, err.text);
		edge_out_discard(e, cid);
		rc = -1;
	}
	for (i = 0; i < n; i++) {
		free(rs[i].cid);
		free(rs[i].kind);
		free(rs[i].pos);
		free(rs[i].reply_to);
		free(rs[i].code);
		free(rs[i].detail);
	}
	free(rs);
	return rc;
}

/* Create or bring up to date the edge's tables (meta key edge_schema). */
static int
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

/* Make a directory of the channel if it is missing, warning on failure. */
static void
edge_mkdir(const char *path)
{
	if (fs_mkdir_p(path, 0750) == -1)
		log_warn("cannot create %s; the adapter channel will not work "
		         "until it exists",
		    path);
}

/* Open the role: tables, directories, and a recovery of out/ next step. */
void *
edge_open(struct xfer *x, struct conf *c, struct error *err)
{
	const struct xfer_config *xc = xfer_config(x);
	char real[PATH_MAX];
	struct edge *e;

	if (!c->smev.present || c->smev.base == NULL ||
	    c->smev.mnemonic == NULL) {
		err_set(err, ERR_NONE,
		    "%s: posgw-edge needs a [smev] section with base and "
		    "mnemonic",
		    c->path);
		return NULL;
	}
	if (edge_migrate(xfer_db(x), err) == -1)
		return NULL;
	e = xcalloc(1, sizeof *e);
	e->x = x;
	e->db = xfer_db(x);
	e->mnemonic = xstrdup(c->smev.mnemonic);
	xasprintf(&e->in, "%s/in", c->smev.base);
	xasprintf(&e->out, "%s/out", c->smev.base);
	xasprintf(&e->out_error, "%s/out/error", c->smev.base);
	xasprintf(&e->rejected, "%s/in-rejected", c->smev.base);
	e->ain = xstrdup(c->smev.attachments_in);
	edge_mkdir(e->in);
	edge_mkdir(e->out);
	edge_mkdir(e->rejected);
	edge_mkdir(c->smev.attachments_out);
	/* AttachmentHeader/filePath must be absolute */
	e->aout = xstrdup(realpath(c->smev.attachments_out, real) != NULL
	                      ? real
	                      : c->smev.attachments_out);
	e->attachment_wait = c->smev.attachment_wait;
	e->settle = c->smev.settle;
	e->retry_min = c->smev.retry_min ? c->smev.retry_min : 1;
	e->retry_max = c->smev.retry_max >= e->retry_min ? c->smev.retry_max
	                                                 : e->retry_min;
	e->test_message = c->smev.test_message;
	e->max_xml = (size_t)xc->verify.limits.max_xml;
	e->max_depth = xc->verify.limits.max_depth;
	e->recover = 1;
	return e;
}

/*
 * Forget in/ files handled more than EDGE_HANDLED_KEEP ago (their removal
 * was long done); once an hour. MessageIds stay in edge_smev_in for ever.
 */
static void
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

/* One round: events from the core, in/, out/error/, resends, sends. */
int
edge_step(struct xfer *x, void *arg, int *did)
{
	struct edge *e = arg;
	int rc = 0, dummy = 0;

	if (did == NULL)
		did = &dummy;
	if (e->recover)
		edge_recover(e);
	edge_prune(e);
	if (edge_take_events(e, did) == -1)
		rc = -1;
	if (edge_scan_in(e, did) == -1)
		rc = -1;
	if (edge_scan_errors(e, did) == -1)
		rc = -1;
	if (edge_resend_responses(e, did) == -1)
		rc = -1;
	if (edge_send_events(e, did) == -1)
		rc = -1;
	return rc;
}

/* Close the role. */
void
edge_close(void *arg)
{
	struct edge *e = arg;
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nstuck; i++)
		free(e->stuck[i]);
	free(e->stuck);
	free(e->defer);
	fs_syncset_clear(&e->answers);
	free(e->mnemonic);
	free(e->in);
	free(e->out);
	free(e->out_error);
	free(e->rejected);
	free(e->ain);
	free(e->aout);
	free(e);
}
