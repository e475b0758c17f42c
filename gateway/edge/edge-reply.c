/*
 * edge-reply.c: ПОС's replies to our requests (verdicts, rejects,
 * statuses), the adapter's transport statuses and errors, and the retries
 * they cause: a failed request is resent with a new clientId after a
 * doubling delay; a final state is never downgraded.
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

static int edge_reply_verdict(struct edge *e, struct edge_msg *m,
    const char *cid, int accepted, const char *code, const char *reason,
    int *did);
static const char *edge_reply_closes(const char *type);
static void edge_reply_aout_remove(struct edge *e, const char *pos, int64_t n);
static int edge_reply_fail(
    struct edge *e, const char *cid, const char *why, struct error *err);
static int edge_reply_failure(struct edge *e, struct edge_msg *m,
    const char *cid, const char *why, int *did);
static int edge_reply_status(struct edge *e, struct edge_msg *m,
    const char *cid, const char *text, int *did);

/*
 * ПОС answers one of our requests (ResponseMessageType): a verdict, rejects
 * (FAILURE is retried, others refuse the event) or a status.
 */
int
edge_reply_response(struct edge *e, struct edge_msg *m, int *did)
{
	struct posmap_verdict v;
	struct smev_answer a;
	struct error err = {0};
	xmlNodePtr content, rj, status;
	char *reply, *code = NULL, *desc = NULL, *why, kind[16], text[1400];
	int r;

	if (smev_answer(m->message, &a) == -1)
		return edge_msg_reject(e, m, "malformed", 0, "smev.rejected",
		    NULL, "ResponseMessageType without replyToClientId", did);
	reply = a.reply_to;
	content = a.content;
	rj = a.rejects;
	status = a.status;
	edge_db_request_kind(e, reply, kind, sizeof kind);
	if (kind[0] == '\0') {
		r = edge_msg_drop(e, m, "smev.unknown", NULL, did,
		    "replyToClientId %.100s matches no request of ours", reply);
		free(reply);
		return r;
	}
	if (content != NULL && strcmp(kind, "statistics") == 0) {
		r = edge_stats_verdict(
		    e, m, reply, content, 0, NULL, NULL, did);
	} else if (content != NULL && strcmp(kind, "event") == 0) {
		if (posmap_kind(content) != POSMAP_VERDICT ||
		    posmap_verdict_read(content, &v, &err) == -1) {
			snprintf(text, sizeof text,
			    "the answer to %.100s is not a verdict on a status "
			    "update: %s",
			    reply, err.text[0] ? err.text : "unknown content");
			r = edge_msg_reject(e, m, "malformed", 0,
			    "smev.rejected", NULL, text, did);
			free(reply);
			return r;
		}
		if (!edge_db_request_for(e, reply, v.pos_id, v.n)) {
			snprintf(text, sizeof text,
			    "the verdict names appeal %s event %" PRId64
			    ", but request %s was about another",
			    v.pos_id, v.n, reply);
			r = edge_msg_reject(e, m, "mismatch", 0,
			    "smev.rejected", v.pos_id, text, did);
		} else
			r = edge_reply_verdict(
			    e, m, reply, v.accepted, v.code, v.reason, did);
		posmap_verdict_free(&v);
	} else if (rj != NULL) {
		code = smev_text(smev_child(rj, "code"));
		desc = smev_text(smev_child(rj, "description"));
		why = smev_code_text(rj, "rejected");
		if (code != NULL && strcmp(code, "FAILURE") == 0)
			r = edge_reply_failure(e, m, reply, why, did);
		else if (strcmp(kind, "event") == 0)
			r = edge_reply_verdict(e, m, reply, 0, code, desc, did);
		else if (strcmp(kind, "statistics") == 0)
			r = edge_stats_verdict(
			    e, m, reply, NULL, 1, code, desc, did);
		else
			r = edge_msg_drop(e, m, "smev.refused", NULL, did,
			    "ПОС refused our %s response %s: %s", kind, reply,
			    why);
		free(why);
	} else if (status != NULL) {
		why = smev_code_text(status, "status");
		r = edge_reply_status(e, m, reply, why, did);
		free(why);
	} else if (content != NULL) {
		r = edge_msg_drop(e, m, "smev.unknown", NULL, did,
		    "content answering our %s response %s", kind, reply);
	} else
		r = edge_msg_reject(e, m, "malformed", 0, "smev.rejected", NULL,
		    "ResponseContent holds neither content, rejects nor status",
		    did);
	free(code);
	free(desc);
	free(reply);
	return r;
}

