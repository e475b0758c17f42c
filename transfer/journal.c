/*
 * journal.c: the append-only, hash-chained exchange journal. Each row's hash
 * is Streebog-256 over the previous row's hash and a canonical encoding of
 * the row; checkpoints sign the head with the gateway's key.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "package.h"
#include "xmalloc.h"

#define JOURNAL_ZERO                                                           \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* A row's canonical encoding, built in place and reused from row to row. */
struct journal_enc {
	char *p;
	size_t len, cap;
	char small[512];
};

/* Start an empty encoding in its own small buffer. */
static void
journal_enc_init(struct journal_enc *e)
{
	e->p = e->small;
	e->len = 0;
	e->cap = sizeof e->small;
}

/* Free what an encoding grew into. */
static void
journal_enc_free(struct journal_enc *e)
{
	if (e->p != e->small)
		free(e->p);
	journal_enc_init(e);
}

/* Make room for more bytes at the end. */
static void
journal_enc_room(struct journal_enc *e, size_t more)
{
	size_t cap = e->cap;

	if (e->len + more <= e->cap)
		return;
	while (cap < e->len + more)
		cap *= 2;
	if (e->p == e->small) {
		e->p = xmalloc(cap);
		memcpy(e->p, e->small, e->len);
	} else
		e->p = xreallocarray(e->p, 1, cap);
	e->cap = cap;
}

/* Write v in decimal into buf (at least 21 bytes); returns its length. */
static size_t
journal_dec(char *buf, int64_t v)
{
	char tmp[24];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[len++] = '-';
	while (n > 0)
		buf[len++] = tmp[--n];
	return len;
}

/* Append one length-prefixed field, "<len>:<bytes>\n" ("-\n" for NULL). */
static void
journal_enc_field(struct journal_enc *e, const char *s, size_t len)
{
	if (s == NULL) {
		journal_enc_room(e, 2);
		memcpy(e->p + e->len, "-\n", 2);
		e->len += 2;
		return;
	}
	journal_enc_room(e, len + 24);
	e->len += journal_dec(e->p + e->len, (int64_t)len);
	e->p[e->len++] = ':';
	memcpy(e->p + e->len, s, len);
	e->len += len;
	e->p[e->len++] = '\n';
}

/* Append a text field; its length is strlen's, as journal_append binds it. */
static void
journal_enc_text(struct journal_enc *e, const char *s)
{
	journal_enc_field(e, s, s != NULL ? strlen(s) : 0);
}

/* Append a number as a field of its decimal digits. */
static void
journal_enc_num(struct journal_enc *e, int64_t v)
{
	char num[24];

	journal_enc_field(e, num, journal_dec(num, v));
}

/*
 * Encode a row for its hash: "posgw-journal 1\n", the previous hash, and
 * seq, at, kind, package, appeal, detail each as "<len>:<bytes>\n".
 */
static void
journal_encode(struct journal_enc *e, const char *prev, int64_t seq, int64_t at,
    const char *kind, const char *package, const char *appeal,
    const char *detail)
{
	e->len = 0;
	journal_enc_room(e, 16);
	memcpy(e->p, "posgw-journal 1\n", 16);
	e->len = 16;
	journal_enc_text(e, prev);
	journal_enc_num(e, seq);
	journal_enc_num(e, at);
	journal_enc_text(e, kind);
	journal_enc_text(e, package);
	journal_enc_text(e, appeal);
	journal_enc_text(e, detail);
}

/* The hash of a row: Streebog-256 of its canonical encoding, in hex. */
void
journal_row_hash(const char *prev, int64_t seq, int64_t at, const char *kind,
    const char *package, const char *appeal, const char *detail, char *out)
{
	struct journal_enc e;

	journal_enc_init(&e);
	journal_encode(&e, prev, seq, at, kind, package, appeal, detail);
	digest_mem_hex(DIGEST_STREEBOG256, e.p, e.len, out);
	journal_enc_free(&e);
}

