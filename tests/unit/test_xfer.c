/*
 * test_xfer.c: the transfer engine in-process: two engines (edge-01 and
 * core-01) exchanging through two folders, driven step by step.
 */
#include "config.h"

#include <inttypes.h>

#include "testutil.h"

#include "db.h"
#include "digest.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "schema.h"
#include "xfer.h"

#define APPEAL TESTDATA "/examples/appeal.xml"
#define ATT_PATH "payload/att/177073571-1.bin"
#define ATT "\xff\xd8\xff\xe0" /* 4 bytes, as appeal.xml says */
#define ATT_LEN 4

/* An appeal with its own pos-id and one attachment of size bytes. */
static const char tmpl[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<appeal xmlns=\"urn:posgw:exchange:1\" pos-id=\"%d\" kind=\"message\"\n"
    "        created=\"2026-11-24T08:15:00Z\" due=\"2026-12-08\">\n"
    "  <organization lko-id=\"268828\" oktmo=\"29701000\">Министерство"
    "</organization>\n"
    "  <category code=\"21\">Дороги</category>\n"
    "  <applicant esia-verified=\"true\">\n"
    "    <surname>Иванова</surname>\n"
    "    <name>Мария</name>\n"
    "  </applicant>\n"
    "  <text>Обращение номер %d.</text>\n"
    "  <attachment path=\"payload/att/%d-1.bin\" name=\"photo.jpg\" "
    "media-type=\"image/jpeg\" size=\"%zu\"/>\n"
    "</appeal>\n";

/* Key pairs of both gateways, made once. */
static struct {
	char *dir;
	char *ekey, *ecert, *ckey, *ccert;
} G;

/* Per test: the directories and both engines' configurations. */
struct fix {
	char *dir, *estate, *cstate, *e2c, *c2e, *src;
	struct xfer_config e, c;
	struct xfer *ex, *cx;
};

/* Generate both key pairs. */
static int
group_setup(void **state)
{
	tu_init();
	log_set_level(LOG_LEVEL_ERROR);
	G.dir = tu_mkdtemp();
	tu_keys(G.dir, "edge-01", KEY_GOST256, &G.ekey, &G.ecert);
	tu_keys(G.dir, "core-01", KEY_GOST256, &G.ckey, &G.ccert);
	return 0;
}

/* Remove the keys. */
static int
group_teardown(void **state)
{
	free(G.ekey);
	free(G.ecert);
	free(G.ckey);
	free(G.ccert);
	schema_free();
	return tu_rmdir(G.dir) == 0 ? 0 : -1;
}

/* Directories, and configurations with the folders crossed over. */
static int
fix_setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);

	f->dir = tu_mkdtemp();
	f->estate = tu_path(f->dir, "edge-state");
	f->cstate = tu_path(f->dir, "core-state");
	f->e2c = tu_path(f->dir, "edge-to-core");
	f->c2e = tu_path(f->dir, "core-to-edge");
	f->src = tu_path(f->dir, "src");
	assert_int_equal(mkdir(f->e2c, 0700), 0);
	assert_int_equal(mkdir(f->c2e, 0700), 0);
	assert_int_equal(mkdir(f->src, 0700), 0);

	xfer_config_default(&f->e);
	f->e.own_id = "edge-01";
	f->e.peer_id = "core-01";
	f->e.key = G.ekey;
	f->e.cert = G.ecert;
	f->e.trust[0] = G.ccert;
	f->e.ntrust = 1;
	f->e.state_dir = f->estate;
	f->e.inbox = f->c2e;
	f->e.outbox = f->e2c;
	f->e.max_wait_ms = 0;
	f->e.receipt_delay = 0;
	f->e.scan_interval = 0; /* every step scans: no inotify loop here */

	f->c = f->e;
	f->c.own_id = "core-01";
	f->c.peer_id = "edge-01";
	f->c.key = G.ckey;
	f->c.cert = G.ccert;
	f->c.trust[0] = G.ecert;
	f->c.state_dir = f->cstate;
	f->c.inbox = f->e2c;
	f->c.outbox = f->c2e;
	*state = f;
	return 0;
}

