/* keys.c: key pairs and certificates for gateway identities. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "digest.h"
#include "fsutil.h"
#include "keys.h"
#include "log.h"
#include "package.h"
#include "sig.h"
#include "xmalloc.h"

/* Parse the --algorithm value (the names of the signature allow-list). */
int
keys_alg_from_name(const char *name, enum key_alg *alg)
{
	unsigned bit;

	if (sig_alg_from_name(name, &bit) == -1)
		return -1;
	*alg = (enum key_alg)(ffs((int)bit) - 1);
	return 0;
}

/* Generate a private key of the chosen algorithm. */
static int
keys_new_key(enum key_alg alg, gnutls_x509_privkey_t *key)
{
	gnutls_pk_algorithm_t pk;
	unsigned bits;

	switch (alg) {
	case KEY_GOST512:
		pk = GNUTLS_PK_GOST_12_512;
		bits = 512;
		break;
	case KEY_ECDSA:
		pk = GNUTLS_PK_ECDSA;
		bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
		break;
	case KEY_ED25519:
		pk = GNUTLS_PK_EDDSA_ED25519;
		bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519);
		break;
	case KEY_GOST256:
	default:
		pk = GNUTLS_PK_GOST_12_256;
		bits = 256;
		break;
	}
	gnutls_x509_privkey_init(key);
	return gnutls_x509_privkey_generate(*key, pk, bits, 0);
}

/* The digest a key of this type signs certificates with. */
static gnutls_digest_algorithm_t
keys_cert_digest(gnutls_privkey_t key)
{
	gnutls_digest_algorithm_t d;

	d = sig_digest_for(
	    (gnutls_pk_algorithm_t)gnutls_privkey_get_pk_algorithm(key, NULL));
	return d == GNUTLS_DIG_UNKNOWN ? GNUTLS_DIG_SHA256 : d;
}

