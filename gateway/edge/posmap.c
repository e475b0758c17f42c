/*
 * posmap.c: the ONE place that knows the ПОС content ("вид сведений") the
 * SMEV adapter carries: P:Appeal, P:Feedback, P:Classifier in, P:Received,
 * P:StatusUpdate and P:Statistics out, P:StatusAccepted / P:StatusRefused
 * and P:StatisticsAccepted / P:StatisticsRefused back. It maps them to and
 * from posgw's own documents (appeal, event, outcome, classifier,
 * statistics; formats/schemas). The envelope (QueryResult, ClientMessage,
 * AttachmentHeader) is smev.c's, directories and correlation the edge-*.c
 * modules'.
 *
 * The content here is posgw's MODEL of the ПОС schema (formats/smev/README.md,
 * namespace urn:posgw:pos:1), because the official schema is published only
 * to registered participants. To swap in the official schema:
 *   1. change POSMAP_NS in posmap.h to the official namespace;
 *   2. change the element and attribute names read in posmap_kind(),
 *      posmap_appeal_read(), posmap_appeal_doc(), posmap_feedback_doc(),
 *      posmap_classifier_doc(), posmap_verdict_read() and
 *      posmap_stats_verdict_read(), and written in posmap_received(),
 *      posmap_status_update() and posmap_statistics() (the status codes are
 *      in posmap_statuses[], the statistics' names in posmap_stats_attrs[]);
 *   3. keep the contracts of the functions in posmap.h: the edge only learns
 *      an appeal's ПОС id and attachments (AttachmentHeader Ids, declared
 *      sizes), gets back finished posgw documents (they are validated
 *      against the posgw schemas when queued, so a mapping mistake shows
 *      up as a rejected request, never as a bad package), and hands in
 *      event documents to get a content node to put into a RequestMessage;
 *   4. run tests/shell/edge.sh with its sample messages rewritten to the
 *      official schema, and posgw-sim with the same change.
 * Nothing else in posgw reads or writes ПОС content.
 *
 * Choices the model leaves open: a P:Feedback and a P:Classifier request are
 * answered with P:Received too (appealId for feedback, classifierVersion for
 * a classifier); text is cleaned of control characters the posgw schemas
 * forbid (one-line values also of tabs and line breaks, and trimmed), phone
 * numbers are normalised to +digits; anything else that does not fit the
 * posgw schema makes the request rejected with the validator's reason.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "filename.h"
#include "log.h"
#include "package.h"
#include "posmap.h"
#include "schema.h"
#include "sig.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/*
 * posgw event type -> ПОС status code (system.md); forward maps to
 * FORWARD_TO_PARENT, FORWARD_TO_SUBORDINATE or FORWARD_TO_ORGANIZATION by
 * its direction.
 */
static const struct {
	const char *type;
	const char *status;
} posmap_statuses[] = {
    {"registered", "MODERATION_ACCEPT"},
    {"take-to-work", "TAKE_TO_WORK"},
    {"set-executor", "SET_EXECUTOR"},
    {"postpone", "POSTPONE"},
    {"decline", "MODERATION_DECLINE"},
    {"answer", "SEND_RESPONSE"},
    {"forward", NULL},
};

/* The first child element of node in the ПОС namespace with this name. */
static xmlNodePtr
posmap_child(xmlNodePtr node, const char *name)
{
	return xmlsafe_child(node, POSMAP_NS, name);
}

/* The text content of a node as a new string, or NULL for no node. */
static char *
posmap_text(xmlNodePtr node)
{
	xmlChar *t;
	char *s;

	if (node == NULL)
		return NULL;
	t = xmlNodeGetContent(node);
	s = xstrdup(t != NULL ? (const char *)t : "");
	xmlFree(t);
	return s;
}

/*
 * Clean multi-line text for the posgw schemas (in place): drop C0 controls
 * but tab, LF and CR, DEL and C1 controls; truncate to at most max bytes on
 * a UTF-8 character boundary.
 */
