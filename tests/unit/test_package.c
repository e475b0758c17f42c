/* test_package.c: the package writer, the verifying reader and extraction. */
#include "config.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <libxml/tree.h>

#include "testutil.h"

#include "digest.h"
#include "keys.h"
#include "manifest.h"
#include "package.h"
#include "schema.h"
#include "sig.h"

#define EXAMPLES TESTDATA "/examples"
#define APPEAL EXAMPLES "/appeal.xml"
#define ATT_PATH "payload/att/177073571-1.bin"
#define ATT "\xff\xd8\xff\xe0" /* 4 bytes, as appeal.xml says */
#define ATT_LEN 4
#define ANSWER_BIN "payload/att/177073571-e3-1.bin"
#define ANSWER_P7S "payload/att/177073571-e3-1.p7s"

/* Writer settings of one test. */
struct param {
	enum key_alg alg;
	enum pkg_compress comp;
	enum digest_alg dig;
};

/* Key pairs for edge-01 of every algorithm, made once for all tests. */
static struct {
	char *dir;
	char *key[4], *cert[4];
	struct signer *s[4];
	struct trust *t[4];
} G;

/* Per test: its settings and a directory with out/, stage/ and x/. */
struct fix {
	struct param prm;
	char *dir, *out, *stage, *x;
};

static const struct param default_param = {
    KEY_GOST256, PKG_COMPRESS_ZSTD, DIGEST_STREEBOG256};

/* Generate the key pairs and trust lists of G. */
static int
group_setup(void **state)
{
	char *sub;
	int i;

	tu_init();
	G.dir = tu_mkdtemp();
	for (i = 0; i < 4; i++) {
		sub = tu_path(G.dir, tu_alg_name((enum key_alg)i));
		tu_keys(sub, "edge-01", (enum key_alg)i, &G.key[i], &G.cert[i]);
		G.s[i] = tu_signer(G.key[i], G.cert[i]);
		G.t[i] = tu_trust(G.cert[i]);
		free(sub);
	}
	return 0;
}

/* Free G and the compiled schemas. */
static int
group_teardown(void **state)
{
	int i;

	for (i = 0; i < 4; i++) {
		signer_free(G.s[i]);
		trust_free(G.t[i]);
		free(G.key[i]);
		free(G.cert[i]);
	}
	schema_free();
	return tu_rmdir(G.dir) == 0 ? 0 : -1;
}

/* Make the per-test directories; *state holds a struct param or NULL. */
static int
pkg_setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);

	f->prm = *state != NULL ? *(struct param *)*state : default_param;
	f->dir = tu_mkdtemp();
	f->out = tu_path(f->dir, "out");
	f->stage = tu_path(f->dir, "stage");
	f->x = tu_path(f->dir, "x");
	assert_int_equal(mkdir(f->out, 0755), 0);
	assert_int_equal(mkdir(f->stage, 0700), 0);
	*state = f;
	return 0;
}

