/*
 * schema.c: the project's XSDs, loaded once and used through libxml2. They
 * are compiled into every program (schemas-data.c, made by
 * build-aux/embed-xsd), includes resolved from that embedded set and never
 * from disk or network; POSGW_SCHEMADIR names a directory to read instead
 * (an integrator swapping in official schemas).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlschemas.h>

#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static const char *const schema_files[] = {
    [SCHEMA_PACKAGE] = "package.xsd",
    [SCHEMA_EXCHANGE] = "exchange.xsd",
    [SCHEMA_ENVELOPE] = "envelope.xsd",
};
static xmlSchemaPtr schemas[SCHEMA_COUNT];

/* The directory that overrides the embedded schemas ($POSGW_SCHEMADIR), or NULL. */
const char *
schema_dir(void)
{
	const char *env = getenv("POSGW_SCHEMADIR");

	return env != NULL && *env != '\0' ? env : NULL;
}

/* An embedded schema by file name, or NULL. */
static const struct xmlsafe_blob *
schema_blob(const char *name)
{
	size_t i;

	for (i = 0; i < schema_nblobs; i++)
		if (strcmp(schema_blobs[i].name, name) == 0)
			return &schema_blobs[i];
	return NULL;
}

/* Keep the first structured error of a schema parse or validation. */
static void
schema_error(void *ctx, xmlErrorPtr xe)
{
	if (xe == NULL || xe->message == NULL)
		return;
	err_keep(ctx, ERR_NONE, "line %d: %.*s", xe->line,
	    (int)strcspn(xe->message, "\n"), xe->message);
}

/*
 * Compile one schema: the embedded copy, or with dir the file there. Its
 * name for messages goes to shown.
 */
static xmlSchemaPtr
schema_compile(
    const char *dir, const char *file, char **shown, struct error *err)
{
	const struct xmlsafe_blob *b;
	xmlSchemaParserCtxtPtr pc;
	struct error se = {0};
	xmlSchemaPtr sc;

	if (dir != NULL) {
		xasprintf(shown, "%s/%s", dir, file);
		if (access(*shown, R_OK) == -1) {
			err_set(err, ERR_NONE,
			    "cannot read schema %s: %s (POSGW_SCHEMADIR names "
			    "%s; unset it to use the schemas built into posgw)",
			    *shown, strerror(errno), dir);
			return NULL;
		}
		xmlsafe_allow_dir(dir);
		pc = xmlSchemaNewParserCtxt(*shown);
	} else {
		xasprintf(shown, "%s (built in)", file);
		if ((b = schema_blob(file)) == NULL)
			fatalx("schema %s is not built in", file);
		xmlsafe_allow_blobs(schema_blobs, schema_nblobs);
		pc = xmlSchemaNewMemParserCtxt(
		    (const char *)b->data, (int)b->len);
	}
	if (pc == NULL)
		fatalx("cannot allocate a schema parser");
	xmlSchemaSetParserStructuredErrors(pc, schema_error, &se);
	sc = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	xmlsafe_allow_dir(NULL);
	xmlsafe_allow_blobs(NULL, 0);
	if (sc == NULL)
		err_set(err, ERR_NONE, "schema %s does not compile: %s", *shown,
		    se.text[0] ? se.text : "unknown error");
	return sc;
}

/* Load and compile both schemas, once. */
int
schema_load(struct error *err)
{
	const char *dir = schema_dir();
	char *shown;
	size_t i;

	xmlsafe_init();
	for (i = 0; i < SCHEMA_COUNT; i++) {
		if (schemas[i] != NULL)
			continue;
		schemas[i] = schema_compile(dir, schema_files[i], &shown, err);
		free(shown);
		if (schemas[i] == NULL)
			return -1;
	}
	return 0;
}

/* Validate a parsed document; on failure set err with code and the first error. */
int
schema_validate(enum schema_kind kind, xmlDocPtr doc, const char *name,
    enum err_code code, struct error *err)
{
	xmlSchemaValidCtxtPtr vc;
	struct error se = {0};
	int rc;

	if (schema_load(err) == -1)
		return -1;
	if ((vc = xmlSchemaNewValidCtxt(schemas[kind])) == NULL)
		fatalx("cannot allocate a schema validator");
	err_clear(&se);
	xmlSchemaSetValidStructuredErrors(vc, schema_error, &se);
	rc = xmlSchemaValidateDoc(vc, doc);
	xmlSchemaFreeValidCtxt(vc);
	if (rc != 0)
		return err_set(err, code, "%s: does not match %s: %s", name,
		    schema_files[kind], se.text[0] ? se.text : "invalid");
	return 0;
}

/*
 * Parse a document from memory without building a tree (xmlsafe_stream),
 * each element to fn, then validate it against a schema as a stream: the
 * same checks and codes as xmlsafe_parse then schema_validate, a
 * well-formedness failure first.
 */
int
schema_stream(enum schema_kind kind, const void *buf, size_t len,
    const char *name, int max_depth, xmlsafe_element_fn fn, void *arg,
    enum err_code code, struct error *err)
{
	xmlSchemaValidCtxtPtr vc;
	struct error se = {0};
	int rc;

	if (schema_load(err) == -1)
		return -1;
	/*
	 * Two passes: the validator leaks the state of elements left open,
	 * so it only sees a document already known to be well-formed.
	 */
	if (xmlsafe_stream(
	        buf, len, name, max_depth, NULL, fn, arg, code, err) == -1)
		return -1;
	if ((vc = xmlSchemaNewValidCtxt(schemas[kind])) == NULL)
		fatalx("cannot allocate a schema validator");
	err_clear(&se);
	xmlSchemaSetValidStructuredErrors(vc, schema_error, &se);
	rc = xmlsafe_stream(
	    buf, len, name, max_depth, vc, NULL, NULL, code, err);
	if (rc == 0 && xmlSchemaIsValid(vc) != 1)
		rc = err_set(err, code, "%s: does not match %s: %s", name,
		    schema_files[kind], se.text[0] ? se.text : "invalid");
	xmlSchemaFreeValidCtxt(vc);
	return rc;
}

/* Free the compiled schemas (tests and leak checkers). */
void
schema_free(void)
{
	size_t i;

	for (i = 0; i < SCHEMA_COUNT; i++) {
		if (schemas[i] != NULL)
			xmlSchemaFree(schemas[i]);
		schemas[i] = NULL;
	}
}
