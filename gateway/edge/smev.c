/*
 * smev.c: the SMEV 3 adapter's envelope, read and written: the QueryResult
 * files of in/ (every element the edge takes from an in/ file is found
 * here, so that the whole reading of hostile adapter files is one module
 * and one fuzz target) and the ClientMessage files of out/. What goes
 * inside (ПОС content) is posmap.c's; what the edge does with a message is
 * edge-*.c's.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "log.h"
#include "smev.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* The first child element of node in the envelope namespace with this name. */
xmlNodePtr
smev_child(xmlNodePtr node, const char *name)
{
	return xmlsafe_child(node, SMEV_NS, name);
}

/* The first descendant element of node in the envelope namespace so named. */
xmlNodePtr
smev_find(xmlNodePtr node, const char *name)
{
	xmlNodePtr c, r;

	if (node == NULL)
		return NULL;
	for (c = node->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmlsafe_is(c, SMEV_NS, name))
			return c;
		if ((r = smev_find(c, name)) != NULL)
			return r;
	}
	return NULL;
}

/* Follow a NULL-terminated chain of envelope child names from node. */
xmlNodePtr
smev_path(xmlNodePtr node, ...)
{
	const char *name;
	va_list ap;

	va_start(ap, node);
	while (node != NULL && (name = va_arg(ap, const char *)) != NULL)
		node = smev_child(node, name);
	va_end(ap);
	return node;
}

/* The first element child of node (any namespace), or NULL. */
xmlNodePtr
smev_first(xmlNodePtr node)
{
	xmlNodePtr c;

	if (node == NULL)
		return NULL;
	for (c = node->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return c;
	return NULL;
}

/* The trimmed text of an element as a new string, or NULL if absent or empty. */
char *
smev_text(xmlNodePtr node)
{
	xmlChar *t;
	char *s, *p;
	size_t n;

	if (node == NULL || (t = xmlNodeGetContent(node)) == NULL)
		return NULL;
	p = (char *)t + strspn((char *)t, " \t\r\n");
	n = strlen(p);
	while (n > 0 && strchr(" \t\r\n", p[n - 1]) != NULL)
		n--;
	s = n > 0 ? xstrndup(p, n) : NULL;
	xmlFree(t);
	return s;
}

/* True if s is a plain id: letters, digits, ".", "_", "-", not leading ".". */
int
smev_id_ok(const char *s)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                          "qrstuvwxyz0123456789._-";
	size_t n;

	if (s == NULL || *s == '\0' || *s == '.')
		return 0;
	n = strspn(s, set);
	return n <= 128 && s[n] == '\0';
}

