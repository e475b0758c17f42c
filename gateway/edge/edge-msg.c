/*
 * edge-msg.c: finishing an in/ file: answered, refused into in-rejected/
 * with a .reason, dropped, left over by a crash (finished as decided then),
 * or a duplicate (journaled, never answered again).
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

static int edge_in_unchanged(struct edge *e, struct stat *sb);
static void edge_msg_rmtree(struct edge *e, const char *path);
static void edge_msg_quarantine(
    struct edge *e, struct edge_msg *m, const char *code, const char *text);
static void edge_msg_leftover_attachments(struct edge *e, struct edge_msg *m);

/* Remember an in/ file we cannot remove, so that it is not handled again. */
void
edge_msg_stuck(struct edge *e, const char *name)
{
	if (e->nstuck >= 4096)
		return;
	e->stuck = xreallocarray(e->stuck, e->nstuck + 1, sizeof *e->stuck);
	e->stuck[e->nstuck++] = xstrdup(name);
}

/* True if an in/ file is one we could not remove. */
int
edge_msg_is_stuck(struct edge *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nstuck; i++)
		if (strcmp(e->stuck[i], name) == 0)
			return 1;
	return 0;
}

/*
 * True if in/ was empty at the last listing and cannot have changed since:
 * the same folder (device, inode) with the same ctime as just before that
 * listing, which was then already more than EDGE_IDLE_SETTLE seconds old
 * (so no change in the same clock tick can hide behind it). Every change
 * of an entry sets the ctime, and unlike the mtime nobody can set it
 * back. After a flood the folder keeps its size on ext4, and listing it
 * every round would cost as much as when it was full. sb gets in/'s stat
 * (zeroed if in/ cannot be read). Every EDGE_IDLE_RELIST seconds in/ is
 * listed anyway: a network file system may cache a folder's attributes,
 * or its server's clock may lag ours.
 */
static int
edge_in_unchanged(struct edge *e, struct stat *sb)
{
	if (stat(e->in, sb) == -1) {
		memset(sb, 0, sizeof *sb);
		e->in_idle = 0;
		return 0;
	}
	return e->in_idle && sb->st_dev == e->in_dev &&
	       sb->st_ino == e->in_ino &&
	       sb->st_ctim.tv_sec == e->in_ctime.tv_sec &&
	       sb->st_ctim.tv_nsec == e->in_ctime.tv_nsec &&
	       clock_mono() - e->in_listed < EDGE_IDLE_RELIST;
}

/*
 * The in/ names of a round, in name order (as fs_xml_names). Listing in/
 * costs O(files there) and a round takes at most one package's worth, so
 * listing it every round would make a backlog of N files cost N^2/max_docs
 * and hold all N names. In a flood only the first names are kept and the
 * next rounds take theirs from that list; in/ is listed again once it is
 * used up (or after a round in trouble). How many: a sixteenth of the
 * files left (at least EDGE_SCAN_MIN, at most EDGE_SCAN_MAX names: about
 * 4 MiB for the adapter's 40-byte names, 18 MiB at 255 bytes), so listings
 * read about 16 directory entries per file whatever the flood's size up
 * to 16 * EDGE_SCAN_MAX files (a fixed 4096 made that 250 entries per
 * file at 1,000,000; an emptied ext4 folder keeps its blocks, so the last
 * listings of a flood still cost what a full one did). Files that arrive
 * meanwhile and sort among the kept names wait for the next listing, at
 * most a sixteenth of the flood later (later names wait their turn, as
 * before); an adapter that names its files in arrival order
 * (as posgw-sim does) sorts them after the list anyway.
 */
int
edge_in_names(struct edge *e, char ***names, size_t *n)
{
	struct timespec t0;
	struct stat sb;
	char **v;
	size_t nv, total;

	*names = NULL;
	*n = 0;
	if (e->scanpos < e->nscan) {
		*names = e->scan + e->scanpos;
		*n = e->nscan - e->scanpos;
		return 0;
	}
	edge_in_names_clear(e);
	if (edge_in_unchanged(e, &sb))
		return 0;
	if (e->scan_keep < EDGE_SCAN_MIN)
		e->scan_keep = EDGE_SCAN_MIN;
	clock_gettime(CLOCK_REALTIME, &t0);
	if (fs_xml_names_first(e->in, 0, e->scan_keep, &v, &nv, &total) == -1) {
		e->in_idle = 0;
		return -1;
	}
	e->in_listed = clock_mono();
	/*
	 * Empty, and in/ last changed well before this listing began: a file
	 * added since gives in/ a later ctime, so while the ctime stays the
	 * same there is nothing to list (edge_in_unchanged).
	 */
	e->in_idle = total == 0 && sb.st_ctim.tv_sec != 0 &&
	             sb.st_ctim.tv_sec + EDGE_IDLE_SETTLE < t0.tv_sec;
	e->in_ctime = sb.st_ctim;
	e->in_dev = sb.st_dev;
	e->in_ino = sb.st_ino;
	/* the next listing keeps a sixteenth of what is left then */
	e->scan_keep = (total - nv) / EDGE_SCAN_SHARE;
	if (e->scan_keep > EDGE_SCAN_MAX)
		e->scan_keep = EDGE_SCAN_MAX;
	if (total > nv) {
		e->scan = v;
		e->nscan = nv;
		e->scanpos = 0;
	}
	*names = v;
	*n = nv;
	return 0;
}