static void
posmap_clean(char *s, size_t max)
{
	unsigned char *r = (unsigned char *)s, *w = (unsigned char *)s;
	unsigned char *start = w;

	while (*r != '\0') {
		if ((*r < 0x20 && *r != '\t' && *r != '\n' && *r != '\r') ||
		    *r == 0x7f) {
			r++;
			continue;
		}
		if (r[0] == 0xc2 && r[1] >= 0x80 && r[1] <= 0x9f) {
			r += 2;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	if ((size_t)(w - start) > max) {
		w = start + max;
		while (w > start && (*w & 0xc0) == 0x80)
			w--;
		*w = '\0';
	}
}

/* A cleaned copy of multi-line text, at most max bytes (NULL stays NULL). */
char *
posmap_clean_text(const char *s, size_t max)
{
	char *c;

	if (s == NULL)
		return NULL;
	c = xstrdup(s);
	posmap_clean(c, max);
	return c;
}

/*
 * Clean one line of text in place: line breaks and tabs become spaces,
 * other controls go, leading and trailing spaces (also no-break) go.
 */
static char *
posmap_line(char *s)
{
	char *p, *end;

	if (s == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	posmap_clean(s, strlen(s));
	for (;;) {
		if (s[0] == ' ')
			memmove(s, s + 1, strlen(s));
		else if ((unsigned char)s[0] == 0xc2 &&
		         (unsigned char)s[1] == 0xa0)
			memmove(s, s + 2, strlen(s) - 1);
		else
			break;
	}
	end = s + strlen(s);
	for (;;) {
		if (end > s && end[-1] == ' ')
			*--end = '\0';
		else if (end - s >= 2 && (unsigned char)end[-2] == 0xc2 &&
		         (unsigned char)end[-1] == 0xa0) {
			end -= 2;
			*end = '\0';
		} else
			break;
	}
	return s;
}

/* The cleaned one-line text of a child element, or NULL if absent or empty. */
static char *
posmap_child_line(xmlNodePtr node, const char *name)
{
	char *s = posmap_line(posmap_text(posmap_child(node, name)));

	if (s != NULL && *s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

/* The cleaned one-line value of an attribute, "" when absent (never NULL). */
static char *
posmap_attr_line(xmlNodePtr node, const char *name)
{
	const char *v = node != NULL ? xmlsafe_attr(node, name) : NULL;
	char *s = xstrdup(v != NULL ? v : "");

	posmap_line(s);
	return s;
}

/* True if s is 1 to max decimal digits. */
static int
posmap_digits(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strspn(s, "0123456789");
	return n > 0 && n <= max && s[n] == '\0';
}

/* True if s is a posgw CodeType: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
static int
posmap_code_ok(const char *s)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                          "qrstuvwxyz0123456789._-";
	size_t n;

	if (s == NULL || *s == '\0' || *s == '.' || *s == '_' || *s == '-')
		return 0;
	n = strspn(s, set);
	return n <= 64 && s[n] == '\0';
}

/* True if s is an exact UTC timestamp YYYY-MM-DDThh:mm:ssZ. */
static int
posmap_time_ok(const char *s)
{
	char canon[32];
	time_t t;

	if (s == NULL || strlen(s) != 20 || pkg_time_parse(s, &t) == -1)
		return 0;
	pkg_time_format(t, canon, sizeof canon);
	return strcmp(canon, s) == 0;
}

/* True if s looks like a media type type/subtype without parameters. */
static int
posmap_media_ok(const char *s)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                          "qrstuvwxyz0123456789!#$&^_.+-";
	size_t a, b;

	if (s == NULL || strlen(s) > 255)
		return 0;
	a = strspn(s, set);
	if (a == 0 || a > 127 || s[a] != '/')
		return 0;
	b = strspn(s + a + 1, set);
	return b > 0 && b <= 127 && s[a + 1 + b] == '\0' &&
	       strchr(set + 62, s[0]) == NULL &&
	       strchr(set + 62, s[a + 1]) == NULL;
}

/* Normalise a phone number: keep a leading + and digits, drop separators. */
static char *
posmap_phone(char *s)
{
	char *r, *w;

	if (s == NULL)
		return NULL;
	for (r = w = s; *r != '\0'; r++) {
		if (*r == ' ' || *r == '-' || *r == '(' || *r == ')' ||
		    *r == '.')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

/* Set an attribute (escaped on output) when value is not NULL. */
static void
posmap_prop(xmlNodePtr node, const char *name, const char *value)
{
	if (value != NULL)
		xmlNewProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

/* Add a child element (in the parent's namespace) with escaped text. */
static xmlNodePtr
posmap_add(xmlNodePtr parent, const char *name, const char *text)
{
	return xmlNewTextChild(
	    parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
}

/* A new posgw document with its root element in the exchange namespace. */
static xmlDocPtr
posmap_newdoc(const char *root, xmlNodePtr *rootp)
{
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr r = xmlNewDocNode(doc, NULL, (const xmlChar *)root, NULL);
	xmlNsPtr ns;

	if (doc == NULL || r == NULL)
		fatalx("cannot allocate an XML document");
	ns = xmlNewNs(r, (const xmlChar *)NS_EXCHANGE, NULL);
	xmlSetNs(r, ns);
	xmlDocSetRootElement(doc, r);
	*rootp = r;
	return doc;
}

/* Serialise a document as UTF-8 into a new buffer and free it. */
static void
posmap_dump(xmlDocPtr doc, char **xml, size_t *len)
{
	xmlChar *buf = NULL;
	int n = 0;

	xmlDocDumpFormatMemoryEnc(doc, &buf, &n, "UTF-8", 1);
	if (buf == NULL)
		fatalx("cannot serialise an XML document");
	*xml = xstrndup((const char *)buf, (size_t)n);
	*len = (size_t)n;
	xmlFree(buf);
	xmlFreeDoc(doc);
}

/* Classify the element inside MessagePrimaryContent. */
enum posmap_kind
posmap_kind(xmlNodePtr node)
{
	if (xmlsafe_is(node, POSMAP_NS, "Appeal"))
		return POSMAP_APPEAL;
	if (xmlsafe_is(node, POSMAP_NS, "Feedback"))
		return POSMAP_FEEDBACK;
	if (xmlsafe_is(node, POSMAP_NS, "Classifier"))
		return POSMAP_CLASSIFIER;
	if (xmlsafe_is(node, POSMAP_NS, "StatusAccepted") ||
	    xmlsafe_is(node, POSMAP_NS, "StatusRefused"))
		return POSMAP_VERDICT;
	if (xmlsafe_is(node, POSMAP_NS, "StatisticsAccepted") ||
	    xmlsafe_is(node, POSMAP_NS, "StatisticsRefused"))
		return POSMAP_STATS_VERDICT;
	return POSMAP_UNKNOWN;
}

/*
 * Read what the edge needs of a P:Appeal before taking custody: its ПОС id
 * and attachments (the AttachmentHeader each names, the declared size).
 */
int
posmap_appeal_read(xmlNodePtr a, struct posmap_appeal *pa, struct error *err)
{
	const char *id = xmlsafe_attr(a, "id"), *h, *size;
	xmlNodePtr c;
	size_t n = 0;

	memset(pa, 0, sizeof *pa);
	if (!posmap_digits(id, 20))
		return err_set(err, ERR_PAYLOAD,
		    "P:Appeal: id \"%.40s\" is not 1 to 20 digits",
		    id ? id : "");
	snprintf(pa->pos_id, sizeof pa->pos_id, "%s", id);
	for (c = a->children; c != NULL; c = c->next) {
		if (xmlsafe_is(c, POSMAP_NS, "Attachment"))
			n++;
		if (xmlsafe_is(c, POSMAP_NS, "Organization") &&
		    (h = xmlsafe_attr(c, "lkoId")) != NULL)
			snprintf(pa->lko_id, sizeof pa->lko_id, "%.20s", h);
	}
	if (n > 1000)
		return err_set(err, ERR_PAYLOAD,
		    "P:Appeal %s: %zu attachments, at most 1000", id, n);
	pa->att = xcalloc(n ? n : 1, sizeof *pa->att);
	for (c = a->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, POSMAP_NS, "Attachment"))
			continue;
		h = xmlsafe_attr(c, "headerId");
		if (h == NULL || *h == '\0') {
			posmap_appeal_free(pa);
			return err_set(err, ERR_PAYLOAD,
			    "P:Appeal %s: P:Attachment %zu has no headerId", id,
			    pa->natt + 1);
		}
		size = xmlsafe_attr(c, "size");
		pa->att[pa->natt].header_id = h;
		if (posmap_digits(size, 18))
			pa->att[pa->natt].declared = strtoull(size, NULL, 10);
		snprintf(pa->att[pa->natt].path, sizeof pa->att[pa->natt].path,
		    "payload/att/%s-%zu.bin", id, pa->natt + 1);
		pa->natt++;
	}
	return 0;
}

/* Free what posmap_appeal_read allocated. */
void
posmap_appeal_free(struct posmap_appeal *pa)
{
	free(pa->att);
	pa->att = NULL;
	pa->natt = 0;
}

/* Add a coded name element (category, subcategory) from a P: element. */
static void
posmap_coded(xmlNodePtr root, xmlNodePtr src, const char *name)
{
	char *t = posmap_line(posmap_text(src));
	xmlNodePtr e = posmap_add(root, name, t != NULL ? t : "");

	posmap_prop(e, "code", xmlsafe_attr(src, "code"));
	free(t);
}

/*
 * Map a P:Appeal to a posgw appeal document; pa (from posmap_appeal_read)
 * carries the attachments' payload paths and actual sizes.
 */
int
posmap_appeal_doc(xmlNodePtr a, const struct posmap_appeal *pa, char **xml,
    size_t *len, struct error *err)
{
	const char *kind = xmlsafe_attr(a, "kind"), *v;
	xmlNodePtr root, e, c, src;
	xmlDocPtr doc;
	char *t, size[32], dflt[32];
	size_t k = 0;

	if (kind == NULL ||
	    (strcmp(kind, "MESSAGE") != 0 && strcmp(kind, "APPEAL_59FZ") != 0))
		return err_set(err, ERR_PAYLOAD,
		    "P:Appeal %s: kind \"%.40s\" is neither MESSAGE nor "
		    "APPEAL_59FZ",
		    pa->pos_id, kind ? kind : "");
	doc = posmap_newdoc("appeal", &root);
	posmap_prop(root, "pos-id", pa->pos_id);
	posmap_prop(root, "kind",
	    strcmp(kind, "MESSAGE") == 0 ? "message" : "appeal59");
	posmap_prop(root, "created", xmlsafe_attr(a, "createdAt"));
	if ((v = xmlsafe_attr(a, "deadline")) != NULL && *v != '\0')
		posmap_prop(root, "due", v);

	src = posmap_child(a, "Organization");
	t = posmap_line(posmap_text(src));
	e = posmap_add(root, "organization", t != NULL ? t : "");
	free(t);
	if (src != NULL) {
		posmap_prop(e, "lko-id", xmlsafe_attr(src, "lkoId"));
		if ((v = xmlsafe_attr(src, "oktmo")) != NULL && *v != '\0')
			posmap_prop(e, "oktmo", v);
	}
	if ((src = posmap_child(a, "Category")) == NULL) {
		xmlFreeDoc(doc);
		return err_set(err, ERR_PAYLOAD,
		    "P:Appeal %s: no P:Category (the appeal's topic)",
		    pa->pos_id);
	}
	posmap_coded(root, src, "category");
	if ((src = posmap_child(a, "Subcategory")) != NULL)
		posmap_coded(root, src, "subcategory");

	src = posmap_child(a, "Applicant");
	e = posmap_add(root, "applicant", NULL);
	if (src != NULL) {
		posmap_prop(
		    e, "esia-verified", xmlsafe_attr(src, "esiaVerified"));
		t = posmap_child_line(src, "Surname");
		posmap_add(e, "surname", t != NULL ? t : "");
		free(t);
		t = posmap_child_line(src, "Name");
		posmap_add(e, "name", t != NULL ? t : "");
		free(t);
		if ((t = posmap_child_line(src, "Patronymic")) != NULL)
			posmap_add(e, "patronymic", t);
		free(t);
		if ((t = posmap_child_line(src, "Email")) != NULL)
			posmap_add(e, "email", t);
		free(t);
		if ((t = posmap_phone(posmap_child_line(src, "Phone"))) != NULL)
			posmap_add(e, "phone", t);
		free(t);
	}

	t = posmap_text(posmap_child(a, "Text"));
	if (t != NULL)
		posmap_clean(t, strlen(t));
	posmap_add(root, "text", t != NULL ? t : "");
	free(t);

	if ((src = posmap_child(a, "Location")) != NULL) {
		t = posmap_line(posmap_text(src));
		e = posmap_add(root, "location", t);
		free(t);
		if ((v = xmlsafe_attr(src, "lat")) != NULL && *v != '\0')
			posmap_prop(e, "lat", v);
		if ((v = xmlsafe_attr(src, "lon")) != NULL && *v != '\0')
			posmap_prop(e, "lon", v);
		if ((v = xmlsafe_attr(src, "oktmo")) != NULL && *v != '\0')
			posmap_prop(e, "oktmo", v);
	}
	for (c = a->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, POSMAP_NS, "Field"))
			continue;
		t = posmap_text(c);
		posmap_clean(t, strlen(t));
		e = posmap_add(root, "field", t);
		free(t);
		t = posmap_attr_line(c, "name");
		posmap_prop(e, "name", t);
		free(t);
	}
	for (c = a->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, POSMAP_NS, "Attachment"))
			continue;
		if (k >= pa->natt)
			break;
		e = posmap_add(root, "attachment", NULL);
		posmap_prop(e, "path", pa->att[k].path);
		t = posmap_attr_line(c, "name");
		snprintf(dflt, sizeof dflt, "attachment-%zu", k + 1);
		posmap_prop(e, "name", *t != '\0' ? t : dflt);
		free(t);
		v = xmlsafe_attr(c, "mimeType");
		posmap_prop(e, "media-type",
		    posmap_media_ok(v) ? v : "application/octet-stream");
		snprintf(size, sizeof size, "%" PRIu64, pa->att[k].size);
		posmap_prop(e, "size", size);
		k++;
	}
	posmap_dump(doc, xml, len);
	return 0;
}

/*
 * Map a P:Feedback to a posgw outcome document with <feedback>; now is the
 * fallback time when ПОС gave none. The appeal's ПОС id goes to pos_id.
 */
int
posmap_feedback_doc(xmlNodePtr f, const char *now, char *pos_id, char **xml,
    size_t *len, struct error *err)
{
	const char *id = xmlsafe_attr(f, "appealId");
	const char *rating = xmlsafe_attr(f, "rating");
	const char *re = xmlsafe_attr(f, "reAppeal");
	const char *at = xmlsafe_attr(f, "at");
	xmlNodePtr root, e;
	xmlDocPtr doc;
	char *t;

	if (!posmap_digits(id, 20))
		return err_set(err, ERR_PAYLOAD,
		    "P:Feedback: appealId \"%.40s\" is not 1 to 20 digits",
		    id ? id : "");
	if (rating == NULL || strlen(rating) != 1 || rating[0] < '1' ||
	    rating[0] > '5')
		return err_set(err, ERR_PAYLOAD,
		    "P:Feedback %s: rating \"%.20s\" is not 1 to 5", id,
		    rating ? rating : "");
	snprintf(pos_id, POSMAP_ID_MAX, "%s", id);
	doc = posmap_newdoc("outcome", &root);
	posmap_prop(root, "pos-id", id);
	posmap_prop(root, "at", posmap_time_ok(at) ? at : now);
	t = posmap_text(f);
	posmap_clean(t, 100000);
	e = posmap_add(root, "feedback", t);
	free(t);
	posmap_prop(e, "rating", rating);
	if (re != NULL && (strcmp(re, "true") == 0 || strcmp(re, "false") == 0))
		posmap_prop(e, "re-appeal", re);
	posmap_dump(doc, xml, len);
	return 0;
}

/*
 * Map a P:Classifier to a posgw classifier document stamped at; its
 * version label goes to version (vsize bytes).
 */
int
posmap_classifier_doc(xmlNodePtr cl, const char *at, char *version,
    size_t vsize, char **xml, size_t *len, struct error *err)
{
	xmlNodePtr root, c, s, e, se;
	xmlDocPtr doc;
	char *v, *t;

	v = posmap_attr_line(cl, "version");
	if (v == NULL || *v == '\0') {
		free(v);
		return err_set(err, ERR_PAYLOAD, "P:Classifier has no version");
	}
	snprintf(version, vsize, "%s", v != NULL ? v : "");
	doc = posmap_newdoc("classifier", &root);
	posmap_prop(root, "version", v);
	posmap_prop(root, "at", at);
	free(v);
	for (c = cl->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, POSMAP_NS, "Category"))
			continue;
		e = posmap_add(root, "category", NULL);
		posmap_prop(e, "code", xmlsafe_attr(c, "code"));
		t = posmap_attr_line(c, "name");
		posmap_prop(e, "name", t);
		free(t);
		for (s = c->children; s != NULL; s = s->next) {
			if (!xmlsafe_is(s, POSMAP_NS, "Subcategory"))
				continue;
			se = posmap_add(e, "subcategory", NULL);
			posmap_prop(se, "code", xmlsafe_attr(s, "code"));
			t = posmap_attr_line(s, "name");
			posmap_prop(se, "name", t);
			free(t);
		}
	}
	posmap_dump(doc, xml, len);
	return 0;
}

