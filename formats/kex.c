/*
 * kex.c: GOST key agreement and the symmetric layer of envelopes
 * (formats/envelope.md). The key agreement is nettle's gostdsa_vko on the
 * curves nettle has (id-tc26-gost-3410-2012-256-paramSetB, i.e. CryptoPro-A,
 * and id-tc26-gost-3410-2012-512-paramSetA); Kuznyechik CTR-ACPKM and its
 * OMAC are posgw's own (formats/kuz.c, byte for byte GnuTLS's, about five
 * times faster); HMAC-Streebog comes from GnuTLS.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmp.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/gostdsa.h>

#include "digest.h"
#include "kex.h"
#include "kuz.h"
#include "log.h"
#include "sig.h"
#include "xmalloc.h"

struct kex_key {
	const struct ecc_curve *ecc;
	struct ecc_scalar k;
	char fingerprint[DIGEST_HEX_LEN + 1];
	const char *curve;
};

struct kex_pub {
	const struct ecc_curve *ecc;
	struct ecc_point p;
	char cn[65];
	char fingerprint[DIGEST_HEX_LEN + 1];
	const char *curve;
};

struct kex_stream {
	struct kuz_ctr c;
	struct kuz_omac m;
};

static const struct ecc_curve *kex_curve(
    gnutls_ecc_curve_t, const char **, size_t *);
static void kex_import_le(mpz_t, const gnutls_datum_t *);
static void kex_export_le(const mpz_t, unsigned char *, size_t);
static void kex_ctr(
    const unsigned char *, const unsigned char *, unsigned char *, size_t);
static void kex_omac(const unsigned char *, const unsigned char *, size_t,
    const unsigned char *, size_t, unsigned char *);
static void kex_vko(const struct ecc_curve *, const struct ecc_scalar *,
    const struct ecc_point *, const unsigned char *, unsigned char *);
static void kex_rnd(void *, size_t, uint8_t *);

/* Fill buf with key-grade random bytes. */
void
kex_random(unsigned char *buf, size_t len)
{
	if (gnutls_rnd(GNUTLS_RND_KEY, buf, len) < 0)
		fatalx("the random generator failed");
}

/* nettle's random callback over kex_random. */
static void
kex_rnd(void *ctx, size_t len, uint8_t *buf)
{
	(void)ctx;
	kex_random(buf, len);
}

/* The nettle curve, its name and coordinate size for a GnuTLS GOST curve. */
static const struct ecc_curve *
kex_curve(gnutls_ecc_curve_t c, const char **name, size_t *bytes)
{
	switch (c) {
	case GNUTLS_ECC_CURVE_GOST256CPA:
	case GNUTLS_ECC_CURVE_GOST256B:
		*name = "id-tc26-gost-3410-2012-256-paramSetB";
		*bytes = 32;
		return nettle_get_gost_gc256b();
	case GNUTLS_ECC_CURVE_GOST512A:
		*name = "id-tc26-gost-3410-2012-512-paramSetA";
		*bytes = 64;
		return nettle_get_gost_gc512a();
	default:
		return NULL;
	}
}

/* True if name is a curve this build agrees keys on. */
int
kex_curve_known(const char *name)
{
	return strcmp(name, "id-tc26-gost-3410-2012-256-paramSetB") == 0 ||
	       strcmp(name, "id-tc26-gost-3410-2012-512-paramSetA") == 0;
}

/* An integer from GnuTLS's little-endian GOST export. */
static void
kex_import_le(mpz_t z, const gnutls_datum_t *d)
{
	mpz_import(z, d->size, -1, 1, 0, 0, d->data);
}

/* An integer as exactly len little-endian bytes. */
static void
kex_export_le(const mpz_t z, unsigned char *out, size_t len)
{
	size_t n = 0;

	memset(out, 0, len);
	if (mpz_sizeinbase(z, 256) <= len)
		mpz_export(out, &n, -1, 1, 0, 0, z);
}