/* Close what is open and remove everything. */
static int
fix_teardown(void **state)
{
	struct fix *f = *state;
	int rc;

	xfer_close(f->ex);
	xfer_close(f->cx);
	free(f->estate);
	free(f->cstate);
	free(f->e2c);
	free(f->c2e);
	free(f->src);
	rc = tu_rmdir(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Open an engine; must succeed. */
static struct xfer *
open_ok(const struct xfer_config *c)
{
	struct error err = {0};
	struct xfer *x;

	err_clear(&err);
	if ((x = xfer_open(c, 0, &err)) == NULL)
		fail_msg("xfer_open %s: %s", c->own_id, err.text);
	return x;
}

/* Open an engine; must fail with needle in the error. */
static void
open_fails(const struct xfer_config *c, const char *needle)
{
	struct error err = {0};
	struct xfer *x;

	err_clear(&err);
	if ((x = xfer_open(c, 0, &err)) != NULL) {
		xfer_close(x);
		fail_msg("xfer_open %s succeeded", c->own_id);
	}
	if (strstr(err.text, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.text, needle);
}

/* An integer from a printf-formatted query. */
static int64_t __attribute__((format(printf, 2, 3)))
q_int(struct xfer *x, const char *fmt, ...)
{
	va_list ap;
	int64_t v;
	char *sql;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) == -1)
		fail_msg("vasprintf");
	va_end(ap);
	v = db_int(xfer_db(x), sql, -1);
	free(sql);
	return v;
}

/* A text from a printf-formatted query, malloc'd, or NULL. */
static char *__attribute__((format(printf, 2, 3)))
q_text(struct xfer *x, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	char *sql, *v = NULL;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) == -1)
		fail_msg("vasprintf");
	va_end(ap);
	st = db_prepare(xfer_db(x), sql);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	db_finalize(st);
	free(sql);
	return v;
}

/* Run SQL on an engine's database; must succeed. */
static void
sql_ok(struct xfer *x, const char *sql)
{
	struct error err = {0};

	err_clear(&err);
	if (db_exec(xfer_db(x), sql, &err) == -1)
		fail_msg("%s: %s", sql, err.text);
}

/* Enqueue in a transaction of its own; returns 0 or -1 with err filled. */
static int
enqueue(struct xfer *x, const char *pos, const void *xml, size_t len,
    const struct xfer_file *files, size_t nfiles, struct error *err)
{
	err_clear(err);
	if (db_begin(xfer_db(x), err) == -1)
		return -1;
	if (spool_enqueue(x, "appeal", pos, xml, len, files, nfiles, err) ==
	    -1) {
		db_rollback(xfer_db(x));
		return -1;
	}
	return db_commit(xfer_db(x), err);
}

/* Enqueue the example appeal with its attachment; must succeed. */
static void
enqueue_example(struct fix *f, struct xfer *x)
{
	char *xml, *att = tu_path(f->src, "att.bin");
	struct xfer_file file = {ATT_PATH, att, 0, NULL};
	struct error err = {0};
	size_t len;

	tu_write_file(att, ATT, ATT_LEN);
	xml = tu_read_file(APPEAL, &len);
	if (enqueue(x, "177073571", xml, len, &file, 1, &err) == -1)
		fail_msg("enqueue: %s", err.text);
	free(xml);
	free(att);
}

/* Enqueue appeal number n with an attachment of its own; must succeed. */
static void
enqueue_nth(struct fix *f, struct xfer *x, int n)
{
	char xml[4096], path[64], pos[16], body[64], *att;
	struct xfer_file file;
	struct error err = {0};
	int blen;

	blen = snprintf(body, sizeof body, "attachment of %d", n);
	snprintf(xml, sizeof xml, tmpl, n, n, n, (size_t)blen);
	snprintf(path, sizeof path, "payload/att/%d-1.bin", n);
	snprintf(pos, sizeof pos, "%d", n);
	att = tu_path(f->src, pos);
	tu_write_file(att, body, (size_t)blen);
	file.path = path;
	file.src = att;
	file.take = 0;
	if (enqueue(x, pos, xml, strlen(xml), &file, 1, &err) == -1)
		fail_msg("enqueue %d: %s", n, err.text);
	free(att);
}

/* One xfer_step; returns what it did. */
static int
step(struct xfer *x)
{
	int did = 0;

	if (xfer_step(x, &did) == -1)
		fail_msg("xfer_step failed");
	return did;
}

/* The single entry of dir (malloc'd); fails unless there is exactly one. */
static char *
only_entry(const char *dir)
{
	struct dirent *de;
	char *name = NULL;
	DIR *d;

	assert_int_equal(tu_dir_count(dir, 0), 1);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			name = xstrdup(de->d_name);
	closedir(d);
	assert_non_null(name);
	return name;
}

/* Two files have the same bytes. */
static void
assert_same_file(const char *a, const char *b)
{
	size_t la, lb;
	char *sa = tu_read_file(a, &la), *sb = tu_read_file(b, &lb);

	assert_int_equal(la, lb);
	assert_memory_equal(sa, sb, la);
	free(sa);
	free(sb);
}

/* journal_verify against a certificate must pass. */
static void
assert_journal_ok(struct xfer *x, const char *cert)
{
	struct trust *t = tu_trust(cert);
	struct error err = {0};
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);
	int rc;

	err_clear(&err);
	rc = journal_verify(xfer_db(x), t, fp, &err);
	fclose(fp);
	if (rc != 0)
		fail_msg("journal: %s\n%s", err.text, out);
	assert_non_null(strstr(out, "signatures verified"));
	free(out);
	trust_free(t);
}

