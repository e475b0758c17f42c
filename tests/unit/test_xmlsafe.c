/* test_xmlsafe.c: hostile XML is refused: no DTD, no entities, bounded depth */
#include "config.h"

#include <time.h>

#include <libxml/tree.h>

#include "testutil.h"

#include "xmlsafe.h"

/* Parse a NUL-terminated document with the given depth limit. */
static xmlDocPtr
parse(const char *s, int max_depth, struct error *err)
{
	err_clear(err);
	return xmlsafe_parse(
	    s, strlen(s), "test.xml", max_depth, ERR_PAYLOAD, err);
}

/* Assert that s is rejected with code payload and a text containing needle. */
static void
expect_reject(const char *s, int max_depth, const char *needle)
{
	struct error err = {0};
	xmlDocPtr doc;

	doc = parse(s, max_depth, &err);
	if (doc != NULL) {
		xmlFreeDoc(doc);
		fail_msg("accepted: %.200s", s);
	}
	assert_int_equal(err.code, ERR_PAYLOAD);
	if (strstr(err.text, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.text, needle);
	assert_non_null(strstr(err.text, "test.xml"));
}

/* depth nested <a> elements. */
static char *
nested(int depth)
{
	char *s = xmalloc((size_t)depth * 7 + 1), *p = s;
	int i;

	for (i = 0; i < depth; i++, p += 3)
		memcpy(p, "<a>", 3);
	for (i = 0; i < depth; i++, p += 4)
		memcpy(p, "</a>", 4);
	*p = '\0';
	return s;
}

/* A normal namespaced document parses with its names, attributes and text. */
static void
test_accepts_namespaced(void **state)
{
	const char *s =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<appeal xmlns=\"urn:posgw:exchange:1\" "
	    "xmlns:x=\"urn:example:other\" pos-id=\"42\" x:extra=\"1\">\n"
	    "  <!-- a comment -->\n"
	    "  <text>Яма &amp; лужа &#x41;<![CDATA[<raw>]]></text>\n"
	    "  <x:other/>\n"
	    "</appeal>\n";
	struct error err = {0};
	xmlDocPtr doc;
	xmlNodePtr root, n;
	xmlChar *content;

	doc = parse(s, 0, &err);
	if (doc == NULL)
		fail_msg("rejected: %s", err.text);
	root = xmlDocGetRootElement(doc);
	assert_true(xmlsafe_is(root, "urn:posgw:exchange:1", "appeal"));
	assert_false(xmlsafe_is(root, "urn:posgw:package:1", "appeal"));
	assert_false(xmlsafe_is(root, "urn:posgw:exchange:1", "event"));
	assert_string_equal(xmlsafe_attr(root, "pos-id"), "42");
	assert_null(xmlsafe_attr(root, "extra"));
	for (n = root->children; n != NULL && n->type != XML_ELEMENT_NODE;
	     n = n->next)
		;
	assert_true(xmlsafe_is(n, "urn:posgw:exchange:1", "text"));
	content = xmlNodeGetContent(n);
	assert_string_equal((const char *)content, "Яма & лужа A<raw>");
	xmlFree(content);
	assert_string_equal(err.text, "");
	xmlFreeDoc(doc);
}

/* Any DOCTYPE is refused, even an empty one. */
static void
test_rejects_doctype(void **state)
{
	expect_reject("<!DOCTYPE a><a/>", 0, "DOCTYPE");
	expect_reject(
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE a []>\n<a/>", 0, "DOCTYPE");
	expect_reject("<!DOCTYPE a SYSTEM \"a.dtd\"><a/>", 0, "DOCTYPE");
	expect_reject("<!DOCTYPE a PUBLIC \"-//X//Y//EN\" "
	              "\"http://example.org/a.dtd\"><a/>",
	    0, "DOCTYPE");
}

/* An external entity is never resolved: the document is refused. */
static void
test_rejects_external_entity(void **state)
{
	expect_reject(
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
	    "<r>&x;</r>",
	    0, "DOCTYPE");
}

/* A parameter entity is refused before it is expanded. */
static void
test_rejects_parameter_entity(void **state)
{
	expect_reject("<?xml version=\"1.0\"?>\n"
	              "<!DOCTYPE r [<!ENTITY % p SYSTEM \"file:///etc/passwd\">"
	              "%p;]>\n<r/>",
	    0, "DOCTYPE");
	expect_reject("<!DOCTYPE r [<!ENTITY % q \"<!ENTITY y 'z'>\">%q;]>"
	              "<r>&y;</r>",
	    0, "DOCTYPE");
}

/* The billion laughs document fails fast, without expanding. */
static void
test_rejects_billion_laughs(void **state)
{
	const char *s =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 "
	    "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 "
	    "\"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"
	    "\">\n"
	    " <!ENTITY lol3 "
	    "\"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"
	    "\">\n"
	    " <!ENTITY lol4 "
	    "\"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"
	    "\">\n"
	    " <!ENTITY lol5 "
	    "\"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"
	    "\">\n"
	    " <!ENTITY lol6 "
	    "\"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"
	    "\">\n"
	    " <!ENTITY lol7 "
	    "\"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"
	    "\">\n"
	    " <!ENTITY lol8 "
	    "\"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"
	    "\">\n"
	    " <!ENTITY lol9 "
	    "\"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;"
	    "\">\n"
	    "]>\n"
	    "<lolz>&lol9;</lolz>\n";

	expect_reject(s, 0, "DOCTYPE");
}

/* A reference to an entity nobody declared is not well-formed. */
static void
test_rejects_undeclared_entity(void **state)
{
	expect_reject("<a>&foo;</a>", 0, "not well-formed");
	expect_reject("<a x=\"&bar;\"/>", 0, "not well-formed");
}

/* An element whose prefix is bound to no namespace is rejected. */
static void
test_rejects_unbound_prefix(void **state)
{
	expect_reject("<p:a xmlns:q=\"urn:x\"/>", 0, "namespace");
}

/* Exactly max_depth levels are accepted. */
static void
test_depth_64_accepted(void **state)
{
	struct error err = {0};
	char *s = nested(64);
	xmlDocPtr doc;
	xmlNodePtr n;
	int depth = 0;

	doc = parse(s, 64, &err);
	if (doc == NULL)
		fail_msg("rejected: %s", err.text);
	for (n = xmlDocGetRootElement(doc); n != NULL; n = n->children)
		depth++;
	assert_int_equal(depth, 64);
	xmlFreeDoc(doc);
	/* 0 means the default, which is also 64 */
	doc = parse(s, 0, &err);
	if (doc == NULL)
		fail_msg("rejected with the default depth: %s", err.text);
	xmlFreeDoc(doc);
	free(s);
}

/* One level more than max_depth is refused. */
static void
test_depth_65_rejected(void **state)
{
	char *s = nested(65);

	expect_reject(s, 64, "deeper than 64");
	expect_reject(s, 0, "deeper than 64");
	free(s);
	s = nested(11);
	expect_reject(s, 10, "deeper than 10");
	free(s);
}

/* A 20,000-deep document is refused quickly. */
static void
test_depth_20000_rejected(void **state)
{
	char *s = nested(20000);

	expect_reject(s, 64, "deeper");
	free(s);
}

/* Only UTF-8 is allowed; a Latin-1 declaration is refused. */
static void
test_rejects_latin1(void **state)
{
	struct error err = {0};
	xmlDocPtr doc;

	expect_reject("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
	              "<a>caf\xe9</a>",
	    0, "encoding");
	expect_reject(
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", 0, "UTF-8");
	doc = parse("<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>", 0, &err);
	if (doc == NULL)
		fail_msg("lowercase utf-8 rejected: %s", err.text);
	xmlFreeDoc(doc);
}

/* Truncated and malformed documents are refused. */
static void
test_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "<a>",
	    "<a><b></a>",
	    "<a></b>",
	    "<a x=1/>",
	    "<a x=\"1\" x=\"2\"/>",
	    "<a/><b/>",
	    "text only",
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<appeal "
	    "xmlns=\"urn:posgw:exchange:1\"><text>cut",
	    "<a>\xff\xfe</a>",
	    "<a>\x01</a>",
	};
	struct error err = {0};
	xmlDocPtr doc;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		doc = parse(bad[i], 0, &err);
		if (doc != NULL) {
			xmlFreeDoc(doc);
			fail_msg("accepted: '%s'", bad[i]);
		}
		assert_int_equal(err.code, ERR_PAYLOAD);
		assert_non_null(strstr(err.text, "test.xml"));
	}
}

