/* digest.h: Streebog-256 and SHA-256 through GnuTLS, with hex output. */
#ifndef POSGW_DIGEST_H
#define POSGW_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/crypto.h>

#include "error.h"

enum digest_alg { DIGEST_STREEBOG256 = 0, DIGEST_SHA256 = 1 };

#define DIGEST_HEX_LEN 64
#define DIGEST_ALLOW_STREEBOG256 (1u << DIGEST_STREEBOG256)
#define DIGEST_ALLOW_SHA256 (1u << DIGEST_SHA256)
#define DIGEST_ALLOW_ALL (DIGEST_ALLOW_STREEBOG256 | DIGEST_ALLOW_SHA256)

struct digest {
	gnutls_hash_hd_t h;
	enum digest_alg alg;
};

void digest_init(struct digest *, enum digest_alg);
void digest_update(struct digest *, const void *, size_t);
void digest_final_hex(struct digest *, char hex[DIGEST_HEX_LEN + 1]);
void digest_mem_hex(
    enum digest_alg, const void *, size_t, char hex[DIGEST_HEX_LEN + 1]);
int digest_fd_hex(enum digest_alg, int, const char *, char[DIGEST_HEX_LEN + 1],
    uint64_t *, struct error *);
int digest_file_hex(enum digest_alg, const char *, char hex[DIGEST_HEX_LEN + 1],
    uint64_t *, struct error *);
const char *digest_alg_name(enum digest_alg);
int digest_alg_from_name(const char *, enum digest_alg *);
void digest_hex_encode(const unsigned char *, size_t, char *);

#endif