/* The last entry's seq and hash (zeros and 0 for an empty journal). */
int64_t
journal_head(struct db *db, char *hash)
{
	sqlite3_stmt *st;
	int64_t seq = 0;

	st = db_prepare(
	    db, "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1");
	strcpy(hash, JOURNAL_ZERO);
	if (sqlite3_step(st) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		snprintf(hash, DIGEST_HEX_LEN + 1, "%s",
		    (const char *)sqlite3_column_text(st, 1));
	}
	db_finalize(st);
	return seq;
}

/* Append an entry; call inside the transaction of the unit of work. */
int
journal_append(struct db *db, const char *kind, const char *package,
    const char *appeal, const char *detail, struct error *err)
{
	char prev[DIGEST_HEX_LEN + 1], hash[DIGEST_HEX_LEN + 1];
	sqlite3_stmt *st;
	int64_t seq, at = (int64_t)time(NULL);

	seq = journal_head(db, prev) + 1;
	journal_row_hash(prev, seq, at, kind, package, appeal, detail, hash);
	st = db_prepare(db,
	    "INSERT INTO journal (seq, at, kind, package, appeal,"
	    " detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, appeal, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, hash, -1, SQLITE_STATIC);
	return db_step_done(db, st, err);
}

/*
 * The entry the last checkpoint covers and when it was made (0, 0 if none).
 * Checkpoints only ever cover a later head, so the last row has the highest
 * entry; reading it by id costs one lookup where MAX() scans the table.
 */
static int64_t
journal_last_checkpoint(struct db *db, time_t *at)
{
	sqlite3_stmt *st;
	int64_t entry = 0;

	st = db_prepare(
	    db, "SELECT entry, at FROM checkpoints ORDER BY id DESC LIMIT 1");
	*at = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		entry = sqlite3_column_int64(st, 0);
		*at = (time_t)sqlite3_column_int64(st, 1);
	}
	db_finalize(st);
	return entry;
}

/* Entries since the last checkpoint, and when it was made (0 if never). */
int64_t
journal_since_checkpoint(struct db *db, time_t *last)
{
	char hash[DIGEST_HEX_LEN + 1];
	int64_t head = journal_head(db, hash);

	return head - journal_last_checkpoint(db, last);
}

/* Parse the signed checkpoint text; -1 unless it is exactly well-formed. */
int
journal_checkpoint_parse(
    const unsigned char *buf, size_t len, struct checkpoint *c)
{
	char text[512], canon[512], gw[64], head[80], t[32], tc[32];
	long long entry;
	int n = 0;

	if (len == 0 || len >= sizeof text || memchr(buf, '\0', len) != NULL)
		return -1;
	memcpy(text, buf, len);
	text[len] = '\0';
	if (sscanf(text,
	        "posgw-checkpoint 1\ngateway %63s\nentry %lld\nhead %79s\n"
	        "time %31s\n%n",
	        gw, &entry, head, t, &n) != 4 ||
	    (size_t)n != len || !pkg_id_valid(gw) || entry < 1 ||
	    strlen(head) != DIGEST_HEX_LEN ||
	    strspn(head, "0123456789abcdef") != DIGEST_HEX_LEN ||
	    pkg_time_parse(t, &c->at) == -1)
		return -1;
	/* strptime takes February 30 and second 60; the signer never writes them */
	pkg_time_format(c->at, tc, sizeof tc);
	if (strcmp(tc, t) != 0)
		return -1;
	snprintf(c->gateway, sizeof c->gateway, "%.32s", gw);
	c->entry = entry;
	memcpy(c->head, head, sizeof c->head);
	/* only the canonical form: one space, no padding, no leading zeros */
	n = snprintf(canon, sizeof canon,
	    "posgw-checkpoint 1\ngateway %s\nentry %lld\nhead %s\ntime %s\n",
	    gw, entry, head, t);
	if ((size_t)n != len || memcmp(canon, text, len) != 0)
		return -1;
	return 0;
}

