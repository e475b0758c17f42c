/* schema.c: the project's XSDs, loaded once and used through libxml2. */
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
};
static xmlSchemaPtr schemas[2];

/* Where schemas are read from: $POSGW_SCHEMADIR, else the installed copy. */
const char *
schema_dir(void)
{
	const char *env = getenv("POSGW_SCHEMADIR");

	if (env != NULL && *env != '\0')
		return env;
	return POSGW_SCHEMADIR;
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

/* Load and compile both schemas, once. */
int
schema_load(struct error *err)
{
	xmlSchemaParserCtxtPtr pc;
	struct error se = {0};
	const char *dir = schema_dir();
	char *path;
	size_t i;

	xmlsafe_init();
	for (i = 0; i < 2; i++) {
		if (schemas[i] != NULL)
			continue;
		xasprintf(&path, "%s/%s", dir, schema_files[i]);
		if (access(path, R_OK) == -1) {
			err_set(err, ERR_NONE,
			    "cannot read schema %s: %s (set POSGW_SCHEMADIR "
			    "or reinstall posgw)",
			    path, strerror(errno));
			free(path);
			return -1;
		}
		err_clear(&se);
		xmlsafe_allow_dir(dir);
		if ((pc = xmlSchemaNewParserCtxt(path)) == NULL)
			fatalx("cannot allocate a schema parser");
		xmlSchemaSetParserStructuredErrors(pc, schema_error, &se);
		schemas[i] = xmlSchemaParse(pc);
		xmlSchemaFreeParserCtxt(pc);
		xmlsafe_allow_dir(NULL);
		if (schemas[i] == NULL) {
			err_set(err, ERR_NONE, "schema %s does not compile: %s",
			    path, se.text[0] ? se.text : "unknown error");
			free(path);
			return -1;
		}
		free(path);
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

/* Free the compiled schemas (tests and leak checkers). */
void
schema_free(void)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		if (schemas[i] != NULL)
			xmlSchemaFree(schemas[i]);
		schemas[i] = NULL;
	}
}
