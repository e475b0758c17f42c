/* xmlsafe.h: libxml2 parsing for hostile input: no DTD, no network, no entities. */
#ifndef POSGW_XMLSAFE_H
#define POSGW_XMLSAFE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "error.h"

#define XMLSAFE_DEFAULT_DEPTH 64

/* A document kept in memory under a file name (an embedded schema). */
struct xmlsafe_blob {
	const char *name;
	const unsigned char *data;
	size_t len;
};

/*
 * Called for each element of a streamed document: depth (1 = root), local
 * name, namespace URI, line, and nattrs attributes as libxml2's SAX2 gives
 * them (5 pointers each: name, prefix, URI, value, value end).
 */
typedef void (*xmlsafe_element_fn)(
    void *, int, const xmlChar *, const xmlChar *, long, int, const xmlChar **);

void xmlsafe_init(void);
void xmlsafe_allow_dir(const char *);
void xmlsafe_allow_blobs(const struct xmlsafe_blob *, size_t);
xmlDocPtr xmlsafe_parse(
    const void *, size_t, const char *, int, enum err_code, struct error *);
xmlDocPtr xmlsafe_parse_file(
    const char *, size_t, int, enum err_code, struct error *);
int xmlsafe_stream(const void *, size_t, const char *, int, void *,
    xmlsafe_element_fn, void *, enum err_code, struct error *);
const char *xmlsafe_attr(xmlNodePtr, const char *);
int xmlsafe_is(xmlNodePtr, const char *, const char *);
xmlNodePtr xmlsafe_child(xmlNodePtr, const char *, const char *);

#endif
