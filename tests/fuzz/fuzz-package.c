/*
 * fuzz-package: a whole package file as core-01 receives it from edge-01
 * (archive, filters, entry headers, manifest, signature, entries,
 * payload), read the way posgw-core reads its inbox. Trust: the
 * certificate in $FUZZ_TRUST (tests/fuzz/run makes one and seeds signed
 * with it, so mutations past the signed manifest reach the entries).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "fuzz.h"
#include "package.h"
#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pkg_verify_opts o;
	static struct trust *t;
	static char stage[512];
	struct error err = {0};
	const char *path;
	struct pkg *p;

	fuzz_init_xml();
	if (t == NULL) {
		t = trust_new();
		if (getenv("FUZZ_TRUST") != NULL &&
		    trust_add_file(t, getenv("FUZZ_TRUST"), &err) == -1) {
			fprintf(stderr, "fuzz: %s\n", err.text);
			abort();
		}
		pkg_verify_opts_default(&o);
		o.own_id = "core-01";
		o.trust = t;
		snprintf(stage, sizeof stage, "%s", fuzz_dir());
	}
	path = fuzz_write(
	    "edge-01.000000000001.0f8fad5b-d9cb-469f-a165-70867728950e.pkg",
	    data, size);
	if ((p = pkg_read(path, stage, &o, &err)) != NULL)
		pkg_free(p);
	return 0;
}
