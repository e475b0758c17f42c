/* xmlsafe.c: libxml2 parsing for hostile input: no DTD, no network, no entities. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "log.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* Parse options: never NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE. */
#define XMLSAFE_OPTIONS                                                        \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |           \
	    XML_PARSE_NOCDATA)

#define XMLSAFE_CHUNK                                                          \
	(64 * 1024) /* streamed parsing pushes this much at a time */

struct xmlsafe_state {
	int depth;
	int max_depth;
	int doctype;
	int too_deep;
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
	xmlsafe_element_fn fn; /* streaming: the caller's element callback */
	void *arg;
	int nroot;
};

static char *xmlsafe_dir; /* the only directory the loader may read */
static const struct xmlsafe_blob *xmlsafe_blobs; /* or these, by name */
static size_t xmlsafe_nblobs;

/*
 * Refuse every external entity, DTD and URL, except trusted schema files:
 * those of the embedded set (by file name, never from disk) or under the
 * one allowed directory.
 */
static xmlParserInputPtr
xmlsafe_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	xmlParserInputBufferPtr in;
	char real[PATH_MAX];
	const char *path = url, *base;
	size_t n, i;

	if (xmlsafe_blobs != NULL && url != NULL) {
		base = strrchr(url, '/') != NULL ? strrchr(url, '/') + 1 : url;
		for (i = 0; i < xmlsafe_nblobs; i++) {
			if (strcmp(base, xmlsafe_blobs[i].name) != 0)
				continue;
			log_debug("serving %s as the built-in %s", url,
			    xmlsafe_blobs[i].name);
			in = xmlParserInputBufferCreateMem(
			    (const char *)xmlsafe_blobs[i].data,
			    (int)xmlsafe_blobs[i].len, XML_CHAR_ENCODING_NONE);
			if (in == NULL)
				fatalx("cannot allocate a parser input");
			return xmlNewIOInputStream(
			    ctxt, in, XML_CHAR_ENCODING_NONE);
		}
	}
	if (xmlsafe_dir != NULL && url != NULL) {
		if (strncmp(path, "file://", 7) == 0)
			path += 7;
		n = strlen(xmlsafe_dir);
		if (realpath(path, real) != NULL &&
		    strncmp(real, xmlsafe_dir, n) == 0 && real[n] == '/')
			return xmlNewInputFromFile(ctxt, real);
	}
	log_debug("refused to load external resource %s", url ? url : "(null)");
	return NULL;
}

/* Install the refusing loader; call once before any parsing. */
void
xmlsafe_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	xmlInitParser();
	xmlSetExternalEntityLoader(xmlsafe_loader);
}

/*
 * Let the loader serve a set of documents by file name (the embedded
 * schemas, for their includes); NULL to stop.
 */
void
xmlsafe_allow_blobs(const struct xmlsafe_blob *blobs, size_t n)
{
	xmlsafe_blobs = blobs;
	xmlsafe_nblobs = blobs != NULL ? n : 0;
}

/* Let the loader read files under one trusted directory (schemas); NULL to stop. */
void
xmlsafe_allow_dir(const char *dir)
{
	char real[PATH_MAX];

	free(xmlsafe_dir);
	xmlsafe_dir = NULL;
	if (dir != NULL && realpath(dir, real) != NULL)
		xmlsafe_dir = xstrdup(real);
}

/* A DOCTYPE was seen: stop before any declaration inside it is parsed. */
static void
xmlsafe_subset(
    void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xmlsafe_state *st = ctxt->_private;

	st->doctype = 1;
	xmlStopParser(ctxt);
}

/* Count depth and stop the parser past the limit. */
static void
xmlsafe_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndefaulted,
    const xmlChar **attrs)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xmlsafe_state *st = ctxt->_private;

	if (++st->depth > st->max_depth) {
		st->too_deep = 1;
		xmlStopParser(ctxt);
		return;
	}
	st->start(
	    ctx, localname, prefix, uri, nns, ns, nattrs, ndefaulted, attrs);
}

/* Track depth on element end. */
static void
xmlsafe_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xmlsafe_state *st = ctxt->_private;

	st->depth--;
	st->end(ctx, localname, prefix, uri);
}

/*
 * Parse a document from memory with every dangerous feature off. On failure
 * returns NULL and sets err with code and a text naming what and where.
 */
xmlDocPtr
xmlsafe_parse(const void *buf, size_t len, const char *name, int max_depth,
    enum err_code code, struct error *err)
{
	struct xmlsafe_state st;
	xmlParserCtxtPtr ctxt;
	const xmlError *xe;
	xmlDocPtr doc;

