/*
 * edge-stats.c: the core's statistics for the витрина out to ПОС, each
 * document once as a P:Statistics request (formats/smev/README.md). ПОС
 * answers P:StatisticsAccepted or P:StatisticsRefused; a transport failure
 * (FAILURE, ErrorMessage, out/error/) sends it again with a new clientId
 * after a doubling delay, like events. Exactly once: the request is
 * recorded (edge_stats sent, edge_requests) in the transaction that
 * precedes publishing out/.<clientId>.xml, so a kill before the commit
 * leaves an unpublished temporary that the recovery removes, and a kill
 * after it one that the recovery publishes (edge-out.c).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>

#include "edge-int.h"
#include "log.h"
#include "package.h"
#include "posmap.h"
#include "smev.h"
#include "xmalloc.h"

static int edge_stats_send(struct edge *e, int64_t id, int *did);
static int edge_stats_broken(
    struct edge *e, int64_t id, const char *why, int *did);

/*
 * Take the core's new statistics documents into edge_stats, marking each
 * consumed in the same transaction; an unreadable one is only consumed and
 * journaled (stats.invalid).
 */
int
edge_stats_take(struct edge *e, int *did)
{
	struct posmap_stats s;
	struct error err = {0};
	char text[1100];
	void *body;
	size_t len;
	int64_t id;
	int r;

	while (edge_db_stats_next(e, &id, &body, &len)) {
		err_clear(&err);
		r = posmap_stats_read(body, len, &s, &err);
		free(body);
		snprintf(text, sizeof text, "%s", err.text);
		err_clear(&err);
		if (db_begin(e->db, &err) == -1) {
			if (r == 0)
				posmap_stats_free(&s);
			goto fail;
		}
		if (edge_db_consume(e, id, &err) == -1 ||
		    (r == -1 ? edge_db_journal(e, "stats.invalid", NULL, &err,
		                   "document %" PRId64 ": %s", id, text)
		             : edge_db_stats_add(e, id, &s, &err)) == -1) {
			db_rollback(e->db);
			if (r == 0)
				posmap_stats_free(&s);
			goto fail;
		}
		if (db_commit(e->db, &err) == -1) {
			if (r == 0)
				posmap_stats_free(&s);
			goto fail;
		}
		if (r == -1)
			log_warnx("statistics document %" PRId64 " cannot be "
			          "sent: %s",
			    id, text);
		else {
			log_info("statistics %s for %s..%s from the core", s.id,
			    s.from, s.to);
			posmap_stats_free(&s);
		}
		(*did)++;
	}
	return 0;
fail:
	log_warnx("taking statistics: %s", err.text);
	return -1;
}

/* Upload every statistics document that is due. */
int
edge_stats_send_due(struct edge *e, int *did)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc = 0;

	edge_db_stats_due(e, &ids, &n);
	for (i = 0; i < n; i++)
		if (edge_stats_send(e, ids[i], did) == -1)
			rc = -1;
	free(ids);
	return rc;
}

/*
 * Upload one statistics document: write the P:Statistics request, record
 * it (stats.sent) in one transaction, then publish it.
 */