/*
 * Load a key-agreement key (an unencrypted PEM or DER GOST R 34.10-2012
 * private key file) and its certificate, which must hold its public half.
 */
struct kex_key *
kex_key_load(const char *keyfile, const char *certfile, struct error *err)
{
	gnutls_privkey_t pk = NULL;
	gnutls_x509_crt_t *certs = NULL;
	gnutls_datum_t x = {0}, y = {0}, k = {0};
	gnutls_ecc_curve_t curve;
	struct kex_key *kk = NULL;
	unsigned n = 0, i;
	size_t bytes;
	const char *name;
	mpz_t z;

	if (key_load_file(keyfile, &pk, err) == -1)
		return NULL;
	if (cert_load_file(certfile, &certs, &n, err) == -1)
		goto out;
	if (!key_matches_cert(pk, certs[0])) {
		err_set(err, ERR_NONE,
		    "key %s does not belong to certificate %s: give the pair "
		    "made together by posgw keys generate",
		    keyfile, certfile);
		goto out;
	}
	if (gnutls_privkey_export_gost_raw2(
	        pk, &curve, NULL, NULL, &x, &y, &k, 0) < 0 ||
	    kex_curve(curve, &name, &bytes) == NULL) {
		err_set(err, ERR_NONE,
		    "%s: not a GOST R 34.10-2012 key on a curve posgw agrees "
		    "keys on (256-bit CryptoPro-A/TC26-256-B or TC26-512-A); "
		    "make one with posgw keys generate --algorithm gost256",
		    keyfile);
		goto out;
	}
	kk = xcalloc(1, sizeof *kk);
	kk->ecc = kex_curve(curve, &kk->curve, &bytes);
	ecc_scalar_init(&kk->k, kk->ecc);
	mpz_init(z);
	kex_import_le(z, &k);
	if (ecc_scalar_set(&kk->k, z) == 0) {
		mpz_clear(z);
		ecc_scalar_clear(&kk->k);
		free(kk);
		kk = NULL;
		err_set(err, ERR_NONE, "%s: the private scalar is out of range",
		    keyfile);
		goto out;
	}
	mpz_clear(z);
	cert_fingerprint(certs[0], GNUTLS_DIG_SHA256, kk->fingerprint);
out:
	if (k.data != NULL) {
		gnutls_memset(k.data, 0, k.size);
		gnutls_free(k.data);
	}
	gnutls_free(x.data);
	gnutls_free(y.data);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	gnutls_privkey_deinit(pk);
	return kk;
}

/* The SHA-256 fingerprint (hex) of the key's certificate. */
const char *
kex_key_fingerprint(const struct kex_key *kk)
{
	return kk->fingerprint;
}

/* The name of the key's curve. */
const char *
kex_key_curve(const struct kex_key *kk)
{
	return kk->curve;
}

/* Free a key-agreement key, clearing the scalar. */
void
kex_key_free(struct kex_key *kk)
{
	if (kk == NULL)
		return;
	ecc_scalar_clear(&kk->k);
	free(kk);
}

/*
 * A recipient's public key from its certificate (the first in the file).
 * With cn, the certificate's subject CN must equal it.
 */