/*
 * Add P:Received (our "custody taken") under parent: appealId for an
 * appeal or feedback, classifierVersion for a classifier.
 */
xmlNodePtr
posmap_received(xmlNodePtr parent, const char *pos_id, const char *version)
{
	xmlNodePtr r =
	    xmlNewChild(parent, NULL, (const xmlChar *)"Received", NULL);
	xmlNsPtr ns =
	    xmlNewNs(r, (const xmlChar *)POSMAP_NS, (const xmlChar *)"P");

	xmlSetNs(r, ns);
	posmap_prop(r, "appealId", pos_id);
	posmap_prop(r, "classifierVersion", version);
	return r;
}

/* Read a posgw event document (from the core) for sending to ПОС. */
int
posmap_event_read(
    const void *body, size_t len, struct posmap_event *ev, struct error *err)
{
	xmlNodePtr root, c;
	const char *pos, *n, *dir;
	size_t i;

	memset(ev, 0, sizeof *ev);
	if ((ev->doc = xmlsafe_parse(
	         body, len, "event", 0, ERR_PAYLOAD, err)) == NULL)
		return -1;
	root = xmlDocGetRootElement(ev->doc);
	pos = xmlsafe_attr(root, "pos-id");
	n = xmlsafe_attr(root, "n");
	ev->type = xmlsafe_attr(root, "type");
	ev->at = xmlsafe_attr(root, "at");
	if (!xmlsafe_is(root, NS_EXCHANGE, "event") ||
	    !posmap_digits(pos, 20) || !posmap_digits(n, 9) ||
	    ev->type == NULL || ev->at == NULL) {
		posmap_event_free(ev);
		return err_set(err, ERR_PAYLOAD,
		    "not an event document with pos-id, n, type and at");
	}
	snprintf(ev->pos_id, sizeof ev->pos_id, "%s", pos);
	ev->n = strtoll(n, NULL, 10);
	for (c = root->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			break;
	ev->child = c;
	for (i = 0; i < sizeof posmap_statuses / sizeof posmap_statuses[0]; i++)
		if (strcmp(ev->type, posmap_statuses[i].type) == 0)
			ev->status = posmap_statuses[i].status;
	if (strcmp(ev->type, "forward") == 0 && c != NULL &&
	    (dir = xmlsafe_attr(c, "direction")) != NULL)
		ev->status = strcmp(dir, "parent") == 0 ? "FORWARD_TO_PARENT"
		             : strcmp(dir, "subordinate") == 0
		                 ? "FORWARD_TO_SUBORDINATE"
		             : strcmp(dir, "organization") == 0
		                 ? "FORWARD_TO_ORGANIZATION"
		                 : NULL;
	if (ev->status == NULL || c == NULL) {
		/* the message first: pos, n and type live in the document
		 * (regression: fuzz-posmap-event, use after free) */
		err_set(err, ERR_PAYLOAD,
		    "event %s/%s: type \"%.40s\" has no ПОС status", pos, n,
		    ev->type ? ev->type : "");
		posmap_event_free(ev);
		return -1;
	}
	if (strcmp(ev->type, "answer") != 0)
		return 0;
	for (c = ev->child->children; c != NULL; c = c->next)
		if (xmlsafe_is(c, NS_EXCHANGE, "file"))
			ev->nfiles++;
	ev->files = xcalloc(ev->nfiles ? ev->nfiles : 1, sizeof *ev->files);
	for (i = 0, c = ev->child->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, NS_EXCHANGE, "file"))
			continue;
		ev->files[i].path = xmlsafe_attr(c, "path");
		ev->files[i].signature = xmlsafe_attr(c, "signature");
		ev->files[i].name = xmlsafe_attr(c, "name");
		ev->files[i].media_type = xmlsafe_attr(c, "media-type");
		ev->files[i].size = xmlsafe_attr(c, "size");
		if (ev->files[i].path == NULL ||
		    ev->files[i].signature == NULL) {
			err_set(err, ERR_PAYLOAD,
			    "event %s/%s: a file without path or signature",
			    pos, n);
			posmap_event_free(ev); /* after: pos, n are in it */
			return -1;
		}
		i++;
	}
	return 0;
}

