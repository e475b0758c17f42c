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

/* What manifest_parse collects while the manifest streams by. */
struct manifest_read {
	struct manifest *m;
	size_t cap;
	struct error sem; /* the first failed check of a value */
	int root_ok;
};

/* A copy of an unqualified attribute's value, or NULL without one. */
static char *
manifest_attr(int nattrs, const xmlChar **attrs, const char *name)
{
	int i;

	for (i = 0; i < nattrs; i++)
		if (attrs[i * 5 + 2] == NULL &&
		    strcmp((const char *)attrs[i * 5], name) == 0)
			return xstrndup((const char *)attrs[i * 5 + 3],
			    (size_t)(attrs[i * 5 + 4] - attrs[i * 5 + 3]));
	return NULL;
}

/* Check the package element's attributes into the manifest. */
static void
manifest_root(struct manifest_read *r, int nattrs, const xmlChar **attrs)
{
	struct manifest *m = r->m;
	const char *bad = NULL;
	char *v[6];
	size_t i;

	v[0] = manifest_attr(nattrs, attrs, "id");
	v[1] = manifest_attr(nattrs, attrs, "sender");
	v[2] = manifest_attr(nattrs, attrs, "recipient");
	v[3] = manifest_attr(nattrs, attrs, "seq");
	v[4] = manifest_attr(nattrs, attrs, "created");
	v[5] = manifest_attr(nattrs, attrs, "digest");
	if (v[0] == NULL || !pkg_uuid_valid(v[0]))
		bad = "bad id";
	else if (v[1] == NULL || !pkg_id_valid(v[1]))
		bad = "bad sender";
	else if (v[2] == NULL || !pkg_id_valid(v[2]))
		bad = "bad recipient";
	else if (manifest_u64(v[3], &m->seq) == -1 || m->seq == 0 ||
	         m->seq > PKG_SEQ_MAX)
		bad = "bad seq";
	else if (pkg_time_parse(v[4], &m->created) == -1)
		bad = "bad created time";
	else if (v[5] == NULL || digest_alg_from_name(v[5], &m->alg) == -1)
		bad = "unknown digest";
	if (bad != NULL)
		err_set(&r->sem, ERR_MANIFEST, "manifest.xml: %s", bad);
	else {
		snprintf(m->uuid, sizeof m->uuid, "%s", v[0]);
		snprintf(m->sender, sizeof m->sender, "%s", v[1]);
		snprintf(m->recipient, sizeof m->recipient, "%s", v[2]);
		r->root_ok = 1;
	}
	for (i = 0; i < 6; i++)
		free(v[i]);
}

/* Check one entry element and add it to the manifest. */
static void
manifest_entry(
    struct manifest_read *r, long line, int nattrs, const xmlChar **attrs)
{
	struct manifest *m = r->m;
	struct manifest_entry *e;
	char *path, *size, *digest;

	path = manifest_attr(nattrs, attrs, "path");
	if (path == NULL || !pkg_path_valid(path)) {
		err_set(&r->sem, ERR_MANIFEST,
		    "manifest.xml: line %ld: bad entry path", line);
		free(path);
		return;
	}
	if (m->nentries == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		m->entries =
		    xreallocarray(m->entries, r->cap, sizeof *m->entries);
	}
	e = &m->entries[m->nentries++];
	memset(e, 0, sizeof *e);
	e->path = path;
	size = manifest_attr(nattrs, attrs, "size");
	digest = manifest_attr(nattrs, attrs, "digest");
	if (manifest_u64(size, &e->size) == -1)
		err_set(&r->sem, ERR_MANIFEST,
		    "manifest.xml: entry %s: bad size", e->path);
	else if (digest == NULL || strlen(digest) != DIGEST_HEX_LEN ||
	         strspn(digest, "0123456789abcdef") != DIGEST_HEX_LEN)
		err_set(&r->sem, ERR_MANIFEST,
		    "manifest.xml: entry %s: bad digest", e->path);
	else
		memcpy(e->digest, digest, DIGEST_HEX_LEN + 1);
	free(size);
	free(digest);
}

/* One element of the manifest (xmlsafe_stream callback); the first failure counts. */
static void
manifest_element(void *arg, int depth, const xmlChar *name, const xmlChar *uri,
    long line, int nattrs, const xmlChar **attrs)
{
	struct manifest_read *r = arg;

	if (r->sem.code != ERR_NONE || depth > 2)
		return;
	if (depth == 1) {
		if (uri == NULL || strcmp((const char *)uri, NS_PACKAGE) != 0 ||
		    strcmp((const char *)name, "package") != 0)
			err_set(&r->sem, ERR_MANIFEST,
			    "manifest.xml: root is not package");
		else
			manifest_root(r, nattrs, attrs);
		return;
	}
	if (!r->root_ok)
		return;
	if (uri == NULL || strcmp((const char *)uri, NS_PACKAGE) != 0 ||
	    strcmp((const char *)name, "entry") != 0) {
		err_set(&r->sem, ERR_MANIFEST,
		    "manifest.xml: unexpected element %s", (const char *)name);
		return;
	}
	manifest_entry(r, line, nattrs, attrs);
}

/*
 * Parse and validate manifest.xml bytes, streamed: no tree is built, so
 * memory grows with the entries kept, not with the XML. Every failure is
 * code manifest (well-formedness first, then the schema, then the values);
 * the caller checks name, recipient and signature afterwards.
 */
int
manifest_parse(const void *buf, size_t len, int max_depth, struct manifest *m,
    struct error *err)
{
	const struct manifest_entry **sorted;
	struct manifest_read r;
	size_t i;

	memset(m, 0, sizeof *m);
	memset(&r, 0, sizeof r);
	r.m = m;
	if (schema_stream(SCHEMA_PACKAGE, buf, len, "manifest.xml", max_depth,
	        manifest_element, &r, ERR_MANIFEST, err) == -1)
		goto fail;
	if (r.sem.code != ERR_NONE) {
		err_set(err, r.sem.code, "%s", r.sem.text);
		goto fail;
	}
	if (!r.root_ok) {
		err_set(err, ERR_MANIFEST, "manifest.xml: root is not package");
		goto fail;
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
	return 0;
fail:
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