/* True if s is a relative path without empty, "." or ".." components. */
int
smev_relpath_ok(const char *s)
{
	const char *p = s, *q;
	size_t n;

	if (s == NULL || *s == '\0' || *s == '/' || strlen(s) > 1024)
		return 0;
	for (;;) {
		q = strchr(p, '/');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		if (n == 0 || n > 255 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (q == NULL)
			return 1;
		p = q + 1;
	}
}

/*
 * Read the envelope of a parsed in/ file into m: 0 if it is a QueryResult
 * with smevMetadata/MessageId and a typed Message, else -1 with the reason
 * in why (m->client_id is filled either way, to answer a reject).
 */
int
smev_read(xmlDocPtr doc, struct smev_msg *m, struct error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlChar *type;
	const char *t;

	memset(m, 0, sizeof *m);
	if (root == NULL) {
		return err_set(
		    err, ERR_NONE, "an XML document without a root element");
	}
	m->message = smev_child(root, "Message");
	m->message_id =
	    smev_text(smev_path(root, "smevMetadata", "MessageId", NULL));
	if (m->message != NULL &&
	    (type = xmlGetNsProp(m->message, (const xmlChar *)"type",
	         (const xmlChar *)SMEV_XSI_NS)) != NULL) {
		t = strrchr((const char *)type, ':');
		m->type = xstrdup(t != NULL ? t + 1 : (const char *)type);
		xmlFree(type);
	}
	m->client_id = smev_text(
	    smev_path(smev_find(root, "RequestMetadata"), "clientId", NULL));
	if (!xmlsafe_is(root, SMEV_NS, "QueryResult") || m->message == NULL ||
	    m->type == NULL || !smev_id_ok(m->message_id)) {
		err_set(err, ERR_NONE,
		    "not a QueryResult with smevMetadata/MessageId and a "
		    "typed Message (root <%.100s>)",
		    (const char *)root->name);
		free(m->message_id);
		m->message_id = NULL;
		return -1;
	}
	if (strcmp(m->type, "RequestMessageType") == 0)
		m->kind = SMEV_REQUEST;
	else if (strcmp(m->type, "ResponseMessageType") == 0)
		m->kind = SMEV_RESPONSE;
	else if (strcmp(m->type, "StatusMessage") == 0)
		m->kind = SMEV_STATUS;
	else if (strcmp(m->type, "ErrorMessage") == 0)
		m->kind = SMEV_ERROR;
	return 0;
}

/* Free what smev_read allocated (the document stays the caller's). */
void
smev_free(struct smev_msg *m)
{
	free(m->message_id);
	free(m->type);
	free(m->client_id);
	memset(m, 0, sizeof *m);
}

/* A request's content: the first element of its MessagePrimaryContent. */
xmlNodePtr
smev_request_content(xmlNodePtr message)
{
	return smev_first(smev_path(message, "RequestContent", "content",
	    "MessagePrimaryContent", NULL));
}

/*
 * The filePath of a request's AttachmentHeader whose Id is id, or NULL if
 * there is none or it is not a safe relative path.
 */
char *
smev_attachment_path(xmlNodePtr message, const char *id)
{
	xmlNodePtr list, h;
	char *hid, *fp = NULL;

	list = smev_path(
	    message, "RequestContent", "content", "AttachmentHeaderList", NULL);
	for (h = list != NULL ? list->children : NULL; h != NULL; h = h->next) {
		if (!xmlsafe_is(h, SMEV_NS, "AttachmentHeader"))
			continue;
		hid = smev_text(smev_child(h, "Id"));
		if (hid != NULL && strcmp(hid, id) == 0)
			fp = smev_text(smev_child(h, "filePath"));
		free(hid);
		if (fp != NULL)
			break;
	}
	if (fp != NULL && !smev_relpath_ok(fp)) {
		free(fp);
		fp = NULL;
	}
	return fp;
}

/* The parts of a ResponseMessageType; -1 if it has no replyToClientId. */
int
smev_answer(xmlNodePtr message, struct smev_answer *a)
{
	xmlNodePtr rc;

	memset(a, 0, sizeof *a);
	if ((a->reply_to = smev_text(smev_find(message, "replyToClientId"))) ==
	    NULL)
		return -1;
	rc = smev_child(message, "ResponseContent");
	a->content =
	    smev_first(smev_path(rc, "content", "MessagePrimaryContent", NULL));
	a->rejects = smev_child(rc, "rejects");
	a->status = smev_child(rc, "status");
	return 0;
}

/* The originalClientId of a StatusMessage or ErrorMessage, or NULL. */
char *
smev_original(xmlNodePtr message)
{
	return smev_text(smev_find(message, "originalClientId"));
}

/* "code: description" of a T:status or T:rejects element, or a default. */
char *
smev_code_text(xmlNodePtr node, const char *dflt)
{
	char *code = smev_text(smev_child(node, "code"));
	char *desc = smev_text(smev_child(node, "description"));
	char *s;

	xasprintf(&s, "%.100s%s%.800s", code ? code : "",
	    code && desc ? ": " : "", desc ? desc : "");
	if (*s == '\0') {
		free(s);
		s = xstrdup(dflt);
	}
	free(code);
	free(desc);
	return s;
}

/*
 * Recover a request's clientId from the first bytes of a file too broken
 * to parse, so that the reject can still be answered: the text of the
 * first <clientId> or <prefix:clientId> start tag, if it is a plain id.
 */
char *
smev_salvage(const char *data, size_t len)
{
	char buf[65536], *p, *v, *end;

	if (len > sizeof buf - 1)
		len = sizeof buf - 1;
	memcpy(buf, data, len);
	buf[len] = '\0';
	for (p = buf; (p = strstr(p, "clientId>")) != NULL; p++) {
		char *t = p;
		while (t > buf && t[-1] != '<' && t[-1] != '/' &&
		       t[-1] != ' ' && t[-1] != '>')
			t--;
		if (t == buf || t[-1] != '<' ||
		    (t != p && (p[-1] != ':' || strchr(t, ':') != p - 1)))
			continue;
		v = p + strlen("clientId>");
		if ((end = strchr(v, '<')) == NULL)
			return NULL;
		while (v < end && strchr(" \t\r\n", *v) != NULL)
			v++;
		while (end > v && strchr(" \t\r\n", end[-1]) != NULL)
			end--;
		v = xstrndup(v, (size_t)(end - v));
		if (smev_id_ok(v))
			return v;
		free(v);
		return NULL;
	}
	return NULL;
}

/* A new ClientMessage of itSystem mnemonic; its root and namespace return. */
xmlDocPtr
smev_client_message(const char *mnemonic, xmlNodePtr *rootp, xmlNsPtr *nsp)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr root;
	xmlNsPtr ns;

	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"ClientMessage", NULL);
	if (doc == NULL || root == NULL)
		fatalx("cannot allocate an XML document");
	ns = xmlNewNs(root, (const xmlChar *)SMEV_NS, (const xmlChar *)"T");
	xmlSetNs(root, ns);
	xmlDocSetRootElement(doc, root);
	xmlNewTextChild(
	    root, ns, (const xmlChar *)"itSystem", (const xmlChar *)mnemonic);
	*rootp = root;
	*nsp = ns;
	return doc;
}

