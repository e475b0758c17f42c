/* manifest.c: manifest.xml of an exchange package (package.md section 4). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "log.h"
#include "manifest.h"
#include "package.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* Parse a decimal uint64 with no sign, no leading zero, no junk. */
static int
manifest_u64(const char *s, uint64_t *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* Compare entries by path for duplicate detection. */
static int
manifest_cmp(const void *a, const void *b)
{
	const struct manifest_entry *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/*
 * Parse and validate manifest.xml bytes. Every failure is code manifest;
 * the caller checks name, recipient and signature afterwards.
 */
int
manifest_parse(const void *buf, size_t len, int max_depth, struct manifest *m,
    struct error *err)
{
	const struct manifest_entry **sorted;
	const char *a;
	xmlNodePtr root, n;
	xmlDocPtr doc;
	size_t i, cap = 0;

	memset(m, 0, sizeof *m);
	doc = xmlsafe_parse(
	    buf, len, "manifest.xml", max_depth, ERR_MANIFEST, err);
	if (doc == NULL)
		return -1;
	if (schema_validate(
	        SCHEMA_PACKAGE, doc, "manifest.xml", ERR_MANIFEST, err) == -1)
		goto fail;
	root = xmlDocGetRootElement(doc);
	if (!xmlsafe_is(root, NS_PACKAGE, "package")) {
		err_set(err, ERR_MANIFEST, "manifest.xml: root is not package");
		goto fail;
	}
	a = xmlsafe_attr(root, "id");
	if (a == NULL || !pkg_uuid_valid(a)) {
		err_set(err, ERR_MANIFEST, "manifest.xml: bad id");
		goto fail;
	}
	snprintf(m->uuid, sizeof m->uuid, "%s", a);
	if ((a = xmlsafe_attr(root, "sender")) == NULL || !pkg_id_valid(a)) {
		err_set(err, ERR_MANIFEST, "manifest.xml: bad sender");
		goto fail;
	}
	snprintf(m->sender, sizeof m->sender, "%s", a);
	if ((a = xmlsafe_attr(root, "recipient")) == NULL || !pkg_id_valid(a)) {
		err_set(err, ERR_MANIFEST, "manifest.xml: bad recipient");
		goto fail;
	}
	snprintf(m->recipient, sizeof m->recipient, "%s", a);
	if (manifest_u64(xmlsafe_attr(root, "seq"), &m->seq) == -1 ||
	    m->seq == 0 || m->seq > PKG_SEQ_MAX) {
		err_set(err, ERR_MANIFEST, "manifest.xml: bad seq");
		goto fail;
	}
	if (pkg_time_parse(xmlsafe_attr(root, "created"), &m->created) == -1) {
		err_set(err, ERR_MANIFEST, "manifest.xml: bad created time");
		goto fail;
	}
	a = xmlsafe_attr(root, "digest");
	if (a == NULL || digest_alg_from_name(a, &m->alg) == -1) {
		err_set(err, ERR_MANIFEST, "manifest.xml: unknown digest");
		goto fail;
	}
	for (n = root->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!xmlsafe_is(n, NS_PACKAGE, "entry")) {
			err_set(err, ERR_MANIFEST,
			    "manifest.xml: unexpected element %s", n->name);
			goto fail;
		}
		if (m->nentries == cap) {
			cap = cap ? cap * 2 : 16;
			m->entries =
			    xreallocarray(m->entries, cap, sizeof *m->entries);
		}
		struct manifest_entry *e = &m->entries[m->nentries];
		memset(e, 0, sizeof *e);
		a = xmlsafe_attr(n, "path");
		if (a == NULL || !pkg_path_valid(a)) {
			err_set(err, ERR_MANIFEST,
			    "manifest.xml: line %ld: bad entry path",
			    xmlGetLineNo(n));
			goto fail;
		}
		e->path = xstrdup(a);
		m->nentries++;
		if (manifest_u64(xmlsafe_attr(n, "size"), &e->size) == -1) {
			err_set(err, ERR_MANIFEST,
			    "manifest.xml: entry %s: bad size", e->path);
			goto fail;
		}
		a = xmlsafe_attr(n, "digest");
		if (a == NULL || strlen(a) != DIGEST_HEX_LEN ||
		    strspn(a, "0123456789abcdef") != DIGEST_HEX_LEN) {
			err_set(err, ERR_MANIFEST,
			    "manifest.xml: entry %s: bad digest", e->path);
			goto fail;
		}
		memcpy(e->digest, a, DIGEST_HEX_LEN + 1);
	}
	if (m->nentries > 1) {
		sorted = xcalloc(m->nentries, sizeof *sorted);
		for (i = 0; i < m->nentries; i++)
			sorted[i] = &m->entries[i];
		qsort(sorted, m->nentries, sizeof *sorted, manifest_cmp);
		for (i = 1; i < m->nentries; i++) {
			if (strcmp(sorted[i - 1]->path, sorted[i]->path) == 0) {
				err_set(err, ERR_MANIFEST,
				    "manifest.xml: entry %s listed twice",
				    sorted[i]->path);
				free(sorted);
				goto fail;
			}
		}
		free(sorted);
	}
	xmlFreeDoc(doc);
	return 0;
fail:
	xmlFreeDoc(doc);
	manifest_free(m);
	return -1;
}

/* Serialise a manifest as UTF-8 XML; all values are validated ASCII. */
char *
manifest_serialize(const struct manifest *m, size_t *lenp)
{
	char created[32], *buf, *p;
	size_t cap, i;
	int n;

	cap = 512 + m->nentries * (300 + DIGEST_HEX_LEN + 64);
	buf = xmalloc(cap);
	pkg_time_format(m->created, created, sizeof created);
	n = snprintf(buf, cap,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<package xmlns=\"%s\" format=\"1\" id=\"%s\" sender=\"%s\" "
	    "recipient=\"%s\" seq=\"%" PRIu64 "\" created=\"%s\" "
	    "digest=\"%s\">\n",
	    NS_PACKAGE, m->uuid, m->sender, m->recipient, m->seq, created,
	    digest_alg_name(m->alg));
	p = buf + n;
	for (i = 0; i < m->nentries; i++) {
		n = snprintf(p, cap - (size_t)(p - buf),
		    "  <entry path=\"%s\" size=\"%" PRIu64
		    "\" digest=\"%s\"/>\n",
		    m->entries[i].path, m->entries[i].size,
		    m->entries[i].digest);
		p += n;
	}
	n = snprintf(p, cap - (size_t)(p - buf), "</package>\n");
	p += n;
	*lenp = (size_t)(p - buf);
	return buf;
}

/* Find an entry by path (linear; manifests are bounded). */
const struct manifest_entry *
manifest_find(const struct manifest *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		if (strcmp(m->entries[i].path, path) == 0)
			return &m->entries[i];
	return NULL;
}

/* Free the entries of a manifest. */
void
manifest_free(struct manifest *m)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		free(m->entries[i].path);
	free(m->entries);
	m->entries = NULL;
	m->nentries = 0;
}
