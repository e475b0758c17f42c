/* test_names.c: ids, uuids, payload paths, file names and error codes. */
#include "config.h"

#include "testutil.h"

#include "error.h"
#include "filename.h"
#include "fsutil.h"
#include "package.h"

#define UUID "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"

/* A string of n copies of c (n < sizeof buf). */
static const char *
repeat(char *buf, size_t size, char c, size_t n)
{
	assert_true(n < size);
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* Gateway ids follow [a-z0-9][a-z0-9-]{0,31}. */
static void
test_id_valid(void **state)
{
	char buf[64];

	assert_true(pkg_id_valid("edge-01"));
	assert_true(pkg_id_valid("core-01"));
	assert_true(pkg_id_valid("a"));
	assert_true(pkg_id_valid("0"));
	assert_true(pkg_id_valid("a-"));
	assert_true(pkg_id_valid(repeat(buf, sizeof buf, 'z', 32)));
	assert_false(pkg_id_valid(repeat(buf, sizeof buf, 'z', 33)));
	assert_false(pkg_id_valid(NULL));
	assert_false(pkg_id_valid(""));
	assert_false(pkg_id_valid("-edge"));
	assert_false(pkg_id_valid("Edge-01"));
	assert_false(pkg_id_valid("edge_01"));
	assert_false(pkg_id_valid("edge.01"));
	assert_false(pkg_id_valid("edge 01"));
	assert_false(pkg_id_valid("edge/01"));
	assert_false(pkg_id_valid("ядро"));
}

/* UUIDs are lowercase 8-4-4-4-12 hex. */
static void
test_uuid_valid(void **state)
{
	assert_true(pkg_uuid_valid(UUID));
	assert_true(pkg_uuid_valid("00000000-0000-0000-0000-000000000000"));
	assert_false(pkg_uuid_valid(NULL));
	assert_false(pkg_uuid_valid(""));
	assert_false(pkg_uuid_valid("6F1C2B3A-0D4E-4F5A-9B8C-7D6E5F4A3B2C"));
	assert_false(pkg_uuid_valid("6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2"));
	assert_false(pkg_uuid_valid("6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2cd"));
	assert_false(pkg_uuid_valid("6f1c2b3a0d4e-4f5a-9b8c-7d6e5f4a3b2c-"));
	assert_false(pkg_uuid_valid("6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2g"));
	assert_false(pkg_uuid_valid("{f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2}"));
}

/* Good payload paths: 1 to 3 components of up to 100 safe characters. */
static void
test_path_valid_accepts(void **state)
{
	char c100[101], c45[46], buf[300];

	repeat(c100, sizeof c100, 'x', 100);
	repeat(c45, sizeof c45, 'y', 45);
	assert_true(pkg_path_valid("payload/a"));
	assert_true(pkg_path_valid("payload/a/b/c"));
	assert_true(pkg_path_valid("payload/appeal-177073571.xml"));
	assert_true(pkg_path_valid("payload/att/177073571-1.bin"));
	assert_true(pkg_path_valid("payload/A.Z_0-9"));
	assert_true(pkg_path_valid("payload/.hidden"));
	assert_true(pkg_path_valid("payload/..."));
	snprintf(buf, sizeof buf, "payload/%s", c100);
	assert_true(pkg_path_valid(buf));
	/* 8 + 100 + 1 + 100 + 1 + 45 = 255 characters, the maximum */
	snprintf(buf, sizeof buf, "payload/%s/%s/%s", c100, c100, c45);
	assert_int_equal(strlen(buf), 255);
	assert_true(pkg_path_valid(buf));
}

/* Bad payload paths of every kind the spec names. */
static void
test_path_valid_rejects(void **state)
{
	char c100[101], c101[102], c46[47], buf[300];

	repeat(c100, sizeof c100, 'x', 100);
	repeat(c101, sizeof c101, 'x', 101);
	repeat(c46, sizeof c46, 'y', 46);
	assert_false(pkg_path_valid(NULL));
	assert_false(pkg_path_valid(""));
	assert_false(pkg_path_valid("payload"));
	assert_false(pkg_path_valid("payload/"));
	assert_false(pkg_path_valid("payload/../x"));
	assert_false(pkg_path_valid("payload/./x"));
	assert_false(pkg_path_valid("payload/a/.."));
	assert_false(pkg_path_valid("payload/a/./b"));
	assert_false(pkg_path_valid("payload/.."));
	assert_false(pkg_path_valid("payload/."));
	assert_false(pkg_path_valid("/etc/passwd"));
	assert_false(pkg_path_valid("/payload/a"));
	assert_false(pkg_path_valid("manifest.xml"));
	assert_false(pkg_path_valid("Payload/a"));
	assert_false(pkg_path_valid("payload/a/b/c/d"));
	assert_false(pkg_path_valid("payload/a b"));
	assert_false(pkg_path_valid("payload/файл.xml"));
	assert_false(pkg_path_valid("payload\\a"));
	assert_false(pkg_path_valid("payload/a\\b"));
	assert_false(pkg_path_valid("payload//x"));
	assert_false(pkg_path_valid("payload/a/"));
	assert_false(pkg_path_valid("payload/a/b/"));
	assert_false(pkg_path_valid("payload/a:b"));
	assert_false(pkg_path_valid("payload/a\nb"));
	snprintf(buf, sizeof buf, "payload/%s", c101);
	assert_false(pkg_path_valid(buf));
	snprintf(buf, sizeof buf, "payload/a/%s", c101);
	assert_false(pkg_path_valid(buf));
	/* 256 characters in all */
	snprintf(buf, sizeof buf, "payload/%s/%s/%s", c100, c100, c46);
	assert_int_equal(strlen(buf), 256);
	assert_false(pkg_path_valid(buf));
}

/* Documents are payload/<name>.xml directly under payload/. */
static void
test_doc_path(void **state)
{
	assert_true(pkg_doc_path("payload/appeal.xml"));
	assert_true(pkg_doc_path("payload/a.xml"));
	assert_false(pkg_doc_path("payload/.xml"));
	assert_false(pkg_doc_path("payload/att/a.xml"));
	assert_false(pkg_doc_path("payload/a.bin"));
	assert_false(pkg_doc_path("payload/a.XML"));
	assert_false(pkg_doc_path("payload/a.xml.p7s"));
	assert_false(pkg_doc_path("manifest.xml"));
	assert_false(pkg_doc_path("attachments.xml"));
	assert_false(pkg_doc_path("x.xml"));
	assert_false(pkg_doc_path(""));
}

/* A formatted name parses back into the same parts. */
static void
test_name_roundtrip(void **state)
{
	char name[PKG_NAME_MAX], sender[33], uuid[37], id32[33];
	uint64_t seq = 0;

	pkg_name_format(name, sizeof name, "edge-01", 42, UUID);
	assert_string_equal(name, "edge-01.000000000042." UUID ".pkg");
	assert_int_equal(pkg_name_parse(name, sender, &seq, uuid), 0);
	assert_string_equal(sender, "edge-01");
	assert_int_equal(seq, 42);
	assert_string_equal(uuid, UUID);

	pkg_name_format(name, sizeof name, "core-01", PKG_SEQ_MAX, UUID);
	assert_string_equal(name, "core-01.999999999999." UUID ".pkg");
	assert_int_equal(pkg_name_parse(name, sender, &seq, uuid), 0);
	assert_string_equal(sender, "core-01");
	assert_int_equal(seq, PKG_SEQ_MAX);

	repeat(id32, sizeof id32, 'e', 32);
	pkg_name_format(name, sizeof name, id32, 1, UUID);
	assert_int_equal(pkg_name_parse(name, sender, &seq, uuid), 0);
	assert_string_equal(sender, id32);
	assert_int_equal(seq, 1);
}

/* Names that do not match the regex of package.md section 2 are refused. */
static void
test_name_rejects(void **state)
{
	static const char *const bad[] = {
	    "Edge-01.000000000001." UUID ".pkg",
	    "edge-01.00000000001." UUID ".pkg",
	    "edge-01.0000000000001." UUID ".pkg",
	    "edge-01.00000000000a." UUID ".pkg",
	    "edge-01.000000000001.6F1C2B3A-0D4E-4F5A-9B8C-7D6E5F4A3B2C.pkg",
	    "edge-01.000000000001.6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2g.pkg",
	    "edge-01.000000000001.6f1c2b3a-0d4e-4f5a-9b8c7d6e5f4a3b2cc.pkg",
	    "edge-01.000000000001." UUID,
	    "edge-01.000000000001." UUID ".tar",
	    "edge-01.000000000001." UUID ".pkg.part",
	    "edge-01.000000000001." UUID ".PKG",
	    ".edge-01.000000000001." UUID ".pkg",
	    "-edge.000000000001." UUID ".pkg",
	    "edge_01.000000000001." UUID ".pkg",
	    "edge-01-000000000001." UUID ".pkg",
	    "edge-01.000000000001-" UUID ".pkg",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.000000000001." UUID ".pkg",
	    "",
	    ".pkg",
	};
	char sender[33], uuid[37];
	uint64_t seq = 7;
	size_t i;

	assert_int_equal(strlen(strchr(bad[16], '.')) + 33, strlen(bad[16]));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (pkg_name_parse(bad[i], sender, &seq, uuid) != -1)
			fail_msg("name '%s' was accepted", bad[i]);
	}
	assert_int_equal(seq, 7);
}