/*
 * A taken attachment (the edge removes the adapter's file after commit) is
 * linked into the store, not copied; a kept one (an operator's file, which
 * may change later) is copied, so changing the source cannot reach the
 * store. Regression: spoolgen rewrote its source after a linked enqueue.
 */
static void
test_enqueue_take_links(void **state)
{
	struct fix *f = *state;
	char *xml, *att = tu_path(f->src, "att.bin");
	char *kept = tu_path(f->src, "kept.bin"), hex[DIGEST_HEX_LEN + 1];
	struct xfer_file take = {ATT_PATH, att, 1, NULL};
	struct xfer_file keep = {ATT_PATH, kept, 0, NULL};
	char other[ATT_LEN];
	struct stat a, b;
	struct error err = {0};
	size_t len;

	f->ex = open_ok(&f->e);
	tu_write_file(att, ATT, ATT_LEN);
	xml = tu_read_file(APPEAL, &len);
	if (enqueue(f->ex, "177073571", xml, len, &take, 1, &err) == -1)
		fail_msg("enqueue: %s", err.text);
	digest_mem_hex(DIGEST_STREEBOG256, ATT, ATT_LEN, hex);
	assert_int_equal(stat(att, &a), 0);
	assert_int_equal(stat(store_path(f->ex, hex), &b), 0);
	assert_true(a.st_ino == b.st_ino);

	/* same size as the document says, other bytes */
	memcpy(other, ATT, ATT_LEN);
	other[0] ^= 0x55;
	tu_write_file(kept, other, ATT_LEN);
	free(xml);
	xml = tu_read_file(APPEAL, &len);
	if (enqueue(f->ex, "177073571", xml, len, &keep, 1, &err) == -1)
		fail_msg("enqueue of a kept file: %s", err.text);
	digest_mem_hex(DIGEST_STREEBOG256, other, ATT_LEN, hex);
	assert_int_equal(stat(kept, &a), 0);
	assert_int_equal(stat(store_path(f->ex, hex), &b), 0);
	assert_true(a.st_ino != b.st_ino);
	/* the operator edits the file: the stored copy keeps its bytes */
	tu_write_file(kept, "edited", 6);
	assert_int_equal(stat(store_path(f->ex, hex), &b), 0);
	assert_int_equal(b.st_size, ATT_LEN);
	free(xml);
	free(att);
	free(kept);
}

/*
 * A digest computed ahead (store_hash_known, the edge's custody workers) is
 * used only while the linked file is the one hashed: with its identity
 * changed, the store hashes the file itself and never records the stale
 * digest.
 */
static void
test_enqueue_known_hash(void **state)
{
	struct fix *f = *state;
	char *xml, *att = tu_path(f->src, "att.bin"), hex[DIGEST_HEX_LEN + 1];
	struct xfer_hash h;
	struct xfer_file take = {ATT_PATH, att, 1, &h};
	struct stat a, b;
	struct error err = {0};
	size_t len;

	f->ex = open_ok(&f->e);
	tu_write_file(att, ATT, ATT_LEN);
	digest_mem_hex(DIGEST_STREEBOG256, ATT, ATT_LEN, hex);
	if (store_hash_known(att, &h, &err) == -1)
		fail_msg("store_hash_known: %s", err.text);
	assert_string_equal(h.hex, hex);
	assert_int_equal(h.size, ATT_LEN);
	xml = tu_read_file(APPEAL, &len);
	if (enqueue(f->ex, "177073571", xml, len, &take, 1, &err) == -1)
		fail_msg("enqueue: %s", err.text);
	assert_int_equal(stat(att, &a), 0);
	assert_int_equal(stat(store_path(f->ex, hex), &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_int_equal(q_int(f->ex,
	                     "SELECT COUNT(*) FROM files WHERE"
	                     " digest = '%s'",
	                     hex),
	    1);

	/* a stale digest (the file changed since): not trusted */
	memset(h.hex, '0', DIGEST_HEX_LEN);
	h.mtime_ns++;
	if (enqueue(f->ex, "177073571", xml, len, &take, 1, &err) == -1)
		fail_msg("enqueue with a stale digest: %s", err.text);
	assert_int_equal(q_int(f->ex,
	                     "SELECT COUNT(*) FROM files WHERE"
	                     " digest = '%s'",
	                     hex),
	    2);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM files WHERE"
	                              " digest LIKE '0000%%'"),
	    0);
	free(xml);
	free(att);
}