/* Sign the current head as a checkpoint, unless it is already covered. */
int
journal_checkpoint(struct db *db, struct signer *s, struct error *err)
{
	char head[DIGEST_HEX_LEN + 1], text[512], t[32];
	gnutls_datum_t cms = {NULL, 0};
	sqlite3_stmt *st;
	int64_t entry;
	time_t now = time(NULL), last;
	int n, rc;

	entry = journal_head(db, head);
	if (entry == 0 || journal_last_checkpoint(db, &last) >= entry)
		return 0;
	pkg_time_format(now, t, sizeof t);
	n = snprintf(text, sizeof text,
	    "posgw-checkpoint 1\ngateway %s\nentry %" PRId64 "\nhead %s\n"
	    "time %s\n",
	    signer_id(s), entry, head, t);
	if (signer_sign(s, text, (size_t)n, &cms, err) == -1)
		return -1;
	st = db_prepare(db,
	    "INSERT INTO checkpoints (entry, head, at, text, cms)"
	    " VALUES (?, ?, ?, ?, ?)");
	sqlite3_bind_int64(st, 1, entry);
	sqlite3_bind_text(st, 2, head, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)now);
	sqlite3_bind_blob(st, 4, text, n, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, cms.data, (int)cms.size, SQLITE_STATIC);
	rc = db_step_done(db, st, err);
	gnutls_free(cms.data);
	if (rc == 0)
		log_debug("checkpoint of entry %" PRId64 " signed", entry);
	return rc;
}

#define JOURNAL_SIGQ 64  /* checkpoints queued for the signature thread */
#define JOURNAL_FEED 256 /* chain rows between two top-ups of that queue */

/* A checkpoint queued for the signature thread: its text, then its CMS. */
struct journal_sigitem {
	unsigned char *buf;
	size_t cap, tlen, clen;
};

/*
 * The checkpoints' signatures, checked in order on a second thread while
 * the first hashes the chain (each is one GOST verification, about as much
 * work as 100 rows). The first thread reads the database and fills the
 * queue; only the second touches the trust list.
 */
struct journal_sigq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct journal_sigitem item[JOURNAL_SIGQ];
	size_t head; /* checkpoints checked good, the next one to check */
	size_t tail; /* checkpoints queued */
	int closed;  /* all are queued */
	int stop;    /* the chain is bad: give up */
	int done;    /* the thread has finished */
	int failed;  /* checkpoint head failed, fail says why */
	struct error fail;
	struct trust *trust;
	pthread_t thread;
};

/* Check one checkpoint's signature against the trust list, as the signer's. */
static int
journal_cp_signed(struct trust *t, const unsigned char *text, size_t tlen,
    const void *cms, size_t clen, const struct checkpoint *c, struct error *err)
{
	struct sig_info si;

	err_clear(err);
	return sig_verify_named("checkpoint signature", "the checkpoint text",
	    t, text, tlen, cms, clen, c->gateway, time(NULL), SIG_ALLOW_ALL,
	    &si, err);
}

/* The signature thread: check the queued checkpoints in order until one fails. */
static void *
journal_sigq_main(void *arg)
{
	struct journal_sigq *q = arg;
	struct journal_sigitem *it;
	struct checkpoint c;
	struct error e = {0};
	int ok;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->head == q->tail && !q->closed && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stop || q->head == q->tail)
			break;
		it = &q->item[q->head % JOURNAL_SIGQ];
		pthread_mutex_unlock(&q->mu);
		err_clear(&e);
		ok = journal_checkpoint_parse(it->buf, it->tlen, &c) == 0 &&
		     journal_cp_signed(q->trust, it->buf, it->tlen,
		         it->buf + it->tlen, it->clen, &c, &e) == 0;
		pthread_mutex_lock(&q->mu);
		if (!ok) {
			/* a malformed text is reported by the final pass */
			q->failed = 1;
			q->fail = e;
			break;
		}
		q->head++;
		pthread_cond_broadcast(&q->cv);
	}
	q->done = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Copy a checkpoint row (id, text, cms) into a queue slot. */
