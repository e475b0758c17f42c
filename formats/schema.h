/* schema.h: the project's XSDs, loaded once and used through libxml2. */
#ifndef POSGW_SCHEMA_H
#define POSGW_SCHEMA_H

#include <stddef.h>

#include <libxml/tree.h>

#include "error.h"
#include "xmlsafe.h"

#define NS_PACKAGE "urn:posgw:package:1"
#define NS_EXCHANGE "urn:posgw:exchange:1"
#define NS_ENVELOPE "urn:posgw:envelope:1"

enum schema_kind {
	SCHEMA_PACKAGE = 0,
	SCHEMA_EXCHANGE = 1,
	SCHEMA_ENVELOPE = 2,
	SCHEMA_COUNT
};

/* The XSDs compiled into the programs (schemas-data.c, generated). */
extern const struct xmlsafe_blob schema_blobs[];
extern const size_t schema_nblobs;

const char *schema_dir(void);
int schema_load(struct error *);
int schema_validate(
    enum schema_kind, xmlDocPtr, const char *, enum err_code, struct error *);
int schema_stream(enum schema_kind, const void *, size_t, const char *, int,
    xmlsafe_element_fn, void *, enum err_code, struct error *);
void schema_free(void);

#endif
