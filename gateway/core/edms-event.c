/*
 * edms-event.c: reading and checking an event file of the EDMS import
 * folder against the contract (plain file names, schema, the child its type
 * names) and rewriting it for sending; the events waiting for an appeal.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/pkcs7.h>
#include <libxml/tree.h>

#include "edms.h"
#include "filename.h"
#include "fsutil.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static const char *edms_event_plain_why(const char *s);
static int edms_event_digits(const char *s, size_t max, int nozero);
static char *edms_event_file_name(
    xmlNodePtr node, const char *name, const struct edms_event *ev);
static int edms_event_file_node(xmlNodePtr node, const char *label,
    struct edms_event *ev, struct error *why);
static int edms_event_walk(xmlNodePtr node, const char *label,
    struct edms_event *ev, struct error *why);
static int edms_event_cmp_n(const void *a, const void *b);

/*
 * Why a file/@path or file/@signature value is not a plain file name of the
 * import folder, or NULL when it is one.
 */
static const char *
edms_event_plain_why(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0)
		return "is empty";
	if (len > 255)
		return "is longer than 255 bytes";
	if (strchr(s, '/') != NULL || strchr(s, '\\') != NULL)
		return "contains a '/' or '\\': only plain file names of the "
		       "import folder are allowed";
	if (s[0] == '.')
		return "starts with '.' (dot files are work in progress)";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "contains a control character";
	if (strcmp(s, "rejected") == 0)
		return "names the rejected/ folder";
	if (len >= 4 && strcasecmp(s + len - 4, ".xml") == 0)
		return "ends in .xml (that would be read as an event file)";
	return NULL;
}

/* True if s may name a file in the import folder. */
int
edms_event_plain_name(const char *s)
{
	return edms_event_plain_why(s) == NULL;
}

/* True if s is 1..max decimal digits, the first not 0 when nozero. */
static int
edms_event_digits(const char *s, size_t max, int nozero)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > max ||
	    (nozero && s[0] == '0'))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * The name an answer file leaves the contour under: file/@name made safe
 * as names entering the EDMS are (formats/filename.c) and distinct within
 * the event; a changed name is written back into the document and logged.
 */
static char *
edms_event_file_name(
    xmlNodePtr node, const char *name, const struct edms_event *ev)
{
	char clean[FILENAME_MAX_BYTES + 1], **used;
	size_t i;

	if (name == NULL)
		return xstrdup(""); /* the schema check refuses it */
	filename_sanitize(name, clean, sizeof clean);
	used = xcalloc(ev->nfiles + 1, sizeof *used);
	for (i = 0; i + 1 < ev->nfiles; i++)
		used[i] = ev->files[i].name;
	filename_unique(clean, sizeof clean, used, ev->nfiles - 1);
	free(used);
	if (strcmp(clean, name) != 0) {
		log_info("event %s/%ld: answer file name \"%.200s\" is sent "
		         "as \"%s\"",
		    ev->pos_id, ev->n, name, clean);
		xmlSetProp(
		    node, (const xmlChar *)"name", (const xmlChar *)clean);
	}
	return xstrdup(clean);
}

/* Record one file element and rewrite its references to payload paths. */
static int
edms_event_file_node(xmlNodePtr node, const char *label, struct edms_event *ev,
    struct error *why)
{
	const char *path = xmlsafe_attr(node, "path");
	const char *sig = xmlsafe_attr(node, "signature");
	const char *name = xmlsafe_attr(node, "name");
	const char *size = xmlsafe_attr(node, "size");
	const char *r;
	struct edms_file *f;