/*
 * The round is over: it went through the first used of the n names
 * edge_in_names gave; keep is 0 if the round was in trouble (its files stay
 * for a new listing).
 */
void
edge_in_names_done(
    struct edge *e, char **names, size_t n, size_t used, int keep)
{
	if (e->scan == NULL || names != e->scan + e->scanpos) {
		fs_names_free(names, n);
		return;
	}
	e->scanpos += used;
	if (!keep || e->scanpos >= e->nscan)
		edge_in_names_clear(e);
}

/* Forget the kept in/ names. */
void
edge_in_names_clear(struct edge *e)
{
	fs_names_free(e->scan, e->nscan);
	e->scan = NULL;
	e->nscan = e->scanpos = 0;
}

/*
 * Remove the attachment directories of a request: <attachments-in>/<Id> for
 * each AttachmentHeader and <attachments-in>/<clientId>.
 */
void
edge_msg_attachments_remove(struct edge *e, struct edge_msg *m)
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
			edge_msg_rmtree(e, path);
			free(path);
		}
		free(id);
	}
	if (smev_id_ok(m->client_id)) {
		xasprintf(&path, "%s/%s", e->ain, m->client_id);
		edge_msg_rmtree(e, path);
		free(path);
	}
}

/* Remove an adapter's attachment file or folder (now or at batch commit). */
static void
edge_msg_rmtree(struct edge *e, const char *path)
{
	if (e->batch)
		edge_out_defer(
		    e, EDGE_DEFER_RMTREE, path, NULL, NULL, NULL, NULL);
	else if (fs_rmtree(path) == -1)
		log_warn("cannot remove %s", path);
}

/* Unlink a handled in/ file; returns -1 (logged) if it stays. */
int
edge_msg_unlink(struct edge *e, const char *path, const char *name)
{
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("cannot remove %s (handled); it will be ignored "
		         "until restart, remove it by hand",
		    path);
		edge_msg_stuck(e, name);
		return -1;
	}
	return 0;
}

/* Remove a handled in/ file (after its transaction committed). */
void
edge_msg_done(struct edge *e, struct edge_msg *m)
{
	struct error err = {0};

	if (e->batch) {
		edge_out_defer(
		    e, EDGE_DEFER_IN_DONE, m->path, m->name, NULL, NULL, NULL);
		return;
	}
	if (edge_msg_unlink(e, m->path, m->name) == -1)
		return;
	if (fs_fsync_dir(e->in, &err) == -1)
		log_warnx("%s", err.text);
}

/* Move a refused in/ file to in-rejected/ beside a <name>.reason file. */
static void
edge_msg_quarantine(
    struct edge *e, struct edge_msg *m, const char *code, const char *text)
{
	if (e->batch)
		edge_out_defer(e, EDGE_DEFER_QUARANTINE, m->path, m->name,
		    m->message_id, code, text);
	else
		edge_msg_move(e, m->path, m->name, m->message_id, code, text);
}