/* Enqueue refuses bad documents and bad attachment lists, storing nothing. */
static void
test_enqueue_refuses(void **state)
{
	struct fix *f = *state;
	char *xml, *bad, *tmp, *att = tu_path(f->src, "att.bin");
	char *missing = tu_path(f->src, "missing.bin");
	char *extra = tu_path(f->src, "extra.bin");
	struct xfer_file one = {ATT_PATH, att, 0, NULL};
	struct xfer_file gone = {ATT_PATH, missing, 0, NULL};
	struct xfer_file two[] = {
	    {ATT_PATH, att, 0, NULL}, {"payload/att/x.bin", extra, 0, NULL}};
	struct error err = {0};
	size_t len;

	f->ex = open_ok(&f->e);
	tu_write_file(att, ATT, ATT_LEN);
	tu_write_file(extra, "x", 1);
	xml = tu_read_file(APPEAL, &len);

	/* fails the schema: no <text> */
	tmp = tu_replace(xml, "<text>", "<txt>");
	bad = tu_replace(tmp, "</text>", "</txt>");
	free(tmp);
	assert_int_equal(
	    enqueue(f->ex, "1", bad, strlen(bad), &one, 1, &err), -1);
	assert_int_equal(err.code, ERR_PAYLOAD);
	free(bad);
	/* not even XML */
	assert_int_equal(enqueue(f->ex, "1", "<appeal", 7, &one, 1, &err), -1);
	assert_int_equal(err.code, ERR_PAYLOAD);
	/* the attachment's file is missing */
	assert_int_equal(enqueue(f->ex, "1", xml, len, &gone, 1, &err), -1);
	assert_non_null(strstr(err.text, "cannot read"));
	assert_non_null(strstr(err.text, missing));
	/* the document references a file that is not given */
	assert_int_equal(enqueue(f->ex, "1", xml, len, NULL, 0, &err), -1);
	assert_non_null(strstr(
	    err.text, "references " ATT_PATH ", which is not in the package"));
	/* a file given that no document references */
	assert_int_equal(enqueue(f->ex, "1", xml, len, two, 2, &err), -1);
	assert_non_null(
	    strstr(err.text, "payload/att/x.bin: attachment referenced by no "
	                     "document"));
	/* the size the document states must be the file's */
	tu_write_file(att, "12345", 5);
	assert_int_equal(enqueue(f->ex, "1", xml, len, &one, 1, &err), -1);
	assert_non_null(strstr(err.text, "has size 4 in the document but 5"));
	/* not a gateway path */
	tu_write_file(att, ATT, ATT_LEN);
	one.path = "../att.bin";
	assert_int_equal(enqueue(f->ex, "1", xml, len, &one, 1, &err), -1);

	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM documents"), 0);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM files"), 0);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM journal WHERE"
	                              " kind = 'document.queued'"),
	    0);
	spool_pack(f->ex, 1, NULL);
	assert_int_equal(tu_dir_count(f->e2c, 0), 0);

	/* and the good one goes in */
	one.path = ATT_PATH;
	assert_int_equal(
	    enqueue(f->ex, "177073571", xml, len, &one, 1, &err), 0);
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                 " direction = 'out' AND kind = 'appeal'"
	                 " AND pos_id = '177073571' AND package_id"
	                 " IS NULL AND path LIKE 'payload/appeal-%%.xml'"),
	    1);
	free(xml);
	free(att);
	free(missing);
	free(extra);
}