/* Fresh UUIDs are valid version 4 UUIDs and all differ. */
static void
test_uuid_new(void **state)
{
	char u[64][37];
	size_t i, k;

	for (i = 0; i < 64; i++) {
		memset(u[i], 'X', sizeof u[i]);
		pkg_uuid_new(u[i]);
		assert_true(pkg_uuid_valid(u[i]));
		assert_int_equal(u[i][14], '4');
		assert_non_null(strchr("89ab", u[i][19]));
		for (k = 0; k < i; k++)
			assert_string_not_equal(u[i], u[k]);
	}
}

/* All 11 rejection codes of section 9 map to their names and back. */
static void
test_err_codes(void **state)
{
	static const struct {
		enum err_code code;
		const char *name;
	} codes[] = {
	    {ERR_NAME, "name"},
	    {ERR_SIZE, "size"},
	    {ERR_ARCHIVE, "archive"},
	    {ERR_ENTRY, "entry"},
	    {ERR_MANIFEST, "manifest"},
	    {ERR_SIGNATURE, "signature"},
	    {ERR_UNTRUSTED, "untrusted"},
	    {ERR_RECIPIENT, "recipient"},
	    {ERR_DIGEST, "digest"},
	    {ERR_PAYLOAD, "payload"},
	    {ERR_CONFLICT, "conflict"},
	};
	enum err_code c;
	size_t i;

	assert_int_equal(sizeof codes / sizeof codes[0], 11);
	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		assert_string_equal(
		    err_code_name(codes[i].code), codes[i].name);
		c = ERR_NONE;
		assert_int_equal(err_code_from_name(codes[i].name, &c), 0);
		assert_int_equal(c, codes[i].code);
	}
	assert_string_equal(err_code_name(ERR_NONE), "error");
	assert_string_equal(err_code_name((enum err_code)99), "error");
	c = ERR_SIZE;
	assert_int_equal(err_code_from_name("error", &c), -1);
	assert_int_equal(err_code_from_name("Name", &c), -1);
	assert_int_equal(err_code_from_name("", &c), -1);
	assert_int_equal(err_code_from_name("duplicate", &c), -1);
	assert_int_equal(c, ERR_SIZE);
}

