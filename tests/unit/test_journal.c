/* test_journal.c: the hash-chained journal, checkpoints and their verifier. */
#include "config.h"

#include <inttypes.h>

#include "testutil.h"

#include "db.h"
#include "digest.h"
#include "journal.h"
#include "log.h"

#define ZERO64                                                                 \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define HEAD1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Keys made once: edge-01, and a second edge-01 key pair nobody trusts. */
static struct {
	char *dir;
	char *key, *cert, *key2, *cert2;
	struct signer *s, *s2;
	struct trust *t, *t2;
} G;

/* Per test: a directory holding j.db, open in db. */
struct fix {
	char *dir;
	struct db *db;
};

/* Generate the key pairs of G. */
static int
group_setup(void **state)
{
	char *sub;

	tu_init();
	log_set_level(LOG_LEVEL_WARN);
	G.dir = tu_mkdtemp();
	tu_keys(G.dir, "edge-01", KEY_GOST256, &G.key, &G.cert);
	sub = tu_path(G.dir, "other");
	tu_keys(sub, "edge-01", KEY_GOST256, &G.key2, &G.cert2);
	free(sub);
	G.s = tu_signer(G.key, G.cert);
	G.s2 = tu_signer(G.key2, G.cert2);
	G.t = tu_trust(G.cert);
	G.t2 = tu_trust(G.cert2);
	return 0;
}

/* Free G. */
static int
group_teardown(void **state)
{
	signer_free(G.s);
	signer_free(G.s2);
	trust_free(G.t);
	trust_free(G.t2);
	free(G.key);
	free(G.cert);
	free(G.key2);
	free(G.cert2);
	return tu_rmdir(G.dir) == 0 ? 0 : -1;
}

/* A fresh database in a fresh directory. */
static int
fix_setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);
	struct error err = {0};
	char *path;

	f->dir = tu_mkdtemp();
	path = tu_path(f->dir, "j.db");
	err_clear(&err);
	if ((f->db = db_open(path, 1, &err)) == NULL)
		fail_msg("db_open: %s", err.text);
	free(path);
	*state = f;
	return 0;
}

