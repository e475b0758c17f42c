/* test_schema.c: examples and manifests match the XSDs; broken ones do not. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "testutil.h"

#include "digest.h"
#include "manifest.h"
#include "schema.h"
#include "xmlsafe.h"

#define EXAMPLES TESTDATA "/examples"
#define DIGEST_A                                                               \
	"9d151b7f1e4c9b1c4aa41d6e9c8e5b3f2f6a5c7d8e9f0a1b2c3d4e5f60715500"
#define DIGEST_B                                                               \
	"3f53c1bb00112233445566778899aabbccddeeff00112233445566778899c1bb"

/* Validate a document given as text; returns 0 or -1 with err set. */
static int
validate_text(enum schema_kind kind, const char *s, struct error *err)
{
	xmlDocPtr doc;
	int rc;

	err_clear(err);
	doc = xmlsafe_parse(s, strlen(s), "doc.xml", 64, ERR_PAYLOAD, err);
	if (doc == NULL)
		fail_msg("not even well-formed: %s", err->text);
	rc = schema_validate(kind, doc, "doc.xml", ERR_PAYLOAD, err);
	xmlFreeDoc(doc);
	return rc;
}

/* Assert that s fails validation against kind with code payload. */
static void
expect_invalid(enum schema_kind kind, const char *s)
{
	struct error err = {0};

	if (validate_text(kind, s, &err) != -1)
		fail_msg("valid: %.300s", s);
	assert_int_equal(err.code, ERR_PAYLOAD);
	assert_non_null(strstr(err.text, "does not match"));
	assert_non_null(strstr(
	    err.text, kind == SCHEMA_PACKAGE ? "package.xsd" : "exchange.xsd"));
}

/* An example document's text, read from TESTDATA/examples. */
static char *
example(const char *name)
{
	char *path = tu_path(EXAMPLES, name), *s;

	s = tu_read_file(path, NULL);
	free(path);
	return s;
}

/* A manifest with two entries, serialised; entry digests as given. */
static char *
manifest_text(const char *digest_a, const char *digest_b)
{
	static char path_a[] = "payload/appeal-177073571.xml";
	static char path_b[] = "payload/att/177073571-1.bin";
	struct manifest_entry e[2];
	struct manifest m;
	size_t len;

	memset(&m, 0, sizeof m);
	memset(e, 0, sizeof e);
	snprintf(m.uuid, sizeof m.uuid, "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c");
	snprintf(m.sender, sizeof m.sender, "edge-01");
	snprintf(m.recipient, sizeof m.recipient, "core-01");
	m.seq = 42;
	m.created = 1795600800;
	m.alg = DIGEST_STREEBOG256;
	e[0].path = path_a;
	e[0].size = 2345;
	snprintf(e[0].digest, sizeof e[0].digest, "%s", digest_a);
	e[1].path = path_b;
	e[1].size = 812044;
	snprintf(e[1].digest, sizeof e[1].digest, "%s", digest_b);
	m.entries = e;
	m.nentries = 2;
	return manifest_serialize(&m, &len);
}

/* Every example document is valid against exchange.xsd. */
static void
test_examples_valid(void **state)
{
	struct dirent *de;
	struct error err = {0};
	xmlDocPtr doc;
	size_t n = 0;
	char *path;
	DIR *d;

	assert_non_null(d = opendir(EXAMPLES));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) < 5 ||
		    strcmp(de->d_name + strlen(de->d_name) - 4, ".xml") != 0)
			continue;
		path = tu_path(EXAMPLES, de->d_name);
		err_clear(&err);
		doc =
		    xmlsafe_parse_file(path, 16u << 20, 64, ERR_PAYLOAD, &err);
		if (doc == NULL)
			fail_msg("%s: %s", path, err.text);
		if (schema_validate(
		        SCHEMA_EXCHANGE, doc, path, ERR_PAYLOAD, &err) == -1)
			fail_msg("%s", err.text);
		xmlFreeDoc(doc);
		free(path);
		n++;
	}
	closedir(d);
	assert_true(n >= 4);
}

/* An example document is not a manifest. */
static void
test_example_not_a_manifest(void **state)
{
	char *s = example("appeal.xml");

	expect_invalid(SCHEMA_PACKAGE, s);
	free(s);
}

/* A manifest written by manifest_serialize is valid against package.xsd. */
static void
test_manifest_valid(void **state)
{
	char *s = manifest_text(DIGEST_A, DIGEST_B);
	struct error err = {0};

	if (validate_text(SCHEMA_PACKAGE, s, &err) == -1)
		fail_msg("%s\n%s", err.text, s);
	expect_invalid(SCHEMA_EXCHANGE, s);
	free(s);
}

/* An appeal without its pos-id is invalid. */
static void
test_appeal_without_pos_id(void **state)
{
	char *s = example("appeal.xml"), *bad;
	struct error err = {0};

	assert_int_equal(validate_text(SCHEMA_EXCHANGE, s, &err), 0);
	assert_string_equal(err.text, "");
	bad = tu_replace(s, " pos-id=\"177073571\"", "");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	bad = tu_replace(s, "pos-id=\"177073571\"", "pos-id=\"17707357x\"");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	free(s);
}

