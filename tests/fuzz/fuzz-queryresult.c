/*
 * fuzz-queryresult: an in/ file of the SMEV 3 adapter as posgw-edge reads
 * it: the clientId salvage of a broken file, the QueryResult envelope
 * (gateway/edge/smev.c), and what each message type carries: a request's
 * appeal (with its attachment headers), feedback or classifier mapped to
 * posgw documents, a response's verdict, rejects or status, a transport
 * status or error (gateway/edge/posmap.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "posmap.h"
#include "smev.h"
#include "xmlsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The request's content mapped as the edge maps it. */
static void
fuzz_request(xmlNodePtr message)
{
	struct posmap_appeal pa;
	struct error err = {0};
	xmlNodePtr content = smev_request_content(message);
	char pos[POSMAP_ID_MAX], version[256], *xml = NULL, *fp;
	size_t len, k;

	switch (posmap_kind(content)) {
	case POSMAP_APPEAL:
		if (posmap_appeal_read(content, &pa, &err) == -1)
			break;
		for (k = 0; k < pa.natt; k++) {
			fp = smev_attachment_path(message, pa.att[k].header_id);
			pa.att[k].size =
			    pa.att[k].declared ? pa.att[k].declared : 1;
			free(fp);
		}
		if (posmap_appeal_doc(content, &pa, &xml, &len, &err) == 0)
			free(xml);
		posmap_appeal_free(&pa);
		break;
	case POSMAP_FEEDBACK:
		if (posmap_feedback_doc(content, "2026-11-26T00:00:00Z", pos,
		        &xml, &len, &err) == 0)
			free(xml);
		break;
	case POSMAP_CLASSIFIER:
		if (posmap_classifier_doc(content, "2026-11-26T00:00:00Z",
		        version, sizeof version, &xml, &len, &err) == 0)
			free(xml);
		break;
	default:
		break;
	}
}

/* A response's parts as the edge takes them. */
static void
fuzz_response(xmlNodePtr message)
{
	struct smev_answer a;
	struct posmap_verdict v;
	struct error err = {0};
	char *s;

	if (smev_answer(message, &a) == -1)
		return;
	if (a.content != NULL && posmap_kind(a.content) == POSMAP_VERDICT &&
	    posmap_verdict_read(a.content, &v, &err) == 0)
		posmap_verdict_free(&v);
	if (a.rejects != NULL) {
		s = smev_code_text(a.rejects, "rejected");
		free(s);
	}
	if (a.status != NULL) {
		s = smev_code_text(a.status, "status");
		free(s);
	}
	free(a.reply_to);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smev_msg m;
	struct error err = {0};
	xmlDocPtr doc;
	struct error why = {0};
	char *s;

	fuzz_init_xml();
	free(smev_salvage((const char *)data, size));
	doc = xmlsafe_parse(
	    data, size, "in.xml", XMLSAFE_DEFAULT_DEPTH, ERR_PAYLOAD, &err);
	if (doc == NULL)
		return 0;
	if (smev_read(doc, &m, &why) == 0) {
		switch (m.kind) {
		case SMEV_REQUEST:
			fuzz_request(m.message);
			break;
		case SMEV_RESPONSE:
			fuzz_response(m.message);
			break;
		case SMEV_STATUS:
		case SMEV_ERROR:
			free(smev_original(m.message));
			s = smev_code_text(
			    smev_find(m.message, "status"), "StatusMessage");
			free(s);
			break;
		default:
			break;
		}
	}
	smev_free(&m);
	xmlFreeDoc(doc);
	return 0;
}
