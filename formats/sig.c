/* sig.c: detached CMS signatures over manifests, and the peer trust list. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/pkcs7.h>

#include "digest.h"
#include "log.h"
#include "package.h"
#include "sig.h"
#include "token.h"
#include "xmalloc.h"

struct signer {
	gnutls_privkey_t key;
	gnutls_x509_crt_t *certs; /* certs[0] is the signer */
	unsigned ncerts;
	gnutls_digest_algorithm_t dig;
	char id[65];
};

/* A CRL a trust list holds, kept to name revocations and check freshness. */
struct trust_crl {
	gnutls_x509_crl_t crl;
	char *path;
	int warned; /* past nextUpdate, logged once */
};

struct trust {
	gnutls_x509_trust_list_t tl;
	size_t count;
	struct trust_crl *crls;
	size_t ncrls;
	int crl_strict;             /* a CRL past its nextUpdate fails closed */
	gnutls_x509_crt_t *anchors; /* copies, to check CRLs against */
	unsigned nanchors;
};

/* Initialise GnuTLS once per process. */
void
sig_init(void)
{
	static int done;
	int rc;

	if (done)
		return;
	if ((rc = gnutls_global_init()) < 0)
		fatalx("cannot initialise GnuTLS: %s", gnutls_strerror(rc));
	done = 1;
}

/* Read a whole small file into a GnuTLS datum. */
static int
sig_read_file(const char *path, gnutls_datum_t *d, struct error *err)
{
	int rc;

	if ((rc = gnutls_load_file(path, d)) < 0)
		return err_set(err, ERR_NONE, "cannot read %s: %s", path,
		    rc == GNUTLS_E_FILE_ERROR ? strerror(errno)
		                              : gnutls_strerror(rc));
	return 0;
}

/* Load one or more certificates (PEM or DER) from a file. */
int
cert_load_file(
    const char *path, gnutls_x509_crt_t **certs, unsigned *n, struct error *err)
{
	gnutls_datum_t d;
	int rc;

	sig_init();
	if (sig_read_file(path, &d, err) == -1)
		return -1;
	rc = gnutls_x509_crt_list_import2(certs, n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || *n == 0)
		rc = gnutls_x509_crt_list_import2(
		    certs, n, &d, GNUTLS_X509_FMT_DER, 0);
	gnutls_free(d.data);
	if (rc < 0 || *n == 0)
		return err_set(err, ERR_NONE,
		    "%s: no X.509 certificate in it (PEM or DER expected): %s",
		    path, gnutls_strerror(rc));
	return 0;
}