static void
journal_sigitem_set(struct journal_sigitem *it, sqlite3_stmt *st)
{
	const void *t = sqlite3_column_blob(st, 1);
	size_t tl = (size_t)sqlite3_column_bytes(st, 1);
	const void *c = sqlite3_column_blob(st, 2);
	size_t cl = (size_t)sqlite3_column_bytes(st, 2);

	if (it->cap < tl + cl + 1) {
		free(it->buf);
		it->cap = tl + cl + 1;
		it->buf = xmalloc(it->cap);
	}
	if (tl > 0)
		memcpy(it->buf, t, tl);
	if (cl > 0)
		memcpy(it->buf + tl, c, cl);
	it->tlen = tl;
	it->clen = cl;
}

/*
 * Queue the next checkpoints of st for the signature thread: as many as
 * there is room for, or with all set every one (waiting for room).
 */
static void
journal_sigq_feed(struct journal_sigq *q, sqlite3_stmt *st, int all)
{
	size_t room, n;
	int eof;

	pthread_mutex_lock(&q->mu);
	while (!q->closed && !q->done) {
		room = JOURNAL_SIGQ - (q->tail - q->head);
		if (room == 0) {
			if (!all)
				break;
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		pthread_mutex_unlock(&q->mu);
		/* the free slots are this thread's until tail moves */
		for (n = 0, eof = 0; n < room && !eof; n++)
			if (sqlite3_step(st) == SQLITE_ROW)
				journal_sigitem_set(
				    &q->item[(q->tail + n) % JOURNAL_SIGQ], st);
			else
				eof = 1;
		pthread_mutex_lock(&q->mu);
		q->tail += n - (size_t)eof;
		q->closed = eof;
		pthread_cond_broadcast(&q->cv);
		if (!all)
			break;
	}
	pthread_mutex_unlock(&q->mu);
}

/* Start the signature thread over st's checkpoints; -1 if it cannot run. */
static int
journal_sigq_start(struct journal_sigq *q, struct trust *t, sqlite3_stmt *st)
{
	memset(q, 0, sizeof *q);
	q->trust = t;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->thread, NULL, journal_sigq_main, q) != 0) {
		log_warnx("journal verify: no second thread; checking the "
		          "checkpoint signatures after the chain");
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		return -1;
	}
	journal_sigq_feed(q, st, 0);
	return 0;
}

