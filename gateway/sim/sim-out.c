/*
 * sim-out.c: posgw-sim consuming DIR/out/ as the SMEV adapter and ПОС do:
 * every ClientMessage of the edge is parsed with xmlsafe, checked against
 * the model (envelope, correlation, order and transitions of statuses,
 * required children, answer files and their detached CMS signatures),
 * moved to out/sent/ or out/error/ (with a .reason file) and answered.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "fsutil.h"
#include "log.h"
#include "sim.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define SIM_OUT_MAX_XML (16u << 20) /* a ClientMessage file */
#define SIM_OUT_BATCH 4096          /* files taken from one directory scan */

enum sim_out_class { SIM_OUT_RESPONSE, SIM_OUT_REQUEST, SIM_OUT_BROKEN };

/* One file of out/, parsed before processing so a batch can be ordered. */
struct sim_out_msg {
	char *name;
	struct timespec mtime;
	xmlDocPtr doc;
	struct error err; /* why doc is NULL */
	enum sim_out_class cls;
	unsigned long n; /* StatusUpdate n, to order files of one tick */
};

/* What the envelope of a ClientMessage said, and what it was about. */
struct sim_out_env {
	int request;
	int duplicate; /* clientId seen before: never answered */
	char client_id[SIM_UUID_LEN + 1];
	char reply_to[SIM_UUID_LEN + 1];
	xmlNodePtr primary; /* the element in MessagePrimaryContent */
	xmlNodePtr headers; /* T:AttachmentHeaderList, or NULL */
	xmlNodePtr rejects; /* T:rejects of a response, or NULL */
	long appeal;        /* index of the StatusUpdate's appeal, or -1 */
	unsigned long n;
	enum sim_status status;
	int have_status;
};

enum sim_out_verdict { SIM_OUT_VALID, SIM_OUT_ORDER, SIM_OUT_INVALID };

/* Map an appealId attribute to one of our issued appeals. */
static int
sim_out_appeal(struct sim *s, const char *id, size_t *i, struct error *err)
{
	unsigned long long v;

	if (!sim_xml_digits(id, 20))
		return err_set(
		    err, ERR_NONE, "appealId '%s' is not digits", id);
	v = strtoull(id, NULL, 10);
	if (v < SIM_POS_BASE || v - SIM_POS_BASE >= sim_total(s) ||
	    !s->ap[v - SIM_POS_BASE].issued || id[0] == '0')
		return err_set(err, ERR_NONE,
		    "appealId %s is not an appeal this simulator issued", id);
	*i = (size_t)(v - SIM_POS_BASE);
	return 0;
}

/* Read the envelope of a ClientMessage into e; -1 with err if it is wrong. */
static int
sim_out_envelope(struct sim *s, struct sim_out_msg *m, struct sim_out_env *e,
    struct error *err)
{
	static const char *const top[] = {
	    "itSystem", "RequestMessage", "ResponseMessage", NULL};
	static const char *const req[] = {
	    "RequestMetadata", "RequestContent", NULL};
	static const char *const reqmd[] = {"clientId", "testMessage", NULL};
	static const char *const content[] = {
	    "MessagePrimaryContent", "AttachmentHeaderList", NULL};
	static const char *const resp[] = {
	    "ResponseMetadata", "ResponseContent", NULL};
	static const char *const respmd[] = {
	    "clientId", "replyToClientId", NULL};
	static const char *const reqc[] = {"content", NULL};
	static const char *const rc[] = {"content", "rejects", NULL};
	static const char *const rej[] = {"code", "description", NULL};
	xmlNodePtr root, rq, rs, md, x, c, mpc;
	char v[256], q[128];
	size_t len;