/* Free an event read by posmap_event_read. */
void
posmap_event_free(struct posmap_event *ev)
{
	if (ev->doc != NULL)
		xmlFreeDoc(ev->doc);
	free(ev->files);
	memset(ev, 0, sizeof *ev);
}

/* Add a P: child with the one-line text of a posgw element, if any. */
static void
posmap_comment(xmlNodePtr su, xmlNsPtr ns, xmlNodePtr src)
{
	char *t = posmap_text(src);

	if (t != NULL && t[strspn(t, " \t\r\n")] != '\0')
		xmlNewTextChild(
		    su, ns, (const xmlChar *)"Comment", (const xmlChar *)t);
	free(t);
}

/*
 * Add the P:StatusUpdate for an event under parent; header_ids[i] is the
 * AttachmentHeader Id the edge gave file i of an answer.
 */
xmlNodePtr
posmap_status_update(
    xmlNodePtr parent, const struct posmap_event *ev, char *const *header_ids)
{
	xmlNodePtr su, e, c = ev->child;
	xmlNsPtr ns;
	char n[32], *t, **names;
	size_t i;

	su = xmlNewChild(parent, NULL, (const xmlChar *)"StatusUpdate", NULL);
	ns = xmlNewNs(su, (const xmlChar *)POSMAP_NS, (const xmlChar *)"P");
	xmlSetNs(su, ns);
	snprintf(n, sizeof n, "%" PRId64, ev->n);
	posmap_prop(su, "appealId", ev->pos_id);
	posmap_prop(su, "n", n);
	posmap_prop(su, "status", ev->status);
	posmap_prop(su, "at", ev->at);
	if (strcmp(ev->type, "registered") == 0) {
		e = xmlNewChild(su, ns, (const xmlChar *)"Registration", NULL);
		posmap_prop(e, "number", xmlsafe_attr(c, "number"));
		posmap_prop(e, "date", xmlsafe_attr(c, "date"));
	} else if (strcmp(ev->type, "take-to-work") == 0 ||
	           strcmp(ev->type, "decline") == 0) {
		posmap_comment(su, ns, c);
	} else if (strcmp(ev->type, "set-executor") == 0) {
		t = posmap_text(c);
		xmlNewTextChild(
		    su, ns, (const xmlChar *)"Executor", (const xmlChar *)t);
		free(t);
	} else if (strcmp(ev->type, "postpone") == 0) {
		xmlNewTextChild(su, ns, (const xmlChar *)"NewDeadline",
		    (const xmlChar *)xmlsafe_attr(c, "until"));
		posmap_comment(su, ns, c);
	} else if (strcmp(ev->type, "forward") == 0) {
		e = xmlNewChild(
		    su, ns, (const xmlChar *)"TargetOrganization", NULL);
		posmap_prop(e, "lkoId", xmlsafe_attr(c, "lko-id"));
		posmap_comment(su, ns, c);
	} else if (strcmp(ev->type, "answer") == 0) {
		e = xmlNewChild(su, ns, (const xmlChar *)"Answer", NULL);
		for (c = ev->child->children; c != NULL; c = c->next)
			if (xmlsafe_is(c, NS_EXCHANGE, "text"))
				break;
		t = posmap_text(c);
		xmlNewTextChild(
		    e, ns, (const xmlChar *)"Text", (const xmlChar *)t);
		free(t);
		names = xcalloc(ev->nfiles + 1, sizeof *names);
		for (i = 0; i < ev->nfiles; i++) {
			xmlNodePtr f =
			    xmlNewChild(e, ns, (const xmlChar *)"File", NULL);
			/* never trust a name to leave the zone as it came */
			names[i] = xmalloc(FILENAME_MAX_BYTES + 1);
			filename_sanitize(
			    ev->files[i].name != NULL ? ev->files[i].name : "",
			    names[i], FILENAME_MAX_BYTES + 1);
			filename_unique(
			    names[i], FILENAME_MAX_BYTES + 1, names, i);
			posmap_prop(f, "headerId", header_ids[i]);
			posmap_prop(f, "name", names[i]);
			posmap_prop(f, "mimeType", ev->files[i].media_type);
			posmap_prop(f, "size", ev->files[i].size);
		}
		for (i = 0; i < ev->nfiles; i++)
			free(names[i]);
		free(names);
	}
	return su;
}

