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
 *   edge_request_classifier the last classifier shipped to the core
 *   edge_stats      the core's statistics and their upload (edge-stats.c)
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
#include "retention.h"
#include "sig.h"
#include "smev.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static int edge_scan_in(struct edge *e, int *did);
static int edge_in_file(struct edge *e, const char *name, int *did);
static char *edge_salvage(const char *path);
static void edge_batch_end(struct edge *e, int committed);
static void edge_mkdir(const char *path);

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
	if (db_upgrade(xfer_db(x), &edge_db_schema, err) == -1)
		return NULL;
	e = xcalloc(1, sizeof *e);
	e->x = x;
	e->db = xfer_db(x);
	e->hash_workers = edge_hash_workers(); /* before the sandbox */
	e->mnemonic = xstrdup(c->smev.mnemonic);
	conf_orgs_copy(&e->orgs, c);
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
	retention_set_closed(x, edge_db_closed_sql);
	retention_add_dir(x, e->rejected);
	xfer_wake_on(x, e->in); /* an appeal is taken as it arrives */
	return e;
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
		edge_out_recover(e);
	edge_db_prune(e);
	if (edge_event_take(e, did) == -1)
		rc = -1;
	if (edge_scan_in(e, did) == -1)
		rc = -1;
	if (edge_reply_scan_errors(e, did) == -1)
		rc = -1;
	if (edge_reply_resend(e, did) == -1)
		rc = -1;
	if (edge_event_send_due(e, did) == -1)
		rc = -1;
	if (edge_stats_take(e, did) == -1 || edge_stats_send_due(e, did) == -1)
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
	edge_hash_finish(e);
	for (i = 0; i < e->nstuck; i++)
		free(e->stuck[i]);
	free(e->stuck);
	edge_in_names_clear(e);
	free(e->defer);
	fs_syncset_clear(&e->answers);
	free(e->mnemonic);
	free(e->in);
	free(e->out);
	free(e->out_error);
	free(e->rejected);
	free(e->ain);
	free(e->aout);
	conf_free(&e->orgs);
	free(e);
}

/*
 * Scan in/ and handle the *.xml files (dot files are work in progress) in
 * name order, at most one package's worth of documents per round (count
 * and bytes, spool_cap), so the packer and the peer work while the rest of
 * a flood waits its turn (a flood is listed once per sixteenth of it:
 * edge_in_names).
 */
static int
edge_scan_in(struct edge *e, int *did)
{
	char **names = NULL;
	size_t n = 0, i;
	unsigned budget = xfer_config(e->x)->max_docs;
	uint64_t cap = spool_cap(e->x);
	struct error err = {0};
	int start = *did;
	int rc = 0;

	if (edge_in_names(e, &names, &n) == -1) {
		if (!e->in_missing)
			log_warn("cannot read the adapter's %s; waiting for "
			         "it",
			    e->in);
		e->in_missing = 1;
		return 0;
	}
	e->in_missing = 0;
	/*
	 * One transaction for the round (each file in its own savepoint), so
	 * a flood costs one commit per package's worth, not one per appeal.
	 */
	if (n > 0 && db_begin(e->db, &err) == 0)
		e->batch = 1;
	else if (n > 0)
		log_warnx("%s; taking files one by one", err.text);
	/* the attachments' digests are computed on every CPU meanwhile */
	edge_hash_start(e, names, n, budget, cap);
	e->round_bytes = 0;
	for (i = 0;
	     i < n && (unsigned)(*did - start) < budget && e->round_bytes < cap;
	     i++)
		if (!edge_msg_is_stuck(e, names[i]) &&
		    edge_in_file(e, names[i], did) == -1)
			rc = -1;
	edge_hash_finish(e);
	edge_in_names_done(e, names, n, i, rc == 0);
	if (e->batch) {
		err_clear(&err);
		/* one syncfs for the store and out/ when they share a disk */
		if (spool_sync_with(e->x, &e->answers, e->out, &err) == -1 ||
		    db_commit(e->db, &err) == -1) {
			log_warnx("cannot commit the files taken from %s: %s; "
			          "they stay there for the next round",
			    e->in, err.text);
			db_rollback(e->db);
			fs_syncset_clear(&e->answers);
			edge_batch_end(e, 0);
			edge_in_names_clear(e);
			return -1;
		}
		edge_batch_end(e, 1);
	}
	return rc;
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
		edge_msg_stuck(e, name);
		goto out;
	}
	if (edge_msg_leftover(e, &m, did))
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
		if (!edge_request_settled(e, &m.sb))
			goto out;
		m.client_id = edge_salvage(m.path);
		/* name the file, not our directories, in an answer to ПОС */
		if (strncmp(err.text, m.path, strlen(m.path)) == 0) {
			snprintf(text, sizeof text, "%s%s", name,
			    err.text + strlen(m.path));
			err_set(&err, err.code, "%.1000s", text);
		}
		rc = edge_msg_reject(
		    e, &m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
		goto out;
	}
	if (smev_read(m.doc, &sm, &err) == -1) {
		m.client_id = sm.client_id;
		sm.client_id = NULL;
		smev_free(&sm);
		rc = edge_msg_reject(
		    e, &m, "FAILURE", 1, "smev.rejected", NULL, err.text, did);
		goto out;
	}
	m.message = sm.message;
	m.message_id = sm.message_id;
	m.type = sm.type;
	m.client_id = sm.client_id;
	m.kind = sm.kind;
	if (edge_msg_duplicate(e, &m, did, &rc))
		goto out;
	switch (sm.kind) {
	case SMEV_REQUEST:
		rc = edge_request_handle(e, &m, did);
		break;
	case SMEV_RESPONSE:
		rc = edge_reply_response(e, &m, did);
		break;
	case SMEV_STATUS:
	case SMEV_ERROR:
		rc = edge_reply_transport(e, &m, sm.kind == SMEV_ERROR, did);
		break;
	default:
		snprintf(
		    text, sizeof text, "unknown Message type %.100s", m.type);
		rc = edge_msg_reject(
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

/*
 * End a batch: on commit, do the postponed file-system steps (answers
 * renamed into out/, handled in/ files removed, one directory fsync each);
 * otherwise drop the unpublished answers and leave in/ as it was.
 */
static void
edge_batch_end(struct edge *e, int committed)
{
	struct error err = {0};
	struct edge_out_defer *d;
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
			if (edge_msg_unlink(e, d->s[0], d->s[1]) == 0)
				in = 1;
		} else if (d->kind == EDGE_DEFER_RMTREE) {
			if (fs_rmtree(d->s[0]) == -1)
				log_warn("cannot remove %s", d->s[0]);
		} else
			edge_msg_move(
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

/* Make a directory of the channel if it is missing, warning on failure. */
static void
edge_mkdir(const char *path)
{
	if (fs_mkdir_p(path, 0750) == -1)
		log_warn("cannot create %s; the adapter channel will not work "
		         "until it exists",
		    path);
}
