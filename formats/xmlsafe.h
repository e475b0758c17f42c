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

void xmlsafe_init(void);
void xmlsafe_allow_dir(const char *);
void xmlsafe_allow_blobs(const struct xmlsafe_blob *, size_t);
xmlDocPtr xmlsafe_parse(
    const void *, size_t, const char *, int, enum err_code, struct error *);
xmlDocPtr xmlsafe_parse_file(
    const char *, size_t, int, enum err_code, struct error *);
const char *xmlsafe_attr(xmlNodePtr, const char *);
int xmlsafe_is(xmlNodePtr, const char *, const char *);
xmlNodePtr xmlsafe_child(xmlNodePtr, const char *, const char *);

#endif
