/* test_manifest.c: manifest.xml serialisation, parsing and its rejections. */
#include "config.h"

#include "testutil.h"

#include "digest.h"
#include "manifest.h"
#include "package.h"
#include "schema.h"

#define UUID "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"
#define CREATED 1795600800 /* 2026-11-25T10:00:00Z */

static char path_a[] = "payload/appeal-177073571.xml";
static char path_b[] = "payload/att/177073571-1.bin";
static char path_c[] = "payload/att/empty";
static char path_dots[] = "payload/../etc/passwd";

/* Fill m with the usual header and the given entries. */
static void
fill(struct manifest *m, struct manifest_entry *e, size_t n, uint64_t seq,
    enum digest_alg alg)
{
	memset(m, 0, sizeof *m);
	snprintf(m->uuid, sizeof m->uuid, "%s", UUID);
	snprintf(m->sender, sizeof m->sender, "edge-01");
	snprintf(m->recipient, sizeof m->recipient, "core-01");
	m->seq = seq;
	m->created = CREATED;
	m->alg = alg;
	m->entries = e;
	m->nentries = n;
}

/* Set one entry with a digest of its path. */
static void
entry(struct manifest_entry *e, char *path, uint64_t size)
{
	memset(e, 0, sizeof *e);
	e->path = path;
	e->size = size;
	digest_mem_hex(DIGEST_SHA256, path, strlen(path), e->digest);
}

/* A valid manifest as text: two entries, seq 42, streebog256. */
static char *
good_text(void)
{
	struct manifest_entry e[2];
	struct manifest m;
	size_t len;

	entry(&e[0], path_a, 2345);
	entry(&e[1], path_b, 812044);
	fill(&m, e, 2, 42, DIGEST_STREEBOG256);
	return manifest_serialize(&m, &len);
}

/* Assert that the text is rejected with code manifest and nothing is kept. */
static void
expect_reject(const char *s, const char *needle)
{
	struct error err = {0};
	struct manifest m;

	err_clear(&err);
	memset(&m, 0xa5, sizeof m);
	if (manifest_parse(s, strlen(s), 64, &m, &err) != -1)
		fail_msg("accepted:\n%s", s);
	assert_int_equal(err.code, ERR_MANIFEST);
	assert_null(m.entries);
	assert_int_equal(m.nentries, 0);
	if (needle != NULL && strstr(err.text, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.text, needle);
}

/* Parse text that must be accepted. */
static void
parse_ok(const char *s, size_t len, struct manifest *m)
{
	struct error err = {0};

	err_clear(&err);
	if (manifest_parse(s, len, 64, m, &err) == -1)
		fail_msg("rejected: %s\n%s", err.text, s);
}

/* serialize -> parse preserves every header field and every entry. */
static void
test_roundtrip(void **state)
{
	static const enum digest_alg algs[] = {
	    DIGEST_STREEBOG256, DIGEST_SHA256};
	static const uint64_t seqs[] = {1, 42, PKG_SEQ_MAX};
	struct manifest_entry e[3];
	struct manifest m, out;
	size_t i, k, j, len;
	char *s;

	entry(&e[0], path_a, 2345);
	entry(&e[1], path_b, 123456789012345678ULL);
	entry(&e[2], path_c, 0);
	for (i = 0; i < 2; i++) {
		for (k = 0; k < 3; k++) {
			fill(&m, e, 3, seqs[k], algs[i]);
			s = manifest_serialize(&m, &len);
			assert_int_equal(strlen(s), len);
			parse_ok(s, len, &out);
			assert_string_equal(out.uuid, UUID);
			assert_string_equal(out.sender, "edge-01");
			assert_string_equal(out.recipient, "core-01");
			assert_int_equal(out.seq, seqs[k]);
			assert_int_equal(out.created, CREATED);
			assert_int_equal(out.alg, algs[i]);
			assert_int_equal(out.nentries, 3);
			for (j = 0; j < 3; j++) {
				assert_string_equal(
				    out.entries[j].path, e[j].path);
				assert_int_equal(
				    out.entries[j].size, e[j].size);
				assert_string_equal(
				    out.entries[j].digest, e[j].digest);
			}
			assert_ptr_equal(
			    manifest_find(&out, path_b), &out.entries[1]);
			assert_null(manifest_find(&out, "payload/none"));
			manifest_free(&out);
			assert_null(out.entries);
			assert_int_equal(out.nentries, 0);
			free(s);
		}
	}
}

/* The serialised text is exactly the form of package.md section 4. */
static void
test_serialize_form(void **state)
{
	char *s = good_text();

	assert_non_null(
	    strstr(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
	assert_non_null(strstr(s, "xmlns=\"urn:posgw:package:1\""));
	assert_non_null(strstr(s, " format=\"1\""));
	assert_non_null(strstr(s, " seq=\"42\""));
	assert_non_null(strstr(s, " created=\"2026-11-25T10:00:00Z\""));
	assert_non_null(strstr(s, " digest=\"streebog256\""));
	assert_non_null(strstr(s, "<entry path=\"payload/att/177073571-1.bin\" "
	                          "size=\"812044\" digest=\""));
	free(s);
}

/* A manifest without entries is valid too. */
static void
test_no_entries(void **state)
{
	struct manifest m, out;
	size_t len;
	char *s;

	fill(&m, NULL, 0, 7, DIGEST_SHA256);
	s = manifest_serialize(&m, &len);
	parse_ok(s, len, &out);
	assert_int_equal(out.nentries, 0);
	assert_int_equal(out.seq, 7);
	assert_int_equal(out.alg, DIGEST_SHA256);
	manifest_free(&out);
	free(s);
}

/* The same path listed twice is refused. */
static void
test_rejects_duplicate_entry(void **state)
{
	struct manifest_entry e[3];
	struct manifest m;
	size_t len;
	char *s;

	entry(&e[0], path_a, 10);
	entry(&e[1], path_b, 20);
	entry(&e[2], path_a, 10);
	fill(&m, e, 3, 42, DIGEST_STREEBOG256);
	s = manifest_serialize(&m, &len);
	expect_reject(s, NULL);
	free(s);
}

/* seq 0 and seq with leading zeros are refused. */
static void
test_rejects_bad_seq(void **state)
{
	char *s = good_text(), *bad;

	bad = tu_replace(s, "seq=\"42\"", "seq=\"0\"");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "seq=\"42\"", "seq=\"007\"");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "seq=\"42\"", "seq=\"1000000000000\"");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "seq=\"42\"", "seq=\" 42\"");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "seq=\"42\"", "seq=\"-1\"");
	expect_reject(bad, NULL);
	free(bad);
	free(s);
}

