/* test_sig.c: detached CMS signatures, trust lists and signer checks. */
#include "config.h"

#include <time.h>

#include "testutil.h"

#include "keys.h"
#include "sig.h"
#include "token.h"
#include "xmalloc.h"

#define THREE_YEARS ((time_t)3 * 365 * 86400)

static enum key_alg algs[] = {KEY_GOST256, KEY_GOST512, KEY_ECDSA, KEY_ED25519};

static const char data[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<package xmlns=\"urn:posgw:package:1\" format=\"1\"/>\n";
#define DATA_LEN (sizeof data - 1)

/* One gateway key pair, its signer, a trust list and a signature over data. */
struct fix {
	enum key_alg alg;
	char *dir;
	char *key, *cert;
	struct signer *s;
	struct trust *t;
	gnutls_datum_t p7s;
};

/* The allow-list bit of a key algorithm. */
static unsigned
alg_bit(enum key_alg alg)
{
	switch (alg) {
	case KEY_GOST256:
		return SIG_ALLOW_GOST256;
	case KEY_GOST512:
		return SIG_ALLOW_GOST512;
	case KEY_ECDSA:
		return SIG_ALLOW_ECDSA;
	case KEY_ED25519:
		return SIG_ALLOW_ED25519;
	}
	return 0;
}

/* Sign buf with s into out; must succeed. */
static void
sign(struct signer *s, const void *buf, size_t len, gnutls_datum_t *out)
{
	struct error err = {0};

	err_clear(&err);
	if (signer_sign(s, buf, len, out, &err) == -1)
		fail_msg("signer_sign: %s", err.text);
	assert_non_null(out->data);
	assert_true(out->size > 64);
	assert_int_equal(out->data[0], 0x30); /* DER SEQUENCE */
}

/* Verify and return the result; err and info are reset first. */
static int
verify(struct trust *t, const void *buf, size_t len, const gnutls_datum_t *p7s,
    const char *cn, time_t now, unsigned allowed, struct sig_info *info,
    struct error *err)
{
	err_clear(err);
	return sig_verify(
	    t, buf, len, p7s->data, p7s->size, cn, now, allowed, info, err);
}

/* Assert a failed verification with this code. */
static void
expect_fail(int rc, const struct error *err, enum err_code code)
{
	assert_int_equal(rc, -1);
	if (err->code != code)
		fail_msg("code %s, expected %s: %s", err_code_name(err->code),
		    err_code_name(code), err->text);
	assert_true(err->text[0] != '\0');
}

/* Fixture: a temporary directory with an edge-01 key pair of one algorithm. */
static int
sig_setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);

	f->alg = *(enum key_alg *)*state;
	f->dir = tu_mkdtemp();
	*state = f;
	tu_keys(f->dir, "edge-01", f->alg, &f->key, &f->cert);
	f->s = tu_signer(f->key, f->cert);
	f->t = tu_trust(f->cert);
	sign(f->s, data, DATA_LEN, &f->p7s);
	return 0;
}