/* Read P:StatusAccepted / P:StatusRefused, ПОС's verdict on a StatusUpdate. */
int
posmap_verdict_read(
    xmlNodePtr node, struct posmap_verdict *v, struct error *err)
{
	const char *id = xmlsafe_attr(node, "appealId");
	const char *n = xmlsafe_attr(node, "n");
	const char *code;
	char *t;

	memset(v, 0, sizeof *v);
	if (!posmap_digits(id, 20) || !posmap_digits(n, 9))
		return err_set(err, ERR_PAYLOAD,
		    "%s: appealId and n must be digits",
		    (const char *)node->name);
	snprintf(v->pos_id, sizeof v->pos_id, "%s", id);
	v->n = strtoll(n, NULL, 10);
	v->accepted = xmlsafe_is(node, POSMAP_NS, "StatusAccepted");
	if (v->accepted)
		return 0;
	code = xmlsafe_attr(node, "code");
	t = posmap_text(node);
	posmap_clean(t, 90000);
	if (posmap_code_ok(code)) {
		v->code = xstrdup(code);
		v->reason = t;
	} else if (code != NULL && *code != '\0') {
		/* keep an unusable code readable in the reason */
		xasprintf(&v->reason, "%.200s: %s", code, t);
		posmap_clean(v->reason, 90000);
		free(t);
	} else
		v->reason = t;
	return 0;
}

