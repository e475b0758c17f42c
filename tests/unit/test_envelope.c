/*
 * test_envelope.c: the symmetric layer against the published vectors (GOST
 * R 34.13-2015 A.1.2 CTR and A.1.6 MAC, R 50.1.113-2016 KDF), the key
 * agreement both ways on both curves, KExp15/KImp15, chunked streaming, and
 * sealing and opening envelopes with each refusal the reader can reach
 * without hand-crafted tar streams (those are in tests/shell/envelope.sh).
 */
#include "testutil.h"

#include "envelope.h"
#include "kex.h"
#include "schema.h"

struct fix {
	char *dir;
	char *ekey, *ecert; /* edge-01, the sender */
	char *ckey, *ccert; /* core-01, the recipient */
	struct signer *s;
	struct trust *t;
	struct kex_key *kk;
	struct kex_pub *kp;
	char *plain;
	unsigned char *pbytes;
	size_t plen;
};

static const unsigned char vkey[32] = {0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
    0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0xfe, 0xdc, 0xba,
    0x98, 0x76, 0x54, 0x32, 0x10, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
    0xef};
static const unsigned char vpt[64] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
    0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x00, 0x11, 0x22,
    0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xee, 0xff,
    0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0xcc, 0xee, 0xff, 0x0a, 0x00, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    0x99, 0xaa, 0xbb, 0xcc, 0xee, 0xff, 0x0a, 0x00, 0x11};

/* Hex of len bytes, in a static buffer. */
static const char *
hex(const unsigned char *b, size_t len)
{
	static char out[513];

	digest_hex_encode(b, len, out);
	return out;
}

/* Keys for edge-01 and core-01 and a 100 KiB plain file to seal. */
static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);
	struct error err = {0};
	size_t i;

	f->dir = tu_mkdtemp();
	tu_keys(f->dir, "edge-01", KEY_GOST256, &f->ekey, &f->ecert);
	tu_keys(f->dir, "core-01", KEY_GOST256, &f->ckey, &f->ccert);
	f->s = tu_signer(f->ekey, f->ecert);
	f->t = tu_trust(f->ecert);
	f->kk = kex_key_load(f->ckey, f->ccert, &err);
	f->kp = kex_pub_load(f->ccert, "core-01", &err);
	if (f->kk == NULL || f->kp == NULL)
		fail_msg("loading core-01's key-agreement pair: %s", err.text);
	f->plen = 100 * 1024 + 7;
	f->pbytes = xmalloc(f->plen);
	for (i = 0; i < f->plen; i++)
		f->pbytes[i] = (unsigned char)(i * 7 + i / 251);
	f->plain = tu_path(f->dir, "plain.pkg");
	tu_write_file(f->plain, f->pbytes, f->plen);
	*state = f;
	return 0;
}

/* Free the fixture. */
static int
teardown(void **state)
{
	struct fix *f = *state;

	kex_key_free(f->kk);
	kex_pub_free(f->kp);
	signer_free(f->s);
	trust_free(f->t);
	tu_rmdir(f->dir);
	free(f->ekey);
	free(f->ecert);
	free(f->ckey);
	free(f->ccert);
	free(f->plain);
	free(f->pbytes);
	free(f);
	return 0;
}

/* CTR-ACPKM's first section is GOST R 34.13-2015's CTR example (A.1.2). */
static void
test_ctr_vector(void **state)
{
	unsigned char cek[KEX_CEK_LEN] = {0}, buf[64];
	const unsigned char iv[8] = {
	    0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xce, 0xf0};
	struct kex_stream *s;

	(void)state;
	memcpy(cek, vkey, sizeof vkey);
	memcpy(buf, vpt, sizeof buf);
	s = kex_stream_new(cek, iv);
	assert_int_equal(kex_stream_encrypt(s, buf, sizeof buf, 1), 64);
	kex_stream_free(s);
	assert_string_equal(hex(buf, 64),
	    "f195d8bec10ed1dbd57b5fa240bda1b885eee733f6a13e5df33ce4b33c45dee4"
	    "a5eae88be6356ed3d5e877f13564a3a5cb91fab1f20cbab6d1c6d15820bdba73");
}