/* An XInclude element stays an element: the file is never read in. */
static void
test_xinclude_not_processed(void **state)
{
	const char *dir = *state;
	char *secret = tu_path(dir, "secret.txt"), *s, *text;
	struct error err = {0};
	xmlDocPtr doc;
	xmlNodePtr root, n;
	xmlChar *dump = NULL;
	int len = 0;

	tu_write_file(secret, "TOP-SECRET-MARKER\n", 18);
	xasprintf(&s,
	    "<r xmlns=\"urn:posgw:exchange:1\" "
	    "xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
	    "<xi:include href=\"file://%s\" parse=\"text\"/>"
	    "<xi:include href=\"%s\"/></r>",
	    secret, secret);
	doc = parse(s, 0, &err);
	if (doc == NULL)
		fail_msg("rejected: %s", err.text);
	root = xmlDocGetRootElement(doc);
	for (n = root->children; n != NULL && n->type != XML_ELEMENT_NODE;
	     n = n->next)
		;
	assert_true(
	    xmlsafe_is(n, "http://www.w3.org/2001/XInclude", "include"));
	xmlDocDumpMemory(doc, &dump, &len);
	assert_non_null(dump);
	assert_true(len > 0);
	assert_null(strstr((const char *)dump, "TOP-SECRET-MARKER"));
	assert_non_null(strstr((const char *)dump, "xi:include"));
	text = (char *)xmlNodeGetContent(root);
	assert_null(strstr(text, "TOP-SECRET"));
	xmlFree(text);
	xmlFree(dump);
	xmlFreeDoc(doc);
	free(s);
	free(secret);
}