/* Free a verdict. */
void
posmap_verdict_free(struct posmap_verdict *v)
{
	free(v->code);
	free(v->reason);
	v->code = v->reason = NULL;
}

/*
 * Build a posgw outcome document about event n of an appeal: delivered (code
 * is the ПОС status it was applied as) or refused (code and reason).
 */
int
posmap_outcome_doc(const char *pos_id, int64_t n, const char *at, int refused,
    const char *code, const char *reason, char **xml, size_t *len)
{
	xmlNodePtr root, e;
	xmlDocPtr doc;
	char nb[32], *t = NULL;

	doc = posmap_newdoc("outcome", &root);
	snprintf(nb, sizeof nb, "%" PRId64, n);
	posmap_prop(root, "pos-id", pos_id);
	posmap_prop(root, "n", nb);
	posmap_prop(root, "at", at);
	if (!refused) {
		e = posmap_add(root, "delivered", NULL);
		if (posmap_code_ok(code))
			posmap_prop(e, "status-code", code);
	} else {
		if (reason != NULL) {
			t = xstrdup(reason);
			posmap_clean(t, 90000);
		}
		e = posmap_add(root, "refused", t != NULL ? t : "");
		if (posmap_code_ok(code))
			posmap_prop(e, "code", code);
		free(t);
	}
	posmap_dump(doc, xml, len);
	return 0;
}