/* Close and remove the database of the test. */
static int
fix_teardown(void **state)
{
	struct fix *f = *state;
	int rc;

	db_close(f->db);
	rc = tu_rmdir(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Append n entries of assorted shapes; must succeed. */
static void
append_n(struct db *db, int n)
{
	static const char *const kinds[] = {"document.queued", "package.sent",
	    "package.accepted", "receipt.again"};
	struct error err = {0};
	char pkg[64], detail[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(pkg, sizeof pkg, "edge-01.%012d.pkg", i + 1);
		snprintf(detail, sizeof detail, "detail %d", i);
		err_clear(&err);
		if (journal_append(db, kinds[i % 4], i % 2 ? pkg : NULL,
		        i % 3 ? NULL : "177073571", i % 5 == 4 ? "" : detail,
		        &err) == -1)
			fail_msg("journal_append: %s", err.text);
	}
}

/* Sign a checkpoint with s; must succeed. */
static void
checkpoint_ok(struct db *db, struct signer *s)
{
	struct error err = {0};

	err_clear(&err);
	if (journal_checkpoint(db, s, &err) == -1)
		fail_msg("journal_checkpoint: %s", err.text);
}

/* Run SQL; must succeed. */
static void
exec_ok(struct db *db, const char *sql)
{
	struct error err = {0};

	err_clear(&err);
	if (db_exec(db, sql, &err) == -1)
		fail_msg("%s: %s", sql, err.text);
}

/* Let the test rewrite history, as an intruder would. */
static void
drop_triggers(struct db *db)
{
	exec_ok(db, "DROP TRIGGER journal_no_update;"
	            " DROP TRIGGER journal_no_delete");
}

/* journal_verify with its report in *out (malloc'd) and its error text. */
static int
verify(struct db *db, struct trust *t, char **out, struct error *err)
{
	size_t len = 0;
	FILE *fp;
	int rc;

	*out = NULL;
	fp = open_memstream(out, &len);
	assert_non_null(fp);
	err_clear(err);
	rc = journal_verify(db, t, fp, err);
	assert_int_equal(fclose(fp), 0);
	return rc;
}

/* journal_verify must find a problem whose text contains needle. */
static void
verify_fails(struct db *db, struct trust *t, const char *needle)
{
	struct error err = {0};
	char *out;
	int rc = verify(db, t, &out, &err);

	if (rc != 1)
		fail_msg("journal_verify returned %d, expected 1: %s", rc, out);
	if (strstr(err.text, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.text, needle);
	free(out);
}

/* journal_verify must pass; returns its report (malloc'd). */
static char *
verify_ok(struct db *db, struct trust *t)
{
	struct error err = {0};
	char *out;
	int rc = verify(db, t, &out, &err);

	if (rc != 0)
		fail_msg("journal_verify returned %d: %s", rc, err.text);
	return out;
}

/* A text or blob column of the row of a query (malloc'd, NUL-terminated). */
static unsigned char *
blob(struct db *db, const char *sql, size_t *lenp)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	unsigned char *v;
	size_t len;

	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("no row for %s", sql);
	len = (size_t)sqlite3_column_bytes(st, 0);
	v = xmalloc(len + 1);
	memcpy(v, sqlite3_column_blob(st, 0), len);
	v[len] = '\0';
	db_finalize(st);
	if (lenp != NULL)
		*lenp = len;
	return v;
}

/* A well-formed checkpoint text. */
static const char good_cp[] = "posgw-checkpoint 1\n"
                              "gateway edge-01\n"
                              "entry 17\n"
                              "head " HEAD1 "\n"
                              "time 2026-11-25T10:20:30Z\n";

/* journal_checkpoint_parse of a string (without its NUL). */
static int
parse(const char *s, struct checkpoint *c)
{
	return journal_checkpoint_parse((const unsigned char *)s, strlen(s), c);
}

/* Rows of the journal must differ in hash pairwise. */
static void
assert_all_differ(char h[][DIGEST_HEX_LEN + 1], size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			if (strcmp(h[i], h[k]) == 0)
				fail_msg(
				    "variants %zu and %zu hash alike", i, k);
}

/* The row hash is deterministic, lowercase hex, and covers every field. */
static void
test_row_hash_fields(void **state)
{
	char h[16][DIGEST_HEX_LEN + 1], again[DIGEST_HEX_LEN + 1];
	size_t n = 0;

	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", "a", "d", h[n]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", "a", "d", again);
	assert_string_equal(h[n], again);
	assert_int_equal(strlen(h[n]), DIGEST_HEX_LEN);
	assert_int_equal(strspn(h[n], "0123456789abcdef"), DIGEST_HEX_LEN);
	n++;
	journal_row_hash(HEAD1, 1, 1700000000, "k", "p", "a", "d", h[n++]);
	journal_row_hash(ZERO64, 2, 1700000000, "k", "p", "a", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000001, "k", "p", "a", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "K", "p", "a", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "q", "a", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", "b", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", "a", "e", h[n++]);
	/* NULL and the empty string are different values */
	journal_row_hash(ZERO64, 1, 1700000000, "k", NULL, "a", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "", "a", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", NULL, "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", "", "d", h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", "a", NULL, h[n++]);
	journal_row_hash(ZERO64, 1, 1700000000, "k", "p", "a", "", h[n++]);
	/* moving bytes between fields changes the hash (length prefixes) */
	journal_row_hash(ZERO64, 1, 1700000000, "k", "pa", "", "d", h[n++]);
	journal_row_hash(
	    ZERO64, 1, 1700000000, "k", "p", "a\n1:d", NULL, h[n++]);
	assert_int_equal(n, 16);
	assert_all_differ(h, n);
}

/* The row hash is Streebog-256 of the documented canonical encoding. */
static void
test_row_hash_encoding(void **state)
{
	static const char enc[] = "posgw-journal 1\n"
	                          "64:" HEAD1 "\n"
	                          "2:42\n"
	                          "10:1700000000\n"
	                          "12:package.sent\n"
	                          "-\n"
	                          "9:177073571\n"
	                          "12:Калуга\n";
	char want[DIGEST_HEX_LEN + 1], got[DIGEST_HEX_LEN + 1];

	digest_mem_hex(DIGEST_STREEBOG256, enc, strlen(enc), want);
	journal_row_hash(HEAD1, 42, 1700000000, "package.sent", NULL,
	    "177073571", "Калуга", got);
	assert_string_equal(got, want);
	/* and not SHA-256 of it */
	digest_mem_hex(DIGEST_SHA256, enc, strlen(enc), want);
	assert_string_not_equal(got, want);
}

/* Each entry links to the previous one's hash; the first to 64 zeros. */
static void
test_append_chains(void **state)
{
	struct fix *f = *state;
	char head[DIGEST_HEX_LEN + 1], prev[DIGEST_HEX_LEN + 1] = ZERO64;
	char hash[DIGEST_HEX_LEN + 1];
	struct error err = {0};
	sqlite3_stmt *st;
	int64_t n = 0, now = (int64_t)time(NULL);

	assert_int_equal(journal_head(f->db, head), 0);
	assert_string_equal(head, ZERO64);
	append_n(f->db, 3);
	/* inside a transaction as well */
	err_clear(&err);
	assert_int_equal(db_begin(f->db, &err), 0);
	append_n(f->db, 5);
	assert_int_equal(db_commit(f->db, &err), 0);

	st = db_prepare(f->db, "SELECT seq, at, kind, package, appeal, detail,"
	                       " prev, hash FROM journal ORDER BY seq");
	while (sqlite3_step(st) == SQLITE_ROW) {
		n++;
		assert_int_equal(sqlite3_column_int64(st, 0), n);
		assert_true(sqlite3_column_int64(st, 1) >= now - 5 &&
		            sqlite3_column_int64(st, 1) <= now + 5);
		assert_string_equal(
		    (const char *)sqlite3_column_text(st, 6), prev);
		journal_row_hash(prev, n, sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5), hash);
		assert_string_equal(
		    (const char *)sqlite3_column_text(st, 7), hash);
		memcpy(prev, hash, sizeof prev);
	}
	db_finalize(st);
	assert_int_equal(n, 8);
	/* NULL fields are stored as NULL, empty ones as empty */
	assert_int_equal(
	    db_int(f->db, "SELECT COUNT(*) FROM journal WHERE package IS NULL",
	        -1),
	    5);
	assert_int_equal(
	    db_int(f->db, "SELECT COUNT(*) FROM journal WHERE detail = ''", -1),
	    1);
	assert_int_equal(journal_head(f->db, head), 8);
	assert_string_equal(head, prev);
}