/* An appeal goes edge -> core and the receipt comes back, in-process. */
static void
test_exchange(void **state)
{
	struct fix *f = *state;
	char hex[DIGEST_HEX_LEN + 1], sender[33], uuid[37];
	char *name, *p, *q, *s, *digest, *cname;
	uint64_t seq;
	int64_t pid;

	f->ex = open_ok(&f->e);
	f->cx = open_ok(&f->c);
	enqueue_example(f, f->ex);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM files WHERE"
	                              " digest = (SELECT digest FROM files)"),
	    1);

	/* the edge packs it as seq 1 and keeps a copy */
	assert_true(step(f->ex) >= 1);
	name = only_entry(f->e2c);
	assert_int_equal(pkg_name_parse(name, sender, &seq, uuid), 0);
	assert_string_equal(sender, "edge-01");
	assert_int_equal(seq, 1);
	p = tu_path(f->e2c, name);
	xasprintf(&q, "%s/sent/%s", f->estate, name);
	assert_same_file(p, q);
	pid = q_int(f->ex,
	    "SELECT id FROM packages WHERE direction = 'out'"
	    " AND seq = 1 AND state = 'sent' AND control = 0"
	    " AND offers = 1 AND uuid = '%s'",
	    uuid);
	assert_true(pid > 0);
	s = q_text(f->ex, "SELECT name FROM packages WHERE id = %" PRId64, pid);
	assert_string_equal(s, name);
	free(s);
	assert_int_equal(q_int(f->ex, "SELECT package_id FROM documents WHERE"
	                              " kind = 'appeal'"),
	    pid);
	assert_int_equal(q_int(f->ex,
	                     "SELECT length(manifest_digest) FROM"
	                     " packages WHERE id = %" PRId64,
	                     pid),
	    64);

	/* the core imports it, stores the attachment, answers with a receipt */
	assert_true(step(f->cx) >= 1);
	assert_int_equal(tu_dir_count(f->e2c, 0), 0);
	assert_int_equal(q_int(f->cx, "SELECT COUNT(*) FROM packages WHERE"
	                              " direction = 'in' AND state = 'accepted'"
	                              " AND sender = 'edge-01' AND seq = 1"),
	    1);
	assert_int_equal(q_int(f->cx, "SELECT COUNT(*) FROM documents WHERE"
	                              " direction = 'in' AND kind = 'appeal'"
	                              " AND pos_id = '177073571'"),
	    1);
	digest_mem_hex(DIGEST_STREEBOG256, ATT, ATT_LEN, hex);
	digest = q_text(f->cx, "SELECT f.digest FROM files f JOIN documents d"
	                       " ON d.id = f.document_id WHERE d.pos_id ="
	                       " '177073571' AND f.path = '" ATT_PATH "'");
	assert_non_null(digest);
	assert_string_equal(digest, hex);
	free(digest);
	s = tu_read_file(store_path(f->cx, hex), NULL);
	assert_memory_equal(s, ATT, ATT_LEN);
	free(s);
	free(p);
	xasprintf(&p, "%s/files/%s", f->cstate, hex);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(q_int(f->cx,
	                     "SELECT COUNT(*) FROM documents WHERE"
	                     " direction = 'out' AND kind = 'receipt'"
	                     " AND instr(body, 'package=\"%s\"') > 0"
	                     " AND instr(body, 'result=\"accepted\"')"
	                     " > 0",
	                     uuid),
	    1);
	/* the receipts-only package is out, control, and not kept */
	cname = only_entry(f->c2e);
	assert_non_null(strstr(cname, "core-01.000000000001."));
	assert_int_equal(q_int(f->cx, "SELECT control FROM packages WHERE"
	                              " direction = 'out' AND seq = 1"),
	    1);
	free(q);
	xasprintf(&q, "%s/sent", f->cstate);
	assert_int_equal(tu_dir_count(q, 0), 0);

	/* the edge takes the receipt: delivered, kept copy dropped */
	assert_true(step(f->ex) >= 1);
	assert_int_equal(tu_dir_count(f->c2e, 0), 0);
	s = q_text(
	    f->ex, "SELECT state FROM packages WHERE id = %" PRId64, pid);
	assert_string_equal(s, "delivered");
	free(s);
	assert_true(
	    q_int(f->ex, "SELECT receipted FROM packages WHERE id = %" PRId64,
	        pid) > 0);
	free(q);
	xasprintf(&q, "%s/sent/%s", f->estate, name);
	assert_int_equal(access(q, F_OK), -1);
	assert_int_equal(q_int(f->ex,
	                     "SELECT COUNT(*) FROM journal WHERE kind ="
	                     " 'package.delivered' AND package = '%s'",
	                     name),
	    1);
	/* a control package is not receipted */
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                 " kind = 'receipt' AND direction = 'out'"),
	    0);
	/* quiet now */
	assert_int_equal(step(f->ex), 0);
	assert_int_equal(step(f->cx), 0);
	assert_int_equal(tu_dir_count(f->e2c, 0), 0);
	assert_int_equal(tu_dir_count(f->c2e, 0), 0);

	assert_journal_ok(f->ex, G.ecert);
	assert_journal_ok(f->cx, G.ccert);
	free(p);
	free(q);
	free(name);
	free(cname);
}

/* The latest checkpoint rides along with the next package to the peer. */
static void
test_checkpoint_rides_along(void **state)
{
	struct fix *f = *state;
	char *head, *peer;
	int64_t entry;

	f->ex = open_ok(&f->e);
	f->cx = open_ok(&f->c);
	enqueue_example(f, f->ex);
	assert_int_equal(xfer_checkpoint(f->ex, 1), 0);
	entry = q_int(f->ex, "SELECT entry FROM checkpoints WHERE shipped IS"
	                     " NULL");
	assert_true(entry > 0);
	assert_int_equal(spool_pack(f->ex, 0, NULL), 0);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM checkpoints WHERE"
	                              " shipped IS NULL"),
	    0);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                              " package_id = (SELECT id FROM packages"
	                              " WHERE seq = 1)"),
	    2);
	assert_int_equal(q_int(f->ex, "SELECT control FROM packages WHERE seq ="
	                              " 1"),
	    0);
	step(f->cx);
	head = q_text(f->ex,
	    "SELECT head FROM checkpoints WHERE entry = %" PRId64, entry);
	peer = q_text(f->cx,
	    "SELECT head FROM peer_checkpoints WHERE gateway ="
	    " 'edge-01' AND entry = %" PRId64,
	    entry);
	assert_non_null(peer);
	assert_string_equal(peer, head);
	assert_int_equal(
	    q_int(f->cx, "SELECT COUNT(*) FROM journal WHERE kind ="
	                 " 'peer.checkpoint'"),
	    1);
	/* the checkpoint document does not count as an appeal */
	assert_int_equal(
	    q_int(f->cx, "SELECT COUNT(*) FROM documents WHERE"
	                 " direction = 'in' AND kind = 'checkpoint'"
	                 " AND consumed IS NOT NULL"),
	    1);
	free(head);
	free(peer);
}