/*
 * Add our RequestMessage with clientId cid (marked testMessage if test);
 * returns its MessagePrimaryContent for the content, and in *content the
 * element that takes an AttachmentHeaderList.
 */
xmlNodePtr
smev_request_add(xmlNodePtr root, xmlNsPtr ns, const char *cid, int test,
    xmlNodePtr *content)
{
	xmlNodePtr rq, md, rc;

	rq = xmlNewChild(root, ns, (const xmlChar *)"RequestMessage", NULL);
	md = xmlNewChild(rq, ns, (const xmlChar *)"RequestMetadata", NULL);
	xmlNewTextChild(
	    md, ns, (const xmlChar *)"clientId", (const xmlChar *)cid);
	if (test)
		xmlNewTextChild(md, ns, (const xmlChar *)"testMessage",
		    (const xmlChar *)"true");
	rc = xmlNewChild(rq, ns, (const xmlChar *)"RequestContent", NULL);
	*content = xmlNewChild(rc, ns, (const xmlChar *)"content", NULL);
	return xmlNewChild(
	    *content, ns, (const xmlChar *)"MessagePrimaryContent", NULL);
}

/*
 * Add an AttachmentHeader (Id, absolute filePath, base64 SignaturePKCS7,
 * TransferMethod REFERENCE) to the request's AttachmentHeaderList, which
 * the first call creates in *list.
 */
void
smev_attachment_add(xmlNodePtr content, xmlNsPtr ns, xmlNodePtr *list,
    const char *id, const char *path, const char *sig)
{
	xmlNodePtr ah;

	if (*list == NULL)
		*list = xmlNewChild(
		    content, ns, (const xmlChar *)"AttachmentHeaderList", NULL);
	ah = xmlNewChild(*list, ns, (const xmlChar *)"AttachmentHeader", NULL);
	xmlNewTextChild(ah, ns, (const xmlChar *)"Id", (const xmlChar *)id);
	xmlNewTextChild(
	    ah, ns, (const xmlChar *)"filePath", (const xmlChar *)path);
	xmlNewTextChild(
	    ah, ns, (const xmlChar *)"SignaturePKCS7", (const xmlChar *)sig);
	xmlNewTextChild(ah, ns, (const xmlChar *)"TransferMethod",
	    (const xmlChar *)"REFERENCE");
}

/*
 * Add a ResponseMessage with clientId cid answering request reply_to: with
 * a code, rejects{code, description desc} and NULL back; without, the
 * MessagePrimaryContent for the answer's content.
 */
xmlNodePtr
smev_response_add(xmlNodePtr root, xmlNsPtr ns, const char *cid,
    const char *reply_to, const char *code, const char *desc)
{
	xmlNodePtr rm, md, rc, c;

	rm = xmlNewChild(root, ns, (const xmlChar *)"ResponseMessage", NULL);
	md = xmlNewChild(rm, ns, (const xmlChar *)"ResponseMetadata", NULL);
	xmlNewTextChild(
	    md, ns, (const xmlChar *)"clientId", (const xmlChar *)cid);
	xmlNewTextChild(md, ns, (const xmlChar *)"replyToClientId",
	    (const xmlChar *)reply_to);
	rc = xmlNewChild(rm, ns, (const xmlChar *)"ResponseContent", NULL);
	if (code == NULL) {
		c = xmlNewChild(rc, ns, (const xmlChar *)"content", NULL);
		return xmlNewChild(
		    c, ns, (const xmlChar *)"MessagePrimaryContent", NULL);
	}
	c = xmlNewChild(rc, ns, (const xmlChar *)"rejects", NULL);
	xmlNewTextChild(c, ns, (const xmlChar *)"code", (const xmlChar *)code);
	xmlNewTextChild(
	    c, ns, (const xmlChar *)"description", (const xmlChar *)desc);
	return NULL;
}