struct kex_pub *
kex_pub_load(const char *certfile, const char *cn, struct error *err)
{
	gnutls_x509_crt_t *certs = NULL;
	gnutls_datum_t x = {0}, y = {0};
	gnutls_ecc_curve_t curve;
	struct kex_pub *kp = NULL;
	char have[65] = "";
	const char *name;
	unsigned n = 0, i;
	size_t bytes;
	mpz_t zx, zy;

	if (cert_load_file(certfile, &certs, &n, err) == -1)
		return NULL;
	if (cert_cn(certs[0], have, sizeof have) == -1)
		have[0] = '\0';
	if (cn != NULL && strcmp(have, cn) != 0) {
		err_set(err, ERR_NONE,
		    "%s: the certificate is not %s's (its CN is \"%s\"): give "
		    "the recipient's key-agreement certificate",
		    certfile, cn, have);
		goto out;
	}
	if (gnutls_x509_crt_get_pk_gost_raw(
	        certs[0], &curve, NULL, NULL, &x, &y) < 0 ||
	    kex_curve(curve, &name, &bytes) == NULL) {
		err_set(err, ERR_NONE,
		    "%s: its key is not a GOST R 34.10-2012 key on a curve "
		    "posgw agrees keys on (256-bit CryptoPro-A/TC26-256-B or "
		    "TC26-512-A); the recipient needs a key-agreement key "
		    "from posgw keys generate --algorithm gost256",
		    certfile);
		goto out;
	}
	kp = xcalloc(1, sizeof *kp);
	kp->ecc = kex_curve(curve, &kp->curve, &bytes);
	ecc_point_init(&kp->p, kp->ecc);
	mpz_init(zx);
	mpz_init(zy);
	kex_import_le(zx, &x);
	kex_import_le(zy, &y);
	if (ecc_point_set(&kp->p, zx, zy) == 0) {
		ecc_point_clear(&kp->p);
		free(kp);
		kp = NULL;
		err_set(err, ERR_NONE, "%s: its public key is not on its curve",
		    certfile);
	} else {
		cert_fingerprint(certs[0], GNUTLS_DIG_SHA256, kp->fingerprint);
		memcpy(kp->cn, have, sizeof kp->cn);
	}
	mpz_clear(zx);
	mpz_clear(zy);
out:
	gnutls_free(x.data);
	gnutls_free(y.data);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	return kp;
}

/* The SHA-256 fingerprint (hex) of the recipient's certificate. */
const char *
kex_pub_fingerprint(const struct kex_pub *kp)
{
	return kp->fingerprint;
}

/* The subject CN of the recipient's certificate (its gateway id). */
const char *
kex_pub_cn(const struct kex_pub *kp)
{
	return kp->cn;
}

/* The name of the recipient key's curve. */
const char *
kex_pub_curve(const struct kex_pub *kp)
{
	return kp->curve;
}

/* Free a recipient's public key. */
void
kex_pub_free(struct kex_pub *kp)
{
	if (kp == NULL)
		return;
	ecc_point_clear(&kp->p);
	free(kp);
}

/* KEK = Streebog-256(VKO point), VKO_GOSTR3410_2012_256 of RFC 7836 4.3.1. */
static void
kex_vko(const struct ecc_curve *ecc, const struct ecc_scalar *k,
    const struct ecc_point *p, const unsigned char *ukm, unsigned char *kek)
{
	unsigned char out[KEX_POINT_MAX];
	size_t len = 2 * ((ecc_bit_size(ecc) + 7) / 8);

	gostdsa_vko(k, p, KEX_UKM_LEN, ukm, out);
	if (gnutls_hash_fast(GNUTLS_DIG_STREEBOG_256, out, len, kek) < 0)
		fatalx("Streebog-256 failed");
	gnutls_memset(out, 0, sizeof out);
}

/*
 * Sender's side: a fresh ephemeral key on the recipient's curve; its public
 * point (x || y, little-endian) goes to eph (*ephlen bytes) and the KEK
 * agreed with the recipient under ukm to kek.
 */
int
kex_ephemeral(const struct kex_pub *to, const unsigned char *ukm,
    unsigned char *eph, size_t *ephlen, unsigned char *kek, struct error *err)
{
	struct ecc_scalar e;
	struct ecc_point ep;
	size_t bytes = (ecc_bit_size(to->ecc) + 7) / 8;
	mpz_t zx, zy;

	(void)err;
	ecc_scalar_init(&e, to->ecc);
	ecc_point_init(&ep, to->ecc);
	ecc_scalar_random(&e, NULL, kex_rnd);
	ecc_point_mul_g(&ep, &e);
	mpz_init(zx);
	mpz_init(zy);
	ecc_point_get(&ep, zx, zy);
	kex_export_le(zx, eph, bytes);
	kex_export_le(zy, eph + bytes, bytes);
	*ephlen = 2 * bytes;
	mpz_clear(zx);
	mpz_clear(zy);
	kex_vko(to->ecc, &e, &to->p, ukm, kek);
	ecc_point_clear(&ep);
	ecc_scalar_clear(&e);
	return 0;
}