/* An append rolled back with its transaction leaves no gap in seq. */
static void
test_append_rollback(void **state)
{
	struct fix *f = *state;
	char head[DIGEST_HEX_LEN + 1], before[DIGEST_HEX_LEN + 1];
	unsigned char *prev;
	struct error err = {0};

	append_n(f->db, 2);
	journal_head(f->db, before);
	err_clear(&err);
	assert_int_equal(db_begin(f->db, &err), 0);
	append_n(f->db, 2);
	assert_int_equal(journal_head(f->db, head), 4);
	db_rollback(f->db);
	assert_int_equal(journal_head(f->db, head), 2);
	assert_string_equal(head, before);
	append_n(f->db, 1);
	assert_int_equal(journal_head(f->db, head), 3);
	prev = blob(f->db, "SELECT prev FROM journal WHERE seq = 3", NULL);
	assert_string_equal((const char *)prev, before);
	free(prev);
	free(verify_ok(f->db, NULL));
}

/* A checkpoint signs the head; the stored text parses and its CMS verifies. */
static void
test_checkpoint_signs_head(void **state)
{
	struct fix *f = *state;
	char head[DIGEST_HEX_LEN + 1];
	unsigned char *text, *cms, *stored;
	size_t tlen, clen;
	struct checkpoint c;
	struct sig_info si;
	struct error err = {0};
	time_t now = time(NULL);

	/* nothing to sign in an empty journal */
	checkpoint_ok(f->db, G.s);
	assert_int_equal(
	    db_int(f->db, "SELECT COUNT(*) FROM checkpoints", -1), 0);

	append_n(f->db, 3);
	checkpoint_ok(f->db, G.s);
	assert_int_equal(
	    db_int(f->db, "SELECT COUNT(*) FROM checkpoints", -1), 1);
	journal_head(f->db, head);
	text = blob(f->db, "SELECT text FROM checkpoints", &tlen);
	cms = blob(f->db, "SELECT cms FROM checkpoints", &clen);
	assert_int_equal(journal_checkpoint_parse(text, tlen, &c), 0);
	assert_string_equal(c.gateway, "edge-01");
	assert_int_equal(c.entry, 3);
	assert_string_equal(c.head, head);
	assert_true(c.at >= now - 5 && c.at <= now + 5);
	assert_int_equal(db_int(f->db, "SELECT entry FROM checkpoints", -1), 3);
	stored = blob(f->db, "SELECT head FROM checkpoints", NULL);
	assert_string_equal((const char *)stored, head);
	free(stored);
	assert_int_equal(
	    db_int(f->db, "SELECT at FROM checkpoints", -1), (int64_t)c.at);
	assert_true(
	    db_int(f->db, "SELECT shipped IS NULL FROM checkpoints", 0));

	err_clear(&err);
	if (sig_verify(G.t, text, tlen, cms, clen, "edge-01", time(NULL),
	        SIG_ALLOW_ALL, &si, &err) == -1)
		fail_msg("checkpoint signature: %s", err.text);
	assert_string_equal(si.signer, "edge-01");
	assert_string_equal(si.algorithm, "gost256");
	/* the signature is over exactly this text */
	text[tlen - 2] ^= 1;
	err_clear(&err);
	assert_int_equal(sig_verify(G.t, text, tlen, cms, clen, "edge-01",
	                     time(NULL), SIG_ALLOW_ALL, &si, &err),
	    -1);
	/* and does not chain to the other key pair of the same name */
	text[tlen - 2] ^= 1;
	err_clear(&err);
	assert_int_equal(sig_verify(G.t2, text, tlen, cms, clen, "edge-01",
	                     time(NULL), SIG_ALLOW_ALL, &si, &err),
	    -1);
	free(text);
	free(cms);

	/* the head is covered: nothing new */
	checkpoint_ok(f->db, G.s);
	assert_int_equal(
	    db_int(f->db, "SELECT COUNT(*) FROM checkpoints", -1), 1);
	append_n(f->db, 1);
	checkpoint_ok(f->db, G.s);
	assert_int_equal(
	    db_int(f->db, "SELECT COUNT(*) FROM checkpoints", -1), 2);
	assert_int_equal(
	    db_int(f->db, "SELECT MAX(entry) FROM checkpoints", -1), 4);
}

