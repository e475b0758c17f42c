/*
 * sim-in.c: what posgw-sim, as ПОС plus the SMEV adapter, writes into
 * DIR/in/ (T:QueryResult files, each a dot temp + fsync + rename) and into
 * the attachments-in directory, including the "XML before attachment" race.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "sim.h"
#include "xmalloc.h"

#define SIM_IN_PRIMARY "        " /* indent inside MessagePrimaryContent */

/* Open a QueryResult: declaration, smevMetadata, Message of xsi:type. */
static void
sim_in_head(
    struct sim *s, struct sim_buf *b, const char *msgid, const char *type)
{
	char now[32];

	sim_timestamp(time(NULL), now, sizeof now);
	sim_buf_add(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	sim_buf_add(b,
	    "<T:QueryResult xmlns:T=\"" SIM_NS_T "\" xmlns:P=\"" SIM_NS_P
	    "\" xmlns:xsi=\"" SIM_NS_XSI "\">\n");
	sim_buf_addf(b,
	    "  <T:smevMetadata>\n"
	    "    <T:MessageId>%s</T:MessageId>\n"
	    "    <T:Sender>POS</T:Sender>\n"
	    "    <T:Recipient>%s</T:Recipient>\n"
	    "    <T:SendingDate>%s</T:SendingDate>\n"
	    "  </T:smevMetadata>\n"
	    "  <T:Message xsi:type=\"T:%s\">\n",
	    msgid, s->o.mnemonic, now, type);
}

/* Write a finished QueryResult into in/ durably; exits if it cannot. */
static void
sim_in_write(struct sim *s, struct sim_buf *b, const char *msgid)
{
	struct error err = {0};
	char name[64];

	sim_buf_add(b, "  </T:Message>\n</T:QueryResult>\n");
	snprintf(name, sizeof name, "%06lu-%s.xml", ++s->seq, msgid);
	if (fs_write_file(s->in, name, b->s, b->len, 0644, 0, &err) == -1)
		fatalx("%s; check that %s is writable and not full", err.text,
		    s->in);
	sim_buf_free(b);
}

/* Open a RequestMessageType down to MessagePrimaryContent. */
static void
sim_in_request(
    struct sim *s, struct sim_buf *b, const char *msgid, const char *client_id)
{
	sim_in_head(s, b, msgid, "RequestMessageType");
	sim_buf_addf(b,
	    "    <T:RequestMetadata>\n"
	    "      <T:clientId>%s</T:clientId>\n"
	    "    </T:RequestMetadata>\n"
	    "    <T:RequestContent>\n"
	    "      <T:content>\n"
	    "        <T:MessagePrimaryContent>\n",
	    client_id);
}

/* Send the P:Classifier request (before any appeal). */
void
sim_in_classifier(struct sim *s)
{
	struct sim_buf b = {0};
	char msgid[SIM_UUID_LEN + 1];

	sim_uuid(msgid);
	sim_uuid(s->classifier_id);
	sim_req_add(s, s->classifier_id, SIM_REQ_CLASSIFIER, 0);
	sim_in_request(s, &b, msgid, s->classifier_id);
	sim_gen_classifier(&b, SIM_CLASSIFIER_VERSION);
	sim_buf_add(&b, "        </T:MessagePrimaryContent>\n"
	                "      </T:content>\n"
	                "    </T:RequestContent>\n");
	sim_in_write(s, &b, msgid);
	sim_log(s, "issue classifier version=%s clientId=%s",
	    SIM_CLASSIFIER_VERSION, s->classifier_id);
}

/* The directory of an attachment: <attachments-in>/<Id>/<clientId>. */
static char *
sim_in_att_dir(struct sim *s, const struct sim_att *a, const char *client_id)
{
	char *dir;

	xasprintf(&dir, "%s/%s/%s", s->ain, a->id, client_id);
	return dir;
}

/* Write one attachment completely, as a dot temp renamed into place. */
static void
sim_in_att_whole(struct sim *s, const struct sim_att *a, const char *dir)
{
	struct error err = {0};
	char *tmp, *dst;
	int fd;

	if (fs_mkdir_p(dir, 0755) == -1)
		fatal("cannot create %s; check --attachments-in", dir);
	xasprintf(&tmp, "%s/.%s", dir, a->name);
	xasprintf(&dst, "%s/%s", dir, a->name);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1 || sim_gen_write(fd, a) == -1 || fsync(fd) == -1)
		fatal("cannot write %s; check --attachments-in has room", tmp);
	if (close(fd) == -1 || rename(tmp, dst) == -1)
		fatal("cannot rename %s to %s", tmp, dst);
	if (fs_fsync_dir(dir, &err) == -1)
		fatalx("%s", err.text);
	free(tmp);
	free(dst);
}