	root = xmlDocGetRootElement(m->doc);
	if (!xmlsafe_is(root, SIM_NS_T, "ClientMessage"))
		return err_set(err, ERR_NONE,
		    "the root element is %s, expected T:ClientMessage in "
		    "namespace " SIM_NS_T,
		    sim_xml_qname(root, q, sizeof q));
	if (sim_xml_only(root, SIM_NS_T, top, err) == -1 ||
	    sim_xml_leaf(root, SIM_NS_T, "itSystem", v, sizeof v, err) == -1)
		return -1;
	if (strcmp(v, s->o.mnemonic) != 0)
		return err_set(err, ERR_NONE,
		    "itSystem is '%s', expected '%s' (--mnemonic)", v,
		    s->o.mnemonic);
	if (sim_xml_child(root, SIM_NS_T, "RequestMessage", 0, &rq, err) ==
	        -1 ||
	    sim_xml_child(root, SIM_NS_T, "ResponseMessage", 0, &rs, err) == -1)
		return -1;
	if ((rq == NULL) == (rs == NULL))
		return err_set(err, ERR_NONE,
		    "exactly one of T:RequestMessage and T:ResponseMessage is "
		    "required");
	e->request = rq != NULL;
	if (rq != NULL) {
		if (sim_xml_only(rq, SIM_NS_T, req, err) == -1 ||
		    sim_xml_child(
		        rq, SIM_NS_T, "RequestMetadata", 1, &md, err) == -1 ||
		    sim_xml_only(md, SIM_NS_T, reqmd, err) == -1 ||
		    sim_xml_leaf(md, SIM_NS_T, "clientId", v, sizeof v, err) ==
		        -1)
			return -1;
	} else {
		if (sim_xml_only(rs, SIM_NS_T, resp, err) == -1 ||
		    sim_xml_child(
		        rs, SIM_NS_T, "ResponseMetadata", 1, &md, err) == -1 ||
		    sim_xml_only(md, SIM_NS_T, respmd, err) == -1 ||
		    sim_xml_leaf(md, SIM_NS_T, "clientId", v, sizeof v, err) ==
		        -1)
			return -1;
	}
	if (!sim_is_uuid(v))
		return err_set(err, ERR_NONE, "clientId '%s' is not a UUID", v);
	memcpy(e->client_id, v, SIM_UUID_LEN + 1);
	len = strlen(m->name);
	if (len != SIM_UUID_LEN + 4 || strncmp(m->name, v, SIM_UUID_LEN) != 0)
		return err_set(err, ERR_NONE,
		    "the file is named %s, but its clientId %s requires %s.xml",
		    m->name, v, v);