/* Load the issuing CA's key and certificate. */
static int
keys_load_ca(const char *keyfile, const char *certfile, gnutls_privkey_t *key,
    gnutls_x509_crt_t *crt, struct error *err)
{
	gnutls_x509_crt_t *certs;
	unsigned n, i, ku = 0, ca = 0, crit;
	int rc;

	if (cert_load_file(certfile, &certs, &n, err) == -1)
		return -1;
	*crt = certs[0];
	for (i = 1; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	rc = gnutls_x509_crt_get_basic_constraints(*crt, &crit, &ca, NULL);
	gnutls_x509_crt_get_key_usage(*crt, &ku, &crit);
	if (rc < 0 || !ca || (ku & GNUTLS_KEY_KEY_CERT_SIGN) == 0) {
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
		return err_set(err, ERR_NONE,
		    "%s is not a CA certificate (needs CA:TRUE and "
		    "keyCertSign)",
		    certfile);
	}
	if (key_load_file(keyfile, key, err) == -1) {
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
		return -1;
	}
	if (!key_matches_cert(*key, *crt)) {
		gnutls_privkey_deinit(*key);
		gnutls_x509_crt_deinit(*crt);
		*key = NULL;
		*crt = NULL;
		return err_set(err, ERR_NONE,
		    "CA key %s does not belong to CA certificate %s", keyfile,
		    certfile);
	}
	return 0;
}

/*
 * Load an existing key to certify (a file, or a key on a token) and its
 * public half; it must be one posgw signs with.
 */
static int
keys_load_given(const char *keyarg, gnutls_privkey_t *key, gnutls_pubkey_t *pub,
    struct error *err)
{
	int pk, rc;

	if (key_load_file(keyarg, key, err) == -1)
		return -1;
	pk = gnutls_privkey_get_pk_algorithm(*key, NULL);
	if (sig_digest_for((gnutls_pk_algorithm_t)pk) == GNUTLS_DIG_UNKNOWN)
		return err_set(err, ERR_NONE,
		    "%s: %s keys cannot sign packages; use gost256, gost512, "
		    "ecdsa (P-256) or ed25519",
		    keyarg, gnutls_pk_get_name((gnutls_pk_algorithm_t)pk));
	gnutls_pubkey_init(pub);
	if ((rc = gnutls_pubkey_import_privkey(*pub, *key, 0, 0)) < 0)
		return err_set(err, ERR_NONE,
		    "%s: cannot read the public half of the key: %s", keyarg,
		    gnutls_strerror(rc));
	return 0;
}

/*
 * Generate a key pair and certificate with CN=id and digitalSignature into
 * outdir/<id>.key (0600) and outdir/<id>.crt; self-signed or CA-issued.
 * With p->key (a key file or a pkcs11: URI) only the certificate is made,
 * for that key.
 */
int
keys_generate(const struct keys_params *p, char **keypath, char **certpath,
    struct error *err)
{
	gnutls_x509_privkey_t xk = NULL;
	gnutls_privkey_t key = NULL, cakey = NULL;
	gnutls_x509_crt_t crt = NULL, cacrt = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t kpem = {NULL, 0}, cpem = {NULL, 0};
	unsigned char serial[20], kid[64];
	size_t kidlen = sizeof kid;
	char *kname = NULL, *cname = NULL;
	time_t now = time(NULL);
	unsigned usage;
	int rc, ret = -1;

	sig_init();
	*keypath = *certpath = NULL;
	if (!pkg_id_valid(p->id))
		return err_set(err, ERR_NONE,
		    "id '%s' is not a gateway id ([a-z0-9][a-z0-9-]{0,31})",
		    p->id);
	if (p->days < 1 || p->days > 36500)
		return err_set(
		    err, ERR_NONE, "--days %d out of range 1..36500", p->days);
	xasprintf(&kname, "%s.key", p->id);
	xasprintf(&cname, "%s.crt", p->id);
	if (fs_mkdir_p(p->outdir, 0755) == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s", p->outdir,
		    strerror(errno));
		goto out;
	}
	if (p->ca_key != NULL &&
	    keys_load_ca(p->ca_key, p->ca_cert, &cakey, &cacrt, err) == -1)
		goto out;
	if (p->key != NULL && keys_load_given(p->key, &key, &pub, err) == -1)
		goto out;
	if (p->key == NULL && (rc = keys_new_key(p->alg, &xk)) < 0) {
		err_set(err, ERR_NONE, "key generation failed: %s",
		    gnutls_strerror(rc));
		goto out;
	}
	if (p->key == NULL) {
		gnutls_privkey_init(&key);
		gnutls_privkey_import_x509(key, xk, 0);
	}

	gnutls_x509_crt_init(&crt);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
	serial[0] &= 0x7f;
	serial[0] |= 0x01;
	gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
	gnutls_x509_crt_set_activation_time(crt, now - 60);
	gnutls_x509_crt_set_expiration_time(crt, now + (time_t)p->days * 86400);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
	    p->id, (unsigned)strlen(p->id));
	if (pub != NULL)
		gnutls_x509_crt_set_pubkey(crt, pub);
	else
		gnutls_x509_crt_set_key(crt, xk);
	gnutls_x509_crt_set_basic_constraints(crt, p->is_ca ? 1 : 0, -1);
	usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
	if (p->is_ca)
		usage |= GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN;
	gnutls_x509_crt_set_key_usage(crt, usage);
	if (gnutls_x509_crt_get_key_id(crt, 0, kid, &kidlen) >= 0)
		gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen);
	if (cacrt != NULL) {
		kidlen = sizeof kid;
		if (gnutls_x509_crt_get_subject_key_id(
		        cacrt, kid, &kidlen, NULL) >= 0)
			gnutls_x509_crt_set_authority_key_id(crt, kid, kidlen);
		rc = gnutls_x509_crt_privkey_sign(
		    crt, cacrt, cakey, keys_cert_digest(cakey), 0);
	} else
		rc = gnutls_x509_crt_privkey_sign(
		    crt, crt, key, keys_cert_digest(key), 0);
	if (rc < 0) {
		err_set(err, ERR_NONE, "signing the certificate failed: %s",
		    gnutls_strerror(rc));
		goto out;
	}
	if ((xk != NULL &&
	        gnutls_x509_privkey_export2_pkcs8(xk, GNUTLS_X509_FMT_PEM, NULL,
	            GNUTLS_PKCS_PLAIN, &kpem) < 0) ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem) < 0) {
		err_set(err, ERR_NONE, "exporting the key pair failed");
		goto out;
	}
	if ((xk != NULL && fs_write_file(p->outdir, kname, kpem.data, kpem.size,
	                       0600, 0, err) == -1) ||
	    fs_write_file(
	        p->outdir, cname, cpem.data, cpem.size, 0644, 0, err) == -1)
		goto out;
	if (xk != NULL)
		xasprintf(keypath, "%s/%s", p->outdir, kname);
	else
		*keypath = xstrdup(p->key);
	xasprintf(certpath, "%s/%s", p->outdir, cname);
	ret = 0;