/* Remove the per-test directories. */
static int
pkg_teardown(void **state)
{
	struct fix *f = *state;
	int rc;

	free(f->out);
	free(f->stage);
	free(f->x);
	rc = tu_rmdir(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* A writer with the fixture's settings. */
static struct pkg_writer *
writer(const struct fix *f, uint64_t seq)
{
	return pkg_writer_new(
	    G.s[f->prm.alg], "core-01", seq, f->prm.comp, f->prm.dig);
}

/* Add an entry from memory; must succeed. */
static void
add_mem(struct pkg_writer *w, const char *path, const void *buf, size_t len)
{
	struct error err = {0};

	err_clear(&err);
	if (pkg_writer_add_mem(w, path, buf, len, &err) == -1)
		fail_msg("add %s: %s", path, err.text);
}

/* Add an entry from a file; must succeed. */
static void
add_file(struct pkg_writer *w, const char *path, const char *src)
{
	struct error err = {0};

	err_clear(&err);
	if (pkg_writer_add_file(w, path, src, &err) == -1)
		fail_msg("add %s from %s: %s", path, src, err.text);
}

/* Write w into f->out; must succeed. The file name goes to name. */
static void
write_ok(const struct fix *f, struct pkg_writer *w, char *name)
{
	struct error err = {0};

	err_clear(&err);
	name[0] = '\0';
	if (pkg_writer_write(w, f->out, name, PKG_NAME_MAX, &err) == -1)
		fail_msg("write: %s", err.text);
	assert_true(name[0] != '\0');
}

/* Write w into f->out; must fail and leave f->out empty. */
static void
write_fails(const struct fix *f, struct pkg_writer *w, const char *needle)
{
	char name[PKG_NAME_MAX] = "";
	struct error err = {0};

	err_clear(&err);
	if (pkg_writer_write(w, f->out, name, sizeof name, &err) != -1)
		fail_msg("package %s was written", name);
	if (strstr(err.text, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.text, needle);
	assert_int_equal(tu_dir_count(f->out, 0), 0);
}

/* The appeal package: appeal.xml from a file, its attachment from memory. */
static void
write_appeal(const struct fix *f, uint64_t seq, char *name)
{
	struct pkg_writer *w = writer(f, seq);

	add_file(w, "payload/appeal.xml", APPEAL);
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	write_ok(f, w, name);
	pkg_writer_free(w);
}

/* Receiver options: core-01 trusting the fixture's signer. */
static void
opts(const struct fix *f, struct pkg_verify_opts *o)
{
	pkg_verify_opts_default(o);
	o->own_id = "core-01";
	o->trust = G.t[f->prm.alg];
}

/* Read out/<name>; must succeed. */
static struct pkg *
read_ok(const struct fix *f, const char *name, const struct pkg_verify_opts *o)
{
	char *path = tu_path(f->out, name);
	struct error err = {0};
	struct pkg *p;

	err_clear(&err);
	if ((p = pkg_read(path, f->stage, o, &err)) == NULL)
		fail_msg("%s rejected: %s: %s", name, err_code_name(err.code),
		    err.text);
	free(path);
	return p;
}

/* Read out/<name>; must be rejected with code, leaving stage/ empty. */
static void
read_fails(const struct fix *f, const char *name,
    const struct pkg_verify_opts *o, enum err_code code)
{
	char *path = tu_path(f->out, name);
	struct error err = {0};
	struct pkg *p;

	err_clear(&err);
	if ((p = pkg_read(path, f->stage, o, &err)) != NULL) {
		pkg_free(p);
		fail_msg("%s accepted", name);
	}
	if (err.code != code)
		fail_msg("code %s, expected %s: %s", err_code_name(err.code),
		    err_code_name(code), err.text);
	assert_true(err.text[0] != '\0');
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
	free(path);
}

/* The first bytes of out/<name>. */
static void
head(const struct fix *f, const char *name, unsigned char *buf, size_t len)
{
	char *path = tu_path(f->out, name), *s;
	size_t n;

	s = tu_read_file(path, &n);
	assert_true(n >= len);
	memcpy(buf, s, len);
	free(s);
	free(path);
}

/* Assert an entry (staged file or staged document) holds exactly these bytes. */
static void
assert_staged(
    const struct pkg *p, const struct pkg_entry *e, const void *buf, size_t len)
{
	struct error err = {0};
	unsigned char *d;
	size_t n;
	char *s;

	assert_non_null(e);
	if (e->staged == NULL) {
		/* documents are in the one document file, never in memory */
		assert_null(e->mem);
		assert_int_equal(e->size, len);
		assert_non_null(d = payload_bytes(e, p->docfd, &err));
		assert_memory_equal(d, buf, len);
		free(d);
		return;
	}
	s = tu_read_file(e->staged, &n);
	assert_int_equal(n, len);
	assert_int_equal(e->size, len);
	assert_memory_equal(s, buf, len);
	free(s);
}

/* Assert a checked document parses again into a tree with this root. */
static void
assert_doc(const struct pkg *p, const struct pkg_entry *e, const char *root)
{
	struct error err = {0};
	xmlDocPtr doc;

	assert_non_null(e);
	assert_non_null(e->kind);
	assert_string_equal(e->kind, root);
	assert_null(e->doc);
	assert_non_null(doc = pkg_entry_parse(p, e, &err));
	assert_string_equal(
	    (const char *)xmlDocGetRootElement(doc)->name, root);
	xmlFreeDoc(doc);
}

/* Write and read back the appeal package with one algorithm/filter/digest. */
static void
test_roundtrip(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX], sender[33], uuid[37], hex[DIGEST_HEX_LEN + 1];
	char *appeal, *path;
	const struct pkg_entry *e;
	struct pkg_verify_opts o;
	unsigned char magic[4];
	struct stat sb;
	uint64_t seq;
	size_t alen;
	struct pkg *p;

	write_appeal(f, 42, name);
	assert_int_equal(tu_dir_count(f->out, 0), 1);
	assert_int_equal(tu_dir_count(f->out, 1), 0);
	assert_int_equal(pkg_name_parse(name, sender, &seq, uuid), 0);
	assert_string_equal(sender, "edge-01");
	assert_int_equal(seq, 42);

	head(f, name, magic, sizeof magic);
	switch (f->prm.comp) {
	case PKG_COMPRESS_ZSTD:
		assert_memory_equal(magic, "\x28\xb5\x2f\xfd", 4);
		break;
	case PKG_COMPRESS_GZIP:
		assert_memory_equal(magic, "\x1f\x8b", 2);
		break;
	case PKG_COMPRESS_NONE:
		assert_memory_equal(magic, "mani", 4);
		break;
	}

	opts(f, &o);
	p = read_ok(f, name, &o);
	assert_string_equal(p->name, name);
	assert_int_equal(p->compress, f->prm.comp);
	assert_string_equal(p->m.sender, "edge-01");
	assert_string_equal(p->m.recipient, "core-01");
	assert_int_equal(p->m.seq, 42);
	assert_int_equal(p->m.alg, f->prm.dig);
	assert_string_equal(p->m.uuid, uuid);
	assert_true(
	    p->m.created <= time(NULL) && p->m.created > time(NULL) - 120);
	assert_int_equal(p->m.nentries, 2);
	assert_int_equal(p->nentries, 2);
	assert_string_equal(p->sig.signer, "edge-01");
	assert_string_equal(p->sig.algorithm, tu_alg_name(f->prm.alg));
	assert_int_equal(strspn(p->manifest_digest, "0123456789abcdef"), 64);
	path = tu_path(f->out, name);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(p->file_size, (uint64_t)sb.st_size);
	free(path);

	e = pkg_entry_find(p, ATT_PATH);
	assert_staged(p, e, ATT, ATT_LEN);
	assert_null(e->kind);
	digest_mem_hex(f->prm.dig, ATT, ATT_LEN, hex);
	assert_string_equal(e->digest, hex);

	appeal = tu_read_file(APPEAL, &alen);
	e = pkg_entry_find(p, "payload/appeal.xml");
	assert_staged(p, e, appeal, alen);
	assert_doc(p, e, "appeal");
	digest_mem_hex(f->prm.dig, appeal, alen, hex);
	assert_string_equal(e->digest, hex);
	assert_non_null(manifest_find(&p->m, "payload/appeal.xml"));
	assert_null(pkg_entry_find(p, "payload/other.xml"));
	free(appeal);

	/* staging lives under stage/ only while the package is held */
	assert_int_equal(tu_dir_count(f->stage, 0), 1);
	pkg_free(p);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
	/* reading does not consume the file */
	assert_int_equal(tu_dir_count(f->out, 0), 1);
}

/* The highest sequence number survives the name and the manifest. */
static void
test_seq_max(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;
	struct pkg *p;

	write_appeal(f, PKG_SEQ_MAX, name);
	assert_non_null(strstr(name, ".999999999999."));
	opts(f, &o);
	p = read_ok(f, name, &o);
	assert_int_equal(p->m.seq, PKG_SEQ_MAX);
	pkg_free(p);
}

/* An answer event with its file and the file's signature round-trips. */
static void
test_event_answer(void **state)
{
	struct fix *f = *state;
	char *bin = tu_path(f->dir, "answer.pdf"),
	     *sig = tu_path(f->dir, "a.p7s");
	char *doc, name[PKG_NAME_MAX], p7s[300];
	const struct pkg_entry *e;
	struct pkg_verify_opts o;
	struct pkg_writer *w;
	struct pkg *p;
	size_t len;

	memset(p7s, 0x5a, sizeof p7s);
	tu_write_file(bin, "%PDF", 4);
	tu_write_file(sig, p7s, sizeof p7s);
	doc = tu_read_file(EXAMPLES "/event-answer.xml", &len);
	w = writer(f, 3);
	add_mem(w, "payload/event-answer.xml", doc, len);
	add_file(w, ANSWER_BIN, bin);
	add_file(w, ANSWER_P7S, sig);
	write_ok(f, w, name);
	pkg_writer_free(w);

	opts(f, &o);
	p = read_ok(f, name, &o);
	assert_int_equal(p->nentries, 3);
	e = pkg_entry_find(p, "payload/event-answer.xml");
	assert_staged(p, e, doc, len);
	assert_doc(p, e, "event");
	e = pkg_entry_find(p, ANSWER_BIN);
	assert_staged(p, e, "%PDF", 4);
	assert_null(e->kind);
	assert_staged(p, pkg_entry_find(p, ANSWER_P7S), p7s, sizeof p7s);
	pkg_free(p);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
	free(doc);
	free(bin);
	free(sig);
}

/*
 * Documents added from memory wait in a spill file under the staging
 * directory (removed at once), not in memory: the package reads back the
 * same, a broken spilled document is still refused, nothing is left.
 */
static void
test_writer_spill(void **state)
{
	struct fix *f = *state;
	char *appeal, *rcpt, name[PKG_NAME_MAX];
	struct pkg_verify_opts o;
	struct pkg_writer *w;
	struct error err = {0};
	size_t alen, clen;
	struct pkg *p;

	appeal = tu_read_file(APPEAL, &alen);
	rcpt = tu_read_file(EXAMPLES "/receipt.xml", &clen);
	w = writer(f, 7);
	assert_int_equal(pkg_writer_set_spill(w, f->stage, &err), 0);
	add_mem(w, "payload/appeal.xml", appeal, alen - 10);
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	write_fails(f, w, "payload/appeal.xml");
	pkg_writer_free(w);

	w = writer(f, 6);
	assert_int_equal(pkg_writer_set_spill(w, f->stage, &err), 0);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
	add_mem(w, "payload/appeal.xml", appeal, alen);
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	add_mem(w, "payload/receipt-42.xml", rcpt, clen);
	write_ok(f, w, name);
	pkg_writer_free(w);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
	opts(f, &o);
	p = read_ok(f, name, &o);
	assert_int_equal(p->nentries, 3);
	assert_staged(p, pkg_entry_find(p, "payload/appeal.xml"), appeal, alen);
	assert_staged(p, pkg_entry_find(p, ATT_PATH), ATT, ATT_LEN);
	assert_staged(
	    p, pkg_entry_find(p, "payload/receipt-42.xml"), rcpt, clen);
	assert_doc(p, pkg_entry_find(p, "payload/receipt-42.xml"), "receipt");
	pkg_free(p);

	w = writer(f, 8);
	assert_int_equal(pkg_writer_set_spill(w, "/nonexistent/dir", &err), -1);
	assert_non_null(strstr(err.text, "/nonexistent/dir"));
	pkg_writer_free(w);
	free(appeal);
	free(rcpt);
}

/* Packages of documents without attachments round-trip. */
static void
test_documents_only(void **state)
{
	struct fix *f = *state;
	char *reg, *rcpt, name[PKG_NAME_MAX];
	struct pkg_verify_opts o;
	struct pkg_writer *w;
	size_t rlen, clen, i;
	struct pkg *p;

	reg = tu_read_file(EXAMPLES "/event-registered.xml", &rlen);
	rcpt = tu_read_file(EXAMPLES "/receipt.xml", &clen);
	w = writer(f, 5);
	add_mem(w, "payload/event-1.xml", reg, rlen);
	add_mem(w, "payload/receipt-42.xml", rcpt, clen);
	write_ok(f, w, name);
	pkg_writer_free(w);
	opts(f, &o);
	p = read_ok(f, name, &o);
	assert_int_equal(p->nentries, 2);
	for (i = 0; i < p->nentries; i++)
		assert_non_null(p->entries[i].kind);
	assert_doc(p, pkg_entry_find(p, "payload/event-1.xml"), "event");
	assert_doc(p, pkg_entry_find(p, "payload/receipt-42.xml"), "receipt");
	assert_staged(
	    p, pkg_entry_find(p, "payload/receipt-42.xml"), rcpt, clen);
	pkg_free(p);
	free(reg);
	free(rcpt);
}

/* The writer refuses an attachment no document references. */
static void
test_writer_unreferenced(void **state)
{
	struct fix *f = *state;
	struct pkg_writer *w = writer(f, 1);

	add_file(w, "payload/appeal.xml", APPEAL);
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	add_mem(w, "payload/att/extra.bin", "x", 1);
	write_fails(f, w, "payload/att/extra.bin");
	pkg_writer_free(w);
}

/* The writer refuses a reference to a missing or differently sized file. */
static void
test_writer_bad_reference(void **state)
{
	struct fix *f = *state;
	struct pkg_writer *w = writer(f, 1);

	add_file(w, "payload/appeal.xml", APPEAL);
	write_fails(f, w, "not in the package");
	pkg_writer_free(w);

	w = writer(f, 1);
	add_file(w, "payload/appeal.xml", APPEAL);
	add_mem(w, ATT_PATH, "12345", 5);
	write_fails(f, w, "size");
	pkg_writer_free(w);
}

/* The writer refuses a document that does not match the schema. */
static void
test_writer_invalid_doc(void **state)
{
	struct fix *f = *state;
	char *s = tu_read_file(APPEAL, NULL), *bad;
	struct pkg_writer *w;

	bad = tu_replace(s, " pos-id=\"177073571\"", "");
	w = writer(f, 1);
	add_mem(w, "payload/appeal.xml", bad, strlen(bad));
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	write_fails(f, w, "does not match");
	pkg_writer_free(w);
	free(bad);

	/* and a document that is not even well-formed */
	w = writer(f, 1);
	add_mem(w, "payload/appeal.xml", s, strlen(s) - 12);
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	write_fails(f, w, "payload/appeal.xml");
	pkg_writer_free(w);
	free(s);
}

/* Invalid payload paths are refused when added, and leave no trace. */
static void
test_writer_bad_path(void **state)
{
	static const char *const bad[] = {"payload/../x", "payload/./x",
	    "/etc/passwd", "manifest.xml", "payload/a b", "payload/a/b/c/d",
	    "payload/", "payload//x", "payload/файл"};
	struct fix *f = *state;
	struct pkg_writer *w = writer(f, 1);
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;
	struct error err = {0};
	struct pkg *p;
	size_t i;

	add_file(w, "payload/appeal.xml", APPEAL);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&err);
		if (pkg_writer_add_mem(w, bad[i], "x", 1, &err) != -1)
			fail_msg("path '%s' was accepted", bad[i]);
		assert_non_null(strstr(err.text, "not a payload path"));
		err_clear(&err);
		assert_int_equal(
		    pkg_writer_add_file(w, bad[i], APPEAL, &err), -1);
	}
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	write_ok(f, w, name);
	pkg_writer_free(w);
	opts(f, &o);
	p = read_ok(f, name, &o);
	assert_int_equal(p->nentries, 2);
	pkg_free(p);
}