	if (rq != NULL) {
		if (sim_xml_child(md, SIM_NS_T, "testMessage", 0, &x, err) ==
		        -1 ||
		    (x != NULL && sim_xml_value(x, v, sizeof v, err) == -1))
			return -1;
		if (x != NULL && strcmp(v, "true") != 0 &&
		    strcmp(v, "false") != 0)
			return err_set(err, ERR_NONE,
			    "testMessage is '%s', expected true or false", v);
		if (sim_xml_child(rq, SIM_NS_T, "RequestContent", 1, &x, err) ==
		        -1 ||
		    sim_xml_only(x, SIM_NS_T, reqc, err) == -1 ||
		    sim_xml_child(x, SIM_NS_T, "content", 1, &c, err) == -1 ||
		    sim_xml_only(c, SIM_NS_T, content, err) == -1 ||
		    sim_xml_child(c, SIM_NS_T, "MessagePrimaryContent", 1, &mpc,
		        err) == -1 ||
		    sim_xml_sole(mpc, &e->primary, err) == -1 ||
		    sim_xml_child(c, SIM_NS_T, "AttachmentHeaderList", 0,
		        &e->headers, err) == -1)
			return -1;
		return 0;
	}
	if (sim_xml_leaf(md, SIM_NS_T, "replyToClientId", v, sizeof v, err) ==
	    -1)
		return -1;
	if (!sim_is_uuid(v))
		return err_set(
		    err, ERR_NONE, "replyToClientId '%s' is not a UUID", v);
	memcpy(e->reply_to, v, SIM_UUID_LEN + 1);
	if (sim_xml_child(rs, SIM_NS_T, "ResponseContent", 1, &x, err) == -1 ||
	    sim_xml_only(x, SIM_NS_T, rc, err) == -1 ||
	    sim_xml_child(x, SIM_NS_T, "content", 0, &c, err) == -1 ||
	    sim_xml_child(x, SIM_NS_T, "rejects", 0, &e->rejects, err) == -1)
		return -1;
	if ((c == NULL) == (e->rejects == NULL))
		return err_set(err, ERR_NONE,
		    "T:ResponseContent needs exactly one of T:content (with "
		    "P:Received) and T:rejects");
	if (c != NULL)
		return sim_xml_only(c, SIM_NS_T, content, err) == -1 ||
		               sim_xml_child(c, SIM_NS_T,
		                   "MessagePrimaryContent", 1, &mpc,
		                   err) == -1 ||
		               sim_xml_sole(mpc, &e->primary, err) == -1
		           ? -1
		           : 0;
	if (sim_xml_only(e->rejects, SIM_NS_T, rej, err) == -1 ||
	    sim_xml_leaf(e->rejects, SIM_NS_T, "code", v, sizeof v, err) == -1)
		return -1;
	if (strcmp(v, "ACCESS_DENIED") != 0 && strcmp(v, "NO_DATA") != 0 &&
	    strcmp(v, "UNKNOWN_REQUEST_DESCRIPTION") != 0 &&
	    strcmp(v, "FAILURE") != 0)
		return err_set(err, ERR_NONE,
		    "rejects code '%s' is not ACCESS_DENIED, NO_DATA, "
		    "UNKNOWN_REQUEST_DESCRIPTION or FAILURE",
		    v);
	if (sim_xml_child(e->rejects, SIM_NS_T, "description", 1, &x, err) ==
	    -1)
		return -1;
	if (!sim_xml_has_text(x))
		return err_set(
		    err, ERR_NONE, "rejects has an empty description");
	return 0;
}

/* Append "n:STATUS:verdict" to an appeal's history. */
static void
sim_out_hist(struct sim_appeal *a, unsigned long n, const char *status,
    const char *verdict)
{
	if (a->hist.len > 0)
		sim_buf_add(&a->hist, ",");
	sim_buf_addf(&a->hist, "%lu:%s:%s", n, status, verdict);
}