/* One document below max_docs waits, unless the pack is forced. */
static void
test_batch_force(void **state)
{
	struct fix *f = *state;
	int did = 0;

	f->e.max_docs = 2;
	f->e.max_wait_ms = 3600000;
	f->ex = open_ok(&f->e);
	enqueue_nth(f, f->ex, 1);
	assert_int_equal(spool_pack(f->ex, 0, &did), 0);
	assert_int_equal(did, 0);
	assert_int_equal(step(f->ex), 0);
	assert_int_equal(tu_dir_count(f->e2c, 0), 0);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM packages"), 0);
	assert_int_equal(spool_pack(f->ex, 1, &did), 0);
	assert_int_equal(did, 1);
	assert_int_equal(tu_dir_count(f->e2c, 0), 1);
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                 " kind = 'appeal' AND package_id ="
	                 " (SELECT id FROM packages WHERE seq = 1)"),
	    1);
	/* the step above signed a checkpoint; it rode along */
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                 " kind = 'checkpoint' AND package_id ="
	                 " (SELECT id FROM packages WHERE seq = 1)"),
	    1);
	/* nothing left: forcing again makes nothing */
	did = 0;
	assert_int_equal(spool_pack(f->ex, 1, &did), 0);
	assert_int_equal(did, 0);
}

/* Five documents with max_docs 2 make three packages of 2, 2 and 1. */
static void
test_batch_split(void **state)
{
	struct fix *f = *state;
	int i, did = 0;

	f->e.max_docs = 2;
	f->ex = open_ok(&f->e);
	for (i = 1; i <= 5; i++)
		enqueue_nth(f, f->ex, i);
	assert_int_equal(spool_pack(f->ex, 0, &did), 0);
	assert_int_equal(did, 3);
	assert_int_equal(tu_dir_count(f->e2c, 0), 3);
	for (i = 1; i <= 3; i++)
		assert_int_equal(q_int(f->ex,
		                     "SELECT COUNT(*) FROM documents d JOIN"
		                     " packages p ON p.id = d.package_id WHERE"
		                     " p.seq = %d",
		                     i),
		    i < 3 ? 2 : 1);
	/* in queue order: the first package holds pos-ids 1 and 2 */
	assert_int_equal(q_int(f->ex, "SELECT group_concat(pos_id, '') FROM"
	                              " (SELECT pos_id FROM documents d JOIN"
	                              " packages p ON p.id = d.package_id WHERE"
	                              " p.seq = 1 ORDER BY d.id)"),
	    12);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(DISTINCT seq) FROM"
	                              " packages WHERE state = 'sent'"),
	    3);
}

/* With a long wait, full batches go and the remainder waits for force. */
static void
test_batch_remainder_waits(void **state)
{
	struct fix *f = *state;
	int i, did = 0;

	f->e.max_docs = 2;
	f->e.max_wait_ms = 3600000;
	f->ex = open_ok(&f->e);
	for (i = 1; i <= 5; i++)
		enqueue_nth(f, f->ex, i);
	assert_int_equal(spool_pack(f->ex, 0, &did), 0);
	assert_int_equal(did, 2);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                              " package_id IS NULL"),
	    1);
	did = 0;
	assert_int_equal(spool_pack(f->ex, 1, &did), 0);
	assert_int_equal(did, 1);
	assert_int_equal(tu_dir_count(f->e2c, 0), 3);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                              " package_id IS NULL"),
	    0);
}

/* max_bytes closes a batch early; a single larger document goes alone. */
static void
test_batch_bytes(void **state)
{
	struct fix *f = *state;
	int i, did = 0;

	f->e.max_bytes = 1;
	f->ex = open_ok(&f->e);
	for (i = 1; i <= 3; i++)
		enqueue_nth(f, f->ex, i);
	assert_int_equal(spool_pack(f->ex, 0, &did), 0);
	assert_int_equal(did, 3);
	assert_int_equal(tu_dir_count(f->e2c, 0), 3);
}

/*
 * backlog_bytes cuts packages while more waits than one takes, and such a
 * package is due at once (it cannot grow); the remainder waits as usual.
 */
static void
test_batch_backlog(void **state)
{
	struct fix *f = *state;
	struct xfer_config c;
	int64_t len;
	int i, did = 0;

	f->e.max_wait_ms = 3600000;
	f->ex = open_ok(&f->e);
	for (i = 1; i <= 5; i++)
		enqueue_nth(f, f->ex, i);
	len = q_int(f->ex, "SELECT MAX(length(body) + COALESCE((SELECT"
	                   " SUM(size) FROM files WHERE document_id ="
	                   " documents.id), 0)) FROM documents");
	c = f->e;
	c.backlog_bytes = (uint64_t)(2 * len + len / 2); /* two per package */
	xfer_reconfigure(f->ex, &c);
	assert_int_equal(spool_pack(f->ex, 0, &did), 0);
	assert_int_equal(did, 2);
	assert_int_equal(tu_dir_count(f->e2c, 0), 2);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM documents WHERE"
	                              " package_id IS NULL"),
	    1);
	/* 0: only max_bytes */
	c.backlog_bytes = 0;
	xfer_reconfigure(f->ex, &c);
	assert_int_equal(spool_cap(f->ex), c.max_bytes);
}