/* The same path cannot be added twice. */
static void
test_writer_same_path_twice(void **state)
{
	struct fix *f = *state;
	struct pkg_writer *w = writer(f, 1);
	struct error err = {0};

	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	err_clear(&err);
	assert_int_equal(
	    pkg_writer_add_mem(w, ATT_PATH, ATT, ATT_LEN, &err), -1);
	assert_non_null(strstr(err.text, "twice"));
	err_clear(&err);
	assert_int_equal(pkg_writer_add_file(w, ATT_PATH, APPEAL, &err), -1);
	assert_non_null(strstr(err.text, "twice"));
	pkg_writer_free(w);
}

/* Sequence numbers outside 1..999999999999 are refused. */
static void
test_writer_bad_seq(void **state)
{
	struct fix *f = *state;
	struct pkg_writer *w;

	w = writer(f, 0);
	add_file(w, "payload/appeal.xml", APPEAL);
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	write_fails(f, w, "seq 0");
	pkg_writer_free(w);
	w = writer(f, PKG_SEQ_MAX + 1);
	add_file(w, "payload/appeal.xml", APPEAL);
	add_mem(w, ATT_PATH, ATT, ATT_LEN);
	write_fails(f, w, "out of range");
	pkg_writer_free(w);
}

/* A package for another gateway is rejected with code recipient. */
static void
test_read_wrong_recipient(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;

	write_appeal(f, 1, name);
	opts(f, &o);
	o.own_id = "core-02";
	read_fails(f, name, &o, ERR_RECIPIENT);
	o.own_id = "edge-01";
	read_fails(f, name, &o, ERR_RECIPIENT);
}