/* Handle the edge's answer to one of our requests; -1 with err if wrong. */
static int
sim_out_response(struct sim *s, struct sim_out_env *e, struct error *err)
{
	struct sim_req *r = sim_req_find(s, e->reply_to);
	char desc[512] = "", code[64] = "", q[128];
	struct sim_appeal *a = NULL;
	unsigned long long pos = 0;
	const char *id, *v;
	xmlNodePtr x;

	if (r == NULL || r->kind == SIM_REQ_SEEN)
		return err_set(err, ERR_NONE,
		    "replyToClientId %s is not a request of this simulator",
		    e->reply_to);
	if (r->replies > 0)
		return err_set(err, ERR_NONE,
		    "request %s was already answered; each request is answered "
		    "exactly once",
		    e->reply_to);
	if (r->kind != SIM_REQ_CLASSIFIER) {
		a = &s->ap[r->appeal];
		pos = SIM_POS_BASE + r->appeal;
	}
	if (e->rejects != NULL) {
		sim_xml_leaf(
		    e->rejects, SIM_NS_T, "code", code, sizeof code, err);
		sim_xml_child(e->rejects, SIM_NS_T, "description", 1, &x, err);
		if (sim_xml_value(x, desc, sizeof desc, err) == -1)
			snprintf(desc, sizeof desc, "(long text)");
		r->replies++;
		if (r->kind == SIM_REQ_APPEAL) {
			a->edge_refused = 1;
			s->c.refused_edge++;
			if (a->hist.len > 0)
				sim_buf_add(&a->hist, ",");
			sim_buf_addf(&a->hist, "rejected-by-edge:%s", code);
			sim_log(
			    s, "refused-by-edge %llu: %s: %s", pos, code, desc);
		} else if (r->kind == SIM_REQ_CLASSIFIER) {
			s->classifier_state = "rejected";
			sim_log(s, "classifier rejected by the edge: %s: %s",
			    code, desc);
		} else
			sim_log(s,
			    "feedback on %llu rejected by the edge: "
			    "%s: %s",
			    pos, code, desc);
		return 0;
	}
	if (!xmlsafe_is(e->primary, SIM_NS_P, "Received"))
		return err_set(err, ERR_NONE,
		    "the answer to a ПОС request holds %s, expected "
		    "P:Received",
		    sim_xml_qname(e->primary, q, sizeof q));
	id = xmlsafe_attr(e->primary, "appealId");
	if (r->kind == SIM_REQ_CLASSIFIER &&
	    (v = xmlsafe_attr(e->primary, "classifierVersion")) != NULL &&
	    strcmp(v, SIM_CLASSIFIER_VERSION) != 0)
		return err_set(err, ERR_NONE,
		    "P:Received classifierVersion is '%s', but the classifier "
		    "sent was version " SIM_CLASSIFIER_VERSION,
		    v);
	if (r->kind != SIM_REQ_CLASSIFIER) {
		if (id == NULL)
			return err_set(err, ERR_NONE,
			    "P:Received has no appealId (expected %llu)", pos);
		if (!sim_xml_digits(id, 20) || strtoull(id, NULL, 10) != pos ||
		    id[0] == '0')
			return err_set(err, ERR_NONE,
			    "P:Received appealId is '%s', but request %s "
			    "carried appeal %llu",
			    id, e->reply_to, pos);
	}
	r->replies++;
	if (r->kind == SIM_REQ_APPEAL) {
		a->acks = 1;
		s->c.acknowledged++;
		sim_log(s, "ack %llu (clientId %s)", pos, e->client_id);
		sim_mark_complete(s, r->appeal);
	} else if (r->kind == SIM_REQ_CLASSIFIER) {
		s->classifier_state = "acknowledged";
		sim_log(
		    s, "classifier acknowledged (clientId %s)", e->client_id);
	} else
		sim_log(s, "feedback on %llu acknowledged", pos);
	return 0;
}

/*
 * May status st follow an appeal in phase ph?  NULL if yes, else why not.
 * MODERATION_DECLINE may also follow MODERATION_ACCEPT: an appeal can be
 * registered and then left without consideration.
 */
static const char *
sim_out_transition(enum sim_phase ph, enum sim_status st)
{
	switch (ph) {
	case SIM_PHASE_NEW:
		if (st == SIM_MODERATION_ACCEPT || st == SIM_MODERATION_DECLINE)
			return NULL;
		return "the first status must be MODERATION_ACCEPT or "
		       "MODERATION_DECLINE";
	case SIM_PHASE_WORK:
		if (st == SIM_MODERATION_ACCEPT)
			return "MODERATION_ACCEPT was already accepted";
		return NULL;
	case SIM_PHASE_ANSWERED:
		return "nothing may follow SEND_RESPONSE";
	case SIM_PHASE_DECLINED:
		return "nothing may follow MODERATION_DECLINE";
	case SIM_PHASE_FORWARDED:
		return "nothing may follow FORWARD_* (the appeal left this "
		       "organization)";
	}
	return "unknown phase";
}

