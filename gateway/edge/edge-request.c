/*
 * edge-request.c: ПОС's requests: an appeal taken into custody in ONE
 * transaction once its attachments are complete (or waited for, or
 * refused), citizen feedback and the classifier queued for the core.
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

static int edge_request_appeal(
    struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did);
static int edge_request_attachments(struct edge *, struct edge_msg *,
    struct posmap_appeal *, char **, char *, size_t, struct error *);
static int edge_request_custody(struct edge *, struct edge_msg *,
    const struct posmap_appeal *, char *const *, const char *, size_t, int *);
static char *edge_request_locate(struct edge *e, const char *id,
    const char *client, const char *fp, uint64_t *size, struct stat *sb);
static int edge_request_wait(struct edge *e, struct edge_msg *m,
    const char *pos, const char *missing, int *did);
static int edge_request_sizes_changed(
    const struct posmap_appeal *pa, char *const *src);
static int edge_request_sizes_stored(
    struct edge *e, const struct posmap_appeal *pa);
static int edge_request_take_doc(struct edge *e, struct edge_msg *m,
    const char *kind, const char *pos, const char *version, const char *key,
    const char *xml, size_t len, const char *jkind, const char *detail,
    int *did);
static int edge_request_feedback(
    struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did);
static int edge_request_classifier(
    struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did);

/* A request of ПОС (RequestMessageType): appeal, feedback or classifier. */
int
edge_request_handle(struct edge *e, struct edge_msg *m, int *did)
{
	xmlNodePtr content;
	char text[512];

	if (m->client_id == NULL)
		return edge_msg_reject(e, m, "malformed", 0, "smev.rejected",
		    NULL,
		    "RequestMessageType without RequestMetadata/clientId: "
		    "nobody to answer",
		    did);
	content = smev_request_content(m->message);
	switch (posmap_kind(content)) {
	case POSMAP_APPEAL:
		return edge_request_appeal(e, m, content, did);
	case POSMAP_FEEDBACK:
		return edge_request_feedback(e, m, content, did);
	case POSMAP_CLASSIFIER:
		return edge_request_classifier(e, m, content, did);
	default:
		snprintf(text, sizeof text,
		    "MessagePrimaryContent holds %s%.100s%s, which posgw does "
		    "not take",
		    content ? "<" : "",
		    content ? (const char *)content->name : "nothing",
		    content ? ">" : "");
		return edge_msg_reject(e, m, "UNKNOWN_REQUEST_DESCRIPTION", 1,
		    "smev.rejected", NULL, text, did);
	}
}

/*
 * Where each attachment of an appeal is (src[k]) and whether all are
 * complete: 0 if they are; 1 if one is not yet (why in missing); -1 if the
 * request cannot be taken (why says why).
 */
static int
edge_request_attachments(struct edge *e, struct edge_msg *m,
    struct posmap_appeal *pa, char **src, char *missing, size_t mlen,
    struct error *why)
{
	struct posmap_attachment *a;
	struct stat sb;
	char *fp;
	size_t k;

	if (pa->natt > 0 && !smev_id_ok(m->client_id)) {
		err_set(why, ERR_NONE,
		    "appeal %s: clientId \"%.100s\" cannot name an attachment "
		    "directory",
		    pa->pos_id, m->client_id);
		return -1;
	}
	missing[0] = '\0';
	for (k = 0; k < pa->natt; k++) {
		a = &pa->att[k];
		fp = smev_attachment_path(m->message, a->header_id);
		if (!smev_id_ok(a->header_id) || fp == NULL) {
			err_set(why, ERR_NONE,
			    "appeal %s: P:Attachment headerId \"%.100s\" has "
			    "no AttachmentHeader with a usable Id and filePath",
			    pa->pos_id, a->header_id);
			free(fp);
			return -1;
		}
		src[k] = edge_request_locate(
		    e, a->header_id, m->client_id, fp, &a->size, &sb);
		if (src[k] != NULL && a->declared > 0 &&
		    a->size > a->declared && edge_request_settled(e, &sb)) {
			/* no more writing makes it the file ПОС declared */
			err_set(why, ERR_NONE,
			    "appeal %s: attachment %s (%.200s) has %" PRIu64
			    " bytes, but ПОС declared %" PRIu64
			    ": not the file ПОС sent",
			    pa->pos_id, a->header_id, fp, a->size, a->declared);
			free(fp);
			return -1;
		}
		if (missing[0] == '\0' && src[k] == NULL)
			snprintf(missing, mlen, "%s (%.200s, missing or empty)",
			    a->header_id, fp);
		else if (missing[0] == '\0' && a->declared > 0 &&
		         a->size != a->declared)
			snprintf(missing, mlen,
			    "%s (%.200s, %" PRIu64 " bytes of %" PRIu64
			    " declared)",
			    a->header_id, fp, a->size, a->declared);
		else if (missing[0] == '\0' && a->declared == 0 &&
		         !edge_request_settled(e, &sb))
			snprintf(missing, mlen,
			    "%s (%.200s, no size declared, still changing)",
			    a->header_id, fp);
		free(fp);
	}
	return missing[0] != '\0';
}