/* A renamed package is rejected with code name. */
static void
test_read_renamed(void **state)
{
	static const struct {
		const char *pre;
		int own_uuid;
		const char *suf;
	} names[] = {
	    {"edge-01.000000000007.", 0, ".pkg"},
	    {"edge-01.000000000008.", 1, ".pkg"},
	    {"edge-02.000000000007.", 1, ".pkg"},
	    {"edge-01.7.", 1, ".pkg"},
	    {"edge-01.000000000007.", 1, ".tar"},
	};
	struct fix *f = *state;
	char name[PKG_NAME_MAX], sender[33], uuid[37], other[128];
	char *from, *to;
	struct pkg_verify_opts o;
	uint64_t seq;
	size_t i;

	write_appeal(f, 7, name);
	assert_int_equal(pkg_name_parse(name, sender, &seq, uuid), 0);
	opts(f, &o);
	from = tu_path(f->out, name);
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(other, sizeof other, "%s%s%s", names[i].pre,
		    names[i].own_uuid ? uuid
		                      : "00000000-0000-4000-8000-000000000000",
		    names[i].suf);
		to = tu_path(f->out, other);
		assert_int_equal(rename(from, to), 0);
		read_fails(f, other, &o, ERR_NAME);
		assert_int_equal(rename(to, from), 0);
		free(to);
	}
	/* the original name is still accepted */
	pkg_free(read_ok(f, name, &o));
	free(from);
}