/* Check a StatusUpdate request fully; fills e->appeal, n, status. */
static enum sim_out_verdict
sim_out_update(struct sim *s, struct sim_out_env *e, struct error *err)
{
	static const char *const kids[] = {"Registration", "Executor",
	    "NewDeadline", "TargetOrganization", "Comment", "Answer", NULL};
	const char *v, *why;
	struct sim_appeal *a;
	xmlNodePtr u = e->primary, x;
	char q[128], buf[512];
	size_t ap = 0;

	if (!xmlsafe_is(u, SIM_NS_P, "StatusUpdate")) {
		err_set(err, ERR_NONE,
		    "ПОС takes only P:StatusUpdate requests from an agency, "
		    "not %s",
		    sim_xml_qname(u, q, sizeof q));
		return SIM_OUT_INVALID;
	}
	if ((v = sim_xml_attr(u, "appealId", err)) == NULL ||
	    sim_out_appeal(s, v, &ap, err) == -1)
		return SIM_OUT_INVALID;
	a = &s->ap[ap];
	e->appeal = (long)ap;
	if ((v = sim_xml_attr(u, "n", err)) == NULL)
		return SIM_OUT_INVALID;
	if (!sim_xml_digits(v, 9) || v[0] == '0') {
		err_set(err, ERR_NONE, "n '%s' is not a number from 1", v);
		return SIM_OUT_INVALID;
	}
	e->n = strtoul(v, NULL, 10);
	if ((v = sim_xml_attr(u, "status", err)) == NULL)
		return SIM_OUT_INVALID;
	if (sim_status_from_name(v, &e->status) == -1) {
		err_set(err, ERR_NONE, "status '%s' is not a ПОС status", v);
		return SIM_OUT_INVALID;
	}
	e->have_status = 1;
	if ((v = sim_xml_attr(u, "at", err)) == NULL)
		return SIM_OUT_INVALID;
	if (!sim_xml_timestamp(v)) {
		err_set(
		    err, ERR_NONE, "at '%s' is not YYYY-MM-DDThh:mm:ssZ", v);
		return SIM_OUT_INVALID;
	}
	if (a->edge_refused) {
		err_set(err, ERR_NONE,
		    "the edge rejected appeal %llu, yet sends its statuses",
		    (unsigned long long)(SIM_POS_BASE + ap));
		return SIM_OUT_INVALID;
	}
	if (e->n != a->last_n + 1) {
		err_set(err, ERR_NONE,
		    "appeal %llu: n=%lu arrived, n=%u was expected",
		    (unsigned long long)(SIM_POS_BASE + ap), e->n,
		    a->last_n + 1);
		return SIM_OUT_ORDER;
	}
	if ((why = sim_out_transition(a->phase, e->status)) != NULL) {
		err_set(err, ERR_NONE, "appeal %llu: %s may not come now: %s",
		    (unsigned long long)(SIM_POS_BASE + ap),
		    sim_status_name(e->status), why);
		return SIM_OUT_INVALID;
	}
	if (sim_xml_only(u, SIM_NS_P, kids, err) == -1)
		return SIM_OUT_INVALID;

	switch (e->status) {
	case SIM_MODERATION_ACCEPT:
		if (sim_xml_child(u, SIM_NS_P, "Registration", 1, &x, err) ==
		        -1 ||
		    (v = sim_xml_attr(x, "number", err)) == NULL)
			return SIM_OUT_INVALID;
		if (*v == '\0' || strlen(v) > 255) {
			err_set(err, ERR_NONE,
			    "P:Registration number is empty or too long");
			return SIM_OUT_INVALID;
		}
		if ((v = sim_xml_attr(x, "date", err)) == NULL)
			return SIM_OUT_INVALID;
		if (!sim_xml_date(v)) {
			err_set(err, ERR_NONE,
			    "P:Registration date '%s' is not YYYY-MM-DD", v);
			return SIM_OUT_INVALID;
		}
		break;
	case SIM_SET_EXECUTOR:
		if (sim_xml_child(u, SIM_NS_P, "Executor", 1, &x, err) == -1)
			return SIM_OUT_INVALID;
		if (!sim_xml_has_text(x)) {
			err_set(err, ERR_NONE, "P:Executor is empty");
			return SIM_OUT_INVALID;
		}
		break;
	case SIM_POSTPONE:
		if (sim_xml_child(u, SIM_NS_P, "NewDeadline", 1, &x, err) ==
		        -1 ||
		    sim_xml_value(x, buf, sizeof buf, err) == -1)
			return SIM_OUT_INVALID;
		if (!sim_xml_date(buf)) {
			err_set(err, ERR_NONE,
			    "P:NewDeadline '%s' is not YYYY-MM-DD", buf);
			return SIM_OUT_INVALID;
		}
		break;
	case SIM_FORWARD_TO_PARENT:
	case SIM_FORWARD_TO_SUBORDINATE:
	case SIM_FORWARD_TO_ORGANIZATION:
		if (sim_xml_child(
		        u, SIM_NS_P, "TargetOrganization", 1, &x, err) == -1 ||
		    (v = sim_xml_attr(x, "lkoId", err)) == NULL)
			return SIM_OUT_INVALID;
		if (!sim_xml_digits(v, 20)) {
			err_set(err, ERR_NONE,
			    "P:TargetOrganization lkoId '%s' is not digits", v);
			return SIM_OUT_INVALID;
		}
		break;
	default:
		break;
	}
	if (e->status == SIM_MODERATION_DECLINE || e->status == SIM_POSTPONE ||
	    e->status == SIM_FORWARD_TO_PARENT ||
	    e->status == SIM_FORWARD_TO_SUBORDINATE ||
	    e->status == SIM_FORWARD_TO_ORGANIZATION) {
		if (sim_xml_child(u, SIM_NS_P, "Comment", 1, &x, err) == -1)
			return SIM_OUT_INVALID;
		if (!sim_xml_has_text(x)) {
			err_set(
			    err, ERR_NONE, "P:Comment (the reason) is empty");
			return SIM_OUT_INVALID;
		}
	}

	x = NULL;
	if (e->status == SIM_SEND_RESPONSE &&
	    sim_xml_child(u, SIM_NS_P, "Answer", 1, &x, err) == -1)
		return SIM_OUT_INVALID;
	if (sim_answer_check(
	        s, e->headers, x, sim_status_name(e->status), err) == -1)
		return SIM_OUT_INVALID;
	return SIM_OUT_VALID;
}