/* GnuTLS's Kuznyechik OMAC is GOST R 34.13-2015's MAC (A.1.6). */
static void
test_omac_vector(void **state)
{
	unsigned char tag[16];

	(void)state;
	assert_int_equal(gnutls_hmac_fast(GNUTLS_MAC_KUZNYECHIK_OMAC, vkey,
	                     sizeof vkey, vpt, sizeof vpt, tag),
	    0);
	assert_string_equal(hex(tag, 16), "336f4d296059fbe34ddeb35b37749c67");
}

/* KDF_GOSTR3411_2012_256 against R 50.1.113-2016's example. */
static void
test_kdf_vector(void **state)
{
	unsigned char k[32], out[32];
	const unsigned char seed[8] = {
	    0xaf, 0x21, 0x43, 0x41, 0x45, 0x65, 0x63, 0x78};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof k; i++)
		k[i] = (unsigned char)i;
	kex_kdf(k, "\x26\xbd\xb8\x78", seed, sizeof seed, out);
	assert_string_equal(hex(out, 32),
	    "a1aa5f7de402d7b3d323f2991c8d4534013137010a83754fd0af6d7cd4922ed9");
}

/* Sender and recipient agree on the KEK; another UKM gives another. */
static void
agree_on(const char *key, const char *cert)
{
	struct error err = {0};
	struct kex_key *kk = kex_key_load(key, cert, &err);
	struct kex_pub *kp = kex_pub_load(cert, NULL, &err);
	unsigned char ukm[KEX_UKM_LEN] = {1, 2, 3}, eph[KEX_POINT_MAX];
	unsigned char k1[32], k2[32], k3[32];
	size_t len;

	assert_non_null(kk);
	assert_non_null(kp);
	assert_int_equal(kex_ephemeral(kp, ukm, eph, &len, k1, &err), 0);
	assert_int_equal(kex_agree(kk, eph, len, ukm, k2, &err), 0);
	assert_memory_equal(k1, k2, 32);
	ukm[0] = 9;
	assert_int_equal(kex_agree(kk, eph, len, ukm, k3, &err), 0);
	assert_memory_not_equal(k1, k3, 32);
	/* a point of the wrong size, then one off the curve */
	assert_int_equal(kex_agree(kk, eph, len - 2, ukm, k3, &err), -1);
	assert_non_null(strstr(err.text, "bytes"));
	memcpy(eph + len / 2, eph, len / 2);
	assert_int_equal(kex_agree(kk, eph, len, ukm, k3, &err), -1);
	assert_non_null(strstr(err.text, "not a point"));
	kex_key_free(kk);
	kex_pub_free(kp);
}

/* VKO both ways on the 256- and 512-bit curves. */
static void
test_vko(void **state)
{
	struct fix *f = *state;
	char *k512, *c512, *d = tu_path(f->dir, "g512");

	agree_on(f->ckey, f->ccert);
	tu_keys(d, "core-01", KEY_GOST512, &k512, &c512);
	agree_on(k512, c512);
	free(k512);
	free(c512);
	free(d);
}

/* Keys that cannot agree are refused with what to do. */
static void
test_not_gost(void **state)
{
	struct fix *f = *state;
	struct error err = {0};
	char *k, *c, *d = tu_path(f->dir, "ec");

	tu_keys(d, "core-01", KEY_ECDSA, &k, &c);
	assert_null(kex_key_load(k, c, &err));
	assert_non_null(
	    strstr(err.text, "posgw keys generate --algorithm gost256"));
	err_clear(&err);
	assert_null(kex_pub_load(c, NULL, &err));
	assert_non_null(strstr(err.text, "key-agreement key"));
	err_clear(&err);
	assert_null(kex_pub_load(f->ccert, "core-02", &err));
	assert_non_null(strstr(err.text, "not core-02's"));
	err_clear(&err);
	assert_null(kex_key_load(f->ckey, f->ecert, &err));
	assert_non_null(strstr(err.text, "does not belong"));
	free(k);
	free(c);
	free(d);
}