/* The error idiom: set replaces, keep keeps the first, wrap adds context. */
static void
test_err_idiom(void **state)
{
	struct error err = {0};

	(void)state;
	/* err_set replaces: a reused value never keeps a stale message */
	assert_int_equal(err_set(&err, ERR_DIGEST, "first %d", 1), -1);
	assert_int_equal(err_set(&err, ERR_NAME, "second"), -1);
	assert_int_equal(err.code, ERR_NAME);
	assert_string_equal(err.text, "second");
	/* err_keep keeps what a callback recorded first */
	assert_int_equal(err_keep(&err, ERR_DIGEST, "vaguer"), -1);
	assert_int_equal(err.code, ERR_NAME);
	assert_string_equal(err.text, "second");
	/* err_wrap adds context and keeps the code */
	assert_int_equal(err_wrap(&err, "reading %s", "x.pkg"), -1);
	assert_int_equal(err.code, ERR_NAME);
	assert_string_equal(err.text, "reading x.pkg: second");
	/* err_what names a domain's class; trailing line breaks go */
	assert_int_equal(err_what(&err, "schema", "bad\n"), -1);
	assert_int_equal(err.code, ERR_NONE);
	assert_string_equal(err.what, "schema");
	assert_string_equal(err.text, "bad");
	err_clear(&err);
	assert_int_equal(err.code, ERR_NONE);
	assert_null(err.what);
	assert_string_equal(err.text, "");
	assert_int_equal(err_keep(&err, ERR_SIZE, "now %s", "kept"), -1);
	assert_string_equal(err.text, "now kept");
	err_clear(&err);
	assert_int_equal(err_wrap(&err, "context only"), -1);
	assert_string_equal(err.text, "context only");
	assert_int_equal(err_set(NULL, ERR_NAME, "ignored"), -1);
	assert_int_equal(err_keep(NULL, ERR_NAME, "ignored"), -1);
	assert_int_equal(err_wrap(NULL, "ignored"), -1);
}