/* Copy the single subject CN of a certificate; -1 if none or several. */
int
cert_cn(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	char extra[8];
	size_t size = len, xsize = sizeof extra;
	int rc;

	rc = gnutls_x509_crt_get_dn_by_oid(
	    crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size);
	if (rc < 0)
		return -1;
	rc = gnutls_x509_crt_get_dn_by_oid(
	    crt, GNUTLS_OID_X520_COMMON_NAME, 1, 0, extra, &xsize);
	if (rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return -1;
	return 0;
}

/* Hex fingerprint (of the DER) with the given digest; out holds 129 bytes. */
int
cert_fingerprint(
    gnutls_x509_crt_t crt, gnutls_digest_algorithm_t dig, char *out)
{
	unsigned char buf[64];
	size_t size = sizeof buf;

	if (gnutls_x509_crt_get_fingerprint(crt, dig, buf, &size) < 0)
		return -1;
	digest_hex_encode(buf, size, out);
	return 0;
}

/* The digest to pair with a key's algorithm, or UNKNOWN if not allowed. */
gnutls_digest_algorithm_t
sig_digest_for(gnutls_pk_algorithm_t pk)
{
	switch (pk) {
	case GNUTLS_PK_GOST_12_256:
		return GNUTLS_DIG_STREEBOG_256;
	case GNUTLS_PK_GOST_12_512:
		return GNUTLS_DIG_STREEBOG_512;
	case GNUTLS_PK_ECDSA:
		return GNUTLS_DIG_SHA256;
	case GNUTLS_PK_EDDSA_ED25519:
		return GNUTLS_DIG_SHA512;
	default:
		return GNUTLS_DIG_UNKNOWN;
	}
}

/*
 * Load a private key (PKCS#8 or legacy, PEM or DER, unencrypted), or the
 * key on a token that a pkcs11: URI names (formats/token.c).
 */
int
key_load_file(const char *path, gnutls_privkey_t *key, struct error *err)
{
	gnutls_x509_privkey_t xk;
	gnutls_datum_t d;
	int rc;

	*key = NULL;
	if (token_is_url(path))
		return token_key_load(path, key, err);
	if (sig_read_file(path, &d, err) == -1)
		return -1;
	gnutls_x509_privkey_init(&xk);
	rc = gnutls_x509_privkey_import2(xk, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0)
		rc = gnutls_x509_privkey_import2(
		    xk, &d, GNUTLS_X509_FMT_DER, NULL, 0);
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(xk);
		return err_set(err, ERR_NONE,
		    "%s: not a usable private key (unencrypted PEM or DER "
		    "expected): %s",
		    path, gnutls_strerror(rc));
	}
	gnutls_privkey_init(key);
	if ((rc = gnutls_privkey_import_x509(
	         *key, xk, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0) {
		gnutls_x509_privkey_deinit(xk);
		gnutls_privkey_deinit(*key);
		*key = NULL;
		return err_set(
		    err, ERR_NONE, "%s: %s", path, gnutls_strerror(rc));
	}
	return 0;
}

/* True if the private key is the one whose public half the certificate holds. */
int
key_matches_cert(gnutls_privkey_t key, gnutls_x509_crt_t crt)
{
	unsigned char kid1[64], kid2[64];
	size_t k1 = sizeof kid1, k2 = sizeof kid2;
	gnutls_pubkey_t pub;
	int ok;

	gnutls_pubkey_init(&pub);
	ok = gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
	     gnutls_pubkey_get_key_id(pub, 0, kid1, &k1) >= 0 &&
	     gnutls_x509_crt_get_key_id(crt, 0, kid2, &k2) >= 0 && k1 == k2 &&
	     memcmp(kid1, kid2, k1) == 0;
	gnutls_pubkey_deinit(pub);
	return ok;
}

/* Load a private key and its certificate (chain) for signing. */
struct signer *
signer_load(const char *keyfile, const char *certfile, struct error *err)
{
	struct signer *s;
	time_t now = time(NULL);
	int pk;

	sig_init();
	s = xcalloc(1, sizeof *s);
	if (cert_load_file(certfile, &s->certs, &s->ncerts, err) == -1)
		goto fail;
	if (key_load_file(keyfile, &s->key, err) == -1)
		goto fail;
	if (!key_matches_cert(s->key, s->certs[0])) {
		err_set(err, ERR_NONE,
		    "key %s does not belong to certificate %s: give the "
		    "pair made together by posgw keys generate",
		    keyfile, certfile);
		goto fail;
	}
	pk = gnutls_privkey_get_pk_algorithm(s->key, NULL);
	if ((s->dig = sig_digest_for((gnutls_pk_algorithm_t)pk)) ==
	    GNUTLS_DIG_UNKNOWN) {
		err_set(err, ERR_NONE,
		    "%s: %s keys cannot sign packages; use gost256, "
		    "gost512, ecdsa (P-256) or ed25519",
		    keyfile, gnutls_pk_get_name((gnutls_pk_algorithm_t)pk));
		goto fail;
	}
	if (cert_cn(s->certs[0], s->id, sizeof s->id) == -1) {
		err_set(err, ERR_NONE, "%s: certificate has no single CN",
		    certfile);
		goto fail;
	}
	if (gnutls_x509_crt_get_expiration_time(s->certs[0]) < now) {
		err_set(err, ERR_NONE,
		    "%s: certificate expired; generate a new key pair and "
		    "send the new certificate to the peer",
		    certfile);
		goto fail;
	}
	if (gnutls_x509_crt_get_activation_time(s->certs[0]) > now + 300) {
		err_set(err, ERR_NONE,
		    "%s: certificate is not valid yet; check this host's "
		    "clock",
		    certfile);
		goto fail;
	}
	return s;
fail:
	signer_free(s);
	return NULL;
}

/* The CN of the signer's certificate, which is its gateway id. */
const char *
signer_id(const struct signer *s)
{
	return s->id;
}

/* Sign data as detached DER CMS with signingTime and the certificates. */
int
signer_sign(struct signer *s, const void *data, size_t len, gnutls_datum_t *out,
    struct error *err)
{
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)data, (unsigned)len};
	gnutls_pkcs7_t p7;
	unsigned i;
	int rc;

	gnutls_pkcs7_init(&p7);
	rc = gnutls_pkcs7_sign(p7, s->certs[0], s->key, &d, NULL, NULL, s->dig,
	    GNUTLS_PKCS7_INCLUDE_TIME | GNUTLS_PKCS7_INCLUDE_CERT);
	for (i = 1; rc >= 0 && i < s->ncerts; i++)
		rc = gnutls_pkcs7_set_crt(p7, s->certs[i]);
	if (rc >= 0)
		rc = gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, out);
	gnutls_pkcs7_deinit(p7);
	if (rc < 0)
		return err_set(err, ERR_NONE, "signing with %s failed: %s",
		    s->id, gnutls_strerror(rc));
	return 0;
}