/* Move in/<name> to in-rejected/ and write its .reason file. */
void
edge_msg_move(struct edge *e, const char *path, const char *name,
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
	 * its reason (the file is moved on restart, edge_msg_leftover) */
	edge_out_now(t, sizeof t);
	n = xasprintf(&reason, "%s: %s\nfile: %s\nMessageId: %s\nat: %s\n",
	    code, text, name, message_id ? message_id : "(none)", t);
	xasprintf(&rname, "%s.reason", strrchr(dst, '/') + 1);
	if (fs_write_file(e->rejected, rname, reason, (size_t)n, 0640,
	        FS_WRITE_REPLACE, &err) == -1)
		log_warnx("%s", err.text);
	if (rename(path, dst) == -1) {
		log_warn("cannot move %s to %s; it will be ignored until "
		         "restart, move it by hand",
		    path, dst);
		edge_msg_stuck(e, name);
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
 * Refuse an in/ file: answer the request's sender with rejects{code} when
 * answer is set and we know whom to answer (and never answered them
 * before: a broken copy of a request), journal it under kind, and move
 * the file to in-rejected/ with a .reason file.
 */
int
edge_msg_reject(struct edge *e, struct edge_msg *m, const char *code,
    int answer, const char *kind, const char *pos, const char *text, int *did)
{
	struct error err = {0};
	char cid[37] = "", *before;

	answer = answer && m->client_id != NULL;
	if (answer && (before = edge_db_answered(e, m->client_id)) != NULL) {
		answer = 0;
		free(before);
	}
	if (answer) {
		pkg_uuid_new(cid);
		if (edge_out_write(e, cid,
		        edge_out_response(
		            e, cid, m->client_id, NULL, NULL, code, text),
		        &err) == -1) {
			log_warnx("%s", err.text);
			return -1;
		}
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if ((answer && edge_db_request_add(e, cid, "reject", pos, 0,
	                   m->client_id, code, text, 1, &err) == -1) ||
	    edge_db_seen(
	        e, m, "rejected", m->client_id, pos, code, text, &err) == -1 ||
	    edge_db_unwait(e, m, &err) == -1 ||
	    edge_db_journal(e, kind, pos, &err,
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
	edge_msg_quarantine(e, m, code, text);
	edge_msg_attachments_remove(e, m);
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
int
edge_msg_drop(struct edge *e, struct edge_msg *m, const char *kind,
    const char *pos, int *did, const char *fmt, ...)
{
	struct error err = {0};
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_db_seen(e, m, kind, NULL, pos, NULL, NULL, &err) == -1 ||
	    edge_db_journal(e, kind, pos, &err, "%s (file %s, MessageId %s)",
	        detail, m->name, m->message_id) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	log_info("%s/%s: %s; dropped", e->in, m->name, detail);
	edge_msg_done(e, m);
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
int
edge_msg_ack(struct edge *e, struct edge_msg *m, const char *pos,
    const char *version, const char *kind, const char *why, int *did)
{
	struct error err = {0};
	char cid[37];

	pkg_uuid_new(cid);
	if (edge_out_write(e, cid,
	        edge_out_response(
	            e, cid, m->client_id, pos, version, NULL, NULL),
	        &err) == -1) {
		log_warnx("%s", err.text);
		return -1;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_db_request_add(e, cid, "received", pos, 0, m->client_id, NULL,
	        version, 1, &err) == -1 ||
	    edge_db_seen(e, m, "acknowledged", m->client_id, pos, NULL, NULL,
	        &err) == -1 ||
	    edge_db_unwait(e, m, &err) == -1 ||
	    edge_db_journal(e, kind, pos, &err,
	        "%s; acknowledged again with P:Received clientId %s (file %s, "
	        "MessageId %s, clientId %s)",
	        why, cid, m->name, m->message_id, m->client_id) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	edge_msg_done(e, m);
	edge_msg_attachments_remove(e, m);
	log_info("%s/%s: %s; acknowledged again", e->in, m->name, why);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	edge_out_discard(e, cid);
	return -1;
}

/*
 * Remove the attachment directories named by an in/ file handled before,
 * if it can still be read as a request (best effort: they only take room).
 */
static void
edge_msg_leftover_attachments(struct edge *e, struct edge_msg *m)
{
	struct error err = {0};
	struct smev_msg sm;
	struct edge_msg t;
	xmlDocPtr doc;

	doc = xmlsafe_parse_file(
	    m->path, e->max_xml, e->max_depth, ERR_PAYLOAD, &err);
	if (doc == NULL)
		return;
	if (smev_read(doc, &sm, &err) == 0 && sm.kind == SMEV_REQUEST) {
		memset(&t, 0, sizeof t);
		t.message = sm.message;
		t.client_id = sm.client_id;
		edge_msg_attachments_remove(e, &t);
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
int
edge_msg_leftover(struct edge *e, struct edge_msg *m, int *did)
{
	char *code = NULL, *reason = NULL;

	if (!edge_db_handled(e, m, &code, &reason))
		return 0;
	edge_msg_leftover_attachments(e, m);
	if (code != NULL)
		edge_msg_quarantine(e, m, code, reason != NULL ? reason : "");
	else
		edge_msg_done(e, m);
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
int
edge_msg_duplicate(struct edge *e, struct edge_msg *m, int *did, int *rc)
{
	char *file = NULL, *outcome = NULL, *answer = NULL;

	if (edge_db_message(e, m->message_id, &file, &outcome)) {
		*rc = edge_msg_drop(e, m, "smev.duplicate", NULL, did,
		    "a copy of MessageId %s, handled before from %.200s (%s); "
		    "not answered again",
		    m->message_id, file, outcome != NULL ? outcome : "?");
		free(file);
		free(outcome);
		return 1;
	}
	if (m->client_id == NULL || m->kind != SMEV_REQUEST ||
	    (answer = edge_db_answered(e, m->client_id)) == NULL)
		return 0;
	*rc = edge_msg_drop(e, m, "smev.duplicate", NULL, did,
	    "request clientId %.100s was answered before (by clientId %s); "
	    "not answered again",
	    m->client_id, answer);
	free(answer);
	return 1;
}
