/*
 * fuzz-payload: one payload document (any of the six types: appeal,
 * event, outcome, classifier, receipt, checkpoint) as a package entry,
 * through the XML parser, the exchange schema and the reference checks.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "error.h"
#include "fuzz.h"
#include "package.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char doc[] = "payload/doc-1.xml", att[] = "payload/att/177073571-1.bin";
	struct pkg_limits l;
	struct pkg_entry e[2];
	struct error err = {0};

	fuzz_init_xml();
	pkg_limits_default(&l);
	memset(e, 0, sizeof e);
	e[0].path = doc;
	e[0].mem = malloc(size + 1);
	if (e[0].mem == NULL)
		abort();
	memcpy(e[0].mem, data, size);
	e[0].memlen = size;
	e[0].size = size;
	/* an attachment the document may reference */
	e[1].path = att;
	e[1].size = 4;
	payload_check(e, 2, -1, &l, &err);
	free(e[0].mem);
	return 0;
}