/* Free a signer. */
void
signer_free(struct signer *s)
{
	unsigned i;

	if (s == NULL)
		return;
	if (s->key != NULL)
		gnutls_privkey_deinit(s->key);
	for (i = 0; i < s->ncerts; i++)
		gnutls_x509_crt_deinit(s->certs[i]);
	gnutls_free(s->certs);
	free(s);
}

/* An empty trust list. */
struct trust *
trust_new(void)
{
	struct trust *t;

	sig_init();
	t = xcalloc(1, sizeof *t);
	if (gnutls_x509_trust_list_init(&t->tl, 0) < 0)
		fatalx("cannot allocate a trust list");
	return t;
}

/* Add the certificates in a file (a pinned peer certificate or CA) as anchors. */
int
trust_add_file(struct trust *t, const char *path, struct error *err)
{
	gnutls_x509_crt_t *certs;
	unsigned n, i;
	int rc;

	if (cert_load_file(path, &certs, &n, err) == -1)
		return -1;
	rc = gnutls_x509_trust_list_add_cas(t->tl, certs, n, 0);
	if (rc < 0 || (unsigned)rc != n) {
		for (i = (rc < 0 ? 0 : (unsigned)rc); i < n; i++)
			gnutls_x509_crt_deinit(certs[i]);
		gnutls_free(certs);
		return err_set(err, ERR_NONE,
		    "%s: cannot add to the trust list (duplicate "
		    "certificate?)",
		    path);
	}
	gnutls_free(certs); /* the list owns the certificates now */
	t->count += n;
	if (cert_load_file(path, &certs, &n, err) == -1)
		return -1;
	t->anchors =
	    xreallocarray(t->anchors, t->nanchors + n, sizeof *t->anchors);
	memcpy(t->anchors + t->nanchors, certs, n * sizeof *certs);
	t->nanchors += n;
	gnutls_free(certs);
	return 0;
}

/*
 * True if an anchor of the list signed crl. Its age does not matter here
 * (trust_crl_fresh judges it): GnuTLS reports an old CRL as superseded.
 */
int
trust_crl_signed(const struct trust *t, gnutls_x509_crl_t crl)
{
	unsigned vs = 0;

	if (t->nanchors == 0 ||
	    gnutls_x509_crl_verify(crl, t->anchors, t->nanchors,
	        GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &vs) < 0)
		return 0;
	if (vs == 0)
		return 1;
	if ((vs & (GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
	              GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE)) == 0)
		return 0;
	return (vs &
	           ~(unsigned)(GNUTLS_CERT_INVALID |
	                       GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
	                       GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE)) ==
	       0;
}

/* Load the CRLs of a file (PEM or DER); the caller frees them. */
int
crl_load_file(
    const char *path, gnutls_x509_crl_t **crls, unsigned *n, struct error *err)
{
	gnutls_datum_t d;
	int rc;

	sig_init();
	if (sig_read_file(path, &d, err) == -1)
		return -1;
	rc = gnutls_x509_crl_list_import2(crls, n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || *n == 0)
		rc = gnutls_x509_crl_list_import2(
		    crls, n, &d, GNUTLS_X509_FMT_DER, 0);
	gnutls_free(d.data);
	if (rc < 0 || *n == 0)
		return err_set(err, ERR_NONE,
		    "%s: no X.509 CRL in it (PEM or DER expected): %s", path,
		    gnutls_strerror(rc));
	return 0;
}

