/* payload.c: payload documents and their references (package.md section 6). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "package.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static const char *const payload_roots[] = {"appeal", "event", "outcome",
    "receipt", "classifier", "checkpoint", "certificate", "statistics"};

/* Which child element an event of each type carries. */
static const struct {
	const char *type;
	const char *child;
} payload_events[] = {
    {"registered", "registration"},
    {"take-to-work", "take-to-work"},
    {"set-executor", "executor"},
    {"postpone", "postpone"},
    {"forward", "forward"},
    {"decline", "decline"},
    {"answer", "answer"},
};

struct payload_ref {
	struct pkg_entry *entries;
	size_t n;
	size_t *order; /* entry indexes sorted by path */
	unsigned char *used;
	const char *doc;
	struct error *err;
};

static struct pkg_entry *payload_sort_base;

/* Order entry indexes by path. */
static int
payload_cmp(const void *a, const void *b)
{
	return strcmp(payload_sort_base[*(const size_t *)a].path,
	    payload_sort_base[*(const size_t *)b].path);
}

/* Find an entry by path (binary search over the sorted indexes). */
static ssize_t
payload_lookup(struct payload_ref *r, const char *path)
{
	size_t lo = 0, hi = r->n, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(path, r->entries[r->order[mid]].path);
		if (c == 0)
			return (ssize_t)r->order[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Check one reference attribute of an attachment or file element. */
static int
payload_ref_one(
    struct payload_ref *r, xmlNodePtr node, const char *attr, int check_size)
{
	const char *path, *size;
	char buf[32];
	ssize_t i;

	if ((path = xmlsafe_attr(node, attr)) == NULL)
		return 0;
	if (!pkg_path_valid(path) || pkg_doc_path(path))
		return err_set(r->err, ERR_PAYLOAD,
		    "%s: line %ld: %s=\"%.100s\" is not an attachment path",
		    r->doc, xmlGetLineNo(node), attr, path);
	if ((i = payload_lookup(r, path)) == -1)
		return err_set(r->err, ERR_PAYLOAD,
		    "%s: line %ld: references %s, which is not in the package",
		    r->doc, xmlGetLineNo(node), path);
	r->used[i] = 1;
	if (check_size && (size = xmlsafe_attr(node, "size")) != NULL) {
		snprintf(buf, sizeof buf, "%" PRIu64, r->entries[i].size);
		if (strcmp(buf, size) != 0)
			return err_set(r->err, ERR_PAYLOAD,
			    "%s: line %ld: %s has size %s in the document "
			    "but %s in the package",
			    r->doc, xmlGetLineNo(node), path, size, buf);
	}
	return 0;
}

/* Walk a document for attachment references (depth is bounded by the parser). */
static int
payload_walk(struct payload_ref *r, xmlNodePtr node)
{
	xmlNodePtr c;

	for (c = node; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmlsafe_is(c, NS_EXCHANGE, "attachment") ||
		    xmlsafe_is(c, NS_EXCHANGE, "file")) {
			if (payload_ref_one(r, c, "path", 1) == -1 ||
			    payload_ref_one(r, c, "signature", 0) == -1)
				return -1;
		}
		if (payload_walk(r, c->children) == -1)
			return -1;
	}
	return 0;
}

/* The child element of an event must match its type. */
static int
payload_event(xmlNodePtr root, const char *doc, struct error *err)
{
	const char *type = xmlsafe_attr(root, "type"), *want;
	xmlNodePtr c;

	for (c = root->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, "comment") != 0)
			break;
	if ((want = payload_event_child(type)) == NULL)
		return err_set(err, ERR_PAYLOAD, "%s: unknown event type", doc);
	if (c != NULL && strcmp((const char *)c->name, want) == 0)
		return 0;
	return err_set(err, ERR_PAYLOAD, "%s: event of type %s must carry <%s>",
	    doc, type, want);
}

/*
 * The child element an event of this type carries (event.xsd), or NULL for
 * a type posgw does not know. The one table of event types.
 */
const char *
payload_event_child(const char *type)
{
	size_t i;

	for (i = 0; type != NULL &&
	            i < sizeof payload_events / sizeof payload_events[0];
	     i++)
		if (strcmp(type, payload_events[i].type) == 0)
			return payload_events[i].child;
	return NULL;
}

/*
 * Read a document's size bytes at off in the document file docfd into a
 * new buffer (one spare byte); NULL with err set when the file is short.
 */
unsigned char *
payload_bytes(const struct pkg_entry *e, int docfd, struct error *err)
{
	unsigned char *buf;
	size_t got = 0;
	ssize_t n;

	buf = xmalloc((size_t)e->size + 1);
	while (got < e->size) {
		n = pread(docfd, buf + got, (size_t)e->size - got,
		    (off_t)(e->off + got));
		if (n <= 0) {
			err_set(err, ERR_NONE,
			    "cannot read %s back from the staged documents: "
			    "%s; check the staging disk",
			    e->path, n == 0 ? "short file" : strerror(errno));
			free(buf);
			return NULL;
		}
		got += (size_t)n;
	}
	return buf;
}

/*
 * Parse one payload document from where its bytes are: memory, a staged
 * file, or size bytes at off in the document file docfd. Code payload (or
 * size for an oversized document, none when the staged bytes are unreadable).
 */
xmlDocPtr
payload_parse(const struct pkg_entry *e, int docfd, const struct pkg_limits *l,
    struct error *err)
{
	unsigned char *buf;
	xmlDocPtr doc;