/* Queue a late attachment: missing at first, then empty, then filled. */
static void
sim_in_att_late(struct sim *s, size_t i, const struct sim_att *a,
    const char *dir, double delay)
{
	struct sim_fill *f;
	double now = sim_now();

	if (s->nfills == s->capfills) {
		s->capfills = s->capfills ? s->capfills * 2 : 16;
		s->fills =
		    xreallocarray(s->fills, s->capfills, sizeof *s->fills);
	}
	f = &s->fills[s->nfills++];
	memset(f, 0, sizeof *f);
	f->appeal = i;
	f->att = *a;
	xasprintf(&f->path, "%s/%s", dir, a->name);
	f->stage = 0;
	f->due = now + delay * 0.4;
	f->fill_at = now + delay;
}

/* Send appeal i: its attachments (or the race), then the QueryResult. */
void
sim_in_appeal(struct sim *s, size_t i)
{
	struct sim_att att[SIM_MAX_ATTACHMENTS];
	struct sim_appeal *a = &s->ap[i];
	struct sim_buf b = {0}, body = {0};
	char msgid[SIM_UUID_LEN + 1], *dir;
	struct sim_gen_out g;
	double delay;
	unsigned k;

	for (k = 0; k < s->o.attachments; k++)
		sim_uuid(att[k].id);
	/* a re-appeal is its origin's appeal again, under its own id */
	sim_gen_appeal(&s->o, a->origin ? a->origin - 1 : i, i, time(NULL),
	    &body, att, &g);
	sim_uuid(msgid);
	sim_uuid(a->client_id);
	snprintf(
	    a->kind, sizeof a->kind, "%s", g.fz59 ? "APPEAL_59FZ" : "MESSAGE");
	a->issued = 1;
	a->race = g.race;
	a->lko = g.lko;
	a->oktmo = g.oktmo;
	a->category = g.category;
	snprintf(a->created, sizeof a->created, "%.10s", g.created);
	sim_req_add(s, a->client_id, SIM_REQ_APPEAL, i);

	if (!g.race)
		for (k = 0; k < g.natt; k++) {
			dir = sim_in_att_dir(s, &att[k], a->client_id);
			sim_in_att_whole(s, &att[k], dir);
			free(dir);
		}
	sim_in_request(s, &b, msgid, a->client_id);
	sim_buf_addn(&b, body.s, body.len);
	sim_buf_free(&body);
	sim_buf_add(&b, "        </T:MessagePrimaryContent>\n");
	if (g.natt > 0) {
		sim_buf_add(&b, "        <T:AttachmentHeaderList>\n");
		for (k = 0; k < g.natt; k++) {
			sim_buf_addf(&b,
			    "          <T:AttachmentHeader>\n"
			    "            <T:Id>%s</T:Id>\n"
			    "            <T:filePath>",
			    att[k].id);
			sim_buf_esc(&b, att[k].name);
			sim_buf_add(&b,
			    "</T:filePath>\n"
			    "            <T:TransferMethod>REFERENCE"
			    "</T:TransferMethod>\n"
			    "          </T:AttachmentHeader>\n");
		}
		sim_buf_add(&b, "        </T:AttachmentHeaderList>\n");
	}
	sim_buf_add(&b, "      </T:content>\n    </T:RequestContent>\n");
	sim_in_write(s, &b, msgid);
	sim_log(s,
	    "issue appeal %llu kind=%s clientId=%s attachments=%u race=%s "
	    "text=\"%s\"",
	    (unsigned long long)(SIM_POS_BASE + i), a->kind, a->client_id,
	    g.natt, g.race ? "yes" : "no", g.text);
	if (!g.race)
		return;
	delay = 0.5 + (double)sim_rng_below(&s->dec, 1501) / 1000;
	for (k = 0; k < g.natt; k++) {
		dir = sim_in_att_dir(s, &att[k], a->client_id);
		sim_in_att_late(s, i, &att[k], dir, delay);
		free(dir);
	}
	sim_log(s,
	    "race %llu: XML first, %u attachment(s) complete after "
	    "%.2f s",
	    (unsigned long long)(SIM_POS_BASE + i), g.natt, delay);
}