/* An event of a type the schema does not know is invalid. */
static void
test_event_unknown_type(void **state)
{
	char *s = example("event-registered.xml"), *bad;

	bad = tu_replace(s, "type=\"registered\"", "type=\"teleported\"");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	bad = tu_replace(s, "type=\"registered\"", "type=\"Registered\"");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	free(s);
}

/* A receipt with a result other than accepted/duplicate/rejected is invalid. */
static void
test_receipt_unknown_result(void **state)
{
	char *s = example("receipt.xml"), *bad;

	bad = tu_replace(s, "result=\"rejected\"", "result=\"lost\"");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	bad = tu_replace(s, "code=\"digest\"", "code=\"unknown\"");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	free(s);
}

/* A manifest of another format version is invalid. */
static void
test_manifest_format_2(void **state)
{
	char *s = manifest_text(DIGEST_A, DIGEST_B), *bad;

	bad = tu_replace(s, "format=\"1\"", "format=\"2\"");
	expect_invalid(SCHEMA_PACKAGE, bad);
	free(bad);
	bad = tu_replace(s, " format=\"1\"", "");
	expect_invalid(SCHEMA_PACKAGE, bad);
	free(bad);
	free(s);
}

/* Entry digests must be lowercase hex. */
static void
test_manifest_uppercase_digest(void **state)
{
	char upper[DIGEST_HEX_LEN + 1], *s;
	size_t i;

	for (i = 0; i < DIGEST_HEX_LEN; i++)
		upper[i] = (char)(DIGEST_B[i] >= 'a' && DIGEST_B[i] <= 'f'
		                      ? DIGEST_B[i] - 'a' + 'A'
		                      : DIGEST_B[i]);
	upper[DIGEST_HEX_LEN] = '\0';
	assert_string_not_equal(upper, DIGEST_B);
	s = manifest_text(DIGEST_A, upper);
	expect_invalid(SCHEMA_PACKAGE, s);
	free(s);
}

/* An element the schema does not declare is invalid. */
static void
test_appeal_unknown_element(void **state)
{
	char *s = example("appeal.xml"), *bad;

	bad = tu_replace(s, "</appeal>", "<mood>angry</mood>\n</appeal>");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	bad = tu_replace(s, "<category code=\"21\">",
	    "<secret>x</secret><category code=\"21\">");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	/* a foreign namespace on the root is a different document */
	bad = tu_replace(s, "urn:posgw:exchange:1", "urn:posgw:exchange:2");
	expect_invalid(SCHEMA_EXCHANGE, bad);
	free(bad);
	free(s);
}

/* Frees the compiled schemas after the group. */
static int
group_teardown(void **state)
{
	schema_free();
	return 0;
}

/*
 * Run every case under tests/data/schema/KIND/{ok,bad}: ok documents parse
 * and validate, bad ones are refused by the parser or the schema. Returns
 * the number of cases seen.
 */
static int
run_cases(const char *kind, enum schema_kind sk, int want_ok)
{
	char dir[1024], path[2048];
	struct dirent *de;
	struct error err = {0};
	xmlDocPtr doc;
	DIR *d;
	int n = 0, rc;

	snprintf(dir, sizeof dir, "%s/schema/%s/%s", TESTDATA, kind,
	    want_ok ? "ok" : "bad");
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".xml") == NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		err_clear(&err);
		doc =
		    xmlsafe_parse_file(path, 16u << 20, 64, ERR_PAYLOAD, &err);
		rc = doc == NULL ? -1
		                 : schema_validate(
		                       sk, doc, de->d_name, ERR_PAYLOAD, &err);
		if (doc != NULL)
			xmlFreeDoc(doc);
		if ((rc == 0) != want_ok)
			fail_msg("%s: expected %s, got %s", path,
			    want_ok ? "valid" : "invalid",
			    rc == 0 ? "valid" : err.text);
		n++;
	}
	closedir(d);
	return n;
}

/* The schema case corpus (valid and invalid documents of every kind). */
static void
test_schema_corpus(void **state)
{
	(void)state;
	assert_true(run_cases("exchange", SCHEMA_EXCHANGE, 1) >= 20);
	assert_true(run_cases("exchange", SCHEMA_EXCHANGE, 0) >= 100);
	assert_true(run_cases("package", SCHEMA_PACKAGE, 1) >= 4);
	assert_true(run_cases("package", SCHEMA_PACKAGE, 0) >= 30);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_examples_valid),
	    cmocka_unit_test(test_schema_corpus),
	    cmocka_unit_test(test_example_not_a_manifest),
	    cmocka_unit_test(test_manifest_valid),
	    cmocka_unit_test(test_appeal_without_pos_id),
	    cmocka_unit_test(test_event_unknown_type),
	    cmocka_unit_test(test_receipt_unknown_result),
	    cmocka_unit_test(test_manifest_format_2),
	    cmocka_unit_test(test_manifest_uppercase_digest),
	    cmocka_unit_test(test_appeal_unknown_element),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