	xmlsafe_init();
	if (len > INT_MAX)
		return err_set(err, code, "%s: too large to parse", name), NULL;
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		fatalx("cannot allocate an XML parser");
	memset(&st, 0, sizeof st);
	st.max_depth = max_depth > 0 ? max_depth : XMLSAFE_DEFAULT_DEPTH;
	st.start = ctxt->sax->startElementNs;
	st.end = ctxt->sax->endElementNs;
	ctxt->_private = &st;
	ctxt->sax->internalSubset = xmlsafe_subset;
	ctxt->sax->externalSubset = xmlsafe_subset;
	ctxt->sax->startElementNs = xmlsafe_start;
	ctxt->sax->endElementNs = xmlsafe_end;

	doc =
	    xmlCtxtReadMemory(ctxt, buf, (int)len, name, NULL, XMLSAFE_OPTIONS);
	if (st.doctype) {
		err_set(err, code, "%s: DOCTYPE is not allowed", name);
		goto fail;
	}
	if (st.too_deep) {
		err_set(err, code, "%s: elements nested deeper than %d", name,
		    st.max_depth);
		goto fail;
	}
	if (doc == NULL) {
		xe = xmlCtxtGetLastError(ctxt);
		if (xe != NULL && xe->message != NULL)
			err_set(err, code,
			    "%s: line %d: not well-formed XML: %.*s", name,
			    xe->line, (int)strcspn(xe->message, "\n"),
			    xe->message);
		else
			err_set(err, code, "%s: not well-formed XML", name);
		goto fail;
	}
	if (!ctxt->nsWellFormed) {
		err_set(
		    err, code, "%s: namespace error (unbound prefix?)", name);
		goto fail;
	}
	if (doc->encoding != NULL &&
	    strcasecmp((const char *)doc->encoding, "UTF-8") != 0) {
		err_set(err, code, "%s: encoding %s, only UTF-8 is allowed",
		    name, (const char *)doc->encoding);
		goto fail;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		err_set(err, code, "%s: DOCTYPE is not allowed", name);
		goto fail;
	}
	if (xmlDocGetRootElement(doc) == NULL) {
		err_set(err, code, "%s: no root element", name);
		goto fail;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
fail:
	if (doc != NULL)
		xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return NULL;
}

/* Streaming: count depth, stop past the limit, hand the element over. */
static void
xmlsafe_stream_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndefaulted,
    const xmlChar **attrs)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xmlsafe_state *st = ctxt->_private;

	if (++st->depth > st->max_depth) {
		st->too_deep = 1;
		xmlStopParser(ctxt);
		return;
	}
	if (st->depth == 1)
		st->nroot++;
	if (st->fn != NULL)
		st->fn(st->arg, st->depth, localname, uri,
		    xmlSAX2GetLineNumber(ctxt), nattrs, attrs);
}

/* Streaming: track depth on element end. */
static void
xmlsafe_stream_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xmlsafe_state *st = ctxt->_private;

	st->depth--;
}

/*
 * Parse a document from memory as xmlsafe_parse does (same refusals, same
 * messages) but build no tree: each element goes to fn (if not NULL), and
 * with a schema validator (xmlSchemaValidCtxtPtr) the stream is validated
 * on the way; the caller asks it for the verdict. Memory does not grow
 * with the document. Returns 0 for a well-formed document, else -1 with
 * err set.
 */
int
xmlsafe_stream(const void *buf, size_t len, const char *name, int max_depth,
    void *validator, xmlsafe_element_fn fn, void *arg, enum err_code code,
    struct error *err)
{
	struct xmlsafe_state st;
	xmlParserCtxtPtr ctxt;
	xmlSchemaSAXPlugPtr plug = NULL;
	xmlSAXHandlerPtr sax;
	const xmlError *xe;
	const xmlChar *enc = NULL;
	size_t first, off, chunk;
	int rc = -1;

