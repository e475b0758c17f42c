/* digest.c: Streebog-256 and SHA-256 through GnuTLS, with hex output. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"

/* Map our algorithm to GnuTLS's. */
static gnutls_digest_algorithm_t
digest_gnutls(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? GNUTLS_DIG_SHA256
	                            : GNUTLS_DIG_STREEBOG_256;
}

/* Start a digest; GnuTLS failing here means the library is unusable. */
void
digest_init(struct digest *d, enum digest_alg alg)
{
	int rc;

	d->alg = alg;
	if ((rc = gnutls_hash_init(&d->h, digest_gnutls(alg))) < 0)
		fatalx("cannot start %s digest: %s", digest_alg_name(alg),
		    gnutls_strerror(rc));
}

/* Feed bytes into a digest. */
void
digest_update(struct digest *d, const void *buf, size_t len)
{
	if (len > 0 && gnutls_hash(d->h, buf, len) < 0)
		fatalx("%s digest failed", digest_alg_name(d->alg));
}

/* Finish a digest into 64 lowercase hex characters and a NUL. */
void
digest_final_hex(struct digest *d, char hex[DIGEST_HEX_LEN + 1])
{
	unsigned char out[32];

	gnutls_hash_deinit(d->h, out);
	digest_hex_encode(out, sizeof out, hex);
}

/* Digest a buffer in one call. */
void
digest_mem_hex(enum digest_alg alg, const void *buf, size_t len,
    char hex[DIGEST_HEX_LEN + 1])
{
	struct digest d;

	digest_init(&d, alg);
	digest_update(&d, buf, len);
	digest_final_hex(&d, hex);
}

/*
 * Hash what remains of the open file fd (named path in messages) into hex;
 * its size goes to *sizep if not NULL. The caller closes fd.
 */
int
digest_fd_hex(enum digest_alg alg, int fd, const char *path,
    char hex[DIGEST_HEX_LEN + 1], uint64_t *sizep, struct error *err)
{
	unsigned char buf[65536];
	struct digest d;
	uint64_t total = 0;
	ssize_t n;

	digest_init(&d, alg);
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err_set(err, ERR_NONE, "cannot read %s: %s", path,
			    strerror(errno));
			digest_final_hex(&d, hex);
			return -1;
		}
		digest_update(&d, buf, (size_t)n);
		total += (uint64_t)n;
	}
	digest_final_hex(&d, hex);
	if (sizep != NULL)
		*sizep = total;
	return 0;
}

/* Hash the file at path into hex; its size goes to *sizep if not NULL. */
int
digest_file_hex(enum digest_alg alg, const char *path,
    char hex[DIGEST_HEX_LEN + 1], uint64_t *sizep, struct error *err)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
	rc = digest_fd_hex(alg, fd, path, hex, sizep, err);
	close(fd);
	return rc;
}

/* The name used in manifests. */
const char *
digest_alg_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? "sha256" : "streebog256";
}

/* Parse a manifest digest name; returns -1 if unknown. */
int
digest_alg_from_name(const char *name, enum digest_alg *alg)
{
	if (strcmp(name, "streebog256") == 0)
		*alg = DIGEST_STREEBOG256;
	else if (strcmp(name, "sha256") == 0)
		*alg = DIGEST_SHA256;
	else
		return -1;
	return 0;
}

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void
digest_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}
