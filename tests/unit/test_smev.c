/* test_smev.c: the adapter's QueryResult envelope is read, hostile ones refused */
#include "config.h"

#include <libxml/tree.h>

#include "testutil.h"

#include "smev.h"
#include "xmlsafe.h"

#define T_OPEN                                                                 \
	"<T:QueryResult xmlns:T=\"urn://x-artefacts-smev-gov-ru/services/"     \
	"service-adapter/types\" xmlns:P=\"urn:posgw:pos:1\" "                 \
	"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"             \
	"<T:smevMetadata><T:MessageId> m-1 </T:MessageId></T:smevMetadata>"
#define T_CLOSE "</T:QueryResult>"

/* Parse s (NUL-terminated) or fail the test. */
static xmlDocPtr
parse(const char *s)
{
	struct error err = {0};
	xmlDocPtr doc = xmlsafe_parse(
	    s, strlen(s), "in.xml", XMLSAFE_DEFAULT_DEPTH, ERR_PAYLOAD, &err);

	if (doc == NULL)
		fail_msg("cannot parse: %s", err.text);
	return doc;
}

/* A request: id trimmed, type, kind, clientId, content, attachment path. */
static void
test_request(void **state)
{
	const char *s = T_OPEN
	    "<T:Message xsi:type=\"T:RequestMessageType\">"
	    "<T:RequestMetadata><T:clientId>c-1</T:clientId></"
	    "T:RequestMetadata>"
	    "<T:RequestContent><T:content><T:MessagePrimaryContent>"
	    "<P:Appeal id=\"1\"/></T:MessagePrimaryContent>"
	    "<T:AttachmentHeaderList>"
	    "<T:AttachmentHeader><T:Id>a</T:Id><T:filePath>x/y.pdf</T:filePath>"
	    "</T:AttachmentHeader>"
	    "<T:AttachmentHeader><T:Id>b</T:Id><T:filePath>../etc/passwd"
	    "</T:filePath></T:AttachmentHeader>"
	    "<T:AttachmentHeader><T:Id>c</T:Id><T:filePath>/etc/passwd"
	    "</T:filePath></T:AttachmentHeader>"
	    "</T:AttachmentHeaderList>"
	    "</T:content></T:RequestContent></T:Message>" T_CLOSE;
	struct smev_msg m;
	xmlDocPtr doc = parse(s);
	xmlNodePtr content;
	struct error why = {0};
	char *fp;

	(void)state;
	assert_int_equal(smev_read(doc, &m, &why), 0);
	assert_string_equal(m.message_id, "m-1");
	assert_string_equal(m.type, "RequestMessageType");
	assert_int_equal(m.kind, SMEV_REQUEST);
	assert_string_equal(m.client_id, "c-1");
	content = smev_request_content(m.message);
	assert_non_null(content);
	assert_string_equal((const char *)content->name, "Appeal");
	fp = smev_attachment_path(m.message, "a");
	assert_string_equal(fp, "x/y.pdf");
	free(fp);
	/* a path out of the adapter's folder is never handed out */
	assert_null(smev_attachment_path(m.message, "b"));
	assert_null(smev_attachment_path(m.message, "c"));
	assert_null(smev_attachment_path(m.message, "none"));
	smev_free(&m);
	xmlFreeDoc(doc);
}

/* A response's parts, and a status with its code text. */
static void
test_response(void **state)
{
	const char *s = T_OPEN
	    "<T:Message xsi:type=\"T:ResponseMessageType\">"
	    "<T:ResponseMetadata><T:replyToClientId>r-1</T:replyToClientId>"
	    "</T:ResponseMetadata><T:ResponseContent><T:rejects>"
	    "<T:code>FAILURE</T:code><T:description>down</T:description>"
	    "</T:rejects></T:ResponseContent></T:Message>" T_CLOSE;
	struct smev_msg m;
	struct smev_answer a;
	xmlDocPtr doc = parse(s);
	struct error why = {0};
	char *t;

	(void)state;
	assert_int_equal(smev_read(doc, &m, &why), 0);
	assert_int_equal(m.kind, SMEV_RESPONSE);
	assert_null(m.client_id);
	assert_int_equal(smev_answer(m.message, &a), 0);
	assert_string_equal(a.reply_to, "r-1");
	assert_null(a.content);
	assert_null(a.status);
	assert_non_null(a.rejects);
	t = smev_code_text(a.rejects, "rejected");
	assert_string_equal(t, "FAILURE: down");
	free(t);
	t = smev_code_text(a.status, "status");
	assert_string_equal(t, "status");
	free(t);
	free(a.reply_to);
	smev_free(&m);
	xmlFreeDoc(doc);
}