/* created must be UTC with a Z. */
static void
test_rejects_created_without_z(void **state)
{
	char *s = good_text(), *bad;

	bad = tu_replace(s, "2026-11-25T10:00:00Z", "2026-11-25T10:00:00");
	expect_reject(bad, NULL);
	free(bad);
	bad =
	    tu_replace(s, "2026-11-25T10:00:00Z", "2026-11-25T13:00:00+03:00");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "2026-11-25T10:00:00Z", "2026-02-30T10:00:00Z");
	expect_reject(bad, NULL);
	free(bad);
	free(s);
}

/* Only streebog256 and sha256 are digests. */
static void
test_rejects_md5(void **state)
{
	char *s = good_text(), *bad;

	bad = tu_replace(s, "digest=\"streebog256\"", "digest=\"md5\"");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "digest=\"streebog256\"", "digest=\"SHA256\"");
	expect_reject(bad, NULL);
	free(bad);
	free(s);
}

/* An entry path with .. is refused. */
static void
test_rejects_dotdot_path(void **state)
{
	struct manifest_entry e[2];
	struct manifest m;
	size_t len;
	char *s;

	entry(&e[0], path_a, 10);
	entry(&e[1], path_dots, 20);
	fill(&m, e, 2, 42, DIGEST_STREEBOG256);
	s = manifest_serialize(&m, &len);
	expect_reject(s, NULL);
	free(s);
}

/* A DOCTYPE in the manifest is refused before anything else. */
static void
test_rejects_doctype(void **state)
{
	char *s = good_text(), *bad;

	bad = tu_replace(s, "?>\n", "?>\n<!DOCTYPE package>\n");
	expect_reject(bad, "DOCTYPE");
	free(bad);
	free(s);
}

