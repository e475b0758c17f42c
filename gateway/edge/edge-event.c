/*
 * edge-event.c: the core's events out to ПОС as StatusUpdate requests,
 * strictly in order n per appeal, one in flight per appeal, answer files
 * copied to attachments-out/<clientId>/ with their detached signatures;
 * and outcome documents back to the core.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <libxml/tree.h>

#include "edge-int.h"
#include "fsutil.h"
#include "log.h"
#include "package.h"
#include "posmap.h"
#include "smev.h"
#include "xmalloc.h"

/* An event's answer files as placed for the adapter. */
struct edge_event_files {
	char *dir;    /* attachments-out/<clientId>, NULL without files */
	char **ids;   /* AttachmentHeader Ids */
	char **paths; /* absolute paths of the copies */
	char **sigs;  /* detached signatures, base64 */
	size_t n;
};

static int edge_event_send(
    struct edge *, const char *, int64_t, int64_t, int *);
static int edge_event_place(struct edge *, int64_t, const struct posmap_event *,
    const char *, struct edge_event_files *, struct error *);
static xmlDocPtr edge_event_request(struct edge *, const char *,
    const struct posmap_event *, const struct edge_event_files *);
static int edge_event_record(struct edge *, const char *, int64_t, const char *,
    const struct posmap_event *, int *);
static void edge_event_files_free(struct edge_event_files *, int);
static int edge_event_broken(
    struct edge *, const char *, int64_t, const char *, int *);
static int edge_event_copy(
    const char *, const char *, const char *, struct error *);
static char *edge_event_base64(const char *, struct error *);

/*
 * Take the core's new event documents into edge_events, marking each
 * document consumed in the same transaction; an unreadable one is only
 * consumed and journaled.
 */