/*
 * Add the CRLs of a file to the trust list: those one of its anchors
 * signed (whatever their age). Returns the number added (0: the file's
 * issuers are not anchors of this list), -1 on a file that is not a CRL.
 */
int
trust_add_crl_file(struct trust *t, const char *path, struct error *err)
{
	gnutls_x509_crl_t *crls, *copy;
	unsigned n, nc, i, added = 0;
	int rc;

	if (crl_load_file(path, &crls, &n, err) == -1)
		return -1;
	if (crl_load_file(path, &copy, &nc, err) == -1) {
		for (i = 0; i < n; i++)
			gnutls_x509_crl_deinit(crls[i]);
		gnutls_free(crls);
		return -1;
	}
	for (i = 0; i < n && i < nc; i++) {
		if (!trust_crl_signed(t, crls[i])) {
			gnutls_x509_crl_deinit(crls[i]);
			gnutls_x509_crl_deinit(copy[i]);
			continue;
		}
		rc = gnutls_x509_trust_list_add_crls(t->tl, &crls[i], 1, 0, 0);
		if (rc != 1) {
			gnutls_x509_crl_deinit(copy[i]);
			continue; /* the list freed it */
		}
		t->crls = xreallocarray(t->crls, t->ncrls + 1, sizeof *t->crls);
		t->crls[t->ncrls].crl = copy[i];
		t->crls[t->ncrls].path = xstrdup(path);
		t->crls[t->ncrls].warned = 0;
		t->ncrls++;
		added++;
	}
	gnutls_free(crls);
	gnutls_free(copy);
	return (int)added;
}

/* Make a CRL past its nextUpdate refuse its issuer's certificates. */
void
trust_set_crl_strict(struct trust *t, int strict)
{
	t->crl_strict = strict;
}

/* The CRL of the list whose issuer issued crt, or NULL. */
static struct trust_crl *
trust_crl_for(struct trust *t, gnutls_x509_crt_t crt)
{
	gnutls_datum_t a, b;
	size_t i;
	int same;

	if (gnutls_x509_crt_get_raw_issuer_dn(crt, &a) < 0)
		return NULL;
	for (i = 0; i < t->ncrls; i++) {
		if (gnutls_x509_crl_get_raw_issuer_dn(t->crls[i].crl, &b) < 0)
			continue;
		same = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
		gnutls_free(b.data);
		if (same) {
			gnutls_free(a.data);
			return &t->crls[i];
		}
	}
	gnutls_free(a.data);
	return NULL;
}

/*
 * Check the freshness of the CRL covering crt: past its nextUpdate it is
 * logged once, or with crl_strict refused (code untrusted).
 */
static int
trust_crl_fresh(
    struct trust *t, gnutls_x509_crt_t crt, time_t now, struct error *err)
{
	struct trust_crl *c = trust_crl_for(t, crt);
	time_t next;
	char when[32];

	if (c == NULL)
		return 0;
	next = gnutls_x509_crl_get_next_update(c->crl);
	if (next == (time_t)-1 || now <= next)
		return 0;
	pkg_time_format(next, when, sizeof when);
	if (t->crl_strict)
		return err_set(err, ERR_UNTRUSTED,
		    "the CRL %s of the signer's issuer is past its nextUpdate "
		    "%s and [gateway] crl_strict = yes: import a fresh one "
		    "(posgw keys crl import)",
		    c->path, when);
	if (!c->warned)
		log_warnx("CRL %s is past its nextUpdate %s: revocations since "
		          "then are unknown; import a fresh one (posgw keys "
		          "crl import)",
		    c->path, when);
	c->warned = 1;
	return 0;
}

/* Say which CRL revoked crt and since when, into err (code untrusted). */
static int
trust_revoked(
    struct trust *t, gnutls_x509_crt_t crt, const char *cn, struct error *err)
{
	struct trust_crl *c = trust_crl_for(t, crt);
	unsigned char serial[64], rs[64];
	char hex[129], when[32] = "?";
	size_t len = sizeof serial, rlen;
	time_t rt;
	int i, n;