/* A signer missing from the trust list is rejected with code untrusted. */
static void
test_read_untrusted(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;
	struct trust *empty = trust_new();
	int i;

	write_appeal(f, 1, name);
	opts(f, &o);
	for (i = 0; i < 4; i++) {
		if (i == (int)f->prm.alg)
			continue;
		o.trust = G.t[i]; /* another edge-01 certificate */
		read_fails(f, name, &o, ERR_UNTRUSTED);
	}
	o.trust = empty;
	read_fails(f, name, &o, ERR_UNTRUSTED);
	trust_free(empty);
}

/* A signature algorithm off the allow-list is rejected with code signature. */
static void
test_read_sig_alg_not_allowed(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;

	write_appeal(f, 1, name);
	opts(f, &o);
	o.sig_algs = SIG_ALLOW_ECDSA | SIG_ALLOW_ED25519 | SIG_ALLOW_GOST512;
	read_fails(f, name, &o, ERR_SIGNATURE);
}

/* A compression off the allow-list is rejected with code archive. */
static void
test_read_filter_not_allowed(void **state)
{
	static const unsigned others[] = {
	    [PKG_COMPRESS_NONE] = PKG_FILTER_GZIP | PKG_FILTER_ZSTD,
	    [PKG_COMPRESS_GZIP] = PKG_FILTER_NONE | PKG_FILTER_ZSTD,
	    [PKG_COMPRESS_ZSTD] = PKG_FILTER_NONE | PKG_FILTER_GZIP,
	};
	struct fix *f = *state;
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;
	struct pkg *p;
	int c;

	for (c = PKG_COMPRESS_NONE; c <= PKG_COMPRESS_ZSTD; c++) {
		f->prm.comp = (enum pkg_compress)c;
		write_appeal(f, (uint64_t)c + 1, name);
		opts(f, &o);
		o.filters = others[c];
		read_fails(f, name, &o, ERR_ARCHIVE);
		o.filters = 1u << c;
		p = read_ok(f, name, &o);
		assert_int_equal(p->compress, c);
		pkg_free(p);
	}
}