/* Not a QueryResult, no MessageId, an unsafe id or no type: refused. */
static void
test_refused_envelopes(void **state)
{
	static const char *const bad[] = {
	    "<QueryResult><Message/></QueryResult>",
	    T_OPEN "<T:Message/>" T_CLOSE,
	    "<T:QueryResult xmlns:T=\"urn://x-artefacts-smev-gov-ru/services/"
	    "service-adapter/types\" xmlns:xsi=\"http://www.w3.org/2001/"
	    "XMLSchema-instance\"><T:smevMetadata><T:MessageId>../x"
	    "</T:MessageId></T:smevMetadata><T:Message xsi:type=\"T:"
	    "StatusMessage\"/>" T_CLOSE,
	    "<T:QueryResult xmlns:T=\"urn://x-artefacts-smev-gov-ru/services/"
	    "service-adapter/types\" xmlns:xsi=\"http://www.w3.org/2001/"
	    "XMLSchema-instance\"><T:Message xsi:type=\"T:StatusMessage\"/>"
	    "<T:RequestMetadata><T:clientId>keep</T:clientId>"
	    "</T:RequestMetadata>" T_CLOSE,
	};
	struct smev_msg m;
	xmlDocPtr doc;
	struct error why = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		doc = parse(bad[i]);
		assert_int_equal(smev_read(doc, &m, &why), -1);
		assert_non_null(strstr(why.text, "not a QueryResult"));
		assert_null(m.message_id);
		if (i == 3) /* the clientId still answers the reject */
			assert_string_equal(m.client_id, "keep");
		smev_free(&m);
		xmlFreeDoc(doc);
	}
}

/* An unknown Message type reads, with kind unknown. */
static void
test_unknown_type(void **state)
{
	const char *s =
	    T_OPEN "<T:Message xsi:type=\"T:SomethingElse\"/>" T_CLOSE;
	struct smev_msg m;
	xmlDocPtr doc = parse(s);
	struct error why = {0};

	(void)state;
	assert_int_equal(smev_read(doc, &m, &why), 0);
	assert_int_equal(m.kind, SMEV_UNKNOWN);
	assert_string_equal(m.type, "SomethingElse");
	smev_free(&m);
	xmlFreeDoc(doc);
}

/* The clientId salvaged from a torn file; hostile values are not. */
static void
test_salvage(void **state)
{
	static const char torn[] = "<x:Q><x:RequestMetadata><x:clientId> c-9 "
	                           "</x:clientId><x:Message>...";
	static const char unsafe[] = "<clientId>../../etc</clientId>";
	static const char fake[] = "<notclientId>c</notclientId><clientId>";
	char big[70000], *s;

	(void)state;
	s = smev_salvage(torn, sizeof torn - 1);
	assert_string_equal(s, "c-9");
	free(s);
	assert_null(smev_salvage(unsafe, sizeof unsafe - 1));
	assert_null(smev_salvage(fake, sizeof fake - 1));
	/* longer than 64 KiB: the tag past the bound is not read */
	memset(big, ' ', sizeof big);
	memcpy(big + sizeof big - 30, "<clientId>late</clientId>", 25);
	assert_null(smev_salvage(big, sizeof big));
}

/* Ids and relative paths as the edge names folders with them. */
static void
test_ids_and_paths(void **state)
{
	(void)state;
	assert_true(smev_id_ok("3f3d7eab-c8e4-49e2-9071-bcf04983f041"));
	assert_false(smev_id_ok(NULL));
	assert_false(smev_id_ok(""));
	assert_false(smev_id_ok(".hidden"));
	assert_false(smev_id_ok("a/b"));
	assert_true(smev_relpath_ok("a/b c.pdf"));
	assert_false(smev_relpath_ok("a//b"));
	assert_false(smev_relpath_ok("a/./b"));
	assert_false(smev_relpath_ok("a/.."));
	assert_false(smev_relpath_ok("/a"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_response),
	    cmocka_unit_test(test_refused_envelopes),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_salvage),
	    cmocka_unit_test(test_ids_and_paths),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