/* journal_since_checkpoint counts entries after the last checkpoint. */
static void
test_since_checkpoint(void **state)
{
	struct fix *f = *state;
	time_t last = 1, now = time(NULL);

	assert_int_equal(journal_since_checkpoint(f->db, &last), 0);
	assert_int_equal(last, 0);
	append_n(f->db, 5);
	assert_int_equal(journal_since_checkpoint(f->db, &last), 5);
	assert_int_equal(last, 0);
	checkpoint_ok(f->db, G.s);
	assert_int_equal(journal_since_checkpoint(f->db, &last), 0);
	assert_true(last >= now - 5 && last <= now + 5);
	append_n(f->db, 2);
	assert_int_equal(journal_since_checkpoint(f->db, &last), 2);
	checkpoint_ok(f->db, G.s);
	assert_int_equal(journal_since_checkpoint(f->db, &last), 0);
}

/* The canonical checkpoint text parses into its fields. */
static void
test_checkpoint_parse_good(void **state)
{
	struct checkpoint c;

	memset(&c, 0, sizeof c);
	assert_int_equal(parse(good_cp, &c), 0);
	assert_string_equal(c.gateway, "edge-01");
	assert_int_equal(c.entry, 17);
	assert_string_equal(c.head, HEAD1);
	assert_int_equal(c.at, 1795602030);
}