/* A digest off the allow-list is rejected with code manifest. */
static void
test_read_digest_not_allowed(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;

	f->prm.dig = DIGEST_SHA256;
	write_appeal(f, 1, name);
	opts(f, &o);
	o.digests = DIGEST_ALLOW_STREEBOG256;
	read_fails(f, name, &o, ERR_MANIFEST);
	f->prm.dig = DIGEST_STREEBOG256;
	write_appeal(f, 2, name);
	o.digests = DIGEST_ALLOW_SHA256;
	read_fails(f, name, &o, ERR_MANIFEST);
}

/* A file larger than limits.max_file is rejected with code size. */
static void
test_read_max_file(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX], *path;
	struct pkg_verify_opts o;
	struct stat sb;
	struct pkg *p;

	write_appeal(f, 1, name);
	path = tu_path(f->out, name);
	assert_int_equal(stat(path, &sb), 0);
	opts(f, &o);
	o.limits.max_file = (uint64_t)sb.st_size - 1;
	read_fails(f, name, &o, ERR_SIZE);
	o.limits.max_file = (uint64_t)sb.st_size;
	p = read_ok(f, name, &o);
	pkg_free(p);
	free(path);
}

/* An entry larger than limits.max_entry is rejected with code size. */
static void
test_read_max_entry(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX];
	struct pkg_verify_opts o;
	struct pkg *p;

	write_appeal(f, 1, name);
	opts(f, &o);
	o.limits.max_entry = ATT_LEN - 1;
	read_fails(f, name, &o, ERR_SIZE);
	o.limits.max_entry = ATT_LEN;
	p = read_ok(f, name, &o);
	pkg_free(p);
	o.limits.max_xml = 100;
	read_fails(f, name, &o, ERR_SIZE);
}

/* Bytes changed inside an uncompressed package are caught. */
static void
test_read_tampered(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX], *path, *buf, *at;
	struct pkg_verify_opts o;
	size_t len;

	f->prm.comp = PKG_COMPRESS_NONE;
	write_appeal(f, 1, name);
	path = tu_path(f->out, name);
	opts(f, &o);

	/* the attachment's bytes: digest mismatch */
	buf = tu_read_file(path, &len);
	assert_non_null(at = memmem(buf, len, ATT, ATT_LEN));
	at[1] ^= 0x01;
	tu_write_file(path, buf, len);
	read_fails(f, name, &o, ERR_DIGEST);
	at[1] ^= 0x01;

	/* a size in the signed manifest: signature mismatch */
	assert_non_null(at = memmem(buf, len, "size=\"4\"", 8));
	at[6] = '5';
	tu_write_file(path, buf, len);
	read_fails(f, name, &o, ERR_SIGNATURE);
	at[6] = '4';

	/* cut short: never accepted */
	tu_write_file(path, buf, len / 2);
	read_fails(f, name, &o, ERR_ARCHIVE);

	/* restored: accepted again */
	tu_write_file(path, buf, len);
	pkg_free(read_ok(f, name, &o));
	free(buf);
	free(path);
}

/*
 * A verify-only read (discard) keeps no attachment anywhere, still hashes
 * it (a changed byte is a digest error) and keeps the documents.
 */
static void
test_read_discard(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX], *path, *buf, *at;
	const struct pkg_entry *e;
	struct pkg_verify_opts o;
	struct pkg *p;
	size_t len, i, docs;

	f->prm.comp = PKG_COMPRESS_NONE;
	write_appeal(f, 1, name);
	path = tu_path(f->out, name);
	opts(f, &o);
	o.discard = 1;
	p = read_ok(f, name, &o);
	e = pkg_entry_find(p, ATT_PATH);
	assert_non_null(e);
	assert_null(e->staged);
	assert_null(e->mem);
	assert_int_equal(e->size, ATT_LEN);
	for (i = 0, docs = 0; i < p->nentries; i++)
		if (pkg_doc_path(p->entries[i].path)) {
			assert_doc(p, &p->entries[i], "appeal");
			docs++;
		}
	assert_int_equal(docs, 1);
	pkg_free(p);

	buf = tu_read_file(path, &len);
	assert_non_null(at = memmem(buf, len, ATT, ATT_LEN));
	at[1] ^= 0x01;
	tu_write_file(path, buf, len);
	read_fails(f, name, &o, ERR_DIGEST);
	free(buf);
	free(path);
}

/*
 * A big attachment (hashed and written on threads, O_DIRECT while whole
 * blocks remain) with a tail off the blocks: staged byte for byte; a
 * changed byte, a short archive and a staging write failing (a file size
 * limit) are refused as for a small one, and nothing stays staged.
 */