/*
 * Recipient's side: the KEK from the sender's ephemeral point (x || y,
 * little-endian, ephlen bytes) and ukm. A point of the wrong size or off
 * the curve is an error.
 */
int
kex_agree(const struct kex_key *kk, const unsigned char *eph, size_t ephlen,
    const unsigned char *ukm, unsigned char *kek, struct error *err)
{
	size_t bytes = (ecc_bit_size(kk->ecc) + 7) / 8;
	gnutls_datum_t dx, dy;
	struct ecc_point p;
	mpz_t zx, zy;
	int ok;

	if (ephlen != 2 * bytes)
		return err_set(err, ERR_NONE,
		    "the ephemeral key has %zu bytes, %zu expected for %s",
		    ephlen, 2 * bytes, kk->curve);
	dx.data = (unsigned char *)(uintptr_t)eph;
	dx.size = (unsigned)bytes;
	dy.data = (unsigned char *)(uintptr_t)eph + bytes;
	dy.size = (unsigned)bytes;
	mpz_init(zx);
	mpz_init(zy);
	kex_import_le(zx, &dx);
	kex_import_le(zy, &dy);
	ecc_point_init(&p, kk->ecc);
	ok = ecc_point_set(&p, zx, zy);
	mpz_clear(zx);
	mpz_clear(zy);
	if (!ok) {
		ecc_point_clear(&p);
		return err_set(err, ERR_NONE,
		    "the ephemeral key is not a point of %s", kk->curve);
	}
	kex_vko(kk->ecc, &kk->k, &p, ukm, kek);
	ecc_point_clear(&p);
	return 0;
}

/*
 * KDF_GOSTR3411_2012_256 (R 50.1.113-2016, RFC 7836 4.5):
 * HMAC_Streebog256(key, 0x01 || label || 0x00 || seed || 0x01 || 0x00).
 */
void
kex_kdf(const unsigned char *key, const char *label, const unsigned char *seed,
    size_t seedlen, unsigned char *out)
{
	gnutls_hmac_hd_t h;
	static const unsigned char one = 0x01, zero = 0x00;

	if (gnutls_hmac_init(&h, GNUTLS_MAC_STREEBOG_256, key, KEX_KEY_LEN) < 0)
		fatalx("HMAC-Streebog-256 is not available in this GnuTLS");
	gnutls_hmac(h, &one, 1);
	gnutls_hmac(h, label, strlen(label));
	gnutls_hmac(h, &zero, 1);
	gnutls_hmac(h, seed, seedlen);
	gnutls_hmac(h, &one, 1);
	gnutls_hmac(h, &zero, 1);
	gnutls_hmac_deinit(h, out);
}

/* Kuznyechik CTR(-ACPKM) of len bytes in place, counter block iv || 0^64. */
static void
kex_ctr(const unsigned char *key, const unsigned char *iv, unsigned char *buf,
    size_t len)
{
	unsigned char ivb[KUZ_BLOCK] = {0};
	struct kuz_ctr c;

	memcpy(ivb, iv, KEX_IV_LEN);
	kuz_ctr_init(&c, key, ivb, KUZ_ACPKM_SECTION);
	kuz_ctr_crypt(&c, buf, len);
	kuz_wipe(&c, sizeof c);
}