/* Every non-canonical variant of the checkpoint text is refused. */
static void
test_checkpoint_parse_variants(void **state)
{
	static const struct {
		const char *old, *new;
	} subst[] = {
	    {"gateway edge-01", "gateway  edge-01"}, /* double space */
	    {"entry 17", "entry  17"},
	    {"entry 17", "entry 017"}, /* leading zero */
	    {"entry 17", "entry +17"}, {"entry 17", "entry 0"},
	    {"entry 17", "entry -17"}, {"entry 17", "entry 17x"},
	    {"entry 17", "entry 99999999999999999999"},
	    {"head 0123456789abcdef", "head 0123456789ABCDEF"},  /* uppercase */
	    {"head 0123456789abcdef", "head 0123456789abcde"},   /* 63 digits */
	    {"head 0123456789abcdef", "head 0123456789abcdefa"}, /* 65 */
	    {"head 0123456789abcdef", "head 0123456789abcdeg"},
	    {"gateway edge-01", "gateway Edge-01"}, /* bad gateway id */
	    {"gateway edge-01", "gateway -edge"},
	    {"gateway edge-01",
	        "gateway a23456789012345678901234567890123"}, /* 33 chars */
	    {"gateway edge-01", "gateway edge_01"},
	    {"posgw-checkpoint 1", "posgw-checkpoint 2"},
	    {"posgw-checkpoint 1\n", ""}, /* no magic line */
	    {"time 2026-11-25T10:20:30Z", "time 2026-11-25 10:20:30"},
	    {"time 2026-11-25T10:20:30Z", "time 1795602030"},
	    {"\ntime", "\nTime"},
	    {"\nentry 17\nhead " HEAD1, "\nhead " HEAD1 "\nentry 17"},
	    {"\n", "\r\n"}, {"Z\n", "Z"},             /* no final newline */
	    {"Z\n", "Z\n\n"},                         /* extra line */
	    {"Z\n", "Z\nextra 1\n"}, {"Z\n", "Z \n"}, /* trailing space */
	};
	struct checkpoint c;
	char buf[1024];
	char *s;
	size_t i;

	for (i = 0; i < sizeof subst / sizeof subst[0]; i++) {
		s = tu_replace(good_cp, subst[i].old, subst[i].new);
		if (parse(s, &c) != -1)
			fail_msg("variant %zu accepted: '%s'", i, s);
		free(s);
	}
	/* a NUL byte anywhere, even at the end of an otherwise good text */
	assert_int_equal(
	    journal_checkpoint_parse(
	        (const unsigned char *)good_cp, sizeof good_cp, &c),
	    -1);
	memcpy(buf, good_cp, sizeof good_cp);
	buf[30] = '\0';
	assert_int_equal(journal_checkpoint_parse(
	                     (const unsigned char *)buf, strlen(good_cp), &c),
	    -1);
	/* empty and over-long */
	assert_int_equal(
	    journal_checkpoint_parse((const unsigned char *)"", 0, &c), -1);
	memset(buf, 'a', sizeof buf);
	memcpy(buf, good_cp, strlen(good_cp));
	assert_int_equal(journal_checkpoint_parse(
	                     (const unsigned char *)buf, sizeof buf, &c),
	    -1);
	assert_int_equal(
	    journal_checkpoint_parse((const unsigned char *)buf, 512, &c), -1);
	/* the text is taken by length, not by a terminator */
	assert_int_equal(
	    journal_checkpoint_parse(
	        (const unsigned char *)good_cp, strlen(good_cp) - 1, &c),
	    -1);
}