/* Manifest times are exactly YYYY-MM-DDTHH:MM:SSZ in UTC. */
static void
test_time_parse(void **state)
{
	time_t t = 0;

	assert_int_equal(pkg_time_parse("2026-11-25T10:00:00Z", &t), 0);
	assert_int_equal(t, 1795600800);
	assert_int_equal(pkg_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(pkg_time_parse("2026-11-25T10:00:00", &t), -1);
	assert_int_equal(pkg_time_parse("2026-11-25T10:00:00+03:00", &t), -1);
	assert_int_equal(pkg_time_parse("2026-11-25 10:00:00Z", &t), -1);
	assert_int_equal(pkg_time_parse(" 2026-11-25T10:00:00Z", &t), -1);
	assert_int_equal(pkg_time_parse(NULL, &t), -1);
}

/* Compression names round-trip; unknown names are refused. */
static void
test_compress_names(void **state)
{
	static const char *const names[] = {"none", "gzip", "zstd"};
	enum pkg_compress c;
	size_t i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(pkg_compress_from_name(names[i], &c), 0);
		assert_int_equal(c, (enum pkg_compress)i);
		assert_string_equal(pkg_compress_name(c), names[i]);
	}
	assert_int_equal(pkg_compress_from_name("xz", &c), -1);
	assert_int_equal(pkg_compress_from_name("ZSTD", &c), -1);
}

/* sanitized IN is WANT. */
static void
sane(const char *in, const char *want)
{
	char out[FILENAME_MAX_BYTES + 1];

	filename_sanitize(in, out, sizeof out);
	assert_string_equal(out, want);
}

/*
 * Names leaving posgw (exported attachments, answer files to ПОС): no path,
 * no controls or bidirectional overrides, no leading dot (regression
 * answer-file-name-leaves-zone).
 */
static void
test_filename_sanitize(void **state)
{
	char big[400], out[FILENAME_MAX_BYTES + 1];
	size_t i;

	(void)state;
	sane("Фото ямы.jpg", "Фото ямы.jpg");
	sane("../../../../tmp/x/PWNED.pdf", "_._.._.._.._tmp_x_PWNED.pdf");
	sane("..\\tmp\\x.pdf", "_._tmp_x.pdf");
	sane("C:\\x<y>\"z|?*.pdf", "C__x_y__z___.pdf");
	sane("a\tb\nc\x7f.pdf", "a_b_c_.pdf");
	sane("a\xc2\x85"
	     "b.pdf",
	    "a_b.pdf"); /* C1 NEL */
	sane("отчёт\xe2\x80\xae"
	     "fdp.exe",
	    "отчёт_fdp.exe"); /* U+202E */
	sane("a\xe2\x81\xa6"
	     "b\xe2\x80\x8f.pdf",
	    "a_b_.pdf"); /* U+2066, U+200F */
	sane("a\xd8\x9c"
	     "b.pdf",
	    "a_b.pdf"); /* U+061C */
	sane(".hidden", "_hidden");
	sane("  name.txt. . ", "name.txt");
	sane("", "attachment");
	sane("...", "attachment");
	/* cut at a character boundary, the extension kept */
	for (i = 0; i + 2 < 300; i += 2)
		memcpy(big + i, "я", 2);
	memcpy(big + i, ".pdf", 5);
	filename_sanitize(big, out, sizeof out);
	assert_true(strlen(out) <= FILENAME_MAX_BYTES);
	assert_string_equal(out + strlen(out) - 4, ".pdf");
	assert_int_equal((strlen(out) - 4) % 2, 0);
}