/* Create a late attachment's file empty (stage 1). */
static void
sim_in_fill_empty(struct sim *s, struct sim_fill *f)
{
	struct error err = {0};
	char *dir, *slash;
	int fd;

	dir = xstrdup(f->path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (fs_mkdir_p(dir, 0755) == -1)
		fatal("cannot create %s; check --attachments-in", dir);
	fd = open(f->path,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1 || close(fd) == -1)
		fatal("cannot create %s", f->path);
	if (fs_fsync_dir(dir, &err) == -1)
		fatalx("%s", err.text);
	free(dir);
}

/* Fill a late attachment in place (stage 2); -1 (logged) if it is gone. */
static int
sim_in_fill_content(struct sim *s, struct sim_fill *f)
{
	int fd;

	if ((fd = open(f->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("cannot open %s to fill it (did the edge remove an "
		         "attachment before it was complete?)",
		    f->path);
		sim_log(s, "race %llu: %s vanished before it was filled",
		    (unsigned long long)(SIM_POS_BASE + f->appeal), f->path);
		return -1;
	}
	if (sim_gen_write(fd, &f->att) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1)
		fatal(
		    "cannot fill %s; check --attachments-in has room", f->path);
	return 0;
}

/* Advance the late attachments that are due (all of them when force). */
void
sim_in_fills(struct sim *s, double now, int force)
{
	struct sim_fill *f;
	size_t i = 0;

	while (i < s->nfills) {
		f = &s->fills[i];
		if (!force && now < f->due) {
			i++;
			continue;
		}
		if (f->stage == 0) {
			sim_in_fill_empty(s, f);
			sim_log(s, "race %llu: created %s empty",
			    (unsigned long long)(SIM_POS_BASE + f->appeal),
			    f->path);
			f->stage = 1;
			f->due = f->fill_at;
			if (!force)
				continue;
		}
		if (sim_in_fill_content(s, f) == 0)
			sim_log(s, "race %llu: filled %s (%llu bytes)",
			    (unsigned long long)(SIM_POS_BASE + f->appeal),
			    f->path, (unsigned long long)f->att.size);
		free(f->path);
		s->fills[i] = s->fills[--s->nfills];
	}
}

/* When the next late attachment is due (far away if none). */
double
sim_in_next_fill(const struct sim *s)
{
	double t = 1e300;
	size_t i;

	for (i = 0; i < s->nfills; i++)
		if (s->fills[i].due < t)
			t = s->fills[i].due;
	return t;
}

/* Open a ResponseMessageType answering reply_to. */
static void
sim_in_response(struct sim *s, struct sim_buf *b, const char *msgid,
    const char *reply_to, const char *type)
{
	char cid[SIM_UUID_LEN + 1];

	sim_uuid(cid);
	sim_in_head(s, b, msgid, "ResponseMessageType");
	sim_buf_addf(b,
	    "    <T:ResponseMetadata>\n"
	    "      <T:clientId>%s</T:clientId>\n"
	    "      <T:replyToClientId>%s</T:replyToClientId>\n"
	    "    </T:ResponseMetadata>\n"
	    "    <T:messageType>%s</T:messageType>\n"
	    "    <T:ResponseContent>\n",
	    cid, reply_to, type);
}

/* Answer a StatusUpdate: P:StatusAccepted. */
void
sim_in_accepted(
    struct sim *s, const char *reply_to, uint64_t pos_id, unsigned long n)
{
	struct sim_buf b = {0};
	char msgid[SIM_UUID_LEN + 1];

	sim_uuid(msgid);
	sim_in_response(s, &b, msgid, reply_to, "PrimaryMessage");
	sim_buf_addf(&b,
	    "      <T:content>\n"
	    "        <T:MessagePrimaryContent>\n"
	    "          <P:StatusAccepted appealId=\"%llu\" n=\"%lu\"/>\n"
	    "        </T:MessagePrimaryContent>\n"
	    "      </T:content>\n"
	    "    </T:ResponseContent>\n",
	    (unsigned long long)pos_id, n);
	sim_in_write(s, &b, msgid);
}

/* Answer a StatusUpdate: P:StatusRefused with a code and reason. */
void
sim_in_refused(struct sim *s, const char *reply_to, uint64_t pos_id,
    unsigned long n, const char *code, const char *reason)
{
	struct sim_buf b = {0};
	char msgid[SIM_UUID_LEN + 1];

	sim_uuid(msgid);
	sim_in_response(s, &b, msgid, reply_to, "PrimaryMessage");
	sim_buf_addf(&b,
	    "      <T:content>\n"
	    "        <T:MessagePrimaryContent>\n"
	    "          <P:StatusRefused appealId=\"%llu\" n=\"%lu\" "
	    "code=\"%s\">",
	    (unsigned long long)pos_id, n, code);
	sim_buf_esc(&b, reason);
	sim_buf_add(&b, "</P:StatusRefused>\n"
	                "        </T:MessagePrimaryContent>\n"
	                "      </T:content>\n"
	                "    </T:ResponseContent>\n");
	sim_in_write(s, &b, msgid);
}

/*
 * Answer a P:Statistics upload: P:StatisticsAccepted (code NULL) or
 * P:StatisticsRefused with a code and reason.
 */
void
sim_in_stats_verdict(struct sim *s, const char *reply_to, const char *id,
    const char *code, const char *reason)
{
	struct sim_buf b = {0};
	char msgid[SIM_UUID_LEN + 1];

	sim_uuid(msgid);
	sim_in_response(s, &b, msgid, reply_to, "PrimaryMessage");
	sim_buf_add(&b, "      <T:content>\n"
	                "        <T:MessagePrimaryContent>\n");
	if (code == NULL) {
		sim_buf_add(&b, "          <P:StatisticsAccepted id=\"");
		sim_buf_esc(&b, id);
		sim_buf_add(&b, "\"/>\n");
	} else {
		sim_buf_add(&b, "          <P:StatisticsRefused id=\"");
		sim_buf_esc(&b, id);
		sim_buf_addf(&b, "\" code=\"%s\">", code);
		sim_buf_esc(&b, reason);
		sim_buf_add(&b, "</P:StatisticsRefused>\n");
	}
	sim_buf_add(&b, "        </T:MessagePrimaryContent>\n"
	                "      </T:content>\n"
	                "    </T:ResponseContent>\n");
	sim_in_write(s, &b, msgid);
}

/* Answer an invalid request: rejects FAILURE with a description. */
void
sim_in_reject(struct sim *s, const char *reply_to, const char *why)
{
	struct sim_buf b = {0};
	char msgid[SIM_UUID_LEN + 1];

	sim_uuid(msgid);
	sim_in_response(s, &b, msgid, reply_to, "RejectMessage");
	sim_buf_add(&b, "      <T:rejects>\n"
	                "        <T:code>FAILURE</T:code>\n"
	                "        <T:description>");
	sim_buf_esc(&b, why);
	sim_buf_add(&b, "</T:description>\n"
	                "      </T:rejects>\n"
	                "    </T:ResponseContent>\n");
	sim_in_write(s, &b, msgid);
	s->c.rejects++;
}

/* A transport StatusMessage: the request reached ПОС. */
void
sim_in_transport(struct sim *s, const char *original)
{
	struct sim_buf b = {0};
	char msgid[SIM_UUID_LEN + 1];

	sim_uuid(msgid);
	sim_in_head(s, &b, msgid, "StatusMessage");
	sim_buf_addf(&b,
	    "    <T:originalClientId>%s</T:originalClientId>\n"
	    "    <T:status>\n"
	    "      <T:code>DELIVERED</T:code>\n"
	    "      <T:description>Сообщение доставлено</T:description>\n"
	    "    </T:status>\n",
	    original);
	sim_in_write(s, &b, msgid);
	s->c.transport++;
}

/* Send citizen feedback on appeal i (after an accepted answer). */
void
sim_in_feedback(struct sim *s, size_t i)
{
	struct sim_buf b = {0};
	char msgid[SIM_UUID_LEN + 1], cid[SIM_UUID_LEN + 1];
	int rating;

	sim_uuid(msgid);
	sim_uuid(cid);
	sim_req_add(s, cid, SIM_REQ_FEEDBACK, i);
	sim_in_request(s, &b, msgid, cid);
	sim_gen_feedback(&s->dec, SIM_POS_BASE + i, time(NULL), &b,
	    SIM_IN_PRIMARY "  ", &rating);
	sim_buf_add(&b, "        </T:MessagePrimaryContent>\n"
	                "      </T:content>\n"
	                "    </T:RequestContent>\n");
	sim_in_write(s, &b, msgid);
	s->ap[i].feedback = rating;
	s->c.feedback++;
	sim_log(s, "feedback %llu rating=%d clientId=%s",
	    (unsigned long long)(SIM_POS_BASE + i), rating, cid);
}