/* ПОС's names of the counts of a statistics row, by posgw attribute. */
static const struct {
	const char *posgw, *pos;
} posmap_stats_attrs[] = {
    {"lko-id", "lkoId"},
    {"category", "category"},
    {"oktmo", "oktmo"},
    {"new", "new"},
    {"in-work", "inWork"},
    {"overdue", "overdue"},
    {"repeated", "repeated"},
    {"answered", "answered"},
    {"other-new", "otherNew"},
    {"other-in-work", "otherInWork"},
    {"other-overdue", "otherOverdue"},
    {"other-answered", "otherAnswered"},
};

/* True for a lowercase RFC 4122 UUID. */
static int
posmap_uuid_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isdigit((unsigned char)s[i]) &&
		           (s[i] < 'a' || s[i] > 'f'))
			return 0;
	}
	return 1;
}

/* Read a posgw statistics document (from the core) for uploading to ПОС. */
int
posmap_stats_read(
    const void *body, size_t len, struct posmap_stats *st, struct error *err)
{
	xmlNodePtr root, c;
	const char *id;

	memset(st, 0, sizeof *st);
	if ((st->doc = xmlsafe_parse(
	         body, len, "statistics", 0, ERR_PAYLOAD, err)) == NULL)
		return -1;
	root = xmlDocGetRootElement(st->doc);
	id = xmlsafe_attr(root, "id");
	st->from = xmlsafe_attr(root, "period-from");
	st->to = xmlsafe_attr(root, "period-to");
	if (!xmlsafe_is(root, NS_EXCHANGE, "statistics") ||
	    !posmap_uuid_ok(id) || st->from == NULL || st->to == NULL) {
		posmap_stats_free(st);
		return err_set(err, ERR_PAYLOAD,
		    "not a statistics document with id, period-from and "
		    "period-to");
	}
	snprintf(st->id, sizeof st->id, "%s", id);
	for (c = root->children; c != NULL; c = c->next)
		if (xmlsafe_is(c, NS_EXCHANGE, "row"))
			st->rows++;
	return 0;
}