	if (ev->nfiles >= EDMS_MAX_FILES)
		return err_what(why, "schema", "%s: more than %d files", label,
		    EDMS_MAX_FILES);
	if (path != NULL && (r = edms_event_plain_why(path)) != NULL)
		return err_what(why, "file",
		    "%s: line %ld: file/@path \"%.100s\" %s", label,
		    xmlGetLineNo(node), path, r);
	if (sig != NULL && (r = edms_event_plain_why(sig)) != NULL)
		return err_what(why, "file",
		    "%s: line %ld: file/@signature \"%.100s\" %s", label,
		    xmlGetLineNo(node), sig, r);
	ev->files = xreallocarray(ev->files, ev->nfiles + 1, sizeof *ev->files);
	f = &ev->files[ev->nfiles++];
	memset(f, 0, sizeof *f);
	f->rel = xstrdup(path != NULL ? path : "");
	f->sig = xstrdup(sig != NULL ? sig : "");
	f->name = edms_event_file_name(node, name, ev);
	/* the schema check that follows makes it canonical decimal */
	f->size = size != NULL ? strtoull(size, NULL, 10) : 0;
	snprintf(f->path, sizeof f->path, "payload/att/%s-e%ld-%zu.bin",
	    ev->pos_id, ev->n, ev->nfiles);
	snprintf(f->sigpath, sizeof f->sigpath, "payload/att/%s-e%ld-%zu.p7s",
	    ev->pos_id, ev->n, ev->nfiles);
	if (path != NULL)
		xmlSetProp(
		    node, (const xmlChar *)"path", (const xmlChar *)f->path);
	if (sig != NULL)
		xmlSetProp(node, (const xmlChar *)"signature",
		    (const xmlChar *)f->sigpath);
	return 0;
}

/* Walk the document for file elements (depth is bounded by the parser). */
static int
edms_event_walk(xmlNodePtr node, const char *label, struct edms_event *ev,
    struct error *why)
{
	xmlNodePtr c;

	for (c = node; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmlsafe_is(c, NS_EXCHANGE, "file") &&
		    edms_event_file_node(c, label, ev, why) == -1)
			return -1;
		if (edms_event_walk(c->children, label, ev, why) == -1)
			return -1;
	}
	return 0;
}

/*
 * A clerk's decision on a repeated-appeal mark (<repeated>, event.xsd): it
 * takes no event number and goes nowhere; type "repeated", n 0.
 */
static int
edms_event_prepare_mark(xmlDocPtr doc, xmlNodePtr root, const char *label,
    struct edms_event *ev, struct error *why)
{
	struct error e = {0};
	const char *v;

	if (schema_validate(SCHEMA_EXCHANGE, doc, label, ERR_PAYLOAD, &e) == -1)
		return err_what(why, "schema", "%s", e.text);
	snprintf(
	    ev->pos_id, sizeof ev->pos_id, "%s", xmlsafe_attr(root, "pos-id"));
	snprintf(ev->type, sizeof ev->type, "repeated");
	v = xmlsafe_attr(root, "decision");
	snprintf(ev->result, sizeof ev->result, "%s", v != NULL ? v : "");
	v = xmlsafe_attr(root, "at");
	snprintf(ev->at, sizeof ev->at, "%s", v != NULL ? v : "");
	return 0;
}

/*
 * Check a parsed event document against the import contract and rewrite it
 * for sending: file references must be plain names of the import folder and
 * become payload/att/<pos-id>-e<n>-<k>.bin and .p7s; then the document must
 * match the exchange schema, be an <event>, and carry the child its type
 * names. Takes the document (edms_event_free frees it).
 */
int
edms_event_prepare(
    xmlDocPtr doc, const char *label, struct edms_event *ev, struct error *why)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), c, child = NULL;
	const char *pos, *n, *v, *want;
	struct error e = {0};

	memset(ev, 0, sizeof *ev);
	ev->doc = doc;
	if (xmlsafe_is(root, NS_EXCHANGE, "repeated"))
		return edms_event_prepare_mark(doc, root, label, ev, why);
	if (!xmlsafe_is(root, NS_EXCHANGE, "event"))
		return err_what(why, "schema",
		    "%s: the root element is <%s>; an event file holds an "
		    "<event> of namespace %s",
		    label, root != NULL ? (const char *)root->name : "",
		    NS_EXCHANGE);
	pos = xmlsafe_attr(root, "pos-id");
	n = xmlsafe_attr(root, "n");
	if (!edms_event_digits(pos, 20, 0))
		return err_what(why, "schema",
		    "%s: event/@pos-id is missing or not 1..20 digits", label);
	if (!edms_event_digits(n, 9, 1))
		return err_what(why, "schema",
		    "%s: event/@n is missing or not a number 1..999999999",
		    label);
	snprintf(ev->pos_id, sizeof ev->pos_id, "%s", pos);
	ev->n = strtol(n, NULL, 10);
	if (edms_event_walk(root->children, label, ev, why) == -1)
		return -1;
	if (schema_validate(SCHEMA_EXCHANGE, doc, label, ERR_PAYLOAD, &e) == -1)
		return err_what(why, "schema", "%s", e.text);
	v = xmlsafe_attr(root, "type");
	snprintf(ev->type, sizeof ev->type, "%s", v != NULL ? v : "");
	v = xmlsafe_attr(root, "at");
	snprintf(ev->at, sizeof ev->at, "%s", v != NULL ? v : "");
	for (c = root->children; c != NULL && child == NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			child = c;
	want = payload_event_child(ev->type);
	if (want == NULL || child == NULL ||
	    strcmp((const char *)child->name, want) != 0)
		return err_what(why, "schema",
		    "%s: an event of type %s must carry <%s>", label, ev->type,
		    want != NULL ? want : "?");
	if ((v = xmlsafe_attr(child, "date")) != NULL ||
	    (v = xmlsafe_attr(child, "until")) != NULL)
		snprintf(ev->date, sizeof ev->date, "%s", v);
	if ((v = xmlsafe_attr(child, "direction")) != NULL)
		snprintf(ev->fwd_kind, sizeof ev->fwd_kind, "%s", v);
	if ((v = xmlsafe_attr(child, "lko-id")) != NULL)
		snprintf(ev->fwd_to, sizeof ev->fwd_to, "%s", v);
	if ((v = xmlsafe_attr(child, "result")) != NULL)
		snprintf(ev->result, sizeof ev->result, "%s", v);
	v = xmlsafe_attr(child, "measures");
	ev->measures =
	    v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
	return 0;
}