	xmlsafe_init();
	if (len > INT_MAX)
		return err_set(err, code, "%s: too large to parse", name);
	if (len == 0)
		return err_set(err, code,
		    "%s: not well-formed XML: Document is empty", name);
	/* pushed in chunks: the parser never holds a copy of the whole text */
	first = len < 4 ? len : 4;
	if ((ctxt = xmlCreatePushParserCtxt(
	         NULL, NULL, buf, (int)first, name)) == NULL)
		fatalx("cannot allocate an XML parser");
	xmlCtxtUseOptions(ctxt, XMLSAFE_OPTIONS);
	memset(&st, 0, sizeof st);
	st.max_depth = max_depth > 0 ? max_depth : XMLSAFE_DEFAULT_DEPTH;
	st.fn = fn;
	st.arg = arg;
	ctxt->_private = &st;
	sax = ctxt->sax;
	sax->internalSubset = xmlsafe_subset;
	sax->externalSubset = xmlsafe_subset;
	sax->startElementNs = xmlsafe_stream_start;
	sax->endElementNs = xmlsafe_stream_end;
	sax->characters = NULL;
	sax->ignorableWhitespace = NULL;
	sax->cdataBlock = NULL;
	sax->comment = NULL;
	sax->processingInstruction = NULL;
	sax->reference = NULL;
	if (validator != NULL && (plug = xmlSchemaSAXPlug(validator, &ctxt->sax,
	                              &ctxt->userData)) == NULL)
		fatalx("cannot plug a schema validator into the parser");
	for (off = first;; off += chunk) {
		chunk = len - off < XMLSAFE_CHUNK ? len - off : XMLSAFE_CHUNK;
		xmlParseChunk(ctxt, (const char *)buf + off, (int)chunk,
		    off + chunk == len);
		if (off + chunk == len)
			break;
	}
	if (plug != NULL)
		xmlSchemaSAXUnplug(plug);
	if (ctxt->myDoc != NULL && ctxt->myDoc->encoding != NULL)
		enc = ctxt->myDoc->encoding;
	else if (ctxt->encoding != NULL)
		enc = ctxt->encoding;
	if (st.doctype)
		err_set(err, code, "%s: DOCTYPE is not allowed", name);
	else if (st.too_deep)
		err_set(err, code, "%s: elements nested deeper than %d", name,
		    st.max_depth);
	else if (!ctxt->wellFormed) {
		xe = xmlCtxtGetLastError(ctxt);
		if (xe != NULL && xe->message != NULL)
			err_set(err, code,
			    "%s: line %d: not well-formed XML: %.*s", name,
			    xe->line, (int)strcspn(xe->message, "\n"),
			    xe->message);
		else
			err_set(err, code, "%s: not well-formed XML", name);
	} else if (!ctxt->nsWellFormed)
		err_set(
		    err, code, "%s: namespace error (unbound prefix?)", name);
	else if (enc != NULL && strcasecmp((const char *)enc, "UTF-8") != 0)
		err_set(err, code, "%s: encoding %s, only UTF-8 is allowed",
		    name, (const char *)enc);
	else if (ctxt->myDoc != NULL && (ctxt->myDoc->intSubset != NULL ||
	                                    ctxt->myDoc->extSubset != NULL))
		err_set(err, code, "%s: DOCTYPE is not allowed", name);
	else if (st.nroot == 0)
		err_set(err, code, "%s: no root element", name);
	else
		rc = 0;
	if (ctxt->myDoc != NULL)
		xmlFreeDoc(ctxt->myDoc);
	ctxt->myDoc = NULL;
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/* Read a file of at most max bytes and parse it as above. */
xmlDocPtr
xmlsafe_parse_file(const char *path, size_t max, int max_depth,
    enum err_code code, struct error *err)
{
	struct stat sb;
	xmlDocPtr doc;
	size_t off = 0;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(err, ERR_NONE, "cannot open %s: %s", path,
		           strerror(errno)),
		       NULL;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(err, ERR_NONE, "%s: not a regular file", path),
		       NULL;
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		return err_set(err, ERR_SIZE, "%s: %lld bytes, limit %zu", path,
		           (long long)sb.st_size, max),
		       NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, ERR_NONE, "cannot read %s: %s", path,
			    n == 0 ? "file shrank" : strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	close(fd);
	doc = xmlsafe_parse(buf, off, path, max_depth, code, err);
	free(buf);
	return doc;
}

/*
 * An attribute without namespace, or NULL (also for no node); the string
 * lives as long as the node.
 */
const char *
xmlsafe_attr(xmlNodePtr node, const char *name)
{
	xmlAttrPtr a;

	if (node == NULL)
		return NULL;
	for (a = node->properties; a != NULL; a = a->next) {
		if (a->ns == NULL && strcmp((const char *)a->name, name) == 0 &&
		    a->children != NULL && a->children->type == XML_TEXT_NODE &&
		    a->children->next == NULL)
			return (const char *)a->children->content;
		if (a->ns == NULL && strcmp((const char *)a->name, name) == 0 &&
		    a->children == NULL)
			return "";
	}
	return NULL;
}

/* The first child element of node (may be NULL) with this name in ns. */
xmlNodePtr
xmlsafe_child(xmlNodePtr node, const char *ns, const char *name)
{
	xmlNodePtr c;

	if (node == NULL)
		return NULL;
	for (c = node->children; c != NULL; c = c->next)
		if (xmlsafe_is(c, ns, name))
			return c;
	return NULL;
}

/* True if node is an element with this local name in this namespace. */
int
xmlsafe_is(xmlNodePtr node, const char *ns, const char *name)
{
	return node != NULL && node->type == XML_ELEMENT_NODE &&
	       node->ns != NULL &&
	       strcmp((const char *)node->ns->href, ns) == 0 &&
	       strcmp((const char *)node->name, name) == 0;
}