/* Let the signature thread finish (or give up, with stop) and free the queue. */
static void
journal_sigq_end(struct journal_sigq *q, sqlite3_stmt *st, int stop)
{
	size_t i;

	if (stop) {
		pthread_mutex_lock(&q->mu);
		q->stop = 1;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	} else
		journal_sigq_feed(q, st, 1);
	pthread_join(q->thread, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	for (i = 0; i < JOURNAL_SIGQ; i++)
		free(q->item[i].buf);
}

/*
 * The signature verdict on the i-th checkpoint: the thread's when it got
 * that far (q NULL when there was no thread), else checked here.
 */
static int
journal_cp_verdict(const struct journal_sigq *q, size_t i, struct trust *t,
    const unsigned char *text, size_t tlen, const void *cms, size_t clen,
    const struct checkpoint *c, struct error *err)
{
	if (q != NULL && i < q->head)
		return 0;
	if (q != NULL && i == q->head && q->failed) {
		*err = q->fail;
		return -1;
	}
	return journal_cp_signed(t, text, tlen, cms, clen, c, err);
}

/*
 * A trust list of the certificate stored in the database, for a verify
 * without an auditor's anchor; NULL if there is none or it is unusable
 * (*stored says whether there was one).
 */
static struct trust *
journal_own_trust(struct db *db, int *stored)
{
	char tmpl[] = "/tmp/posgw-cert-XXXXXX";
	struct trust *own = NULL;
	struct error e2 = {0};
	char *cert;
	int fd;

	*stored = 0;
	if ((cert = db_meta_get(db, "certificate")) == NULL)
		return NULL;
	*stored = 1;
	if ((fd = mkstemp(tmpl)) != -1) {
		if (write(fd, cert, strlen(cert)) == (ssize_t)strlen(cert)) {
			own = trust_new();
			err_clear(&e2);
			if (trust_add_file(own, tmpl, &e2) == -1) {
				trust_free(own);
				own = NULL;
			}
		}
		close(fd);
		unlink(tmpl);
	}
	free(cert);
	return own;
}

/* Where the entries' times go back (the gateway's clock was set back). */
struct journal_clock {
	int64_t n;     /* how many times */
	int64_t first; /* the first entry with an earlier time than its prev */
	int64_t most;  /* the largest step back, in seconds */
};

/*
 * Recompute the chain; the checkpoints in cst go to the signature thread q
 * (if running) every JOURNAL_FEED rows. Returns the last entry, -1 with err
 * set on a bad entry, -2 when the journal cannot be read.
 */
static int64_t
journal_verify_chain(struct db *db, struct journal_sigq *q, sqlite3_stmt *cst,
    char *prev, struct journal_clock *clk, struct error *err)
{
	char hash[DIGEST_HEX_LEN + 1];
	struct journal_enc e;
	sqlite3_stmt *st;
	int64_t expect = 1, seq, at, last_at = INT64_MIN;
	const char *txt;
	int rc;

	journal_enc_init(&e);
	st = db_prepare(db,
	    "SELECT seq, at, kind, package, appeal, detail, prev,"
	    " hash FROM journal ORDER BY seq");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if (seq != expect) {
			err_set(err, ERR_NONE,
			    "entry %" PRId64 ": expected entry %" PRId64
			    " (entries deleted or reordered)",
			    seq, expect);
			goto bad;
		}
		txt = (const char *)sqlite3_column_text(st, 6);
		if (txt == NULL || strcmp(txt, prev) != 0) {
			err_set(err, ERR_NONE,
			    "entry %" PRId64
			    ": its previous-hash does not match "
			    "entry %" PRId64 " (entries deleted, reordered or "
			    "altered)",
			    seq, seq - 1);
			goto bad;
		}
		at = sqlite3_column_int64(st, 1);
		if (at < last_at) {
			/* not a break of the chain: the clock was set back */
			if (clk->n++ == 0)
				clk->first = seq;
			if (last_at - at > clk->most)
				clk->most = last_at - at;
		}
		last_at = at;
		journal_encode(&e, prev, seq, sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5));
		digest_mem_hex(DIGEST_STREEBOG256, e.p, e.len, hash);
		txt = (const char *)sqlite3_column_text(st, 7);
		if (txt == NULL || strcmp(txt, hash) != 0) {
			err_set(err, ERR_NONE,
			    "entry %" PRId64
			    ": content does not match its hash "
			    "(entry altered)",
			    seq);
			goto bad;
		}
		memcpy(prev, hash, DIGEST_HEX_LEN + 1);
		expect++;
		if (q != NULL && expect % JOURNAL_FEED == 0)
			journal_sigq_feed(q, cst, 0);
	}
	db_finalize(st);
	journal_enc_free(&e);
	if (rc != SQLITE_DONE) {
		db_set_err(db, err, "reading the journal");
		return -2;
	}
	return expect - 1;
bad:
	db_finalize(st);
	journal_enc_free(&e);
	return -1;
}

/*
 * Verify the chain and every checkpoint; print findings to out. Returns 0
 * when intact, 1 when a problem was found (err names the first), -1 when
 * the database cannot be read. Everything is read in one read transaction,
 * so a daemon appending meanwhile is seen at one moment; the checkpoint
 * signatures are checked on a second thread while the chain is hashed.
 */