/* Other broken manifests: foreign element, wrong root, bad ids, no XML. */
static void
test_rejects_other(void **state)
{
	char *s = good_text(), *bad;

	bad = tu_replace(s, "</package>", "<extra/></package>");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "sender=\"edge-01\"", "sender=\"Edge-01\"");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "id=\"" UUID "\"", "id=\"not-a-uuid\"");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "urn:posgw:package:1", "urn:posgw:package:2");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(s, "size=\"812044\"", "size=\"0812044\"");
	expect_reject(bad, NULL);
	free(bad);
	expect_reject("", NULL);
	expect_reject("<package", NULL);
	expect_reject("<?x", NULL);
	/* the streamed parse keeps xmlsafe_parse's refusals */
	bad = tu_replace(s, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
	expect_reject(bad, "only UTF-8");
	free(bad);
	bad = tu_replace(s, "</package>", "</package><package/>");
	expect_reject(bad, "not well-formed");
	free(bad);
	bad = tu_replace(s, "</package>", "<entry");
	expect_reject(bad, "not well-formed");
	free(bad);
	bad = tu_replace(s, "</package>", "</package>trailing");
	expect_reject(bad, "not well-formed");
	free(bad);
	bad = tu_replace(s, "<package ", "<p:package xmlns:q=\"x\" ");
	expect_reject(bad, NULL);
	free(bad);
	bad = tu_replace(
	    s, "digest=\"streebog256\"", "digest=\"streebog256\" extra=\"1\"");
	expect_reject(bad, "does not match");
	free(bad);
	free(s);
}

/* Elements nested past the depth limit are refused while streaming. */
static void
test_rejects_deep(void **state)
{
	char *s = good_text(), *bad, *deep;
	struct manifest m;
	struct error err = {0};
	size_t i, n = 0;

	deep = malloc(100 * 8 + 1);
	assert_non_null(deep);
	for (i = 0; i < 100; i++)
		n += (size_t)sprintf(deep + n, "<a>");
	bad = tu_replace(s, "</package>", deep);
	assert_int_equal(manifest_parse(bad, strlen(bad), 64, &m, &err), -1);
	assert_int_equal(err.code, ERR_MANIFEST);
	assert_non_null(strstr(err.text, "deeper than 64"));
	free(bad);
	free(deep);
	free(s);
}

/* A manifest of 10,000 entries parses, in order, each kept once. */
static void
test_many_entries(void **state)
{
	struct manifest m, out;
	struct manifest_entry *e;
	struct error err = {0};
	char *s, (*paths)[32];
	size_t len, i;

	e = calloc(10000, sizeof *e);
	paths = calloc(10000, sizeof *paths);
	assert_non_null(e);
	assert_non_null(paths);
	for (i = 0; i < 10000; i++) {
		snprintf(paths[i], sizeof paths[i], "payload/d-%zu.xml", i);
		entry(&e[i], paths[i], i + 1);
	}
	fill(&m, e, 10000, 42, DIGEST_STREEBOG256);
	s = manifest_serialize(&m, &len);
	if (manifest_parse(s, len, 64, &out, &err) == -1)
		fail_msg("rejected: %s", err.text);
	assert_int_equal(out.nentries, 10000);
	for (i = 0; i < 10000; i += 999) {
		assert_string_equal(out.entries[i].path, paths[i]);
		assert_int_equal(out.entries[i].size, i + 1);
	}
	manifest_free(&out);
	/* and one listed twice is refused */
	memcpy(paths[9999], paths[17], sizeof paths[17]);
	free(s);
	s = manifest_serialize(&m, &len);
	assert_int_equal(manifest_parse(s, len, 64, &out, &err), -1);
	assert_int_equal(err.code, ERR_MANIFEST);
	free(s);
	free(e);
	free(paths);
}

/* Frees the compiled schemas after the group. */
static int
group_teardown(void **state)
{
	schema_free();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_serialize_form),
	    cmocka_unit_test(test_no_entries),
	    cmocka_unit_test(test_rejects_duplicate_entry),
	    cmocka_unit_test(test_rejects_bad_seq),
	    cmocka_unit_test(test_rejects_created_without_z),
	    cmocka_unit_test(test_rejects_md5),
	    cmocka_unit_test(test_rejects_dotdot_path),
	    cmocka_unit_test(test_rejects_doctype),
	    cmocka_unit_test(test_rejects_other),
	    cmocka_unit_test(test_rejects_deep),
	    cmocka_unit_test(test_many_entries),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