/* Names made distinct: "a (2).jpg", ASCII case ignored. */
static void
test_filename_unique(void **state)
{
	char name[FILENAME_MAX_BYTES + 1];
	char u1[] = "a.jpg", u2[] = "A (2).JPG", u3[] = "b";
	char *used[] = {u1, u2, u3};

	(void)state;
	snprintf(name, sizeof name, "a.jpg");
	filename_unique(name, sizeof name, used, 1);
	assert_string_equal(name, "a (2).jpg");
	snprintf(name, sizeof name, "a.jpg");
	filename_unique(name, sizeof name, used, 2);
	assert_string_equal(name, "a (3).jpg");
	snprintf(name, sizeof name, "b");
	filename_unique(name, sizeof name, used, 3);
	assert_string_equal(name, "b (2)");
	snprintf(name, sizeof name, "c.jpg");
	filename_unique(name, sizeof name, used, 3);
	assert_string_equal(name, "c.jpg");
}

/*
 * The one scan for *.xml of a folder (in/, out/, out/error/, the EDMS
 * import folder): any case of the ending, dot files only when asked,
 * byte order.
 */
static void
test_xml_names(void **state)
{
	static const char *const files[] = {
	    "b.xml", "a.XML", "c.xml.tmp", ".d.xml", "e.txt", ".xml", "x.Xml"};
	char **names, *p;
	size_t n, i;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		p = tu_path(*state, files[i]);
		tu_write_file(p, "x", 1);
		free(p);
	}
	assert_int_equal(fs_xml_names(*state, 0, &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a.XML");
	assert_string_equal(names[1], "b.xml");
	assert_string_equal(names[2], "x.Xml");
	fs_names_free(names, n);
	assert_int_equal(fs_xml_names(*state, 1, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], ".d.xml");
	fs_names_free(names, n);
	p = tu_path(*state, "missing");
	assert_int_equal(fs_xml_names(p, 0, &names, &n), -1);
	assert_int_equal(n, 0);
	free(p);
}

/*
 * The first max names of a flood: the same as the whole list's head,
 * whatever order the folder gives them in.
 */
static void
test_xml_names_first(void **state)
{
	char **all, **names, *p, f[32];
	size_t n, nall, i, max, total;

	for (i = 0; i < 300; i++) {
		snprintf(f, sizeof f, "%06zu-x.xml", (i * 7919) % 300);
		p = tu_path(*state, f);
		tu_write_file(p, "x", 1);
		free(p);
	}
	p = tu_path(*state, ".hidden.xml");
	tu_write_file(p, "x", 1);
	free(p);
	assert_int_equal(fs_xml_names(*state, 0, &all, &nall), 0);
	assert_int_equal(nall, 300);
	for (max = 1; max <= 301; max += 50) {
		assert_int_equal(
		    fs_xml_names_first(*state, 0, max, &names, &n, &total), 0);
		assert_int_equal(n, max < 300 ? max : 300);
		assert_int_equal(total, 300);
		for (i = 0; i < n; i++)
			assert_string_equal(names[i], all[i]);
		fs_names_free(names, n);
	}
	fs_names_free(all, nall);
	p = tu_path(*state, "missing");
	assert_int_equal(fs_xml_names_first(p, 0, 5, &names, &n, &total), -1);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id_valid),
	    cmocka_unit_test(test_uuid_valid),
	    cmocka_unit_test(test_path_valid_accepts),
	    cmocka_unit_test(test_path_valid_rejects),
	    cmocka_unit_test(test_doc_path),
	    cmocka_unit_test(test_name_roundtrip),
	    cmocka_unit_test(test_name_rejects),
	    cmocka_unit_test(test_uuid_new),
	    cmocka_unit_test(test_err_codes),
	    cmocka_unit_test(test_err_idiom),
	    cmocka_unit_test(test_time_parse),
	    cmocka_unit_test(test_compress_names),
	    cmocka_unit_test(test_filename_sanitize),
	    cmocka_unit_test(test_filename_unique),
	    cmocka_unit_test_setup_teardown(
	        test_xml_names, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_xml_names_first, tu_setup_tmpdir, tu_teardown_tmpdir),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