/* A state directory of one gateway is refused to another. */
static void
test_open_identity(void **state)
{
	struct fix *f = *state;
	struct xfer_config c;
	char *own;

	f->ex = open_ok(&f->e);
	xfer_close(f->ex);
	f->ex = NULL;

	/* the core's identity on the edge's state directory */
	c = f->c;
	c.state_dir = f->estate;
	open_fails(&c, "belongs to gateway edge-01, not core-01");
	/* the right gateway with another peer */
	c = f->e;
	c.peer_id = "core-02";
	open_fails(&c, "exchanges with core-01, not core-02");
	/* nothing was changed by the refusals */
	f->ex = open_ok(&f->e);
	own = db_meta_get(xfer_db(f->ex), "own_id");
	assert_string_equal(own, "edge-01");
	free(own);
	own = db_meta_get(xfer_db(f->ex), "peer_id");
	assert_string_equal(own, "core-01");
	free(own);
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM journal WHERE kind ="
	                 " 'gateway.created'"),
	    1);
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM journal WHERE kind ="
	                 " 'certificate.installed'"),
	    1);
}

/* Bad identities and keys are refused before anything is created. */
static void
test_open_bad_config(void **state)
{
	struct fix *f = *state;
	struct xfer_config c;
	char *db;

	c = f->e;
	c.peer_id = "edge-01";
	open_fails(&c, "own id and peer id must be two different gateway ids");
	c = f->e;
	c.own_id = "Edge-01";
	open_fails(&c, "two different gateway ids");
	c = f->e;
	c.key = G.ckey;
	c.cert = G.ccert;
	open_fails(&c, "is for core-01, not for this gateway edge-01");
	c = f->e;
	c.ntrust = 0;
	open_fails(&c, "no trusted peer certificate configured");
	xasprintf(&db, "%s/posgw.db", f->estate);
	assert_int_equal(access(db, F_OK), -1);
	free(db);
}

/* A package left "building" is rebuilt with its name and manifest. */
static void
test_rebuild_building(void **state)
{
	struct fix *f = *state;
	char *name, *name2, *digest, *digest2, *out, *sent, sql[256];
	int64_t pid;
	int did = 0;

	f->ex = open_ok(&f->e);
	enqueue_example(f, f->ex);
	assert_int_equal(spool_pack(f->ex, 1, &did), 0);
	assert_int_equal(did, 1);
	name = only_entry(f->e2c);
	pid = q_int(f->ex, "SELECT id FROM packages WHERE seq = 1");
	digest = q_text(f->ex,
	    "SELECT manifest_digest FROM packages WHERE id ="
	    " %" PRId64,
	    pid);
	assert_non_null(digest);

	/* as if the packer had died before writing anything */
	out = tu_path(f->e2c, name);
	xasprintf(&sent, "%s/sent/%s", f->estate, name);
	assert_int_equal(unlink(out), 0);
	assert_int_equal(unlink(sent), 0);
	snprintf(sql, sizeof sql,
	    "UPDATE packages SET state = 'building', manifest_digest = NULL,"
	    " size = NULL, sent = NULL, offers = 0, last_offer = NULL WHERE"
	    " id = %" PRId64,
	    pid);
	sql_ok(f->ex, sql);
	xfer_close(f->ex);
	f->ex = open_ok(&f->e);

	did = 0;
	assert_int_equal(spool_pack(f->ex, 0, &did), 0);
	name2 = only_entry(f->e2c);
	assert_string_equal(name2, name);
	assert_int_equal(access(sent, F_OK), 0);
	digest2 = q_text(f->ex,
	    "SELECT manifest_digest FROM packages WHERE"
	    " id = %" PRId64 " AND state = 'sent' AND"
	    " offers = 1",
	    pid);
	assert_non_null(digest2);
	assert_string_equal(digest2, digest);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM packages"), 1);
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM journal WHERE kind ="
	                 " 'package.sent'"),
	    2);

	/* and the rebuilt package is a good one */
	f->cx = open_ok(&f->c);
	step(f->cx);
	assert_int_equal(q_int(f->cx,
	                     "SELECT COUNT(*) FROM packages WHERE"
	                     " direction = 'in' AND state = 'accepted'"
	                     " AND manifest_digest = '%s'",
	                     digest),
	    1);
	free(name);
	free(name2);
	free(digest);
	free(digest2);
	free(out);
	free(sent);
}