int
edge_event_take(struct edge *e, int *did)
{
	struct posmap_event ev;
	struct error err = {0};
	char text[1100];
	void *body;
	size_t len;
	int64_t id;
	int dup, r;

	while (edge_db_event_next(e, &id, &body, &len)) {
		err_clear(&err);
		r = posmap_event_read(body, len, &ev, &err);
		free(body);
		if (r == -1) {
			snprintf(text, sizeof text, "%s", err.text);
			err_clear(&err);
			if (db_begin(e->db, &err) == -1)
				goto fail;
			if (edge_db_consume(e, id, &err) == -1 ||
			    edge_db_journal(e, "event.invalid", NULL, &err,
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
		if (db_begin(e->db, &err) == -1) {
			posmap_event_free(&ev);
			goto fail;
		}
		if (edge_db_event_add(e, &ev, id, &dup, &err) == -1 ||
		    edge_db_consume(e, id, &err) == -1 ||
		    (dup &&
		        edge_db_journal(e, "event.duplicate", ev.pos_id, &err,
		            "n=%" PRId64 " again in document %" PRId64
		            "; the first one stands",
		            ev.n, id) == -1)) {
			db_rollback(e->db);
			posmap_event_free(&ev);
			goto fail;
		}
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
	}
	return 0;
fail:
	log_warnx("taking events: %s", err.text);
	return -1;
}

/*
 * Send every event that is due: waiting, its retry time reached, the
 * previous event of its appeal final, and nothing of its appeal in flight.
 */
int
edge_event_send_due(struct edge *e, int *did)
{
	struct edge_due *due = NULL;
	size_t nd = 0, i;
	int rc = 0;

	edge_db_events_due(e, &due, &nd);
	for (i = 0; i < nd; i++)
		if (edge_event_send(
		        e, due[i].pos, due[i].n, due[i].docid, did) == -1)
			rc = -1;
	free(due);
	return rc;
}

/*
 * Send one event: place its files for the adapter, write the StatusUpdate
 * request, record it, publish it. An event that can never be sent (its
 * document or files gone) becomes failed and the core is told.
 */
static int
edge_event_send(
    struct edge *e, const char *pos, int64_t n, int64_t docid, int *did)
{
	struct edge_event_files f;
	struct posmap_event ev;
	struct error err = {0};
	struct error why = {0};
	char cid[37];
	void *body;
	size_t len;
	int r;

	if (edge_db_document(e, docid, &body, &len) == -1) {
		err_set(&why, ERR_NONE, "document %" PRId64 " is gone", docid);
		return edge_event_broken(e, pos, n, why.text, did);
	}
	r = posmap_event_read(body, len, &ev, &err);
	free(body);
	if (r == -1)
		return edge_event_broken(e, pos, n, err.text, did);
	pkg_uuid_new(cid);
	r = edge_event_place(e, docid, &ev, cid, &f, &why);
	if (r == 0 && edge_out_write(e, cid,
	                  edge_event_request(e, cid, &ev, &f), &err) == -1) {
		log_warnx("appeal %s event %" PRId64 ": %s", pos, n, err.text);
		r = -1;
	}
	if (r == 0)
		r = edge_event_record(e, pos, n, cid, &ev, did);
	edge_event_files_free(&f, r != 0);
	posmap_event_free(&ev);
	if (r == -2)
		return edge_event_broken(e, pos, n, why.text, did);
	return r;
}

/*
 * Copy an event's answer files to attachments-out/<cid>/ (durably) and read
 * their signatures. Returns 0; -1 to try again later (logged); -2 if they
 * can never be placed (why says why).
 */
static int
edge_event_place(struct edge *e, int64_t docid, const struct posmap_event *ev,
    const char *cid, struct edge_event_files *f, struct error *why)
{
	struct error err = {0};
	const char *base;
	char *digest, *src, *name;
	size_t i;
	int lost;

	memset(f, 0, sizeof *f);
	f->ids = xcalloc(ev->nfiles + 1, sizeof *f->ids);
	f->paths = xcalloc(ev->nfiles + 1, sizeof *f->paths);
	f->sigs = xcalloc(ev->nfiles + 1, sizeof *f->sigs);
	f->n = ev->nfiles;
	if (ev->nfiles == 0)
		return 0;
	xasprintf(&f->dir, "%s/%s", e->aout, cid);
	if (fs_mkdir_p(f->dir, 0750) == -1) {
		log_warn("cannot create %s", f->dir);
		return -1;
	}
	for (i = 0; i < ev->nfiles; i++) {
		f->ids[i] = xmalloc(37);
		pkg_uuid_new(f->ids[i]);
		if ((digest = edge_db_file_digest(
		         e, docid, ev->files[i].path)) == NULL) {
			err_set(why, ERR_NONE,
			    "%s is not in the edge's file store",
			    ev->files[i].path);
			return -2;
		}
		src = xstrdup(store_path(e->x, digest));
		free(digest);
		base = strrchr(ev->files[i].path, '/');
		xasprintf(&name, "%zu-%s", i + 1,
		    base != NULL ? base + 1 : ev->files[i].path);
		xasprintf(&f->paths[i], "%s/%s", f->dir, name);
		if (edge_event_copy(src, f->dir, name, &err) == -1) {
			lost = access(src, F_OK) == -1 && errno == ENOENT;
			free(src);
			free(name);
			if (lost) {
				*why = err;
				return -2;
			}
			log_warnx("appeal %s event %" PRId64 ": %s; will retry",
			    ev->pos_id, ev->n, err.text);
			return -1;
		}
		free(src);
		free(name);
		if ((digest = edge_db_file_digest(
		         e, docid, ev->files[i].signature)) == NULL) {
			err_set(why, ERR_NONE,
			    "signature %s is not in the edge's file store",
			    ev->files[i].signature);
			return -2;
		}
		src = xstrdup(store_path(e->x, digest));
		free(digest);
		f->sigs[i] = edge_event_base64(src, &err);
		free(src);
		if (f->sigs[i] == NULL) {
			*why = err;
			return -2;
		}
	}
	if (fs_fsync_dir(f->dir, &err) == -1 ||
	    fs_fsync_dir(e->aout, &err) == -1) {
		log_warnx("%s", err.text);
		return -1;
	}
	return 0;
}

/* The ClientMessage carrying event ev as our request cid. */
static xmlDocPtr
edge_event_request(struct edge *e, const char *cid,
    const struct posmap_event *ev, const struct edge_event_files *f)
{
	xmlNodePtr root, content, mpc, list = NULL;
	xmlNsPtr ns;
	xmlDocPtr doc;
	size_t i;

	doc = smev_client_message(e->mnemonic, &root, &ns);
	mpc = smev_request_add(root, ns, cid, e->test_message, &content);
	posmap_status_update(mpc, ev, f->ids);
	for (i = 0; i < f->n; i++)
		smev_attachment_add(
		    content, ns, &list, f->ids[i], f->paths[i], f->sigs[i]);
	return doc;
}

/*
 * Record request cid (written to out/) as the next attempt of event n and
 * publish it. Returns 0, or -1 (the request is discarded: sent later, or
 * not at all if the event no longer waits).
 */
static int
edge_event_record(struct edge *e, const char *pos, int64_t n, const char *cid,
    const struct posmap_event *ev, int *did)
{
	struct error err = {0};
	int64_t attempts = 1;
	int r;

	if (db_begin(e->db, &err) == -1)
		goto fail;
	if ((r = edge_db_event_sent(e, pos, n, cid, &attempts, &err)) != 1) {
		db_rollback(e->db);
		if (r == -1)
			goto fail;
		edge_out_discard(e, cid); /* no longer waiting */
		return -1;
	}
	if (edge_db_request_add(e, cid, "event", pos, n, NULL, NULL, ev->status,
	        attempts, &err) == -1 ||
	    edge_db_journal(e, "event.sent", pos, &err,
	        "n=%" PRId64 " %s as clientId %s with %zu file(s)", n,
	        ev->status, cid, ev->nfiles) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	log_info("appeal %s event %" PRId64 " sent as %s (%s)", pos, n,
	    ev->status, cid);
	(*did)++;
	return 0;
fail:
	log_warnx("appeal %s event %" PRId64 ": %s", pos, n, err.text);
	edge_out_discard(e, cid);
	return -1;
}

/* Free placed files; with remove, take the copies back too. */
static void
edge_event_files_free(struct edge_event_files *f, int remove)
{
	size_t i;

	if (remove && f->dir != NULL && fs_rmtree(f->dir) == -1)
		log_warn("cannot remove %s", f->dir);
	for (i = 0; i < f->n; i++) {
		free(f->ids[i]);
		free(f->paths[i]);
		free(f->sigs[i]);
	}
	free(f->ids);
	free(f->paths);
	free(f->sigs);
	free(f->dir);
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

	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_db_event_fail(e, pos, n, EDGE_FAILED_CODE, why, &err) == -1 ||
	    edge_db_journal(e, "event.failed", pos, &err,
	        "n=%" PRId64 " cannot be sent: %s", n, why) == -1 ||
	    edge_event_outcome(e, pos, n, 1, EDGE_FAILED_CODE, why, &err) ==
	        -1) {
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
edge_event_outcome(struct edge *e, const char *pos, int64_t n, int refused,
    const char *code, const char *reason, struct error *err)
{
	char now[32], *xml;
	size_t len;
	int rc;

	edge_out_now(now, sizeof now);
	posmap_outcome_doc(pos, n, now, refused, code, reason, &xml, &len);
	rc = spool_enqueue(e->x, "outcome", pos, xml, len, NULL, 0, err);
	if (rc == 0)
		rc = edge_db_journal(e, "outcome.queued", pos, err,
		    "n=%" PRId64 " %s%s%s", n,
		    refused ? "refused" : "delivered", code ? " " : "",
		    code ? code : "");
	free(xml);
	return rc;
}

/* Copy a file durably to dir/name (through dir/.name, fsynced, renamed). */
static int
edge_event_copy(
    const char *src, const char *dir, const char *name, struct error *err)
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
edge_event_base64(const char *path, struct error *err)
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