/* Calendar-impossible times in the signed text are not canonical either. */
static void
test_checkpoint_parse_time(void **state)
{
	static const char *const bad[] = {"2026-02-30T10:20:30Z",
	    "2026-11-25T10:20:60Z", "2026-11-25T24:00:00Z",
	    "2026-13-25T10:20:30Z", "2026-11-25T10:20:30z"};
	struct checkpoint c;
	size_t i;
	char *s;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s = tu_replace(good_cp, "2026-11-25T10:20:30Z", bad[i]);
		if (parse(s, &c) != -1)
			fail_msg("time %s accepted", bad[i]);
		free(s);
	}
}

/* An intact journal with checkpoints verifies and says what it checked. */
static void
test_verify_intact(void **state)
{
	struct fix *f = *state;
	char head[DIGEST_HEX_LEN + 1], want[160];
	char *out;

	out = verify_ok(f->db, G.t);
	assert_non_null(strstr(out, "chain: 0 entries intact, head " ZERO64));
	assert_non_null(
	    strstr(out, "checkpoints: 0 valid, signatures verified"));
	free(out);

	append_n(f->db, 4);
	checkpoint_ok(f->db, G.s);
	append_n(f->db, 3);
	checkpoint_ok(f->db, G.s);
	append_n(f->db, 2); /* an uncovered tail is fine */
	journal_head(f->db, head);
	out = verify_ok(f->db, G.t);
	snprintf(want, sizeof want, "chain: 9 entries intact, head %s\n", head);
	assert_non_null(strstr(out, want));
	assert_non_null(
	    strstr(out, "checkpoints: 2 valid, signatures verified"));
	free(out);
}

/* An altered row is named as the first bad entry. */
static void
test_verify_altered(void **state)
{
	struct fix *f = *state;

	append_n(f->db, 6);
	drop_triggers(f->db);
	exec_ok(f->db, "UPDATE journal SET detail = 'forged' WHERE seq = 3");
	verify_fails(f->db, NULL, "entry 3: content does not match its hash");
	exec_ok(f->db, "UPDATE journal SET detail = 'forged' WHERE seq = 2");
	verify_fails(f->db, NULL, "entry 2: content does not match its hash");
}

/* Every column of a row is covered: time, kind, NULL-ness, prev, hash. */
static void
test_verify_altered_columns(void **state)
{
	static const struct {
		const char *sql, *needle;
	} cases[] = {
	    {"UPDATE journal SET at = at - 86400 WHERE seq = 4",
	        "entry 4: content"},
	    {"UPDATE journal SET kind = 'package.delivered' WHERE seq = 4",
	        "entry 4: content"},
	    {"UPDATE journal SET package = '' WHERE seq = 3 AND package IS"
	     " NULL",
	        "entry 3: content"},
	    {"UPDATE journal SET prev = hash WHERE seq = 5",
	        "entry 5: its previous-hash does not match entry 4"},
	    {"UPDATE journal SET hash = prev WHERE seq = 6",
	        "entry 6: content"},
	    {"UPDATE journal SET seq = 10 WHERE seq = 6",
	        "entry 10: expected entry 6"},
	};
	struct fix *f = *state;
	size_t i;

	append_n(f->db, 6);
	drop_triggers(f->db);
	exec_ok(f->db, "CREATE TABLE saved AS SELECT * FROM journal");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		exec_ok(f->db, cases[i].sql);
		verify_fails(f->db, NULL, cases[i].needle);
		exec_ok(f->db, "DELETE FROM journal;"
		               " INSERT INTO journal SELECT * FROM saved");
		free(verify_ok(f->db, NULL));
	}
}

/* A deleted middle row is found at the next entry. */
static void
test_verify_deleted(void **state)
{
	struct fix *f = *state;

	append_n(f->db, 6);
	drop_triggers(f->db);
	exec_ok(f->db, "DELETE FROM journal WHERE seq = 3");
	verify_fails(f->db, NULL, "entry 4: expected entry 3");
	/* the first one, too */
	exec_ok(f->db, "DELETE FROM journal WHERE seq = 1");
	verify_fails(f->db, NULL, "entry 2: expected entry 1");
}