/* A kept copy written before a crash is offered as is, not rewritten. */
static void
test_rebuild_keeps_written_copy(void **state)
{
	struct fix *f = *state;
	char *name, *out, *sent, *saved, sql[200];

	f->ex = open_ok(&f->e);
	enqueue_example(f, f->ex);
	assert_int_equal(spool_pack(f->ex, 1, NULL), 0);
	name = only_entry(f->e2c);
	out = tu_path(f->e2c, name);
	xasprintf(&sent, "%s/sent/%s", f->estate, name);
	saved = tu_path(f->dir, "saved.pkg");
	assert_int_equal(link(sent, saved), 0);
	assert_int_equal(unlink(out), 0);
	snprintf(sql, sizeof sql,
	    "UPDATE packages SET state = 'building' WHERE name = '%s'", name);
	sql_ok(f->ex, sql);
	xfer_close(f->ex);
	f->ex = open_ok(&f->e);
	assert_int_equal(spool_pack(f->ex, 0, NULL), 0);
	/* the very same bytes (the signature time would differ otherwise) */
	assert_same_file(out, saved);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM packages WHERE"
	                              " state = 'sent'"),
	    1);

	/* a damaged kept copy is rebuilt instead, to the same manifest */
	assert_int_equal(unlink(out), 0);
	assert_int_equal(unlink(sent), 0);
	tu_write_file(sent, "garbage", 7);
	sql_ok(f->ex, "UPDATE packages SET state = 'building'");
	assert_int_equal(spool_pack(f->ex, 0, NULL), 0);
	assert_int_equal(access(out, F_OK), 0);
	assert_int_equal(
	    q_int(f->ex, "SELECT COUNT(*) FROM packages WHERE"
	                 " state = 'sent' AND manifest_digest ="
	                 " (SELECT manifest_digest FROM packages)"),
	    1);
	f->cx = open_ok(&f->c);
	step(f->cx);
	assert_int_equal(q_int(f->cx, "SELECT COUNT(*) FROM packages WHERE"
	                              " direction = 'in' AND state ="
	                              " 'accepted'"),
	    1);
	free(name);
	free(out);
	free(sent);
	free(saved);
}

/*
 * Regression receipt-before-marked-sent: a crash after a package was
 * offered but before it was marked sent left its row "building"; the
 * peer's receipt, taken before the package was finished, was journaled
 * as a repeated receipt and dropped, and the package waited unreceipted
 * for a re-offer. Now it is finished first and the receipt delivers it.
 */
static void
test_receipt_before_marked_sent(void **state)
{
	struct fix *f = *state;
	char *name, *s;

	f->ex = open_ok(&f->e);
	f->cx = open_ok(&f->c);
	enqueue_example(f, f->ex);
	assert_int_equal(spool_pack(f->ex, 1, NULL), 0);
	name = only_entry(f->e2c);
	/* the core takes it and answers with its receipt */
	assert_true(step(f->cx) >= 1);
	assert_int_equal(tu_dir_count(f->c2e, 0), 1);
	/* as if the edge had died between the offer and marking it sent */
	sql_ok(f->ex, "UPDATE packages SET state = 'building', sent = NULL,"
	              " manifest_digest = NULL, size = NULL, offers = 0,"
	              " last_offer = NULL WHERE direction = 'out'");
	xfer_close(f->ex);
	f->ex = open_ok(&f->e);

	assert_true(step(f->ex) >= 1);
	s = q_text(f->ex, "SELECT state FROM packages WHERE name = '%s'", name);
	assert_non_null(s);
	assert_string_equal(s, "delivered");
	free(s);
	assert_true(q_int(f->ex,
	                "SELECT receipted FROM packages WHERE"
	                " name = '%s'",
	                name) > 0);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM journal WHERE"
	                              " kind = 'receipt.again'"),
	    0);
	assert_int_equal(q_int(f->ex, "SELECT COUNT(*) FROM journal WHERE"
	                              " kind = 'package.delivered'"),
	    1);
	/*
	 * finishing offered it again (the core had taken it from e2c); the
	 * receipt that delivered it withdrew that copy from the outbox
	 */
	assert_int_equal(tu_dir_count(f->e2c, 0), 0);
	assert_journal_ok(f->ex, G.ecert);
	free(name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fix_setup, fix_teardown)
	    T(test_enqueue_refuses),
	    T(test_enqueue_take_links),
	    T(test_exchange),
	    T(test_checkpoint_rides_along),
	    T(test_batch_force),
	    T(test_batch_split),
	    T(test_batch_remainder_waits),
	    T(test_batch_bytes),
	    T(test_batch_backlog),
	    T(test_enqueue_known_hash),
	    T(test_open_identity),
	    T(test_open_bad_config),
	    T(test_rebuild_building),
	    T(test_rebuild_keeps_written_copy),
	    T(test_receipt_before_marked_sent),
#undef T
	};

	return cmocka_run_group_tests_name(
	    "test_xfer", tests, group_setup, group_teardown);
}