/* KExp15 round trip; any altered byte or another key fails KImp15. */
static void
test_wrap(void **state)
{
	unsigned char ke[32], km[32], iv[8], cek[KEX_CEK_LEN],
	    back[KEX_CEK_LEN];
	unsigned char w[KEX_WRAPPED_LEN];
	size_t i;

	(void)state;
	kex_random(ke, sizeof ke);
	kex_random(km, sizeof km);
	kex_random(iv, sizeof iv);
	kex_random(cek, sizeof cek);
	kex_wrap(ke, km, iv, cek, w);
	assert_memory_not_equal(w, cek, sizeof cek);
	assert_int_equal(kex_unwrap(ke, km, iv, w, back), 0);
	assert_memory_equal(back, cek, sizeof cek);
	for (i = 0; i < sizeof w; i += 13) {
		w[i] ^= 1;
		assert_int_equal(kex_unwrap(ke, km, iv, w, back), -1);
		w[i] ^= 1;
	}
	km[0] ^= 1;
	assert_int_equal(kex_unwrap(ke, km, iv, w, back), -1);
}

/* Chunks of any size give the stream of one call, and decrypt back. */
static void
test_stream_chunks(void **state)
{
	unsigned char cek[KEX_CEK_LEN], iv[8], t1[16], t2[16], t3[16];
	unsigned char *a = xmalloc(10000), *b = xmalloc(10000 + 16);
	size_t steps[] = {7, 4100, 1, 33, 5000}, have = 0, in = 0, out = 0, i,
	       n;
	struct kex_stream *s;

	(void)state;
	kex_random(cek, sizeof cek);
	kex_random(iv, sizeof iv);
	for (i = 0; i < 10000; i++)
		a[i] = (unsigned char)i;
	memcpy(b, a, 10000);
	s = kex_stream_new(cek, iv);
	kex_stream_encrypt(s, a, 10000, 1);
	kex_stream_tag(s, t1);
	kex_stream_free(s);
	/* the same in pieces, carrying the partial block as the reader does */
	s = kex_stream_new(cek, iv);
	for (i = 0; in < 10000; i = (i + 1) % 5) {
		n = steps[i] < 10000 - in ? steps[i] : 10000 - in;
		have += n;
		in += n;
		n = kex_stream_encrypt(s, b + out, have, in == 10000);
		out += n;
		have -= n;
	}
	kex_stream_tag(s, t2);
	kex_stream_free(s);
	assert_memory_equal(a, b, 10000);
	assert_memory_equal(t1, t2, 16);
	s = kex_stream_new(cek, iv);
	kex_stream_decrypt(s, b, 10000, 1);
	kex_stream_tag(s, t3);
	kex_stream_free(s);
	assert_memory_equal(t1, t3, 16);
	for (i = 0; i < 10000; i++)
		assert_int_equal(b[i], (unsigned char)i);
	free(a);
	free(b);
}

/* Receiver options for core-01 holding its key. */
static void
open_opts(struct fix *f, struct env_open_opts *o)
{
	memset(o, 0, sizeof *o);
	o->own_id = "core-01";
	o->trust = f->t;
	o->sig_algs = SIG_ALLOW_ALL;
	o->digests = DIGEST_ALLOW_ALL;
	o->max_file = UINT64_MAX;
	o->keys[o->nkeys++] = f->kk;
}

/* Seal the fixture's plain file as NAME for kp into the fixture's dir. */
static char *
seal(struct fix *f, const struct kex_pub *kp, const char *recipient)
{
	const char *name =
	    "edge-01.000000000001.11111111-2222-4333-8444-555555555555.pkg";
	struct env_seal_opts so = {0};
	struct error err = {0};

	so.signer = f->s;
	so.to = kp;
	so.recipient = recipient;
	so.digest = DIGEST_STREEBOG256;
	if (env_seal(&so, f->plain, f->dir, name, &err) == -1)
		fail_msg("env_seal: %s", err.text);
	return tu_path(f->dir, name);
}

