/*
 * edms-sign.c: the officials whose signatures count ([edms] signer_trust)
 * and the check of one answer file against its detached CMS signature.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/pkcs7.h>
#include <libxml/tree.h>

#include "edms.h"
#include "filename.h"
#include "fsutil.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static int edms_sign_slurp(const char *path, size_t max, unsigned char **buf,
    size_t *len, struct error *err);
static void edms_sign_cn(gnutls_pkcs7_t p7, char *cn, size_t len);
static void edms_sign_replace(
    char *s, size_t len, const char *from, const char *to);

/* Load [edms] signer_trust: the officials whose answer signatures count. */
struct trust *
edms_sign_trust(
    const struct conf_edms *e, const struct xfer_config *x, struct error *err)
{
	struct trust *t = trust_new();
	size_t i;

	for (i = 0; i < e->nsigner_trust; i++) {
		if (trust_add_file(t, e->signer_trust[i], err) == -1) {
			/* regression edms-trust-context-lost: this context
			 * never showed while errors kept the first text */
			err_wrap(err, "[edms] signer_trust (the officials' "
			              "certificates or their CA)");
			trust_free(t);
			return NULL;
		}
	}
	if (i == 0) {
		trust_free(t);
		err_set(err, ERR_NONE,
		    "[edms] signer_trust is required: the officials' "
		    "certificates or their CA");
		return NULL;
	}
	if (x != NULL &&
	    xfer_trust_crls(t, x, "the officials' certificates", err) == -1) {
		trust_free(t);
		return NULL;
	}
	return t;
}

/* Read a whole small file (at most max bytes) into memory. */
static int
edms_sign_slurp(const char *path, size_t max, unsigned char **buf, size_t *len,
    struct error *err)
{
	struct stat sb;
	size_t off = 0;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(err, ERR_NONE, "%s is not a regular file", path);
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		return err_set(err, ERR_SIZE,
		    "%s has %lld bytes, more than %zu", path,
		    (long long)sb.st_size, max);
	}
	*buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = read(fd, *buf + off, (size_t)sb.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return 0;
}

/* The CN of the certificate in a CMS that its single SignerInfo names. */
static void
edms_sign_cn(gnutls_pkcs7_t p7, char *cn, size_t len)
{
	gnutls_pkcs7_signature_info_st info;
	gnutls_x509_crt_t crt;
	gnutls_datum_t raw, dn;
	unsigned char serial[64];
	size_t slen;
	int i, n, match;

	cn[0] = '\0';
	if (gnutls_pkcs7_get_signature_info(p7, 0, &info) < 0)
		return;
	n = gnutls_pkcs7_get_crt_count(p7);
	for (i = 0; i < n && i < 16 && cn[0] == '\0'; i++) {
		if (gnutls_pkcs7_get_crt_raw2(p7, (unsigned)i, &raw) < 0)
			continue;
		gnutls_x509_crt_init(&crt);
		match = 0;
		if (gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) >=
		        0 &&
		    gnutls_x509_crt_get_raw_issuer_dn(crt, &dn) >= 0) {
			slen = sizeof serial;
			match =
			    dn.size == info.issuer_dn.size &&
			    memcmp(dn.data, info.issuer_dn.data, dn.size) ==
			        0 &&
			    gnutls_x509_crt_get_serial(crt, serial, &slen) >=
			        0 &&
			    slen == info.signer_serial.size &&
			    memcmp(serial, info.signer_serial.data, slen) == 0;
			gnutls_free(dn.data);
		}
		if (match && cert_cn(crt, cn, len) == -1)
			cn[0] = '\0';
		gnutls_x509_crt_deinit(crt);
		gnutls_free(raw.data);
	}
	gnutls_pkcs7_signature_info_deinit(&info);
}

/* Replace the first occurrence of from in s (of size len) by to. */
static void
edms_sign_replace(char *s, size_t len, const char *from, const char *to)
{
	char *p = strstr(s, from), *rest;

	if (p == NULL)
		return;
	rest = xstrdup(p + strlen(from));
	*p = '\0';
	snprintf(p, len - (size_t)(p - s), "%s%s", to, rest);
	free(rest);
}

/*
 * Check one answer file: data is a regular file of exactly size bytes and
 * sigpath its detached CMS signature (DER or PEM) by a certificate that
 * chains to the trust list (any CN: the signer certificate's own). rel and
 * sigrel name them in reasons.
 */
int
edms_sign_verify(const char *rel, const char *data, const char *sigrel,
    const char *sigpath, uint64_t size, struct trust *t, unsigned algs,
    struct error *why)
{
	unsigned char *sig = NULL;
	gnutls_datum_t in, der = {NULL, 0};
	gnutls_pkcs7_t p7 = NULL;
	struct sig_info si;
	struct error e = {0};
	struct stat sb;
	void *map = NULL;
	size_t siglen;
	char cn[256];
	int fd, rc = -1, pem;

	if ((fd = open(data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_what(
		    why, "file", "answer file %s: %s", rel, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_what(
		    why, "file", "answer file %s is not a regular file", rel);
	}
	if ((uint64_t)sb.st_size != size) {
		close(fd);
		return err_what(why, "size",
		    "answer file %s has %lld bytes, the event says %llu", rel,
		    (long long)sb.st_size, (unsigned long long)size);
	}
	if (sb.st_size > 0 && (map = mmap(NULL, (size_t)sb.st_size, PROT_READ,
	                           MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return err_what(why, "file", "cannot read answer file %s: %s",
		    rel, strerror(errno));
	}
	close(fd);
	if (edms_sign_slurp(sigpath, EDMS_SIG_MAX, &sig, &siglen, &e) == -1) {
		err_what(why, "signature", "signature %s of %s: %s", sigrel,
		    rel,
		    e.code == ERR_SIZE ? "larger than 1 MiB" : strerror(errno));
		goto out;
	}
	pem = siglen >= 10 && memmem(sig, siglen, "-----BEGIN", 10) != NULL;
	in.data = sig;
	in.size = (unsigned)siglen;
	gnutls_pkcs7_init(&p7);
	if (gnutls_pkcs7_import(
	        p7, &in, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, &der) < 0) {
		err_what(why, "signature",
		    "signature %s of %s is not a CMS SignedData (DER or PEM)",
		    sigrel, rel);
		goto out;
	}
	edms_sign_cn(p7, cn, sizeof cn);
	if (sig_verify_named(sigrel, rel, t, map != NULL ? map : "",
	        (size_t)sb.st_size, der.data, der.size, cn, time(NULL), algs,
	        &si, &e) == -1) {
		edms_sign_replace(e.text, sizeof e.text,
		    "a trusted peer certificate",
		    "an official of [edms] signer_trust");
		if (strncmp(e.text, sigrel, strlen(sigrel)) == 0)
			err_what(why, "signature", "%s", e.text);
		else
			err_what(why, "signature", "%s: %s", sigrel, e.text);
		goto out;
	}
	rc = 0;
out:
	if (p7 != NULL)
		gnutls_pkcs7_deinit(p7);
	gnutls_free(der.data);
	free(sig);
	if (map != NULL)
		munmap(map, (size_t)sb.st_size);
	return rc;
}