/* Move out/name into dir without replacing anything; returns the new name. */
static char *
sim_out_move(struct sim *s, const char *name, const char *dir)
{
	struct error err = {0};
	char *src, *dst, *base;
	struct stat sb;
	int k;

	xasprintf(&src, "%s/%s", s->out, name);
	base = xstrdup(name);
	xasprintf(&dst, "%s/%s", dir, base);
	for (k = 1; lstat(dst, &sb) == 0 && k < 1000; k++) {
		free(dst);
		free(base);
		xasprintf(&base, "%s.%d", name, k);
		xasprintf(&dst, "%s/%s", dir, base);
	}
	if (rename(src, dst) == -1)
		fatal("cannot move %s to %s; check the permissions of %s", src,
		    dst, s->out);
	if (fs_fsync_dir(dir, &err) == -1 || fs_fsync_dir(s->out, &err) == -1)
		log_warnx("%s", err.text);
	free(src);
	free(dst);
	return base;
}

/* An invalid file: to out/error/ with a .reason, counted, rejected if we can. */
static void
sim_out_invalid(
    struct sim *s, const char *name, struct sim_out_env *e, const char *why)
{
	struct error err = {0};
	struct sim_buf b = {0};
	char *moved, *reason;

	s->c.invalid++;
	moved = sim_out_move(s, name, s->error);
	xasprintf(&reason, "%s.reason", moved);
	sim_buf_addf(&b, "%s\n", why);
	if (fs_write_file(s->error, reason, b.s, b.len, 0644, FS_WRITE_REPLACE,
	        &err) == -1)
		log_warnx("%s", err.text);
	sim_log(s, "invalid %s -> out/error/%s: %s", name, moved, why);
	if (e != NULL && e->appeal >= 0)
		sim_out_hist(&s->ap[e->appeal], e->n,
		    e->have_status ? sim_status_name(e->status) : "?",
		    "invalid");
	if (e != NULL && e->request && e->client_id[0] != '\0' && !e->duplicate)
		sim_in_reject(s, e->client_id, why);
	free(reason);
	free(moved);
	sim_buf_free(&b);
}

