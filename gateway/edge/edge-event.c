/*
 * edge-event.c: the core's events out to ПОС as StatusUpdate requests,
 * strictly in order n per appeal, one in flight per appeal, answer files
 * with their signatures; and outcome documents back to the core.
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

static int edge_send_event(
    struct edge *e, const char *pos, int64_t n, int64_t docid, int *did);
static int edge_event_broken(
    struct edge *e, const char *pos, int64_t n, const char *why, int *did);
static char *edge_store_digest(struct edge *e, int64_t docid, const char *path);
static int edge_copy(
    const char *src, const char *dir, const char *name, struct error *err);
static char *edge_base64_file(const char *path, struct error *err);

/*
 * Take the core's new event documents into edge_events, marking each
 * document consumed in the same transaction.
 */
int
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
 * Send every event that is due: waiting, its retry time reached, the
 * previous event of its appeal final, and nothing of its appeal in flight.
 */
int
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

/* Queue an outcome document about event n for the core (in a transaction). */
int
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