/* A file over the size limit is refused with code size before parsing. */
static void
test_parse_file_limits(void **state)
{
	const char *dir = *state;
	char *path = tu_path(dir, "doc.xml"), *missing;
	const char *s = "<a xmlns=\"urn:x\"><b/></a>";
	struct error err = {0};
	xmlDocPtr doc;

	tu_write_file(path, s, strlen(s));
	err_clear(&err);
	doc = xmlsafe_parse_file(path, strlen(s), 64, ERR_PAYLOAD, &err);
	if (doc == NULL)
		fail_msg("rejected: %s", err.text);
	assert_true(xmlsafe_is(xmlDocGetRootElement(doc), "urn:x", "a"));
	xmlFreeDoc(doc);

	err_clear(&err);
	assert_null(
	    xmlsafe_parse_file(path, strlen(s) - 1, 64, ERR_PAYLOAD, &err));
	assert_int_equal(err.code, ERR_SIZE);

	err_clear(&err);
	assert_null(xmlsafe_parse_file(path, 1000, 1, ERR_MANIFEST, &err));
	assert_int_equal(err.code, ERR_MANIFEST);
	assert_non_null(strstr(err.text, "deeper"));

	missing = tu_path(dir, "missing.xml");
	err_clear(&err);
	assert_null(xmlsafe_parse_file(missing, 1000, 64, ERR_PAYLOAD, &err));
	assert_int_equal(err.code, ERR_NONE);
	assert_non_null(strstr(err.text, "missing.xml"));
	free(missing);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_namespaced),
	    cmocka_unit_test(test_rejects_doctype),
	    cmocka_unit_test(test_rejects_external_entity),
	    cmocka_unit_test(test_rejects_parameter_entity),
	    cmocka_unit_test(test_rejects_billion_laughs),
	    cmocka_unit_test(test_rejects_undeclared_entity),
	    cmocka_unit_test(test_rejects_unbound_prefix),
	    cmocka_unit_test(test_depth_64_accepted),
	    cmocka_unit_test(test_depth_65_rejected),
	    cmocka_unit_test(test_depth_20000_rejected),
	    cmocka_unit_test(test_rejects_latin1),
	    cmocka_unit_test(test_rejects_malformed),
	    cmocka_unit_test_setup_teardown(test_xinclude_not_processed,
	        tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_parse_file_limits, tu_setup_tmpdir, tu_teardown_tmpdir),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