static int
edge_stats_send(struct edge *e, int64_t id, int *did)
{
	struct posmap_stats s;
	struct error err = {0};
	xmlNodePtr root, content, mpc;
	xmlNsPtr ns;
	xmlDocPtr doc;
	char cid[37];
	int64_t attempts = 1;
	void *body;
	size_t len;
	int r;

	if (edge_db_document(e, id, &body, &len) == -1)
		return edge_stats_broken(e, id, "its document is gone", did);
	r = posmap_stats_read(body, len, &s, &err);
	free(body);
	if (r == -1)
		return edge_stats_broken(e, id, err.text, did);
	pkg_uuid_new(cid);
	doc = smev_client_message(e->mnemonic, &root, &ns);
	mpc = smev_request_add(root, ns, cid, e->test_message, &content);
	posmap_statistics(mpc, &s);
	if (edge_out_write(e, cid, doc, &err) == -1) {
		log_warnx("statistics %s: %s", s.id, err.text);
		posmap_stats_free(&s);
		return -1;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if ((r = edge_db_stats_sent(e, id, cid, &attempts, &err)) != 1) {
		db_rollback(e->db);
		if (r == -1)
			goto fail;
		edge_out_discard(e, cid); /* no longer waiting */
		posmap_stats_free(&s);
		return 0;
	}
	if (edge_db_request_add(e, cid, "statistics", NULL, id, NULL, NULL,
	        s.id, attempts, &err) == -1 ||
	    edge_db_journal(e, "stats.sent", NULL, &err,
	        "statistics %s for %s..%s (%zu row(s)) as clientId %s, "
	        "attempt %" PRId64,
	        s.id, s.from, s.to, s.rows, cid, attempts) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_out_publish(e, cid);
	log_info(
	    "statistics %s for %s..%s sent as %s", s.id, s.from, s.to, cid);
	posmap_stats_free(&s);
	(*did)++;
	return 0;
fail:
	log_warnx("statistics %s: %s", s.id, err.text);
	edge_out_discard(e, cid);
	posmap_stats_free(&s);
	return -1;
}

/* Statistics the edge can never upload (document gone or unreadable). */
static int
edge_stats_broken(struct edge *e, int64_t id, const char *why, int *did)
{
	struct error err = {0};

	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (edge_db_stats_final(e, id, "failed", EDGE_FAILED_CODE, why, &err) ==
	        -1 ||
	    edge_db_journal(e, "stats.failed", NULL, &err,
	        "statistics document %" PRId64 " cannot be sent: %s", id,
	        why) == -1) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	log_warnx(
	    "statistics document %" PRId64 " cannot be sent: %s", id, why);
	(*did)++;
	return 0;
fail:
	log_warnx("statistics document %" PRId64 ": %s", id, err.text);
	return -1;
}

/*
 * ПОС's answer to statistics request cid: content (P:StatisticsAccepted or
 * P:StatisticsRefused naming the statistics id), or, with content NULL, a
 * refusal by rejects (code, reason). The statistics become final
 * (stats.accepted, stats.refused); a final state is never changed again.
 */
int
edge_stats_verdict(struct edge *e, struct edge_msg *m, const char *cid,
    xmlNodePtr content, int refused, const char *code, const char *reason,
    int *did)
{
	struct posmap_stats_verdict v;
	struct edge_stats_row s;
	struct error err = {0};
	char text[1400];
	int accepted = !refused, r;

	memset(&v, 0, sizeof v);
	if (content != NULL) {
		if (posmap_kind(content) != POSMAP_STATS_VERDICT ||
		    posmap_stats_verdict_read(content, &v, &err) == -1) {
			snprintf(text, sizeof text,
			    "the answer to %.100s is not a verdict on "
			    "statistics: %s",
			    cid, err.text[0] ? err.text : "unknown content");
			return edge_msg_reject(e, m, "malformed", 0,
			    "smev.rejected", NULL, text, did);
		}
		accepted = v.accepted;
		code = v.code;
		reason = v.reason;
	}
	if (db_begin(e->db, &err) == -1)
		goto fail;
	if (!edge_db_stats_of(e, cid, &s)) {
		db_rollback(e->db);
		posmap_stats_verdict_free(&v);
		return edge_msg_drop(e, m, "smev.unknown", NULL, did,
		    "a verdict on clientId %s, which is no statistics request "
		    "of ours",
		    cid);
	}
	if (content != NULL && strcmp(v.id, s.id) != 0) {
		db_rollback(e->db);
		snprintf(text, sizeof text,
		    "the verdict names statistics %s, but request %s carried "
		    "%s",
		    v.id, cid, s.id);
		posmap_stats_verdict_free(&v);
		return edge_msg_reject(
		    e, m, "mismatch", 0, "smev.rejected", NULL, text, did);
	}
	if (strcmp(s.state, "waiting") != 0 && strcmp(s.state, "sent") != 0) {
		r = edge_db_seen(e, m, "late", cid, NULL, NULL, NULL, &err) ==
		        -1 ||
		    edge_db_journal(e, "smev.late", NULL, &err,
		        "%s on statistics %s (clientId %s), which are already "
		        "%s: kept %s (MessageId %s)",
		        accepted ? "accepted" : "refused", s.id, cid, s.state,
		        s.state, m->message_id) == -1;
	} else {
		r = edge_db_stats_final(e, s.docid,
		        accepted ? "accepted" : "refused", code, reason,
		        &err) == -1 ||
		    (accepted ? edge_db_journal(e, "stats.accepted", NULL, &err,
		                    "statistics %s for %s..%s accepted by ПОС "
		                    "(clientId %s, MessageId %s)",
		                    s.id, s.from, s.to, cid, m->message_id)
		              : edge_db_journal(e, "stats.refused", NULL, &err,
		                    "statistics %s for %s..%s refused by ПОС: "
		                    "%s: %.600s (clientId %s, MessageId %s)",
		                    s.id, s.from, s.to, code ? code : "no code",
		                    reason ? reason : "", cid,
		                    m->message_id)) == -1 ||
		    edge_db_seen(e, m, accepted ? "accepted" : "refused", cid,
		        NULL, NULL, NULL, &err) == -1;
	}
	if (r) {
		db_rollback(e->db);
		goto fail;
	}
	if (db_commit(e->db, &err) == -1)
		goto fail;
	edge_msg_done(e, m);
	if (strcmp(s.state, "waiting") == 0 || strcmp(s.state, "sent") == 0) {
		if (accepted)
			log_info("statistics %s accepted by ПОС", s.id);
		else
			log_warnx("statistics %s refused by ПОС: %s: %s", s.id,
			    code ? code : "no code", reason ? reason : "");
	}
	posmap_stats_verdict_free(&v);
	(*did)++;
	return 0;
fail:
	log_warnx("%s: %s", m->path, err.text);
	posmap_stats_verdict_free(&v);
	return -1;
}

/*
 * A transport failure of statistics request cid (inside a transaction):
 * if it is the statistics' request in flight, they wait again with a
 * doubling delay (stats.retry).
 */
int
edge_stats_retry(
    struct edge *e, const char *cid, const char *why, struct error *err)
{
	struct edge_stats_row s;
	unsigned delay;

	if (edge_db_request_failed(e, cid, why, 0, err) == -1)
		return -1;
	if (!edge_db_stats_of(e, cid, &s) || strcmp(s.state, "sent") != 0 ||
	    strcmp(s.cid, cid) != 0)
		return 0;
	delay = edge_reply_backoff(e, s.attempts);
	if (edge_db_stats_retry(
	        e, s.docid, (int64_t)time(NULL) + delay, why, err) == -1)
		return -1;
	log_warnx("statistics %s: request %s failed (%s); resending in %u s",
	    s.id, cid, why, delay);
	return edge_db_journal(e, "stats.retry", NULL, err,
	    "statistics %s request %s failed after %" PRId64
	    " attempt(s): %.600s; resent with a new clientId in %u s",
	    s.id, cid, s.attempts, why, delay);
}