/* Answer a valid or out-of-order StatusUpdate as ПОС would. */
static void
sim_out_answer_update(struct sim *s, const char *name, struct sim_out_env *e,
    enum sim_out_verdict verdict, const char *why)
{
	struct sim_appeal *a = &s->ap[e->appeal];
	unsigned long long pos = SIM_POS_BASE + (unsigned long long)e->appeal;
	const char *st = sim_status_name(e->status), *code, *reason;
	char *moved, text[600];

	moved = sim_out_move(s, name, s->sent);
	free(moved);
	if (sim_rng_percent(&s->dec, 10))
		sim_in_transport(s, e->client_id);
	if (verdict == SIM_OUT_ORDER) {
		s->c.order++;
		sim_out_hist(a, e->n, st, "out-of-order");
		snprintf(text, sizeof text,
		    "Нарушен порядок статусов: ожидался n=%u, получен n=%lu",
		    a->last_n + 1, e->n);
		sim_in_refused(s, e->client_id, pos, e->n, "ORDER", text);
		sim_log(s, "out-of-order %s: %s; refused ORDER", name, why);
		return;
	}
	a->last_n = (unsigned)e->n;
	if (sim_rng_percent(&s->dec, s->o.refuse)) {
		s->c.refused_pos++;
		sim_gen_refusal(&s->dec, &code, &reason);
		sim_out_hist(a, e->n, st, "refused");
		sim_in_refused(s, e->client_id, pos, e->n, code, reason);
		sim_log(s, "status %llu n=%lu %s refused %s (%s)", pos, e->n,
		    st, code, name);
		return;
	}
	switch (e->status) {
	case SIM_MODERATION_ACCEPT:
		a->phase = SIM_PHASE_WORK;
		break;
	case SIM_MODERATION_DECLINE:
		a->phase = SIM_PHASE_DECLINED;
		s->c.declined++;
		break;
	case SIM_FORWARD_TO_PARENT:
	case SIM_FORWARD_TO_SUBORDINATE:
	case SIM_FORWARD_TO_ORGANIZATION:
		a->phase = SIM_PHASE_FORWARDED;
		s->c.forwarded++;
		break;
	case SIM_SEND_RESPONSE:
		a->phase = SIM_PHASE_ANSWERED;
		s->c.answered++;
		sim_reappeal(s, (size_t)e->appeal);
		break;
	default:
		break;
	}
	s->c.accepted++;
	sim_out_hist(a, e->n, st, "accepted");
	sim_in_accepted(s, e->client_id, pos, e->n);
	sim_log(s, "status %llu n=%lu %s accepted (%s)", pos, e->n, st, name);
	if (e->status == SIM_SEND_RESPONSE &&
	    sim_rng_percent(&s->dec, s->o.feedback))
		sim_in_feedback(s, (size_t)e->appeal);
	sim_mark_complete(s, (size_t)e->appeal);
}

/* Process one file of out/. */
static void
sim_out_one(struct sim *s, struct sim_out_msg *m)
{
	struct error err = {0};
	struct sim_out_env e;
	enum sim_out_verdict v;
	char *moved;

	memset(&e, 0, sizeof e);
	e.appeal = -1;
	if (m->doc == NULL) {
		sim_out_invalid(s, m->name, NULL, m->err.text);
		return;
	}
	if (sim_out_envelope(s, m, &e, &err) == -1) {
		sim_out_invalid(s, m->name, &e, err.text);
		return;
	}
	if (sim_req_find(s, e.client_id) != NULL) {
		e.duplicate = 1;
		err_set(&err, ERR_NONE,
		    "clientId %s was already used; every message needs a new "
		    "one",
		    e.client_id);
		sim_out_invalid(s, m->name, &e, err.text);
		return;
	}
	sim_req_add(s, e.client_id, SIM_REQ_SEEN, 0);
	if (!e.request) {
		if (sim_out_response(s, &e, &err) == -1) {
			sim_out_invalid(s, m->name, &e, err.text);
			return;
		}
		moved = sim_out_move(s, m->name, s->sent);
		free(moved);
		return;
	}
	if (xmlsafe_is(e.primary, SIM_NS_P, "Statistics")) {
		moved = sim_out_move(s, m->name, s->sent);
		free(moved);
		sim_stats_upload(s, m->name, e.client_id, e.primary);
		return;
	}
	v = sim_out_update(s, &e, &err);
	if (v == SIM_OUT_INVALID)
		sim_out_invalid(s, m->name, &e, err.text);
	else
		sim_out_answer_update(s, m->name, &e, v, err.text);
}