	if (gnutls_x509_crt_get_serial(crt, serial, &len) < 0)
		len = 0;
	digest_hex_encode(serial, len, hex);
	if (c != NULL) {
		n = gnutls_x509_crl_get_crt_count(c->crl);
		for (i = 0; i < n; i++) {
			rlen = sizeof rs;
			if (gnutls_x509_crl_get_crt_serial(
			        c->crl, i, rs, &rlen, &rt) >= 0 &&
			    rlen == len && memcmp(rs, serial, len) == 0)
				pkg_time_format(rt, when, sizeof when);
		}
	}
	return err_set(err, ERR_UNTRUSTED,
	    "signer certificate of %s (serial %s) is revoked since %s by the "
	    "CRL %s: refused; a revoked signer must get a new certificate",
	    cn, hex, when, c != NULL ? c->path : "(unknown)");
}

/* Number of anchors loaded. */
size_t
trust_count(const struct trust *t)
{
	return t->count;
}

/* Free a trust list and its anchors. */
void
trust_free(struct trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	gnutls_x509_trust_list_deinit(t->tl, 1);
	for (i = 0; i < t->nanchors; i++)
		gnutls_x509_crt_deinit(t->anchors[i]);
	free(t->anchors);
	for (i = 0; i < t->ncrls; i++) {
		gnutls_x509_crl_deinit(t->crls[i].crl);
		free(t->crls[i].path);
	}
	free(t->crls);
	free(t);
}

/* Parse an algorithm name of the allow-list into its bit. */
int
sig_alg_from_name(const char *name, unsigned *bit)
{
	if (strcmp(name, "gost256") == 0)
		*bit = SIG_ALLOW_GOST256;
	else if (strcmp(name, "gost512") == 0)
		*bit = SIG_ALLOW_GOST512;
	else if (strcmp(name, "ecdsa") == 0)
		*bit = SIG_ALLOW_ECDSA;
	else if (strcmp(name, "ed25519") == 0)
		*bit = SIG_ALLOW_ED25519;
	else
		return -1;
	return 0;
}

/* Classify the signature algorithm; returns its allow bit or 0. */
static unsigned
sig_alg_bit(
    gnutls_sign_algorithm_t algo, gnutls_x509_crt_t crt, const char **name)
{
	gnutls_ecc_curve_t curve;
	unsigned bits = 0;

	switch (algo) {
	case GNUTLS_SIGN_GOST_256:
		*name = "gost256";
		return SIG_ALLOW_GOST256;
	case GNUTLS_SIGN_GOST_512:
		*name = "gost512";
		return SIG_ALLOW_GOST512;
	case GNUTLS_SIGN_ECDSA_SHA256:
	case GNUTLS_SIGN_ECDSA_SECP256R1_SHA256:
		*name = "ecdsa";
		if (gnutls_x509_crt_get_pk_algorithm(crt, &bits) !=
		        GNUTLS_PK_ECDSA ||
		    gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, NULL, NULL) < 0)
			return 0;
		return curve == GNUTLS_ECC_CURVE_SECP256R1 ? SIG_ALLOW_ECDSA
		                                           : 0;
	case GNUTLS_SIGN_EDDSA_ED25519:
		*name = "ed25519";
		return SIG_ALLOW_ED25519;
	default:
		*name = gnutls_sign_get_name(algo);
		if (*name == NULL)
			*name = "unknown";
		return 0;
	}
}

/* Find the certificate embedded in the CMS that matches the SignerInfo. */
static gnutls_x509_crt_t
sig_find_signer(gnutls_pkcs7_t p7, const gnutls_pkcs7_signature_info_st *info,
    gnutls_x509_crt_t **chain, unsigned *nchain)
{
	gnutls_x509_crt_t crt, found = NULL;
	gnutls_datum_t raw, dn;
	unsigned char serial[64];
	size_t slen;
	int i, n;

	n = gnutls_pkcs7_get_crt_count(p7);
	if (n <= 0 || n > 16)
		return NULL;
	*chain = xcalloc((size_t)n + 1, sizeof **chain);
	*nchain = 1;
	for (i = 0; i < n; i++) {
		if (gnutls_pkcs7_get_crt_raw2(p7, (unsigned)i, &raw) < 0)
			continue;
		gnutls_x509_crt_init(&crt);
		if (gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) <
		    0) {
			gnutls_free(raw.data);
			gnutls_x509_crt_deinit(crt);
			continue;
		}
		gnutls_free(raw.data);
		slen = sizeof serial;
		if (found == NULL &&
		    gnutls_x509_crt_get_raw_issuer_dn(crt, &dn) >= 0) {
			if (dn.size == info->issuer_dn.size &&
			    memcmp(dn.data, info->issuer_dn.data, dn.size) ==
			        0 &&
			    gnutls_x509_crt_get_serial(crt, serial, &slen) >=
			        0 &&
			    slen == info->signer_serial.size &&
			    memcmp(serial, info->signer_serial.data, slen) == 0)
				found = crt;
			gnutls_free(dn.data);
		}
		if (crt != found)
			(*chain)[(*nchain)++] = crt;
	}
	(*chain)[0] = found;
	return found;
}