static void
test_read_big(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX], size[32], *appeal, *xml, *path, *buf, *at;
	const size_t big = 3 * 1024 * 1024 + 4096 + 123;
	struct pkg_verify_opts o;
	struct rlimit rl, lim;
	struct pkg_writer *w;
	struct error err = {0};
	unsigned char *att;
	struct pkg *p;
	size_t len, i;

	att = xmalloc(big);
	for (i = 0; i < big; i++)
		att[i] = (unsigned char)(i * 2654435761u >> 13);
	appeal = tu_read_file(APPEAL, &len);
	snprintf(size, sizeof size, "size=\"%zu\"", big);
	xml = tu_replace(appeal, "size=\"4\"", size);
	f->prm.comp = PKG_COMPRESS_NONE;
	f->prm.dig = DIGEST_SHA256;
	w = writer(f, 1);
	add_mem(w, "payload/appeal.xml", xml, strlen(xml));
	add_mem(w, ATT_PATH, att, big);
	write_ok(f, w, name);
	pkg_writer_free(w);
	opts(f, &o);
	o.limits.max_entry = o.limits.max_total = o.limits.max_file = 64 << 20;

	p = read_ok(f, name, &o);
	assert_staged(p, pkg_entry_find(p, ATT_PATH), att, big);
	pkg_free(p);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
	o.discard = 1;
	p = read_ok(f, name, &o);
	assert_null(pkg_entry_find(p, ATT_PATH)->staged);
	pkg_free(p);
	o.discard = 0;

	/* the staging disk fails in the middle: our trouble, not the package's */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	lim = rl;
	lim.rlim_cur = 2 * 1024 * 1024 + 512;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	path = tu_path(f->out, name);
	err_clear(&err);
	p = pkg_read(path, f->stage, &o, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_null(p);
	assert_int_equal(err.code, ERR_NONE);
	if (strstr(err.text, "cannot write") == NULL ||
	    strstr(err.text, "check the staging disk") == NULL)
		fail_msg("unexpected error text: %s", err.text);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);

	/* a byte of the attachment changed, far into it: digest mismatch */
	buf = tu_read_file(path, &len);
	assert_non_null(at = memmem(buf, len, att + big / 2, 64));
	at[1] ^= 0x01;
	tu_write_file(path, buf, len);
	read_fails(f, name, &o, ERR_DIGEST);
	at[1] ^= 0x01;
	/* cut short inside the attachment */
	tu_write_file(path, buf, len / 2);
	read_fails(f, name, &o, ERR_ARCHIVE);
	tu_write_file(path, buf, len);
	pkg_free(read_ok(f, name, &o));

	free(buf);
	free(path);
	free(xml);
	free(appeal);
	free(att);
}

/* pkg_extract writes the manifest, its signature and the payload. */
static void
test_extract(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX], *path, *m, *s, *appeal, *att;
	size_t mlen, slen, alen, tlen;
	struct pkg_verify_opts o;
	struct manifest man;
	struct sig_info info;
	struct error err = {0};
	struct pkg *p;

	write_appeal(f, 9, name);
	opts(f, &o);
	p = read_ok(f, name, &o);
	assert_int_equal(mkdir(f->x, 0755), 0);
	err_clear(&err);
	if (pkg_extract(p, f->x, &err) == -1)
		fail_msg("extract: %s", err.text);

	path = tu_path(f->x, "manifest.xml");
	m = tu_read_file(path, &mlen);
	free(path);
	path = tu_path(f->x, "manifest.xml.p7s");
	s = tu_read_file(path, &slen);
	free(path);
	err_clear(&err);
	assert_int_equal(manifest_parse(m, mlen, 64, &man, &err), 0);
	assert_string_equal(man.uuid, p->m.uuid);
	assert_int_equal(man.seq, 9);
	manifest_free(&man);
	err_clear(&err);
	if (sig_verify(G.t[f->prm.alg], m, mlen, s, slen, "edge-01", time(NULL),
	        SIG_ALLOW_ALL, &info, &err) == -1)
		fail_msg("extracted signature: %s", err.text);

	path = tu_path(f->x, "payload/appeal.xml");
	appeal = tu_read_file(path, &alen);
	free(path);
	free(s);
	s = tu_read_file(APPEAL, &slen);
	assert_int_equal(alen, slen);
	assert_memory_equal(appeal, s, slen);
	path = tu_path(f->x, ATT_PATH);
	att = tu_read_file(path, &tlen);
	free(path);
	assert_int_equal(tlen, ATT_LEN);
	assert_memory_equal(att, ATT, ATT_LEN);
	/* manifest.xml, manifest.xml.p7s, payload/ */
	assert_int_equal(tu_dir_count(f->x, 0), 3);
	pkg_free(p);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
	free(m);
	free(s);
	free(appeal);
	free(att);
}