	if (e->mem != NULL || (e->staged == NULL && docfd == -1)) {
		if (e->memlen > (size_t)l->max_xml) {
			err_set(err, ERR_SIZE, "%s: %zu bytes, limit %llu",
			    e->path, e->memlen, (unsigned long long)l->max_xml);
			return NULL;
		}
		doc = xmlsafe_parse(e->mem != NULL ? (const void *)e->mem : "",
		    e->memlen, e->path, l->max_depth, ERR_PAYLOAD, err);
		if (doc == NULL && err->code == ERR_NONE)
			err->code = ERR_PAYLOAD;
		return doc;
	}
	if (e->staged == NULL) {
		if (e->size > l->max_xml) {
			err_set(err, ERR_SIZE, "%s: %llu bytes, limit %llu",
			    e->path, (unsigned long long)e->size,
			    (unsigned long long)l->max_xml);
			return NULL;
		}
		if ((buf = payload_bytes(e, docfd, err)) == NULL)
			return NULL;
		doc = xmlsafe_parse(buf, (size_t)e->size, e->path, l->max_depth,
		    ERR_PAYLOAD, err);
		free(buf);
		if (doc == NULL && err->code == ERR_NONE)
			err->code = ERR_PAYLOAD;
		return doc;
	}
	doc = xmlsafe_parse_file(
	    e->staged, (size_t)l->max_xml, l->max_depth, ERR_PAYLOAD, err);
	if (doc == NULL) {
		/* name the entry, not the staging file */
		if (strstr(err->text, e->staged) == err->text) {
			char t[sizeof err->text];
			snprintf(t, sizeof t, "%s%s", e->path,
			    err->text + strlen(e->staged));
			err_set(err, err->code, "%s", t);
		}
		if (err->code == ERR_NONE)
			err->code = ERR_PAYLOAD;
	}
	return doc;
}

/* Validate one parsed document and check its references; sets e->kind. */
static int
payload_check_doc(struct payload_ref *r, struct pkg_entry *e, xmlDocPtr doc,
    struct error *err)
{
	xmlNodePtr root;
	size_t k;

	if (schema_validate(SCHEMA_EXCHANGE, doc, e->path, ERR_PAYLOAD, err) ==
	    -1)
		return -1;
	root = xmlDocGetRootElement(doc);
	for (k = 0; k < sizeof payload_roots / sizeof payload_roots[0]; k++)
		if (xmlsafe_is(root, NS_EXCHANGE, payload_roots[k]))
			e->kind = payload_roots[k];
	if (e->kind == NULL)
		return err_set(err, ERR_PAYLOAD, "%s: unknown document <%s>",
		    e->path, (const char *)root->name);
	if (xmlsafe_is(root, NS_EXCHANGE, "event") &&
	    payload_event(root, e->path, err) == -1)
		return -1;
	r->doc = e->path;
	return payload_walk(r, root);
}

/*
 * Parse and validate every payload/<name>.xml one at a time (each tree is
 * freed once checked, unless the caller parsed it), check that references
 * point at attachments in the package and that every attachment is
 * referenced. Documents without bytes in memory or a staged file are read
 * from docfd. Code payload (or size for an oversized document).
 */
int
payload_check(struct pkg_entry *entries, size_t n, int docfd,
    const struct pkg_limits *l, struct error *err)
{
	struct payload_ref r;
	xmlDocPtr doc;
	size_t i;
	int rc;

	memset(&r, 0, sizeof r);
	r.entries = entries;
	r.n = n;
	r.used = xcalloc(n ? n : 1, 1);
	r.order = xcalloc(n ? n : 1, sizeof *r.order);
	for (i = 0; i < n; i++)
		r.order[i] = i;
	payload_sort_base = entries;
	qsort(r.order, n, sizeof *r.order, payload_cmp);
	payload_sort_base = NULL;
	r.err = err;
	for (i = 0; i < n; i++) {
		if (!pkg_doc_path(entries[i].path))
			continue;
		r.used[i] = 1;
		entries[i].kind = NULL;
		doc = entries[i].doc;
		if (doc == NULL &&
		    (doc = payload_parse(&entries[i], docfd, l, err)) == NULL)
			goto fail;
		rc = payload_check_doc(&r, &entries[i], doc, err);
		if (doc != entries[i].doc)
			xmlFreeDoc(doc);
		if (rc == -1)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		if (!r.used[i]) {
			err_set(err, ERR_PAYLOAD,
			    "%s: attachment referenced by no document",
			    entries[i].path);
			goto fail;
		}
	}
	free(r.used);
	free(r.order);
	return 0;
fail:
	free(r.used);
	free(r.order);
	return -1;
}

/* Call fn for every attachment path a document references (path, signature). */
void
payload_foreach_ref(
    xmlNodePtr node, void (*fn)(const char *, void *), void *arg)
{
	const char *v;
	xmlNodePtr c;

	for (c = node; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmlsafe_is(c, NS_EXCHANGE, "attachment") ||
		    xmlsafe_is(c, NS_EXCHANGE, "file")) {
			if ((v = xmlsafe_attr(c, "path")) != NULL)
				fn(v, arg);
			if ((v = xmlsafe_attr(c, "signature")) != NULL)
				fn(v, arg);
		}
		payload_foreach_ref(c->children, fn, arg);
	}
}