/*
 * Verify a detached CMS signature over data against the trust list: exactly
 * one signer, signingTime present, allowed algorithm, signature correct
 * (code signature); chain to an anchor, valid now and at signingTime,
 * digitalSignature, CN == expect_cn (code untrusted).
 */
int
sig_verify_named(const char *sname, const char *dname, struct trust *t,
    const void *data, size_t len, const void *p7s, size_t p7slen,
    const char *expect_cn, time_t now, unsigned allowed, struct sig_info *out,
    struct error *err)
{
	gnutls_datum_t der = {
	    (unsigned char *)(uintptr_t)p7s, (unsigned)p7slen};
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)data, (unsigned)len};
	gnutls_pkcs7_signature_info_st info;
	gnutls_x509_crt_t signer, *chain = NULL;
	gnutls_datum_t embedded, txt;
	unsigned nchain = 0, i, status, ku = 0, crit;
	const char *algname = "unknown";
	char cn[256], tbuf[32], tbuf2[32];
	time_t na, nb;
	int rc, ret = -1, have_info = 0;
	gnutls_pkcs7_t p7;

	sig_init();
	memset(out, 0, sizeof *out);
	cn[0] = '\0';
	gnutls_pkcs7_init(&p7);
	if ((rc = gnutls_pkcs7_import(p7, &der, GNUTLS_X509_FMT_DER)) < 0) {
		err_set(err, ERR_SIGNATURE, "%s: not a DER CMS SignedData: %s",
		    sname, gnutls_strerror(rc));
		goto out;
	}
	if (gnutls_pkcs7_get_embedded_data(p7, 0, &embedded) >= 0) {
		gnutls_free(embedded.data);
		err_set(err, ERR_SIGNATURE,
		    "%s: content is embedded, a detached "
		    "signature is required",
		    sname);
		goto out;
	}
	if ((rc = gnutls_pkcs7_get_signature_count(p7)) != 1) {
		err_set(err, ERR_SIGNATURE,
		    "%s: %d signers, exactly one is required", sname,
		    rc < 0 ? 0 : rc);
		goto out;
	}
	if ((rc = gnutls_pkcs7_get_signature_info(p7, 0, &info)) < 0) {
		err_set(
		    err, ERR_SIGNATURE, "%s: %s", sname, gnutls_strerror(rc));
		goto out;
	}
	have_info = 1;
	if (info.signing_time == (time_t)-1) {
		err_set(err, ERR_SIGNATURE,
		    "%s: no signingTime signed attribute", sname);
		goto out;
	}
	if ((signer = sig_find_signer(p7, &info, &chain, &nchain)) == NULL) {
		err_set(err, ERR_SIGNATURE,
		    "%s: the signer certificate is not "
		    "included",
		    sname);
		goto out;
	}
	if ((sig_alg_bit(info.algo, signer, &algname) & allowed) == 0) {
		err_set(err, ERR_SIGNATURE, "%s: algorithm %s is not allowed",
		    sname, algname);
		goto out;
	}
	/* GnuTLS refuses expired signers itself; say so as untrusted first. */
	na = gnutls_x509_crt_get_activation_time(signer);
	nb = gnutls_x509_crt_get_expiration_time(signer);
	if (now < na || now > nb || info.signing_time < na ||
	    info.signing_time > nb) {
		pkg_time_format(na, tbuf, sizeof tbuf);
		pkg_time_format(nb, tbuf2, sizeof tbuf2);
		err_set(err, ERR_UNTRUSTED,
		    "signer certificate valid %s to %s, not at %s (%s)", tbuf,
		    tbuf2, (now < na || now > nb) ? "now" : "signingTime",
		    "ask the peer for a current certificate");
		goto out;
	}
	if ((rc = gnutls_pkcs7_verify_direct(
	         p7, signer, 0, &d, GNUTLS_VERIFY_DISABLE_TIME_CHECKS)) < 0) {
		err_set(err, ERR_SIGNATURE,
		    "%s: signature does not match %s: %s", sname, dname,
		    gnutls_strerror(rc));
		goto out;
	}
	if (cert_cn(signer, cn, sizeof cn) == -1)
		cn[0] = '\0';
	if (trust_crl_fresh(t, signer, now, err) == -1)
		goto out;
	rc = gnutls_x509_trust_list_verify_crt2(
	    t->tl, chain, nchain, NULL, 0, 0, &status, NULL);
	if (rc >= 0 && (status & GNUTLS_CERT_REVOKED)) {
		trust_revoked(t, signer, cn, err);
		goto out;
	}
	if (rc < 0 || status != 0) {
		txt.data = NULL;
		if (rc >= 0)
			gnutls_certificate_verification_status_print(
			    status, GNUTLS_CRT_X509, &txt, 0);
		err_set(err, ERR_UNTRUSTED,
		    "signer certificate does not chain to a trusted "
		    "peer certificate: %s",
		    rc < 0 ? gnutls_strerror(rc) : (char *)txt.data);
		gnutls_free(txt.data);
		goto out;
	}
	rc = gnutls_x509_crt_get_key_usage(signer, &ku, &crit);
	if (rc < 0 || (ku & GNUTLS_KEY_DIGITAL_SIGNATURE) == 0) {
		err_set(err, ERR_UNTRUSTED,
		    "signer certificate lacks the digitalSignature key usage");
		goto out;
	}
	if (cert_cn(signer, cn, sizeof cn) == -1 ||
	    strcmp(cn, expect_cn) != 0) {
		err_set(err, ERR_UNTRUSTED,
		    "signer certificate CN '%s' is not the sender '%s'", cn,
		    expect_cn);
		goto out;
	}
	snprintf(out->signer, sizeof out->signer, "%.64s", cn);
	snprintf(out->algorithm, sizeof out->algorithm, "%s", algname);
	cert_fingerprint(signer, GNUTLS_DIG_SHA256, out->fingerprint);
	out->signing_time = info.signing_time;
	ret = 0;