/* pkg_extract never replaces a file that is already there. */
static void
test_extract_no_overwrite(void **state)
{
	struct fix *f = *state;
	char name[PKG_NAME_MAX], *sub, *path, *s;
	struct pkg_verify_opts o;
	struct error err = {0};
	struct pkg *p;
	size_t len;

	write_appeal(f, 1, name);
	opts(f, &o);

	/* an attachment already there */
	sub = tu_path(f->x, "payload/att");
	assert_int_equal(fs_mkdir_p(sub, 0755), 0);
	path = tu_path(f->x, ATT_PATH);
	tu_write_file(path, "keep", 4);
	p = read_ok(f, name, &o);
	err_clear(&err);
	assert_int_equal(pkg_extract(p, f->x, &err), -1);
	assert_non_null(strstr(err.text, "already exists"));
	s = tu_read_file(path, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(s, "keep", 4);
	free(s);
	pkg_free(p);
	free(path);
	free(sub);

	/* a manifest already there */
	assert_int_equal(fs_rmtree(f->x), 0);
	assert_int_equal(mkdir(f->x, 0755), 0);
	path = tu_path(f->x, "manifest.xml");
	tu_write_file(path, "old", 3);
	p = read_ok(f, name, &o);
	err_clear(&err);
	assert_int_equal(pkg_extract(p, f->x, &err), -1);
	assert_non_null(strstr(err.text, "already exists"));
	s = tu_read_file(path, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "old", 3);
	free(s);
	pkg_free(p);
	free(path);
	assert_int_equal(tu_dir_count(f->stage, 0), 0);
}

/*
 * Regression mkdir-under-umask-0027: posgw keys generate --out
 * /etc/posgw/keys under sudo with umask 0027 made /etc/posgw 0750
 * root:root, and the daemon could not read its configuration there. Every
 * folder fs_mkdir_p makes has exactly the mode asked for.
 */
static void
test_mkdir_under_umask_0027(void **state)
{
	struct fix *f = *state;
	struct stat sb;
	char *top, *sub;
	mode_t old;

	top = tu_path(f->x, "etc-posgw");
	sub = tu_path(f->x, "etc-posgw/keys");
	old = umask(0027);
	assert_int_equal(fs_mkdir_p(sub, 0755), 0);
	umask(old);
	assert_int_equal(stat(top, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	/* an existing folder keeps its mode */
	assert_int_equal(chmod(sub, 0700), 0);
	assert_int_equal(fs_mkdir_p(sub, 0755), 0);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	free(top);
	free(sub);
}

#define FIXED(f) cmocka_unit_test_setup_teardown(f, pkg_setup, pkg_teardown)

int
main(void)
{
	static const char *const comps[] = {"none", "gzip", "zstd"};
	static const char *const digs[] = {"streebog256", "sha256"};
	static struct param params[24];
	static char names[24][80];
	const struct CMUnitTest fixed[] = {
	    FIXED(test_seq_max),
	    FIXED(test_event_answer),
	    FIXED(test_documents_only),
	    FIXED(test_writer_spill),
	    FIXED(test_writer_unreferenced),
	    FIXED(test_writer_bad_reference),
	    FIXED(test_writer_invalid_doc),
	    FIXED(test_writer_bad_path),
	    FIXED(test_writer_same_path_twice),
	    FIXED(test_writer_bad_seq),
	    FIXED(test_read_wrong_recipient),
	    FIXED(test_read_renamed),
	    FIXED(test_read_untrusted),
	    FIXED(test_read_sig_alg_not_allowed),
	    FIXED(test_read_filter_not_allowed),
	    FIXED(test_read_digest_not_allowed),
	    FIXED(test_read_max_file),
	    FIXED(test_read_max_entry),
	    FIXED(test_read_tampered),
	    FIXED(test_read_discard),
	    FIXED(test_read_big),
	    FIXED(test_extract),
	    FIXED(test_extract_no_overwrite),
	    FIXED(test_mkdir_under_umask_0027),
	};
	struct CMUnitTest tests[24 + sizeof fixed / sizeof fixed[0]];
	size_t n = 0, i;
	int a, c, d;

	for (a = 0; a < 4; a++) {
		for (c = 0; c < 3; c++) {
			for (d = 0; d < 2; d++) {
				params[n].alg = (enum key_alg)a;
				params[n].comp = (enum pkg_compress)c;
				params[n].dig = (enum digest_alg)d;
				snprintf(names[n], sizeof names[n],
				    "test_roundtrip(%s,%s,%s)",
				    tu_alg_name((enum key_alg)a), comps[c],
				    digs[d]);
				memset(&tests[n], 0, sizeof tests[n]);
				tests[n].name = names[n];
				tests[n].test_func = test_roundtrip;
				tests[n].setup_func = pkg_setup;
				tests[n].teardown_func = pkg_teardown;
				tests[n].initial_state = &params[n];
				n++;
			}
		}
	}
	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests(
	    "test_package", tests, n, group_setup, group_teardown);
}
