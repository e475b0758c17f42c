/*
 * journal.c: the append-only, hash-chained exchange journal. Each row's hash
 * is Streebog-256 over the previous row's hash and a canonical encoding of
 * the row; checkpoints sign the head with the gateway's key.
 */
#include "config.h"

#include <inttypes.h>
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

/* Feed one length-prefixed field ("-" for NULL) into the digest. */
static void
journal_field(struct digest *d, const char *s)
{
	char len[24];

	if (s == NULL) {
		digest_update(d, "-\n", 2);
		return;
	}
	snprintf(len, sizeof len, "%zu:", strlen(s));
	digest_update(d, len, strlen(len));
	digest_update(d, s, strlen(s));
	digest_update(d, "\n", 1);
}

/*
 * The hash of a row: Streebog-256 of "posgw-journal 1\n", the previous hash,
 * and seq, at, kind, package, appeal, detail each as "<len>:<bytes>\n".
 */
void
journal_row_hash(const char *prev, int64_t seq, int64_t at, const char *kind,
    const char *package, const char *appeal, const char *detail, char *out)
{
	struct digest d;
	char num[32];

	digest_init(&d, DIGEST_STREEBOG256);
	digest_update(&d, "posgw-journal 1\n", 16);
	journal_field(&d, prev);
	snprintf(num, sizeof num, "%" PRId64, seq);
	journal_field(&d, num);
	snprintf(num, sizeof num, "%" PRId64, at);
	journal_field(&d, num);
	journal_field(&d, kind);
	journal_field(&d, package);
	journal_field(&d, appeal);
	journal_field(&d, detail);
	digest_final_hex(&d, out);
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
	sqlite3_finalize(st);
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

/* Entries since the last checkpoint, and when it was made (0 if never). */
int64_t
journal_since_checkpoint(struct db *db, time_t *last)
{
	char hash[DIGEST_HEX_LEN + 1];
	int64_t head = journal_head(db, hash);
	int64_t covered = db_int(db, "SELECT MAX(entry) FROM checkpoints", 0);

	*last = (time_t)db_int(db, "SELECT MAX(at) FROM checkpoints", 0);
	return head - covered;
}

/* Parse the signed checkpoint text; -1 unless it is exactly well-formed. */
int
checkpoint_parse(const unsigned char *buf, size_t len, struct checkpoint *c)
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
	time_format(c->at, tc, sizeof tc);
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
	time_t now = time(NULL);
	int n, rc;

	entry = journal_head(db, head);
	if (entry == 0 ||
	    db_int(db, "SELECT MAX(entry) FROM checkpoints", 0) >= entry)
		return 0;
	time_format(now, t, sizeof t);
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

/*
 * Verify the chain and every checkpoint; print findings to out. Returns 0
 * when intact, 1 when a problem was found (err names the first), -1 when
 * the database cannot be read.
 */
int
journal_verify(struct db *db, struct trust *trust, FILE *out, struct error *err)
{
	char prev[DIGEST_HEX_LEN + 1] = JOURNAL_ZERO, hash[DIGEST_HEX_LEN + 1];
	struct checkpoint c;
	struct sig_info si;
	struct error e2;
	sqlite3_stmt *st;
	int64_t expect = 1, seq, ncp = 0, last = 0;
	const char *txt;
	char *owncert;
	struct trust *own = NULL;
	int rc;

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
		journal_row_hash(prev, seq, sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5), hash);
		txt = (const char *)sqlite3_column_text(st, 7);
		if (txt == NULL || strcmp(txt, hash) != 0) {
			err_set(err, ERR_NONE,
			    "entry %" PRId64
			    ": content does not match its hash "
			    "(entry altered)",
			    seq);
			goto bad;
		}
		memcpy(prev, hash, sizeof prev);
		expect++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_set_err(db, err, "reading the journal");
	last = expect - 1;
	fprintf(
	    out, "chain: %" PRId64 " entries intact, head %s\n", last, prev);

	if (trust == NULL &&
	    (owncert = db_meta_get(db, "certificate")) != NULL) {
		/* Without an auditor's anchor, check against the stored cert. */
		char tmpl[] = "/tmp/posgw-cert-XXXXXX";
		int fd = mkstemp(tmpl);
		if (fd != -1) {
			if (write(fd, owncert, strlen(owncert)) ==
			    (ssize_t)strlen(owncert)) {
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
		free(owncert);
		if (own != NULL)
			fprintf(out, "checkpoints: signer checked against the "
			             "certificate stored in the database, not "
			             "an independent anchor (give --trust "
			             "CERT)\n");
		else
			fprintf(out, "checkpoints: the certificate stored in "
			             "the database cannot be used (give "
			             "--trust CERT)\n");
	}
	st =
	    db_prepare(db, "SELECT id, text, cms FROM checkpoints ORDER BY id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const unsigned char *t = sqlite3_column_blob(st, 1);
		size_t tl = (size_t)sqlite3_column_bytes(st, 1);
		const void *cms = sqlite3_column_blob(st, 2);
		size_t cl = (size_t)sqlite3_column_bytes(st, 2);
		char h[DIGEST_HEX_LEN + 1];
		sqlite3_stmt *q;

		if (checkpoint_parse(t, tl, &c) == -1) {
			err_set(err, ERR_NONE,
			    "checkpoint %" PRId64 ": malformed signed text",
			    id);
			goto badcp;
		}
		if (trust != NULL || own != NULL) {
			err_clear(&e2);
			if (sig_verify_named("checkpoint signature",
			        "the checkpoint text", trust ? trust : own, t,
			        tl, cms, cl, c.gateway, time(NULL),
			        SIG_ALLOW_ALL, &si, &e2) == -1) {
				err_set(err, ERR_NONE,
				    "checkpoint %" PRId64 " (entry %" PRId64
				    "): signature: %s",
				    id, c.entry, e2.text);
				goto badcp;
			}
		}
		if (c.entry > last) {
			err_set(err, ERR_NONE,
			    "checkpoint %" PRId64 " covers entry %" PRId64
			    " but the journal ends at "
			    "entry %" PRId64 " (tail truncated)",
			    id, c.entry, last);
			goto badcp;
		}
		q = db_prepare(db, "SELECT hash FROM journal WHERE seq = ?");
		sqlite3_bind_int64(q, 1, c.entry);
		h[0] = '\0';
		if (sqlite3_step(q) == SQLITE_ROW)
			snprintf(h, sizeof h, "%s",
			    (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
		if (strcmp(h, c.head) != 0) {
			err_set(err, ERR_NONE,
			    "checkpoint %" PRId64 ": entry %" PRId64
			    " has another hash than the "
			    "signed head (history rewritten)",
			    id, c.entry);
			goto badcp;
		}
		ncp++;
	}
	sqlite3_finalize(st);
	trust_free(own);
	fprintf(out, "checkpoints: %" PRId64 " valid%s\n", ncp,
	    (trust || own) ? ", signatures verified"
	                   : " (signatures not checked: no certificate)");
	return 0;
badcp:
	sqlite3_finalize(st);
	trust_free(own);
	return 1;
bad:
	sqlite3_finalize(st);
	return 1;
}
