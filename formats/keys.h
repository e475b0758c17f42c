/* keys.h: key pairs and certificates for gateway identities. */
#ifndef POSGW_KEYS_H
#define POSGW_KEYS_H

#include <stdio.h>

#include "error.h"

enum key_alg { KEY_GOST256 = 0, KEY_GOST512, KEY_ECDSA, KEY_ED25519 };

struct keys_params {
	const char *id;
	enum key_alg alg;
	const char *key; /* NULL: generate; else certify this key (file, URI) */
	const char *ca_key; /* NULL: self-signed */
	const char *ca_cert;
	int days;
	int is_ca; /* make a CA certificate (keyCertSign) */
	const char *outdir;
};

int keys_alg_from_name(const char *, enum key_alg *);
int keys_generate(const struct keys_params *, char **, char **, struct error *);
int keys_show(const char *, FILE *, struct error *);
int keys_fingerprint_matches(const char *, const char *, struct error *);

#endif