out:
	if (kpem.data != NULL) {
		gnutls_memset(kpem.data, 0, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	if (key != NULL)
		gnutls_privkey_deinit(key);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (xk != NULL)
		gnutls_x509_privkey_deinit(xk);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (cakey != NULL)
		gnutls_privkey_deinit(cakey);
	if (cacrt != NULL)
		gnutls_x509_crt_deinit(cacrt);
	free(kname);
	free(cname);
	return ret;
}

/* Print what operators compare between zones: subject, validity, fingerprints. */
int
keys_show(const char *path, FILE *out, struct error *err)
{
	gnutls_x509_crt_t *certs;
	gnutls_datum_t dn = {NULL, 0}, idn = {NULL, 0};
	unsigned n, i, bits = 0, ku = 0, crit, ca = 0;
	char t1[32], t2[32], fp[129];
	unsigned char serial[64];
	size_t slen = sizeof serial;
	int pk;

	if (cert_load_file(path, &certs, &n, err) == -1)
		return -1;
	gnutls_x509_crt_get_dn3(certs[0], &dn, 0);
	gnutls_x509_crt_get_issuer_dn3(certs[0], &idn, 0);
	pkg_time_format(
	    gnutls_x509_crt_get_activation_time(certs[0]), t1, sizeof t1);
	pkg_time_format(
	    gnutls_x509_crt_get_expiration_time(certs[0]), t2, sizeof t2);
	pk = gnutls_x509_crt_get_pk_algorithm(certs[0], &bits);
	fprintf(out, "file:        %s\n", path);
	fprintf(out, "subject:     %s\n", dn.data ? (char *)dn.data : "");
	fprintf(out, "issuer:      %s\n", idn.data ? (char *)idn.data : "");
	if (gnutls_x509_crt_get_serial(certs[0], serial, &slen) >= 0) {
		digest_hex_encode(serial, slen, fp);
		fprintf(out, "serial:      %s\n", fp);
	}
	fprintf(out, "not before:  %s\n", t1);
	fprintf(out, "not after:   %s\n", t2);
	fprintf(out, "algorithm:   %s\n",
	    gnutls_pk_get_name((gnutls_pk_algorithm_t)pk));
	gnutls_x509_crt_get_key_usage(certs[0], &ku, &crit);
	gnutls_x509_crt_get_basic_constraints(certs[0], &crit, &ca, NULL);
	fprintf(out, "key usage:   %s%s%s\n",
	    (ku & GNUTLS_KEY_DIGITAL_SIGNATURE) ? "digitalSignature" : "",
	    (ku & GNUTLS_KEY_KEY_CERT_SIGN) ? " keyCertSign" : "",
	    ca ? " (CA)" : "");
	cert_fingerprint(certs[0], GNUTLS_DIG_SHA256, fp);
	fprintf(out, "sha256:      %s\n", fp);
	cert_fingerprint(certs[0], GNUTLS_DIG_STREEBOG_256, fp);
	fprintf(out, "streebog256: %s\n", fp);
	gnutls_free(dn.data);
	gnutls_free(idn.data);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	return 0;
}

/* Keep only hex digits, lowercased (operators read fingerprints in groups). */
static void
keys_hex_only(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < len; in++) {
		if (*in >= '0' && *in <= '9')
			out[n++] = *in;
		else if (*in >= 'a' && *in <= 'f')
			out[n++] = *in;
		else if (*in >= 'A' && *in <= 'F')
			out[n++] = (char)(*in - 'A' + 'a');
	}
	out[n] = '\0';
}

/*
 * Check a fingerprint the operator read from the other zone against the
 * certificate: the whole SHA-256 or Streebog-256 of its DER, in any case,
 * with any separators. Returns 1 on a match.
 */
int
keys_fingerprint_matches(
    const char *certpath, const char *given, struct error *err)
{
	gnutls_x509_crt_t *certs;
	char want[129], sha[129], gost[129];
	unsigned n, i;
	int ok;

	if (cert_load_file(certpath, &certs, &n, err) == -1)
		return -1;
	cert_fingerprint(certs[0], GNUTLS_DIG_SHA256, sha);
	cert_fingerprint(certs[0], GNUTLS_DIG_STREEBOG_256, gost);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	keys_hex_only(given, want, sizeof want);
	ok = strlen(want) == 64 &&
	     (strcmp(want, sha) == 0 || strcmp(want, gost) == 0);
	return ok;
}