/* A StatusMessage or ErrorMessage of the adapter about one of our requests. */
int
edge_reply_transport(struct edge *e, struct edge_msg *m, int error, int *did)
{
	char *orig, *why, kind[16];
	int r;

	orig = smev_original(m->message);
	if (orig == NULL)
		return edge_msg_reject(e, m, "malformed", 0, "smev.rejected",
		    NULL,
		    error ? "ErrorMessage without originalClientId"
		          : "StatusMessage without originalClientId",
		    did);
	edge_db_request_kind(e, orig, kind, sizeof kind);
	if (kind[0] == '\0') {
		r = edge_msg_drop(e, m, "smev.unknown", NULL, did,
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
		r = edge_reply_failure(e, m, orig, w, did);
		free(w);
	} else
		r = edge_reply_status(e, m, orig, why, did);
	free(why);
	free(orig);
	return r;
}

/*
 * ПОС's verdict on the request cid: the event becomes accepted or refused
 * (final; a final event is never changed again) and an outcome goes to the
 * core.
 */
static int
edge_reply_verdict(struct edge *e, struct edge_msg *m, const char *cid,
    int accepted, const char *code, const char *reason, int *did)
{
	struct edge_sent ev;
	struct error err = {0};
	const char *pos = ev.pos, *state = ev.state, *status = ev.status;
	int64_t n;

	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (!edge_db_event_of(e, cid, &ev)) {
		db_rollback(e->db);
		return edge_msg_drop(e, m, "smev.unknown", NULL, did,
		    "a verdict on clientId %s, which is no event request of "
		    "ours",
		    cid);
	}
	n = ev.n;
	if (strcmp(state, "accepted") == 0 || strcmp(state, "refused") == 0 ||
	    strcmp(state, "failed") == 0) {
		if (edge_db_seen(e, m, "late", cid, pos, NULL, NULL, &err) ==
		        -1 ||
		    edge_db_journal(e, "smev.late", pos, &err,
		        "%s on n=%" PRId64 " (clientId %s), which is already "
		        "%s: kept %s (MessageId %s)",
		        accepted ? "accepted" : "refused", n, cid, state, state,
		        m->message_id) == -1) {
			db_rollback(e->db);
			goto fail;
		}
		if (db_commit(e->db, &err) == -1)
			goto fail;
		edge_msg_done(e, m);
		(*did)++;
		return 0;
	}
	if (edge_db_event_final(e, cid, &ev, accepted ? "accepted" : "refused",
	        code, reason, accepted ? edge_reply_closes(ev.type) : NULL,
	        &err) == -1)
		goto rollback;
	if ((accepted ? edge_db_journal(e, "event.accepted", pos, &err,
	                    "n=%" PRId64 " %s accepted by ПОС (clientId %s, "
	                    "MessageId %s)",
	                    n, status, cid, m->message_id)
	              : edge_db_journal(e, "event.refused", pos, &err,
	                    "n=%" PRId64 " %s refused by ПОС: %s: %.600s "
	                    "(clientId %s, MessageId %s)",
	                    n, status, code ? code : "no code",
	                    reason ? reason : "", cid, m->message_id)) == -1 ||
	    edge_event_outcome(e, pos, n, !accepted, accepted ? status : code,
	        reason, &err) == -1 ||
	    edge_db_seen(e, m, accepted ? "accepted" : "refused", cid, pos,
	        NULL, NULL, &err) == -1)
		goto rollback;
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_msg_done(e, m);
	edge_reply_aout_remove(e, pos, n);
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
 * The state an appeal ends in once ПОС accepted an event of this type, or
 * NULL if the appeal stays open (the agency's work on it goes on).
 */
static const char *
edge_reply_closes(const char *type)
{
	if (strcmp(type, "answer") == 0)
		return "answered";
	if (strcmp(type, "decline") == 0)
		return "declined";
	if (strcmp(type, "forward") == 0)
		return "forwarded";
	return NULL;
}

/* Remove the attachments we sent for an event (all its requests). */
static void
edge_reply_aout_remove(struct edge *e, const char *pos, int64_t n)
{
	char **cids = NULL, *path;
	size_t ncids = 0, i;

	edge_db_event_requests(e, pos, n, &cids, &ncids);
	for (i = 0; i < ncids; i++) {
		if (smev_id_ok(cids[i])) {
			xasprintf(&path, "%s/%s", e->aout, cids[i]);
			if (fs_rmtree(path) == -1)
				log_warn("cannot remove %s", path);
			free(path);
		}
		free(cids[i]);
	}
	free(cids);
}

/*
 * A transport failure of request cid (inside a transaction): an event goes
 * back to waiting with a doubling delay, a response is marked for resending.
 * A request that is no longer in flight is left alone (never downgraded).
 */
static int
edge_reply_fail(
    struct edge *e, const char *cid, const char *why, struct error *err)
{
	struct edge_req r;
	const char *pos = r.pos, *kind = r.kind;
	int64_t n, now = (int64_t)time(NULL);
	unsigned delay;

	edge_db_request_get(e, cid, &r);
	n = r.n;
	if (strcmp(r.state, "sent") != 0)
		return 0;
	if (strcmp(r.kind, "statistics") == 0)
		return edge_stats_retry(e, cid, why, err);
	if (strcmp(r.kind, "event") == 0) {
		if (edge_db_request_failed(e, cid, why, 0, err) == -1)
			return -1;
		if (strcmp(r.evstate, "sent") != 0 || strcmp(r.evcid, cid) != 0)
			return 0;
		delay = edge_reply_backoff(e, r.evattempts);
		if (edge_db_event_retry(e, pos, n, now + delay, why, err) == -1)
			return -1;
		log_warnx("appeal %s event %" PRId64 ": request %s failed "
		          "(%s); resending in %u s",
		    pos, n, cid, why, delay);
		return edge_db_journal(e, "event.retry", pos, err,
		    "n=%" PRId64 " request %s failed after %" PRId64
		    " attempt(s): %.600s; resent with a new clientId in %u s",
		    n, cid, r.evattempts, why, delay);
	}
	delay = edge_reply_backoff(e, r.attempts);
	if (edge_db_request_failed(e, cid, why, now + delay, err) == -1)
		return -1;
	log_warnx(
	    "response %s failed (%s); resending in %u s", cid, why, delay);
	return edge_db_journal(e, "smev.retry", pos[0] ? pos : NULL, err,
	    "%s response %s failed: %.600s; resent with a new clientId in "
	    "%u s",
	    kind, cid, why, delay);
}

/* An adapter message reporting a transport failure of request cid. */
static int
edge_reply_failure(struct edge *e, struct edge_msg *m, const char *cid,
    const char *why, int *did)
{
	struct error err = {0};

	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_reply_fail(e, cid, why, &err) == -1 ||
	    edge_db_seen(e, m, "failure", cid, NULL, NULL, NULL, &err) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_msg_done(e, m);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	return -1;
}

/* A transport status of request cid: recorded, never changing its state. */
static int
edge_reply_status(struct edge *e, struct edge_msg *m, const char *cid,
    const char *text, int *did)
{
	struct error err = {0};

	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_db_transport(e, cid, text, &err) == -1 ||
	    edge_db_seen(e, m, "status", cid, NULL, NULL, NULL, &err) == -1)
		goto rollback;
	if (db_commit(e->db, &err) == -1)
		goto fail;
	log_debug("request %s: %s", cid, text);
	edge_msg_done(e, m);
	(*did)++;
	return 0;
rollback:
	db_rollback(e->db);
fail:
	log_warnx("%s: %s", m->path, err.text);
	return -1;
}

/* Seconds to wait before attempt number attempts + 1 of a failed request. */
unsigned
edge_reply_backoff(const struct edge *e, int64_t attempts)
{
	uint64_t d = e->retry_min;
	int64_t i;

	for (i = 1; i < attempts && d < e->retry_max; i++)
		d *= 2;
	return d > e->retry_max ? e->retry_max : (unsigned)d;
}

/*
 * Requests the adapter moved to out/error/ failed in transport: retry them.
 * The directory is read again only when it changed.
 */
int
edge_reply_scan_errors(struct edge *e, int *did)
{
	struct error err = {0};
	struct stat sb;
	char cid[160], **cids = NULL, kind[16], **names;
	size_t n = 0, len, i, nnames;
	int rc = 0;

	if (stat(e->out_error, &sb) == -1)
		return 0;
	if (e->errdir_seen && sb.st_mtim.tv_sec == e->errdir_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == e->errdir_mtime.tv_nsec)
		return 0;
	if (fs_xml_names(e->out_error, 0, &names, &nnames) == -1)
		return 0;
	e->errdir_mtime = sb.st_mtim;
	e->errdir_seen = 1;
	for (i = 0; i < nnames; i++) {
		len = strlen(names[i]);
		if (len - 4 >= sizeof cid)
			continue;
		memcpy(cid, names[i], len - 4);
		cid[len - 4] = '\0';
		if (!smev_id_ok(cid))
			continue;
		if (!edge_db_request_sent(e, cid, kind, sizeof kind))
			continue;
		cids = xreallocarray(cids, n + 1, sizeof *cids);
		cids[n++] = xstrdup(cid);
	}
	fs_names_free(names, nnames);
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (db_begin(e->db, &err) == -1 ||
		    edge_reply_fail(e, cids[i],
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
int
edge_reply_resend(struct edge *e, int *did)
{
	struct edge_resend *rs = NULL;
	struct error err = {0};
	char cid[37];
	size_t n = 0, i;
	int rc = 0;

	edge_db_resend_due(e, &rs, &n);
	for (i = 0; i < n; i++) {
		int reject = strcmp(rs[i].kind, "reject") == 0;
		err_clear(&err);
		pkg_uuid_new(cid);
		if (edge_out_write(e, cid,
		        edge_out_response(e, cid,
		            rs[i].reply_to ? rs[i].reply_to : "", rs[i].pos,
		            reject ? NULL : rs[i].detail,
		            reject ? rs[i].code : NULL, rs[i].detail),
		        &err) == -1) {
			log_warnx("%s", err.text);
			rc = -1;
			continue;
		}
		if (db_begin(e->db, &err) == -1)
			goto fail;
		if (edge_db_request_retried(e, rs[i].cid, &err) == -1 ||
		    edge_db_request_add(e, cid, rs[i].kind, rs[i].pos, 0,
		        rs[i].reply_to, rs[i].code, rs[i].detail,
		        rs[i].attempts + 1, &err) == -1 ||
		    edge_db_journal(e,
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