/* Kuznyechik OMAC over a || b. */
static void
kex_omac(const unsigned char *key, const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen, unsigned char *tag)
{
	struct kuz_omac m;

	kuz_omac_init(&m, key);
	kuz_omac_update(&m, a, alen);
	kuz_omac_update(&m, b, blen);
	kuz_omac_final(&m, tag);
	kuz_wipe(&m, sizeof m);
}

/*
 * KExp15 (R 1323565.1.017-2018): out = CTR(kenc, iv, cek || OMAC(kmac,
 * iv || cek)), KEX_WRAPPED_LEN bytes for a KEX_CEK_LEN content key.
 */
void
kex_wrap(const unsigned char *kenc, const unsigned char *kmac,
    const unsigned char *iv, const unsigned char *cek, unsigned char *out)
{
	memcpy(out, cek, KEX_CEK_LEN);
	kex_omac(kmac, iv, KEX_IV_LEN, cek, KEX_CEK_LEN, out + KEX_CEK_LEN);
	kex_ctr(kenc, iv, out, KEX_WRAPPED_LEN);
}

/* KImp15: the content key from a wrapped one; -1 if its OMAC does not match. */
int
kex_unwrap(const unsigned char *kenc, const unsigned char *kmac,
    const unsigned char *iv, const unsigned char *in, unsigned char *cek)
{
	unsigned char buf[KEX_WRAPPED_LEN], tag[KEX_TAG_LEN];
	int rc;

	memcpy(buf, in, sizeof buf);
	kex_ctr(kenc, iv, buf, sizeof buf);
	kex_omac(kmac, iv, KEX_IV_LEN, buf, KEX_CEK_LEN, tag);
	rc = gnutls_memcmp(tag, buf + KEX_CEK_LEN, KEX_TAG_LEN) == 0 ? 0 : -1;
	if (rc == 0)
		memcpy(cek, buf, KEX_CEK_LEN);
	gnutls_memset(buf, 0, sizeof buf);
	return rc;
}

/*
 * A content stream: CTR-ACPKM under the first half of cek (counter block
 * iv || 0^64), OMAC under the second half over iv || ciphertext.
 */
struct kex_stream *
kex_stream_new(const unsigned char *cek, const unsigned char *iv)
{
	struct kex_stream *s = xcalloc(1, sizeof *s);
	unsigned char ivb[KUZ_BLOCK] = {0};

	memcpy(ivb, iv, KEX_IV_LEN);
	kuz_ctr_init(&s->c, cek, ivb, KUZ_ACPKM_SECTION);
	kuz_omac_init(&s->m, cek + KEX_KEY_LEN);
	kuz_omac_update(&s->m, iv, KEX_IV_LEN);
	return s;
}

/*
 * Encrypt in place as many whole blocks of buf as there are (all of it
 * when last); returns the bytes done; the caller keeps the rest for the
 * next call (the contract of the GnuTLS days, whose CTR lost its place on
 * a partial block; kuz_ctr would not, but whole blocks are faster).
 */
size_t
kex_stream_encrypt(
    struct kex_stream *s, unsigned char *buf, size_t len, int last)
{
	size_t n = last ? len : len - len % 16;

	kuz_ctr_omac(&s->c, &s->m, buf, n, 0);
	return n;
}

/* Decrypt in place, as kex_stream_encrypt; the OMAC runs on the ciphertext. */
size_t
kex_stream_decrypt(
    struct kex_stream *s, unsigned char *buf, size_t len, int last)
{
	size_t n = last ? len : len - len % 16;

	kuz_ctr_omac(&s->c, &s->m, buf, n, 1);
	return n;
}

/* The OMAC tag over iv || everything streamed (KEX_TAG_LEN bytes). */
void
kex_stream_tag(struct kex_stream *s, unsigned char *tag)
{
	kuz_omac_final(&s->m, tag);
}

/* Free a content stream, wiping its keys. */
void
kex_stream_free(struct kex_stream *s)
{
	if (s == NULL)
		return;
	kuz_wipe(s, sizeof *s);
	free(s);
}