/* Two swapped rows break the chain at the first of them. */
static void
test_verify_swapped(void **state)
{
	struct fix *f = *state;

	append_n(f->db, 6);
	drop_triggers(f->db);
	exec_ok(f->db, "UPDATE journal SET seq = -1 WHERE seq = 3;"
	               " UPDATE journal SET seq = 3 WHERE seq = 4;"
	               " UPDATE journal SET seq = 4 WHERE seq = -1");
	verify_fails(
	    f->db, NULL, "entry 3: its previous-hash does not match entry 2");
}

/* Rows deleted from the tail behind a checkpoint are found by it. */
static void
test_verify_truncated(void **state)
{
	struct fix *f = *state;
	char *out;

	append_n(f->db, 6);
	checkpoint_ok(f->db, G.s);
	append_n(f->db, 2);
	drop_triggers(f->db);
	/* entries beyond the last checkpoint are not covered by anything */
	exec_ok(f->db, "DELETE FROM journal WHERE seq > 6");
	out = verify_ok(f->db, G.t);
	assert_non_null(strstr(out, "chain: 6 entries intact"));
	free(out);
	exec_ok(f->db, "DELETE FROM journal WHERE seq >= 5");
	verify_fails(f->db, G.t,
	    "checkpoint 1 covers entry 6 but the journal ends at entry 4 "
	    "(tail truncated)");
	/* without any certificate the tail check still runs */
	verify_fails(f->db, NULL, "covers entry 6 but the journal ends");
}

/* A checkpoint carrying another checkpoint's CMS fails its signature. */
static void
test_verify_cms_swapped(void **state)
{
	struct fix *f = *state;
	struct error err = {0};
	char *out;

	append_n(f->db, 3);
	checkpoint_ok(f->db, G.s);
	append_n(f->db, 3);
	checkpoint_ok(f->db, G.s);
	exec_ok(f->db, "UPDATE checkpoints SET cms = (SELECT cms FROM"
	               " checkpoints WHERE id = 1) WHERE id = 2");
	verify_fails(f->db, G.t, "checkpoint 2 (entry 6): signature: ");
	/* unsigned-checking mode cannot see it, and says so */
	assert_int_equal(verify(f->db, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "signatures not checked: no certificate"));
	assert_null(strstr(out, "signatures verified"));
	free(out);
}

/* A checkpoint signed by an untrusted key of the same name is refused. */
static void
test_verify_foreign_signer(void **state)
{
	struct fix *f = *state;

	append_n(f->db, 3);
	checkpoint_ok(f->db, G.s);
	append_n(f->db, 1);
	checkpoint_ok(f->db, G.s2);
	verify_fails(f->db, G.t, "checkpoint 2 (entry 4): signature: ");
	verify_fails(f->db, G.t2, "checkpoint 1 (entry 3): signature: ");
}

/* A consistently rehashed history passes the chain but not the checkpoint. */
static void
test_verify_rewritten(void **state)
{
	struct fix *f = *state;
	char prev[DIGEST_HEX_LEN + 1] = ZERO64, hash[DIGEST_HEX_LEN + 1];
	char sql[256];
	sqlite3_stmt *st;
	struct error err = {0};
	int64_t seq;

	append_n(f->db, 5);
	checkpoint_ok(f->db, G.s);
	drop_triggers(f->db);
	exec_ok(f->db, "UPDATE journal SET detail = 'rewritten' WHERE seq = 2");
	err_clear(&err);
	assert_int_equal(db_begin(f->db, &err), 0);
	for (seq = 1; seq <= 5; seq++) {
		snprintf(sql, sizeof sql,
		    "SELECT at, kind, package, appeal, detail FROM journal"
		    " WHERE seq = %" PRId64,
		    seq);
		st = db_prepare(f->db, sql);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		journal_row_hash(prev, seq, sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4), hash);
		db_finalize(st);
		snprintf(sql, sizeof sql,
		    "UPDATE journal SET prev = '%s', hash = '%s' WHERE seq ="
		    " %" PRId64,
		    prev, hash, seq);
		exec_ok(f->db, sql);
		memcpy(prev, hash, sizeof prev);
	}
	assert_int_equal(db_commit(f->db, &err), 0);
	verify_fails(f->db, G.t,
	    "checkpoint 1: entry 5 has another hash than the signed head "
	    "(history rewritten)");
	/* without the checkpoint the rewrite is invisible locally */
	exec_ok(f->db, "DELETE FROM checkpoints");
	free(verify_ok(f->db, G.t));
}