int
journal_verify(struct db *db, struct trust *trust, FILE *out, struct error *err)
{
	char prev[DIGEST_HEX_LEN + 1] = JOURNAL_ZERO, h[DIGEST_HEX_LEN + 1];
	struct journal_clock clk = {0, 0, 0};
	struct journal_sigq q;
	struct checkpoint c;
	struct error e2 = {0};
	struct trust *own = NULL, *t;
	sqlite3_stmt *cst, *st = NULL, *hq = NULL;
	int64_t last, ncp = 0;
	size_t i;
	int stored = 0, threaded = 0, txn, rc = 1;

	if ((txn = sqlite3_get_autocommit(db->h)) != 0 &&
	    db_exec(db, "BEGIN", err) == -1)
		return -1;
	if (trust == NULL)
		own = journal_own_trust(db, &stored);
	t = trust != NULL ? trust : own;
	cst =
	    db_prepare(db, "SELECT id, text, cms FROM checkpoints ORDER BY id");
	if (t != NULL && journal_sigq_start(&q, t, cst) == 0)
		threaded = 1;
	last = journal_verify_chain(
	    db, threaded ? &q : NULL, cst, prev, &clk, err);
	if (threaded)
		journal_sigq_end(&q, cst, last < 0);
	db_finalize(cst);
	if (last < 0) {
		rc = last == -2 ? -1 : 1;
		goto out;
	}
	fprintf(
	    out, "chain: %" PRId64 " entries intact, head %s\n", last, prev);
	if (clk.n > 0)
		fprintf(out,
		    "time: the entries' times go back %" PRId64 " time(s), "
		    "first at entry %" PRId64 ", by at most %" PRId64 " s: "
		    "the gateway's clock was set back (the order of the "
		    "chain stands)\n",
		    clk.n, clk.first, clk.most);
	if (own != NULL)
		fprintf(out, "checkpoints: signer checked against the "
		             "certificate stored in the database, not "
		             "an independent anchor (give --trust "
		             "CERT)\n");
	else if (stored)
		fprintf(out, "checkpoints: the certificate stored in "
		             "the database cannot be used (give "
		             "--trust CERT)\n");

	/* in order, as if alone: the thread's verdicts stand for signatures */
	st =
	    db_prepare(db, "SELECT id, text, cms FROM checkpoints ORDER BY id");
	hq = db_prepare(db, "SELECT hash FROM journal WHERE seq = ?");
	for (i = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; i++) {
		int64_t id = sqlite3_column_int64(st, 0);
		const unsigned char *text = sqlite3_column_blob(st, 1);
		size_t tl = (size_t)sqlite3_column_bytes(st, 1);
		const void *cms = sqlite3_column_blob(st, 2);
		size_t cl = (size_t)sqlite3_column_bytes(st, 2);

		rc = 1;
		if (journal_checkpoint_parse(text, tl, &c) == -1) {
			err_set(err, ERR_NONE,
			    "checkpoint %" PRId64 ": malformed signed text",
			    id);
			goto out;
		}
		if (t != NULL && journal_cp_verdict(threaded ? &q : NULL, i, t,
		                     text, tl, cms, cl, &c, &e2) == -1) {
			err_set(err, ERR_NONE,
			    "checkpoint %" PRId64 " (entry %" PRId64
			    "): signature: %s",
			    id, c.entry, e2.text);
			goto out;
		}
		if (c.entry > last) {
			err_set(err, ERR_NONE,
			    "checkpoint %" PRId64 " covers entry %" PRId64
			    " but the journal ends at "
			    "entry %" PRId64 " (tail truncated)",
			    id, c.entry, last);
			goto out;
		}
		sqlite3_bind_int64(hq, 1, c.entry);
		h[0] = '\0';
		if (sqlite3_step(hq) == SQLITE_ROW)
			snprintf(h, sizeof h, "%s",
			    (const char *)sqlite3_column_text(hq, 0));
		sqlite3_reset(hq);
		if (strcmp(h, c.head) != 0) {
			err_set(err, ERR_NONE,
			    "checkpoint %" PRId64 ": entry %" PRId64
			    " has another hash than the "
			    "signed head (history rewritten)",
			    id, c.entry);
			goto out;
		}
		ncp++;
	}
	if (rc != SQLITE_DONE) {
		rc = db_set_err(db, err, "reading the checkpoints");
		goto out;
	}
	fprintf(out, "checkpoints: %" PRId64 " valid%s\n", ncp,
	    t != NULL ? ", signatures verified"
	              : " (signatures not checked: no certificate)");
	rc = 0;
out:
	db_finalize(st);
	db_finalize(hq);
	if (txn)
		db_rollback(db);
	trust_free(own);
	return rc;
}