/* Depth-first search for an element ns:name (to order a batch). */
static xmlNodePtr
sim_out_find(xmlNodePtr n, const char *ns, const char *name, int depth)
{
	xmlNodePtr c, f;

	if (xmlsafe_is(n, ns, name))
		return n;
	if (depth > 8)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    (f = sim_out_find(c, ns, name, depth + 1)) != NULL)
			return f;
	return NULL;
}

/* Order of a batch: mtime, then answers before requests, then n, then name. */
static int
sim_out_cmp(const void *pa, const void *pb)
{
	const struct sim_out_msg *a = pa, *b = pb;

	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Parse one listed file and classify it for ordering. */
static void
sim_out_load(struct sim *s, struct sim_out_msg *m, int regular)
{
	xmlNodePtr root, u;
	const char *n;
	char *path;

	m->cls = SIM_OUT_BROKEN;
	if (!regular) {
		err_set(&m->err, ERR_NONE, "%s is not a regular file", m->name);
		return;
	}
	xasprintf(&path, "%s/%s", s->out, m->name);
	m->doc =
	    xmlsafe_parse_file(path, SIM_OUT_MAX_XML, 0, ERR_NONE, &m->err);
	free(path);
	if (m->doc == NULL)
		return;
	root = xmlDocGetRootElement(m->doc);
	if (sim_out_find(root, SIM_NS_T, "ResponseMessage", 6) != NULL)
		m->cls = SIM_OUT_RESPONSE;
	else if (sim_out_find(root, SIM_NS_T, "RequestMessage", 6) != NULL)
		m->cls = SIM_OUT_REQUEST;
	if ((u = sim_out_find(root, SIM_NS_P, "StatusUpdate", 0)) != NULL &&
	    (n = xmlsafe_attr(u, "n")) != NULL && sim_xml_digits(n, 9))
		m->n = strtoul(n, NULL, 10);
}

/* Take every ClientMessage file now in out/, in order, and process it. */
void
sim_out_scan(struct sim *s)
{
	struct sim_out_msg *m;
	struct stat sb;
	size_t n = 0, nnames, i;
	char *path, **names;

	if (fs_xml_names(s->out, 0, &names, &nnames) == -1)
		fatal("cannot read directory %s; check --base", s->out);
	m = xcalloc(nnames + 1, sizeof *m);
	for (i = 0; i < nnames && n < SIM_OUT_BATCH; i++) {
		xasprintf(&path, "%s/%s", s->out, names[i]);
		if (lstat(path, &sb) == -1) {
			free(path);
			continue;
		}
		free(path);
		m[n].name = xstrdup(names[i]);
		m[n].mtime = sb.st_mtim;
		sim_out_load(s, &m[n], S_ISREG(sb.st_mode));
		n++;
	}
	fs_names_free(names, nnames);
	if (n > 1)
		qsort(m, n, sizeof *m, sim_out_cmp);
	for (i = 0; i < n; i++) {
		sim_out_one(s, &m[i]);
		if (m[i].doc != NULL)
			xmlFreeDoc(m[i].doc);
		free(m[i].name);
	}
	free(m);
}