/* Free statistics read by posmap_stats_read. */
void
posmap_stats_free(struct posmap_stats *st)
{
	if (st->doc != NULL)
		xmlFreeDoc(st->doc);
	memset(st, 0, sizeof *st);
}

/*
 * Add the P:Statistics for a statistics document under parent: its id,
 * period and time, and one P:Row per row with ПОС's attribute names.
 */
xmlNodePtr
posmap_statistics(xmlNodePtr parent, const struct posmap_stats *st)
{
	xmlNodePtr root = xmlDocGetRootElement(st->doc), sn, row, c;
	xmlNsPtr ns;
	size_t i;

	sn = xmlNewChild(parent, NULL, (const xmlChar *)"Statistics", NULL);
	ns = xmlNewNs(sn, (const xmlChar *)POSMAP_NS, (const xmlChar *)"P");
	xmlSetNs(sn, ns);
	posmap_prop(sn, "id", st->id);
	posmap_prop(sn, "periodFrom", st->from);
	posmap_prop(sn, "periodTo", st->to);
	posmap_prop(sn, "generated", xmlsafe_attr(root, "generated"));
	posmap_prop(sn, "otherTo", xmlsafe_attr(root, "other-to"));
	for (c = root->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, NS_EXCHANGE, "row"))
			continue;
		row = xmlNewChild(sn, ns, (const xmlChar *)"Row", NULL);
		for (i = 0; i < sizeof posmap_stats_attrs /
		                    sizeof posmap_stats_attrs[0];
		     i++)
			posmap_prop(row, posmap_stats_attrs[i].pos,
			    xmlsafe_attr(c, posmap_stats_attrs[i].posgw));
	}
	return sn;
}

/*
 * Read P:StatisticsAccepted / P:StatisticsRefused, ПОС's verdict on a
 * P:Statistics upload: the statistics id, and a refusal's code and text.
 */
int
posmap_stats_verdict_read(
    xmlNodePtr node, struct posmap_stats_verdict *v, struct error *err)
{
	const char *id = xmlsafe_attr(node, "id");
	const char *code;
	char *t;

	memset(v, 0, sizeof *v);
	if (!posmap_uuid_ok(id))
		return err_set(err, ERR_PAYLOAD, "%s: id must be a UUID",
		    (const char *)node->name);
	snprintf(v->id, sizeof v->id, "%s", id);
	v->accepted = xmlsafe_is(node, POSMAP_NS, "StatisticsAccepted");
	if (v->accepted)
		return 0;
	code = xmlsafe_attr(node, "code");
	t = posmap_text(node);
	posmap_clean(t, 90000);
	if (posmap_code_ok(code)) {
		v->code = xstrdup(code);
		v->reason = t;
	} else if (code != NULL && *code != '\0') {
		xasprintf(&v->reason, "%.200s: %s", code, t);
		posmap_clean(v->reason, 90000);
		free(t);
	} else
		v->reason = t;
	return 0;
}

/* Free a statistics verdict. */
void
posmap_stats_verdict_free(struct posmap_stats_verdict *v)
{
	free(v->code);
	free(v->reason);
	v->code = v->reason = NULL;
}
