/* payload.c: payload documents and their references (package.md section 6). */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
 * Parse (unless already parsed) and validate every payload/<name>.xml, check
 * that references point at attachments in the package and that every
 * attachment is referenced. Code payload (or size for an oversized document).
 */
int
payload_check(struct pkg_entry *entries, size_t n, const struct pkg_limits *l,
    struct error *err)
{
	struct payload_ref r;
	xmlNodePtr root;
	size_t i, k;
	int ok;

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
		if (entries[i].doc == NULL && entries[i].staged == NULL) {
			if (entries[i].memlen > (size_t)l->max_xml) {
				err_set(err, ERR_SIZE,
				    "%s: %zu bytes, limit %llu",
				    entries[i].path, entries[i].memlen,
				    (unsigned long long)l->max_xml);
				goto fail;
			}
			entries[i].doc = xmlsafe_parse(entries[i].mem,
			    entries[i].memlen, entries[i].path, l->max_depth,
			    ERR_PAYLOAD, err);
			if (entries[i].doc == NULL) {
				if (err->code == ERR_NONE)
					err->code = ERR_PAYLOAD;
				goto fail;
			}
		}
		if (entries[i].doc == NULL) {
			entries[i].doc = xmlsafe_parse_file(entries[i].staged,
			    (size_t)l->max_xml, l->max_depth, ERR_PAYLOAD, err);
			if (entries[i].doc == NULL) {
				/* name the entry, not the staging file */
				if (strstr(err->text, entries[i].staged) ==
				    err->text) {
					char t[sizeof err->text];
					snprintf(t, sizeof t, "%s%s",
					    entries[i].path,
					    err->text +
					        strlen(entries[i].staged));
					err_set(err, err->code, "%s", t);
				}
				if (err->code == ERR_NONE)
					err->code = ERR_PAYLOAD;
				goto fail;
			}
		}
		if (schema_validate(SCHEMA_EXCHANGE, entries[i].doc,
		        entries[i].path, ERR_PAYLOAD, err) == -1)
			goto fail;
		root = xmlDocGetRootElement(entries[i].doc);
		for (ok = 0, k = 0;
		     k < sizeof payload_roots / sizeof payload_roots[0]; k++)
			if (xmlsafe_is(root, NS_EXCHANGE, payload_roots[k]))
				ok = 1;
		if (!ok) {
			err_set(err, ERR_PAYLOAD, "%s: unknown document <%s>",
			    entries[i].path, (const char *)root->name);
			goto fail;
		}
		if (xmlsafe_is(root, NS_EXCHANGE, "event") &&
		    payload_event(root, entries[i].path, err) == -1)
			goto fail;
		r.doc = entries[i].path;
		if (payload_walk(&r, root) == -1)
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
