/*
 * envelope.h: packages encrypted for their recipient, format 1
 * (formats/envelope.md): sealing a package file, detecting and opening an
 * envelope with every check in the specified order.
 */
#ifndef POSGW_ENVELOPE_H
#define POSGW_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "digest.h"
#include "error.h"
#include "kex.h"
#include "package.h"
#include "sig.h"

#define ENV_XML_MAX (64 * 1024) /* envelope.xml and envelope.xml.p7s */
#define ENV_KEYS_MAX 4          /* key-agreement keys a receiver holds */

/* What a sender seals with. */
struct env_seal_opts {
	struct signer *signer;    /* the sender's package signer */
	const struct kex_pub *to; /* the recipient's key-agreement key */
	const char *recipient;    /* the recipient's gateway id */
	enum digest_alg digest;   /* digest of package.enc for auditors */
	time_t created;           /* 0: now */
};

/* What a receiver opens with. */
struct env_open_opts {
	const char *own_id;
	struct trust *trust; /* the peer's signing anchors */
	unsigned sig_algs;   /* SIG_ALLOW_* */
	unsigned digests;    /* DIGEST_ALLOW_* */
	uint64_t max_file;   /* the inner package's size limit */
	const struct kex_key *keys[ENV_KEYS_MAX];
	size_t nkeys;
	time_t now; /* 0: the current time */
};

/* What an opened (or only checked) envelope said. */
struct env_info {
	char name[PKG_NAME_MAX];
	char sender[33];
	char recipient[33];
	char key[DIGEST_HEX_LEN + 1]; /* recipient key fingerprint */
	uint64_t size;                /* package.enc bytes */
	char digest[DIGEST_HEX_LEN + 1];
	enum digest_alg digest_alg;
	struct sig_info sig;
};

int env_detect_fd(int);
int env_detect(const char *);
int env_plain_like(const char *);
int env_seal(const struct env_seal_opts *, const char *, const char *,
    const char *, struct error *);
int env_open(const char *, const char *, const struct env_open_opts *,
    struct env_info *, struct error *);

#endif
