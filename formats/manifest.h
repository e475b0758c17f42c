/* manifest.h: manifest.xml of an exchange package (package.md section 4). */
#ifndef POSGW_MANIFEST_H
#define POSGW_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "digest.h"
#include "error.h"

struct manifest_entry {
	char *path;
	uint64_t size;
	char digest[DIGEST_HEX_LEN + 1];
};

struct manifest {
	char uuid[37];
	char sender[33];
	char recipient[33];
	uint64_t seq;
	time_t created;
	enum digest_alg alg;
	struct manifest_entry *entries;
	size_t nentries;
};

int manifest_parse(
    const void *, size_t, int, struct manifest *, struct error *);
char *manifest_serialize(const struct manifest *, size_t *);
const struct manifest_entry *manifest_find(
    const struct manifest *, const char *);
void manifest_free(struct manifest *);

#endif