/* Sealed and opened, the bytes come back; the envelope hides them. */
static void
test_seal_open(void **state)
{
	struct fix *f = *state;
	struct env_open_opts o;
	struct env_info info;
	struct error err = {0};
	char *env = seal(f, f->kp, "core-01"), *out = tu_path(f->dir, "out");
	unsigned char *got, *eb;
	size_t len, elen, i;

	assert_int_equal(env_detect(env), 1);
	assert_int_equal(env_detect(f->plain), 0);
	eb = (unsigned char *)tu_read_file(env, &elen);
	for (i = 0; i + 64 <= elen; i++)
		assert_memory_not_equal(eb + i, f->pbytes + 4096, 64);
	free(eb);
	open_opts(f, &o);
	assert_int_equal(env_open(env, out, &o, &info, &err), 0);
	got = (unsigned char *)tu_read_file(out, &len);
	assert_int_equal(len, f->plen);
	assert_memory_equal(got, f->pbytes, len);
	assert_string_equal(info.sender, "edge-01");
	assert_string_equal(info.recipient, "core-01");
	assert_string_equal(info.key, kex_key_fingerprint(f->kk));
	assert_string_equal(info.sig.signer, "edge-01");
	assert_int_equal(info.size, f->plen);
	free(got);
	/* the outsider's check needs no key and writes nothing */
	unlink(out);
	o.nkeys = 0;
	assert_int_equal(env_open(env, NULL, &o, &info, &err), 0);
	free(env);
	free(out);
}

/* Each refusal the reader makes before any plain byte is kept. */
static void
test_refusals(void **state)
{
	struct fix *f = *state;
	struct env_open_opts o;
	struct env_info info;
	struct error err = {0};
	char *env = seal(f, f->kp, "core-01"), *out = tu_path(f->dir, "out");
	char *d = tu_path(f->dir, "other"), *ok2, *oc2, *cut;
	struct kex_pub *other;
	struct trust *t2;
	unsigned char *b;
	size_t len;

	open_opts(f, &o);
	/* for another gateway */
	o.own_id = "core-02";
	assert_int_equal(env_open(env, out, &o, &info, &err), -1);
	assert_int_equal(err.code, ERR_RECIPIENT);
	/* signed by someone not trusted */
	open_opts(f, &o);
	t2 = tu_trust(f->ccert);
	o.trust = t2;
	assert_int_equal(env_open(env, out, &o, &info, &err), -1);
	assert_int_equal(err.code, ERR_UNTRUSTED);
	trust_free(t2);
	/* the package inside over the limit */
	open_opts(f, &o);
	o.max_file = 1000;
	assert_int_equal(env_open(env, out, &o, &info, &err), -1);
	assert_int_equal(err.code, ERR_SIZE);
	/* a digest the receiver does not allow */
	open_opts(f, &o);
	o.digests = DIGEST_ALLOW_SHA256;
	assert_int_equal(env_open(env, out, &o, &info, &err), -1);
	assert_int_equal(err.code, ERR_DIGEST);
	free(env);
	/* sealed for a core-01 key this receiver does not hold */
	tu_keys(d, "core-01", KEY_GOST256, &ok2, &oc2);
	other = kex_pub_load(oc2, "core-01", &err);
	assert_non_null(other);
	env = seal(f, other, "core-01");
	open_opts(f, &o);
	assert_int_equal(env_open(env, out, &o, &info, &err), -1);
	assert_int_equal(err.code, ERR_KEY);
	kex_pub_free(other);
	/* cut short */
	b = (unsigned char *)tu_read_file(env, &len);
	cut = tu_path(f->dir,
	    "edge-01.000000000002.11111111-2222-4333-8444-555555555555.pkg");
	tu_write_file(cut, b, len / 2);
	assert_int_equal(env_open(cut, out, &o, &info, &err), -1);
	assert_true(err.code == ERR_ENVELOPE || err.code == ERR_NAME);
	/* the same bytes under another name */
	tu_write_file(cut, b, len);
	assert_int_equal(env_open(cut, out, &o, &info, &err), -1);
	assert_int_equal(err.code, ERR_NAME);
	assert_int_equal(access(out, F_OK), -1);
	free(b);
	free(cut);
	free(env);
	free(out);
	free(d);
	free(ok2);
	free(oc2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctr_vector),
	    cmocka_unit_test(test_omac_vector),
	    cmocka_unit_test(test_kdf_vector),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_stream_chunks),
	    cmocka_unit_test_setup_teardown(test_vko, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_gost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seal_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
