/*
 * fuzz-package: a whole package file as core-01 receives it from edge-01,
 * read the way posgw-core reads its inbox: an envelope (formats/envelope.md:
 * its tar, envelope.xml, signature, key agreement, key export, ciphertext
 * and tag) opened with the key-agreement pair in $FUZZ_EXCHANGE_KEY and
 * $FUZZ_EXCHANGE_CERT, then the package inside; or a plain package
 * (archive, filters, entry headers, manifest, signature, entries,
 * payload). Trust: the certificate in $FUZZ_TRUST (tests/fuzz/run makes the
 * keys and seeds signed and sealed with them, so mutations get past the
 * signatures to what follows).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
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
	static struct kex_key *kk;
	static char stage[512], plain[600];
	struct error err = {0};
	struct env_open_opts eo;
	struct env_info info;
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
		snprintf(plain, sizeof plain,
		    "%s/plain-"
		    "edge-01.000000000001.0f8fad5b-d9cb-469f-a165-70867728950e."
		    "pkg",
		    stage);
		if (getenv("FUZZ_EXCHANGE_KEY") != NULL &&
		    (kk = kex_key_load(getenv("FUZZ_EXCHANGE_KEY"),
		         getenv("FUZZ_EXCHANGE_CERT"), &err)) == NULL) {
			fprintf(stderr, "fuzz: %s\n", err.text);
			abort();
		}
	}
	path = fuzz_write(
	    "edge-01.000000000001.0f8fad5b-d9cb-469f-a165-70867728950e.pkg",
	    data, size);
	if (!env_detect(path)) {
		if ((p = pkg_read(path, stage, &o, &err)) != NULL)
			pkg_free(p);
		return 0;
	}
	memset(&eo, 0, sizeof eo);
	eo.own_id = o.own_id;
	eo.trust = t;
	eo.sig_algs = o.sig_algs;
	eo.digests = o.digests;
	eo.max_file = o.limits.max_file;
	if (kk != NULL)
		eo.keys[eo.nkeys++] = kk;
	if (env_open(path, plain, &eo, &info, &err) == 0) {
		/* the package inside keeps the envelope's name */
		char inside[700];
		snprintf(inside, sizeof inside, "%s/inner", stage);
		mkdir(inside, 0700);
		snprintf(
		    inside, sizeof inside, "%s/inner/%s", stage, info.name);
		if (rename(plain, inside) == 0 &&
		    (p = pkg_read(inside, stage, &o, &err)) != NULL)
			pkg_free(p);
		unlink(inside);
		unlink(plain);
	}
	return 0;
}