/*
 * A new appeal: find its attachments (or wait for them), then take custody
 * in one transaction and answer P:Received.
 */
static int
edge_request_appeal(
    struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did)
{
	struct posmap_appeal pa;
	struct error err = {0};
	char **src = NULL, missing[512];
	char *xml = NULL;
	size_t len, k;
	int rc;

	if (posmap_appeal_read(content, &pa, &err) == -1)
		return edge_msg_reject(
		    e, m, "FAILURE", 1, "appeal.rejected", NULL, err.text, did);
	if (e->orgs.nlko > 0 && conf_lko_find(&e->orgs, pa.lko_id) == NULL) {
		char why[400];
		snprintf(why, sizeof why,
		    "appeal %s is for organization (ЛКО) %s, which this "
		    "gateway does not serve: [lko] lists %zu; add it there if "
		    "it should",
		    pa.pos_id, pa.lko_id[0] ? pa.lko_id : "(none given)",
		    e->orgs.nlko);
		rc = edge_msg_reject(e, m, "ACCESS_DENIED", 1, "appeal.refused",
		    pa.pos_id, why, did);
		goto out;
	}
	if (edge_db_appeal_known(e, pa.pos_id)) {
		rc = edge_msg_ack(e, m, pa.pos_id, NULL, "appeal.acknowledged",
		    "a copy of an appeal already taken", did);
		goto out;
	}
	src = xcalloc(pa.natt + 1, sizeof *src);
	rc = edge_request_attachments(
	    e, m, &pa, src, missing, sizeof missing, &err);
	if (rc == -1)
		rc = edge_msg_reject(e, m, "FAILURE", 1, "appeal.rejected",
		    pa.pos_id, err.text, did);
	else if (rc == 1)
		rc = edge_request_wait(e, m, pa.pos_id, missing, did);
	else if (posmap_appeal_doc(content, &pa, &xml, &len, &err) == -1)
		rc = edge_msg_reject(e, m, "FAILURE", 1, "appeal.rejected",
		    pa.pos_id, err.text, did);
	else
		rc = edge_request_custody(e, m, &pa, src, xml, len, did);
out:
	for (k = 0; src != NULL && k < pa.natt; k++)
		free(src[k]);
	free(src);
	free(xml);
	posmap_appeal_free(&pa);
	return rc;
}

/*
 * Take custody of a complete appeal: write P:Received, then in ONE
 * transaction queue its document and attachments (taken from
 * attachments-in on commit), record and journal it; then publish the
 * answer and remove the in/ file. An attachment changing meanwhile makes
 * it wait for the next round.
 */