/* A stored checkpoint text that is not canonical is reported malformed. */
static void
test_verify_malformed_checkpoint(void **state)
{
	struct fix *f = *state;

	append_n(f->db, 3);
	checkpoint_ok(f->db, G.s);
	exec_ok(f->db, "UPDATE checkpoints SET text = CAST(replace(CAST(text AS"
	               " TEXT), 'entry', 'entry ') AS BLOB)");
	verify_fails(f->db, NULL, "checkpoint 1: malformed signed text");
}

/* "signatures verified" appears only with a trust list or a stored cert. */
static void
test_verify_signature_report(void **state)
{
	struct fix *f = *state;
	struct error err = {0};
	char *out, *pem;

	append_n(f->db, 3);
	checkpoint_ok(f->db, G.s);

	out = verify_ok(f->db, NULL);
	assert_non_null(strstr(out, "checkpoints: 1 valid (signatures not "
	                            "checked: no certificate)"));
	assert_null(strstr(out, "signatures verified"));
	free(out);

	out = verify_ok(f->db, G.t);
	assert_non_null(
	    strstr(out, "checkpoints: 1 valid, signatures verified"));
	assert_null(strstr(out, "stored in the database"));
	free(out);

	/* the certificate stored in the database is used when no anchor */
	pem = tu_read_file(G.cert, NULL);
	err_clear(&err);
	assert_int_equal(db_meta_set(f->db, "certificate", pem, &err), 0);
	free(pem);
	out = verify_ok(f->db, NULL);
	assert_non_null(strstr(out, "signatures verified"));
	assert_non_null(strstr(out, "certificate stored in the database, not "
	                            "an independent anchor"));
	free(out);

	/* ... and really checked: the other key's certificate fails */
	pem = tu_read_file(G.cert2, NULL);
	err_clear(&err);
	assert_int_equal(db_meta_set(f->db, "certificate", pem, &err), 0);
	free(pem);
	verify_fails(f->db, NULL, "checkpoint 1 (entry 3): signature: ");

	/* an unreadable stored certificate does not claim verification */
	assert_int_equal(db_meta_set(f->db, "certificate", "garbage", &err), 0);
	out = verify_ok(f->db, NULL);
	assert_null(strstr(out, "signatures verified"));
	assert_null(strstr(out, "signer checked against"));
	assert_non_null(strstr(out, "stored in the database cannot be used"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_row_hash_fields),
	    cmocka_unit_test(test_row_hash_encoding),
	    cmocka_unit_test(test_checkpoint_parse_good),
	    cmocka_unit_test(test_checkpoint_parse_variants),
	    cmocka_unit_test(test_checkpoint_parse_time),
#define T(f) cmocka_unit_test_setup_teardown(f, fix_setup, fix_teardown)
	    T(test_append_chains),
	    T(test_append_rollback),
	    T(test_checkpoint_signs_head),
	    T(test_since_checkpoint),
	    T(test_verify_intact),
	    T(test_verify_altered),
	    T(test_verify_altered_columns),
	    T(test_verify_deleted),
	    T(test_verify_swapped),
	    T(test_verify_truncated),
	    T(test_verify_cms_swapped),
	    T(test_verify_foreign_signer),
	    T(test_verify_rewritten),
	    T(test_verify_malformed_checkpoint),
	    T(test_verify_signature_report),
#undef T
	};

	return cmocka_run_group_tests_name(
	    "test_journal", tests, group_setup, group_teardown);
}