/*
 * Read and prepare <dir>/<name>. Returns 0, -1 when the file is to be
 * rejected (why says why; *malformed is set when it is not well-formed XML,
 * which a writer still at work also produces), or -2 on our own trouble
 * (why->text says what).
 */
int
edms_event_read(const char *dir, const char *name, const struct pkg_limits *l,
    struct edms_event *ev, struct error *why, int *malformed)
{
	struct error e = {0};
	xmlDocPtr doc;
	char *path;

	*malformed = 0;
	memset(ev, 0, sizeof *ev);
	xasprintf(&path, "%s/%s", dir, name);
	doc = xmlsafe_parse_file(
	    path, (size_t)l->max_xml, l->max_depth, ERR_PAYLOAD, &e);
	free(path);
	if (doc == NULL) {
		if (e.code == ERR_NONE) {
			err_what(why, "file", "%s", e.text);
			return -2;
		}
		*malformed = strstr(e.text, "not well-formed") != NULL;
		return err_what(
		    why, e.code == ERR_SIZE ? "size" : "xml", "%s", e.text);
	}
	return edms_event_prepare(doc, name, ev, why);
}

/* Free an event and its document. */
void
edms_event_free(struct edms_event *ev)
{
	size_t i;

	if (ev->doc != NULL)
		xmlFreeDoc(ev->doc);
	for (i = 0; i < ev->nfiles; i++) {
		free(ev->files[i].rel);
		free(ev->files[i].sig);
		free(ev->files[i].name);
	}
	free(ev->files);
	memset(ev, 0, sizeof *ev);
}

/* Order waiting events by n. */
static int
edms_event_cmp_n(const void *a, const void *b)
{
	const struct edms_event *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

/*
 * The event files of one appeal waiting in the import folder that the core
 * would accept as documents (their order and transitions are not checked),
 * sorted by n.
 */
int
edms_event_waiting(const char *dir, const char *pos_id,
    const struct pkg_limits *l, struct edms_event **out, size_t *nout)
{
	struct edms_event ev, *evs = NULL;
	struct error why = {0};
	char **names;
	size_t n = 0, nnames, i;
	int malformed;

	*out = NULL;
	*nout = 0;
	if (fs_xml_names(dir, 0, &names, &nnames) == -1)
		return -1;
	for (i = 0; i < nnames; i++) {
		if (edms_event_read(dir, names[i], l, &ev, &why, &malformed) !=
		        0 ||
		    strcmp(ev.pos_id, pos_id) != 0) {
			edms_event_free(&ev);
			continue;
		}
		evs = xreallocarray(evs, n + 1, sizeof *evs);
		evs[n++] = ev;
	}
	fs_names_free(names, nnames);
	if (n > 0)
		qsort(evs, n, sizeof *evs, edms_event_cmp_n);
	*out = evs;
	*nout = n;
	return 0;
}