static int
edge_request_custody(struct edge *e, struct edge_msg *m,
    const struct posmap_appeal *pa, char *const *src, const char *xml,
    size_t len, int *did)
{
	struct xfer_file *files;
	struct error err = {0};
	char cid[37], text[1200];
	int64_t docid;
	size_t k;
	int rc = -1;

	files = xcalloc(pa->natt + 1, sizeof *files);
	for (k = 0; k < pa->natt; k++) {
		files[k].path = pa->att[k].path;
		files[k].src = src[k];
		files[k].take = 1; /* removed from attachments-in on commit */
		files[k].hash = edge_hash_get(e, src[k]);
	}
	pkg_uuid_new(cid);
	if (edge_out_write(e, cid,
	        edge_out_response(
	            e, cid, m->client_id, pa->pos_id, NULL, NULL, NULL),
	        &err) == -1) {
		log_warnx("appeal %s: %s", pa->pos_id, err.text);
		goto out;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (spool_enqueue(e->x, "appeal", pa->pos_id, xml, len, files, pa->natt,
	        &err) == -1) {
		db_rollback(e->db);
		edge_out_discard(e, cid);
		if (edge_request_sizes_changed(pa, src)) {
			log_info("appeal %s: an attachment is still being "
			         "written; later",
			    pa->pos_id);
			rc = 0;
		} else if (err.code != ERR_NONE) {
			snprintf(text, sizeof text,
			    "appeal %s does not fit posgw's appeal document: "
			    "%s",
			    pa->pos_id, err.text);
			rc = edge_msg_reject(e, m, "FAILURE", 1,
			    "appeal.rejected", pa->pos_id, text, did);
		} else
			log_warnx("appeal %s (%s): %s; will retry", pa->pos_id,
			    m->path, err.text);
		goto out;
	}
	if (!edge_request_sizes_stored(e, pa)) {
		db_rollback(e->db);
		edge_out_discard(e, cid);
		log_info("appeal %s: an attachment changed while it was "
		         "stored; later",
		    pa->pos_id);
		rc = 0;
		goto out;
	}
	if (edge_db_appeal_add(e, pa->pos_id, m, &docid, &err) == -1 ||
	    edge_db_request_add(e, cid, "received", pa->pos_id, 0, m->client_id,
	        NULL, NULL, 1, &err) == -1 ||
	    edge_db_seen(e, m, "accepted", m->client_id, pa->pos_id, NULL, NULL,
	        &err) == -1 ||
	    edge_db_unwait(e, m, &err) == -1 ||
	    edge_db_journal(e, "appeal.received", pa->pos_id, &err,
	        "MessageId %s, clientId %s, %zu attachment(s), document "
	        "%" PRId64,
	        m->message_id, m->client_id, pa->natt, docid) == -1 ||
	    edge_db_journal(e, "appeal.acknowledged", pa->pos_id, &err,
	        "P:Received clientId %s to clientId %s", cid,
	        m->client_id) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	edge_msg_done(e, m);
	edge_msg_attachments_remove(e, m);
	e->round_bytes += len;
	for (k = 0; k < pa->natt; k++)
		e->round_bytes += pa->att[k].size;
	log_info("appeal %s taken from %s/%s with %zu attachment(s); "
	         "acknowledged as %s",
	    pa->pos_id, e->in, m->name, pa->natt, cid);
	(*did)++;
	rc = 0;
	goto out;
fail:
	log_warnx("appeal %s (%s): %s", pa->pos_id, m->path, err.text);
	edge_out_discard(e, cid);
out:
	free(files);
	return rc;
}

/*
 * Find an attachment as the adapter stores it: <attachments-in>/<Id>/
 * <clientId>/<filePath> or <attachments-in>/<clientId>/<filePath>. Returns
 * the path of a regular non-empty file with its size and status, or NULL
 * (not yet).
 */
static char *
edge_request_locate(struct edge *e, const char *id, const char *client,
    const char *fp, uint64_t *size, struct stat *sb)
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
int
edge_request_settled(const struct edge *e, const struct stat *sb)
{
	int64_t settle = (int64_t)e->settle * 1000000000, now, t;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	t = fs_mtime_ns(sb);
	if (fs_ctime_ns(sb) > t)
		t = fs_ctime_ns(sb);
	if (t > now + settle)
		return 1;
	return now - t >= settle;
}

/*
 * An appeal's attachments are not complete: note when that was first seen,
 * and once attachment_wait has passed, refuse the request with FAILURE.
 */
static int
edge_request_wait(struct edge *e, struct edge_msg *m, const char *pos,
    const char *missing, int *did)
{
	struct error err = {0};
	int64_t now = (int64_t)time(NULL), first = now;
	char text[1024];

	if (!edge_db_waiting(e, m->message_id, &first)) {
		if (edge_db_wait(e, m, pos, missing, now, &err) == -1) {
			log_warnx("%s", err.text);
			return -1;
		}
		log_info("appeal %s (%s/%s): attachment %s is not complete "
		         "yet; waiting up to %u s for it",
		    pos, e->in, m->name, missing, e->attachment_wait);
	}
	if (first > now) {
		/* the clock went back: wait the whole time from now */
		if (edge_db_wait(e, m, pos, missing, now, &err) == -1) {
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
	return edge_msg_reject(
	    e, m, "FAILURE", 1, "appeal.rejected", pos, text, did);
}

/* True if any attachment's size differs from what was seen when mapping. */
static int
edge_request_sizes_changed(const struct posmap_appeal *pa, char *const *src)
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
edge_request_sizes_stored(struct edge *e, const struct posmap_appeal *pa)
{
	size_t k;

	for (k = 0; k < pa->natt; k++)
		if (edge_db_stored_size(e, pa->pos_id, pa->att[k].path) !=
		    (int64_t)pa->att[k].size)
			return 0;
	return 1;
}

/*
 * Queue a document for the core and acknowledge the request that carried it,
 * in one transaction (feedback, classifier).
 */
static int
edge_request_take_doc(struct edge *e, struct edge_msg *m, const char *kind,
    const char *pos, const char *version, const char *key, const char *xml,
    size_t len, const char *jkind, const char *detail, int *did)
{
	struct error err = {0};
	char cid[37], text[1200];

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
	if (spool_enqueue(e->x, kind, pos, xml, len, NULL, 0, &err) == -1) {
		db_rollback(e->db);
		edge_out_discard(e, cid);
		if (err.code == ERR_NONE) {
			log_warnx("%s: %s; will retry", m->path, err.text);
			return -1;
		}
		snprintf(text, sizeof text,
		    "%s does not fit posgw's %s document: %s", detail, kind,
		    err.text);
		return edge_msg_reject(
		    e, m, "FAILURE", 1, "smev.rejected", pos, text, did);
	}
	if (key != NULL &&
	    edge_db_classifier_set(e, version, key, &err) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (edge_db_request_add(e, cid, "received", pos, 0, m->client_id, NULL,
	        version, 1, &err) == -1 ||
	    edge_db_seen(
	        e, m, "accepted", m->client_id, pos, NULL, NULL, &err) == -1 ||
	    edge_db_journal(e, jkind, pos, &err,
	        "%s (MessageId %s, clientId %s); P:Received clientId %s",
	        detail, m->message_id, m->client_id, cid) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	edge_msg_done(e, m);
	e->round_bytes += len;
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
edge_request_feedback(
    struct edge *e, struct edge_msg *m, xmlNodePtr content, int *did)
{
	struct error err = {0};
	char pos[POSMAP_ID_MAX], now[32], text[256], *xml = NULL;
	size_t len;
	int rc;

	edge_out_now(now, sizeof now);
	if (posmap_feedback_doc(content, now, pos, &xml, &len, &err) == -1)
		return edge_msg_reject(
		    e, m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
	if (!edge_db_appeal_known(e, pos)) {
		free(xml);
		snprintf(text, sizeof text,
		    "feedback on appeal %s, which this agency never received "
		    "from ПОС",
		    pos);
		return edge_msg_reject(
		    e, m, "NO_DATA", 1, "feedback.rejected", pos, text, did);
	}
	rc = edge_request_take_doc(e, m, "outcome", pos, NULL, NULL, xml, len,
	    "outcome.queued", "citizen feedback", did);
	free(xml);
	return rc;
}

/* A classifier: queued for the core only if it differs from the last one. */
static int
edge_request_classifier(
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
		return edge_msg_reject(
		    e, m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
	digest_mem_hex(DIGEST_STREEBOG256, xml, len, hex);
	free(xml);
	xml = NULL;
	last = edge_db_classifier_digest(e);
	if (last != NULL && strcmp(last, hex) == 0) {
		free(last);
		return edge_msg_ack(e, m, NULL, version, "smev.acknowledged",
		    "a classifier equal to the one last shipped", did);
	}
	free(last);
	edge_out_now(now, sizeof now);
	if (posmap_classifier_doc(
	        content, now, version, sizeof version, &xml, &len, &err) == -1)
		return edge_msg_reject(
		    e, m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
	snprintf(detail, sizeof detail, "classifier %.200s, content %.16s...",
	    version, hex);
	rc = edge_request_take_doc(e, m, "classifier", NULL, version, hex, xml,
	    len, "classifier.queued", detail, did);
	free(xml);
	return rc;
}