out:
	if (have_info)
		gnutls_pkcs7_signature_info_deinit(&info);
	for (i = 0; i < nchain; i++)
		if (chain[i] != NULL)
			gnutls_x509_crt_deinit(chain[i]);
	free(chain);
	gnutls_pkcs7_deinit(p7);
	return ret;
}

/*
 * Judge a certificate against the list: 1 if it chains to an anchor and is
 * not revoked, 0 if it does not chain (another anchor may pin it), -1 with
 * err (untrusted) if a CRL revokes it or a strict CRL is stale.
 */
int
trust_check_cert(
    struct trust *t, gnutls_x509_crt_t crt, time_t now, struct error *err)
{
	unsigned status = 0;
	char cn[256];
	int rc;

	if (cert_cn(crt, cn, sizeof cn) == -1)
		cn[0] = '\0';
	if (trust_crl_fresh(t, crt, now, err) == -1)
		return -1;
	rc = gnutls_x509_trust_list_verify_crt2(
	    t->tl, &crt, 1, NULL, 0, 0, &status, NULL);
	if (rc >= 0 && (status & GNUTLS_CERT_REVOKED))
		return trust_revoked(t, crt, cn, err);
	return rc >= 0 && status == 0 ? 1 : 0;
}

/* sig_verify_named for a package: manifest.xml.p7s over manifest.xml. */
int
sig_verify(struct trust *t, const void *data, size_t len, const void *p7s,
    size_t p7slen, const char *expect_cn, time_t now, unsigned allowed,
    struct sig_info *out, struct error *err)
{
	return sig_verify_named("manifest.xml.p7s", "manifest.xml", t, data,
	    len, p7s, p7slen, expect_cn, now, allowed, out, err);
}