/* Free the fixture and remove its directory. */
static int
sig_teardown(void **state)
{
	struct fix *f = *state;
	int rc;

	gnutls_free(f->p7s.data);
	trust_free(f->t);
	signer_free(f->s);
	free(f->key);
	free(f->cert);
	rc = tu_rmdir(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* A fresh signature verifies and describes its signer. */
static void
test_sign_verify(void **state)
{
	struct fix *f = *state;
	gnutls_x509_crt_t *certs;
	struct sig_info info;
	struct error err = {0};
	char fp[129];
	time_t now = time(NULL);
	unsigned n, i;

	assert_string_equal(signer_id(f->s), "edge-01");
	assert_int_equal(trust_count(f->t), 1);
	if (verify(f->t, data, DATA_LEN, &f->p7s, "edge-01", now, SIG_ALLOW_ALL,
	        &info, &err) == -1)
		fail_msg("%s", err.text);
	assert_string_equal(info.signer, "edge-01");
	assert_string_equal(info.algorithm, tu_alg_name(f->alg));
	assert_int_equal(strlen(info.fingerprint), 64);
	assert_int_equal(strspn(info.fingerprint, "0123456789abcdef"), 64);
	assert_true(
	    info.signing_time >= now - 60 && info.signing_time <= now + 60);

	assert_int_equal(cert_load_file(f->cert, &certs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cert_fingerprint(certs[0], GNUTLS_DIG_SHA256, fp), 0);
	assert_string_equal(info.fingerprint, fp);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);

	/* only this algorithm allowed is enough */
	if (verify(f->t, data, DATA_LEN, &f->p7s, "edge-01", now,
	        alg_bit(f->alg), &info, &err) == -1)
		fail_msg("%s", err.text);
}

/* Data changed after signing does not verify. */
static void
test_altered_data(void **state)
{
	struct fix *f = *state;
	struct sig_info info;
	struct error err = {0};
	char copy[sizeof data];

	memcpy(copy, data, sizeof data);
	copy[40] ^= 0x01;
	expect_fail(verify(f->t, copy, DATA_LEN, &f->p7s, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_SIGNATURE);
	expect_fail(verify(f->t, data, DATA_LEN - 1, &f->p7s, "edge-01",
	                time(NULL), SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_SIGNATURE);
	assert_string_equal(info.signer, "");
}

/* A certificate with the same CN but another key is not trusted. */
static void
test_other_certificate(void **state)
{
	struct fix *f = *state;
	char *odir = tu_path(f->dir, "other"), *okey, *ocert;
	struct trust *t;
	struct sig_info info;
	struct error err = {0};

	tu_keys(odir, "edge-01", f->alg, &okey, &ocert);
	t = tu_trust(ocert);
	expect_fail(verify(t, data, DATA_LEN, &f->p7s, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);
	trust_free(t);

	t = tu_trust(NULL);
	assert_int_equal(trust_count(t), 0);
	expect_fail(verify(t, data, DATA_LEN, &f->p7s, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);
	trust_free(t);
	free(okey);
	free(ocert);
	free(odir);
}

/* The certificate CN must be the expected sender. */
static void
test_wrong_cn(void **state)
{
	struct fix *f = *state;
	struct sig_info info;
	struct error err = {0};

	expect_fail(verify(f->t, data, DATA_LEN, &f->p7s, "edge-02", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);
	assert_non_null(strstr(err.text, "edge-02"));
	expect_fail(verify(f->t, data, DATA_LEN, &f->p7s, "edge-0", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);
}

/* An algorithm missing from the allow-list is refused. */
static void
test_alg_not_allowed(void **state)
{
	struct fix *f = *state;
	struct sig_info info;
	struct error err = {0};

	expect_fail(verify(f->t, data, DATA_LEN, &f->p7s, "edge-01", time(NULL),
	                SIG_ALLOW_ALL & ~alg_bit(f->alg), &info, &err),
	    &err, ERR_SIGNATURE);
	assert_non_null(strstr(err.text, tu_alg_name(f->alg)));
	assert_non_null(strstr(err.text, "not allowed"));
	expect_fail(verify(f->t, data, DATA_LEN, &f->p7s, "edge-01", time(NULL),
	                0, &info, &err),
	    &err, ERR_SIGNATURE);
}

/* Outside the certificate's validity the signer is not trusted. */
static void
test_expired(void **state)
{
	struct fix *f = *state;
	struct sig_info info;
	struct error err = {0};
	time_t now = time(NULL);

	expect_fail(verify(f->t, data, DATA_LEN, &f->p7s, "edge-01",
	                now + THREE_YEARS, SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);
	assert_non_null(strstr(err.text, "not at now"));
	expect_fail(verify(f->t, data, DATA_LEN, &f->p7s, "edge-01",
	                now - 86400, SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);
	/* still valid a year from now */
	if (verify(f->t, data, DATA_LEN, &f->p7s, "edge-01", now + 365 * 86400,
	        SIG_ALLOW_ALL, &info, &err) == -1)
		fail_msg("%s", err.text);
}

/* A CA-issued certificate verifies against the CA; a look-alike does not. */
static void
test_ca_issued(void **state)
{
	struct fix *f = *state;
	char *cadir = tu_path(f->dir, "ca"), *gwdir = tu_path(f->dir, "gw");
	char *cakey, *cacert, *gwkey, *gwcert;
	struct signer *s;
	struct trust *t;
	gnutls_datum_t p7s = {NULL, 0};
	struct sig_info info;
	struct error err = {0};

	tu_keys_full(
	    cadir, "posgw-ca", f->alg, NULL, NULL, 1, 3650, &cakey, &cacert);
	tu_keys_full(
	    gwdir, "edge-01", f->alg, cakey, cacert, 0, 730, &gwkey, &gwcert);
	s = tu_signer(gwkey, gwcert);
	sign(s, data, DATA_LEN, &p7s);
	t = tu_trust(cacert);
	if (verify(t, data, DATA_LEN, &p7s, "edge-01", time(NULL),
	        SIG_ALLOW_ALL, &info, &err) == -1)
		fail_msg("%s", err.text);
	assert_string_equal(info.signer, "edge-01");
	assert_string_equal(info.algorithm, tu_alg_name(f->alg));

	/* self-signed edge-01 of the fixture: same CN, not issued by the CA */
	expect_fail(verify(t, data, DATA_LEN, &f->p7s, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);
	/* the pinned self-signed certificate does not vouch for the CA one */
	expect_fail(verify(f->t, data, DATA_LEN, &p7s, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_UNTRUSTED);

	gnutls_free(p7s.data);
	trust_free(t);
	signer_free(s);
	free(cakey);
	free(cacert);
	free(gwkey);
	free(gwcert);
	free(cadir);
	free(gwdir);
}

/* A certificate that is not a CA cannot issue certificates. */
static void
test_non_ca_cannot_issue(void **state)
{
	struct fix *f = *state;
	char *gwdir = tu_path(f->dir, "gw"), *key = NULL, *cert = NULL;
	struct keys_params kp;
	struct error err = {0};

	memset(&kp, 0, sizeof kp);
	kp.id = "edge-02";
	kp.alg = f->alg;
	kp.ca_key = f->key;
	kp.ca_cert = f->cert;
	kp.days = 30;
	kp.outdir = gwdir;
	err_clear(&err);
	assert_int_equal(keys_generate(&kp, &key, &cert, &err), -1);
	assert_non_null(strstr(err.text, "not a CA"));
	assert_null(key);
	assert_null(cert);
	free(gwdir);
}

/* signer_load refuses a key that does not belong to the certificate. */
static void
test_key_mismatch(void **state)
{
	struct fix *f = *state;
	char *odir = tu_path(f->dir, "other"), *okey, *ocert;
	struct error err = {0};

	tu_keys(odir, "edge-01", f->alg, &okey, &ocert);
	err_clear(&err);
	assert_null(signer_load(f->key, ocert, &err));
	assert_non_null(strstr(err.text, "does not belong"));
	err_clear(&err);
	assert_null(signer_load(okey, f->cert, &err));
	assert_non_null(strstr(err.text, "does not belong"));
	free(okey);
	free(ocert);
	free(odir);
}

/* Garbage, empty or truncated p7s bytes are a signature error. */
static void
test_garbage_p7s(void **state)
{
	struct fix *f = *state;
	unsigned char junk[256];
	gnutls_datum_t d;
	struct sig_info info;
	struct error err = {0};
	size_t i;

	for (i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	d.data = junk;
	d.size = sizeof junk;
	expect_fail(verify(f->t, data, DATA_LEN, &d, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_SIGNATURE);
	d.size = 0;
	expect_fail(verify(f->t, data, DATA_LEN, &d, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_SIGNATURE);
	d.data = f->p7s.data;
	d.size = f->p7s.size - 10;
	expect_fail(verify(f->t, data, DATA_LEN, &d, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_SIGNATURE);
	/* the data itself is not a signature either */
	d.data = (unsigned char *)(uintptr_t)data;
	d.size = DATA_LEN;
	expect_fail(verify(f->t, data, DATA_LEN, &d, "edge-01", time(NULL),
	                SIG_ALLOW_ALL, &info, &err),
	    &err, ERR_SIGNATURE);
}

/* Loading missing or broken files fails with a message naming them. */
static void
test_load_errors(void **state)
{
	struct fix *f = *state;
	char *missing = tu_path(f->dir, "missing.crt");
	char *junk = tu_path(f->dir, "junk.crt");
	struct trust *t = trust_new();
	struct error err = {0};

	tu_write_file(junk, "not a certificate\n", 18);
	err_clear(&err);
	assert_null(signer_load(f->key, missing, &err));
	assert_non_null(strstr(err.text, "missing.crt"));
	err_clear(&err);
	assert_null(signer_load(f->cert, f->cert, &err));
	assert_true(err.text[0] != '\0');
	err_clear(&err);
	assert_int_equal(trust_add_file(t, junk, &err), -1);
	assert_non_null(strstr(err.text, "junk.crt"));
	err_clear(&err);
	assert_int_equal(trust_add_file(t, missing, &err), -1);
	assert_int_equal(trust_count(t), 0);
	trust_free(t);
	free(missing);
	free(junk);
}

/*
 * A pkcs11: URI goes to the token code: a PIN in it is refused without
 * being shown, a missing PIN file is named (no module is needed for these).
 */
static void
test_token_uri_refusals(void **state)
{
	struct fix *f = *state;
	char *missing = tu_path(f->dir, "no-such.pin"), *url;
	struct error err = {0};
	gnutls_privkey_t key = NULL;

	assert_true(token_is_url("pkcs11:token=t;object=o;type=private"));
	assert_true(token_is_url("PKCS11:token=t"));
	assert_false(token_is_url("/etc/posgw/keys/edge-01.key"));
	assert_int_equal(key_load_file("pkcs11:token=t;object=o;type=private"
	                               "?pin-value=246813",
	                     &key, &err),
	    -1);
	assert_null(key);
	assert_null(strstr(err.text, "246813"));
	assert_non_null(strstr(err.text, "pin-value=(hidden)"));
	assert_non_null(strstr(err.text, "pin-source=FILE"));
	xasprintf(&url, "pkcs11:token=t;object=o;type=private?pin-source=%s",
	    missing);
	err_clear(&err);
	assert_int_equal(key_load_file(url, &key, &err), -1);
	assert_non_null(strstr(err.text, "cannot read the token PIN file"));
	assert_non_null(strstr(err.text, "no-such.pin"));
	free(url);
	url = token_url_display("pkcs11:token=t?pin-value=99&module-name=x");
	assert_string_equal(
	    url, "pkcs11:token=t?pin-value=(hidden)&module-name=x");
	free(url);
	free(missing);
}

/* Allow-list names map to their bits. */
static void
test_alg_names(void **state)
{
	unsigned bit = 0, all = 0;
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(
		    sig_alg_from_name(tu_alg_name(algs[i]), &bit), 0);
		assert_int_equal(bit, alg_bit(algs[i]));
		all |= bit;
	}
	assert_int_equal(all, SIG_ALLOW_ALL);
	assert_int_equal(sig_alg_from_name("rsa", &bit), -1);
	assert_int_equal(sig_alg_from_name("GOST256", &bit), -1);
}

#define ALG_TEST(f, i, n)                                                      \
	{                                                                      \
		.name = #f "(" n ")", .test_func = f, .setup_func = sig_setup, \
		.teardown_func = sig_teardown, .initial_state = &algs[i]       \
	}
#define PER_ALG(f)                                                             \
	ALG_TEST(f, 0, "gost256"), ALG_TEST(f, 1, "gost512"),                  \
	    ALG_TEST(f, 2, "ecdsa"), ALG_TEST(f, 3, "ed25519")

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    PER_ALG(test_sign_verify),
	    PER_ALG(test_altered_data),
	    PER_ALG(test_other_certificate),
	    PER_ALG(test_wrong_cn),
	    PER_ALG(test_alg_not_allowed),
	    PER_ALG(test_expired),
	    PER_ALG(test_ca_issued),
	    PER_ALG(test_key_mismatch),
	    ALG_TEST(test_non_ca_cannot_issue, 0, "gost256"),
	    ALG_TEST(test_garbage_p7s, 2, "ecdsa"),
	    ALG_TEST(test_load_errors, 3, "ed25519"),
	    ALG_TEST(test_token_uri_refusals, 2, "ecdsa"),
	    cmocka_unit_test(test_alg_names),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
