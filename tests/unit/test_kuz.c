/*
 * test_kuz.c: posgw's Kuznyechik (formats/kuz.c) against the published
 * vectors (GOST R 34.12-2015 A.1, GOST R 34.13-2015 A.2.2 CTR and A.2.6
 * MAC, R 1323565.1.017-2018 CTR-ACPKM) and against GnuTLS's
 * KUZNYECHIK_CTR_ACPKM and KUZNYECHIK_OMAC for random keys, IVs, lengths
 * and chunkings, directly and through kex_stream.
 */
#include "testutil.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "digest.h"
#include "kex.h"
#include "kuz.h"

static const unsigned char vkey[32] = {0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
    0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0xfe, 0xdc, 0xba,
    0x98, 0x76, 0x54, 0x32, 0x10, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
    0xef};

/* GOST R 34.13-2015 A.2's plain text, and 48 bytes more of R
 * 1323565.1.017-2018's CTR-ACPKM example. */
static const unsigned char vpt[112] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
    0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x00, 0x11, 0x22,
    0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xee, 0xff,
    0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0xcc, 0xee, 0xff, 0x0a, 0x00, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    0x99, 0xaa, 0xbb, 0xcc, 0xee, 0xff, 0x0a, 0x00, 0x11, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xee, 0xff, 0x0a, 0x00, 0x11,
    0x22, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xee, 0xff,
    0x0a, 0x00, 0x11, 0x22, 0x33, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0xcc, 0xee, 0xff, 0x0a, 0x00, 0x11, 0x22, 0x33, 0x44};

/* The lengths the GnuTLS cross-check runs over. */
static const size_t lens[] = {0, 1, 15, 16, 17, 31, 32, 33, 4095, 4096, 4097,
    8192 + 5, 3 * 4096 + 16, (1 << 20) + 3};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* A deterministic pseudo-random 64-bit number (xorshift64*). */
static uint64_t
rnd64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* Fill len bytes with pseudo-random ones. */
static void
rnd_fill(unsigned char *p, size_t len)
{
	while (len-- > 0)
		*p++ = (unsigned char)(rnd64() >> 56);
}

/* A pseudo-random chunk length in 1..max, biased to small and odd ones. */
static size_t
rnd_chunk(size_t max)
{
	size_t n;

	switch (rnd64() % 4) {
	case 0:
		n = 1 + rnd64() % 17;
		break;
	case 1:
		n = 1 + rnd64() % 300;
		break;
	case 2:
		n = 16 * (1 + rnd64() % 300);
		break;
	default:
		n = 1 + rnd64() % 70000;
		break;
	}
	return n < max ? n : max;
}

/* Hex of len bytes, in a static buffer. */
static const char *
hex(const unsigned char *b, size_t len)
{
	static char out[513];

	digest_hex_encode(b, len, out);
	return out;
}

/* GnuTLS's CTR-ACPKM of len bytes in place (one call: it may end partial). */
static void
gnutls_ctr(const unsigned char *key, const unsigned char *iv8,
    unsigned char *buf, size_t len)
{
	unsigned char ivb[16] = {0};
	gnutls_datum_t k = {(unsigned char *)(uintptr_t)key, 32};
	gnutls_datum_t v = {ivb, sizeof ivb};
	gnutls_cipher_hd_t c;

	memcpy(ivb, iv8, 8);
	assert_int_equal(
	    gnutls_cipher_init(&c, GNUTLS_CIPHER_KUZNYECHIK_CTR_ACPKM, &k, &v),
	    0);
	if (len > 0)
		assert_int_equal(gnutls_cipher_encrypt(c, buf, len), 0);
	gnutls_cipher_deinit(c);
}

/* GnuTLS's Kuznyechik OMAC of len bytes. */
static void
gnutls_omac(const unsigned char *key, const unsigned char *p, size_t len,
    unsigned char *tag)
{
	assert_int_equal(
	    gnutls_hmac_fast(GNUTLS_MAC_KUZNYECHIK_OMAC, key, 32, p, len, tag),
	    0);
}

/* GOST R 34.12-2015 A.1: one block, and the round keys K2..K10 end right. */
static void
test_block_vector(void **state)
{
	const unsigned char pt[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	    0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88};
	unsigned char out[16], rk[16];
	struct kuz_key k;

	(void)state;
	kuz_key_init(&k, vkey);
	kuz_encrypt_block(&k, pt, out);
	assert_string_equal(hex(out, 16), "7f679d90bebc24305a468d42b9d4edcd");
	memcpy(rk, k.rk[2], 16);
	assert_string_equal(hex(rk, 16), "db31485315694343228d6aef8cc78c44");
	memcpy(rk, k.rk[9], 16);
	assert_string_equal(hex(rk, 16), "72e9dd7416bcf45b755dbaa88e4a4043");
	/* in place */
	memcpy(out, pt, 16);
	kuz_encrypt_block(&k, out, out);
	assert_string_equal(hex(out, 16), "7f679d90bebc24305a468d42b9d4edcd");
	kuz_wipe(&k, sizeof k);
}

/* GOST R 34.13-2015 A.2.2 CTR: IV 1234567890abcef0, s = 128. */
static void
test_ctr_vector(void **state)
{
	unsigned char iv[16] = {0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xce, 0xf0};
	unsigned char buf[64];
	struct kuz_ctr c;
	size_t i;

	(void)state;
	memcpy(buf, vpt, sizeof buf);
	kuz_ctr_init(&c, vkey, iv, 0);
	kuz_ctr_crypt(&c, buf, sizeof buf);
	assert_string_equal(hex(buf, 64),
	    "f195d8bec10ed1dbd57b5fa240bda1b885eee733f6a13e5df33ce4b33c45dee4"
	    "a5eae88be6356ed3d5e877f13564a3a5cb91fab1f20cbab6d1c6d15820bdba73");
	/* byte by byte */
	memcpy(buf, vpt, sizeof buf);
	kuz_ctr_init(&c, vkey, iv, 0);
	for (i = 0; i < sizeof buf; i++)
		kuz_ctr_crypt(&c, buf + i, 1);
	assert_string_equal(hex(buf, 64),
	    "f195d8bec10ed1dbd57b5fa240bda1b885eee733f6a13e5df33ce4b33c45dee4"
	    "a5eae88be6356ed3d5e877f13564a3a5cb91fab1f20cbab6d1c6d15820bdba73");
	kuz_wipe(&c, sizeof c);
}

/* R 1323565.1.017-2018 A.1 (RFC 8645 A.1): CTR-ACPKM, N = 256 bits. */
static void
test_acpkm_vector(void **state)
{
	unsigned char iv[16] = {0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xce, 0xf0};
	unsigned char buf[112];
	struct kuz_ctr c;

	(void)state;
	memcpy(buf, vpt, sizeof buf);
	kuz_ctr_init(&c, vkey, iv, 32);
	kuz_ctr_crypt(&c, buf, sizeof buf);
	assert_string_equal(hex(buf, 112),
	    "f195d8bec10ed1dbd57b5fa240bda1b885eee733f6a13e5df33ce4b33c45dee4"
	    "4bceeb8f646f4c55001706275e85e800587c4df568d094393e4834afd0805046"
	    "cf30f57686aeece11cfc6c316b8a896edffd07ec813636460c4f3b743423163e"
	    "6409a9c282fac8d469d221e7fbd6de5d");
	kuz_wipe(&c, sizeof c);
}

/* GOST R 34.13-2015 A.2.6 MAC (the full 128-bit OMAC; s = 64 is its half). */
static void
test_omac_vector(void **state)
{
	unsigned char tag[16];
	struct kuz_omac m;
	size_t i;

	(void)state;
	kuz_omac_init(&m, vkey);
	kuz_omac_update(&m, vpt, 64);
	kuz_omac_final(&m, tag);
	assert_string_equal(hex(tag, 16), "336f4d296059fbe34ddeb35b37749c67");
	assert_string_equal(hex(tag, 8), "336f4d296059fbe3");
	/* final leaves the state alone */
	kuz_omac_final(&m, tag);
	assert_string_equal(hex(tag, 16), "336f4d296059fbe34ddeb35b37749c67");
	kuz_omac_init(&m, vkey);
	for (i = 0; i < 64; i++)
		kuz_omac_update(&m, vpt + i, 1);
	kuz_omac_final(&m, tag);
	assert_string_equal(hex(tag, 16), "336f4d296059fbe34ddeb35b37749c67");
	kuz_wipe(&m, sizeof m);
}

/*
 * GnuTLS's KUZNYECHIK_CTR_ACPKM is CTR-ACPKM with 4096-byte sections: its
 * first section is plain CTR, the next ones are not.
 */
static void
test_section_size(void **state)
{
	const size_t len = 3 * KUZ_ACPKM_SECTION;
	unsigned char key[32], iv[16] = {0};
	unsigned char *a = xcalloc(1, len), *b = xcalloc(1, len);
	struct kuz_ctr c;

	(void)state;
	rnd_fill(key, sizeof key);
	rnd_fill(iv, 8);
	gnutls_ctr(key, iv, a, len);
	kuz_ctr_init(&c, key, iv, 0);
	kuz_ctr_crypt(&c, b, len);
	assert_memory_equal(a, b, KUZ_ACPKM_SECTION);
	assert_memory_not_equal(
	    a + KUZ_ACPKM_SECTION, b + KUZ_ACPKM_SECTION, KUZ_BLOCK);
	memset(b, 0, len);
	kuz_ctr_init(&c, key, iv, KUZ_ACPKM_SECTION);
	kuz_ctr_crypt(&c, b, len);
	assert_memory_equal(a, b, len);
	free(a);
	free(b);
}

/* kuz_ctr and kuz_omac equal GnuTLS for random keys, IVs and chunkings. */
static void
test_gnutls_cross(void **state)
{
	unsigned char key[32], mkey[32], iv[16] = {0};
	unsigned char t1[16], t2[16];
	unsigned char *pt, *ref, *out;
	struct kuz_ctr c;
	struct kuz_omac m;
	size_t li, off, n;
	int round;

	(void)state;
	for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
		for (round = 0; round < 3; round++) {
			size_t len = lens[li];

			pt = xmalloc(len + 1);
			ref = xmalloc(len + 1);
			out = xmalloc(len + 1);
			rnd_fill(key, sizeof key);
			rnd_fill(mkey, sizeof mkey);
			rnd_fill(iv, 8);
			rnd_fill(pt, len);
			memcpy(ref, pt, len);
			gnutls_ctr(key, iv, ref, len);
			gnutls_omac(mkey, ref, len, t1);

			/* one call */
			memcpy(out, pt, len);
			kuz_ctr_init(&c, key, iv, KUZ_ACPKM_SECTION);
			kuz_ctr_crypt(&c, out, len);
			assert_memory_equal(out, ref, len);
			kuz_omac_init(&m, mkey);
			kuz_omac_update(&m, out, len);
			kuz_omac_final(&m, t2);
			assert_memory_equal(t1, t2, 16);

			/* random chunks, CTR and OMAC chunked differently */
			memcpy(out, pt, len);
			kuz_ctr_init(&c, key, iv, KUZ_ACPKM_SECTION);
			for (off = 0; off < len; off += n) {
				n = rnd_chunk(len - off);
				kuz_ctr_crypt(&c, out + off, n);
			}
			kuz_ctr_crypt(&c, out + len, 0);
			assert_memory_equal(out, ref, len);
			kuz_omac_init(&m, mkey);
			for (off = 0; off < len; off += n) {
				n = rnd_chunk(len - off);
				kuz_omac_update(&m, out + off, n);
				if (rnd64() % 8 == 0)
					kuz_omac_update(&m, out, 0);
			}
			kuz_omac_final(&m, t2);
			assert_memory_equal(t1, t2, 16);

			/* decryption is the same keystream */
			kuz_ctr_init(&c, key, iv, KUZ_ACPKM_SECTION);
			kuz_ctr_crypt(&c, out, len);
			assert_memory_equal(out, pt, len);
			free(pt);
			free(ref);
			free(out);
		}
	}
	kuz_wipe(&c, sizeof c);
	kuz_wipe(&m, sizeof m);
}

/*
 * kuz_ctr_omac equals kuz_ctr_crypt then kuz_omac_update (encrypting) and
 * the reverse (decrypting), and so GnuTLS, for random lengths, chunkings
 * and OMAC prefixes (the envelope's is the 8-byte IV).
 */
static void
test_ctr_omac_cross(void **state)
{
	unsigned char key[32], mkey[32], iv[16] = {0}, pre[40];
	unsigned char t1[16], t2[16];
	unsigned char *pt, *ref, *out, *mac;
	struct kuz_ctr c;
	struct kuz_omac m;
	size_t li, off, n, plen;
	int round, dec;

	(void)state;
	for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
		for (round = 0; round < 6; round++) {
			size_t len = lens[li];

			plen = round == 0 ? 8 : rnd64() % sizeof pre;
			pt = xmalloc(len + 1);
			ref = xmalloc(len + 1);
			out = xmalloc(len + 1);
			mac = xmalloc(len + sizeof pre);
			rnd_fill(key, sizeof key);
			rnd_fill(mkey, sizeof mkey);
			rnd_fill(iv, 8);
			rnd_fill(pre, sizeof pre);
			rnd_fill(pt, len);
			memcpy(ref, pt, len);
			gnutls_ctr(key, iv, ref, len);
			memcpy(mac, pre, plen);
			memcpy(mac + plen, ref, len);
			gnutls_omac(mkey, mac, plen + len, t1);

			for (dec = 0; dec <= 1; dec++) {
				memcpy(out, dec ? ref : pt, len);
				kuz_ctr_init(&c, key, iv, KUZ_ACPKM_SECTION);
				kuz_omac_init(&m, mkey);
				kuz_omac_update(&m, pre, plen);
				for (off = 0; off < len; off += n) {
					n = round < 2 ? len - off
					              : rnd_chunk(len - off);
					kuz_ctr_omac(&c, &m, out + off, n, dec);
				}
				kuz_ctr_omac(&c, &m, out + len, 0, dec);
				kuz_omac_final(&m, t2);
				assert_memory_equal(out, dec ? pt : ref, len);
				assert_memory_equal(t1, t2, 16);
			}
			free(pt);
			free(ref);
			free(out);
			free(mac);
		}
	}
	kuz_wipe(&c, sizeof c);
	kuz_wipe(&m, sizeof m);
}

/*
 * kex_stream (now on kuz) equals GnuTLS: CTR-ACPKM under cek[0..31],
 * OMAC under cek[32..63] over iv || ciphertext, whole blocks until last.
 */
static void
test_kex_stream_cross(void **state)
{
	unsigned char cek[KEX_CEK_LEN], iv[KEX_IV_LEN], t1[16], t2[16];
	unsigned char *pt, *ref, *out, *mac;
	struct kex_stream *s;
	size_t li, in, done, have, n;

	(void)state;
	for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
		size_t len = lens[li];

		pt = xmalloc(len + 1);
		ref = xmalloc(len + 1);
		out = xmalloc(len + 1);
		mac = xmalloc(len + KEX_IV_LEN);
		rnd_fill(cek, sizeof cek);
		rnd_fill(iv, sizeof iv);
		rnd_fill(pt, len);
		memcpy(ref, pt, len);
		gnutls_ctr(cek, iv, ref, len);
		memcpy(mac, iv, KEX_IV_LEN);
		memcpy(mac + KEX_IV_LEN, ref, len);
		gnutls_omac(cek + KEX_KEY_LEN, mac, len + KEX_IV_LEN, t1);

		/* the way envelope.c calls it: a buffer kept across reads */
		memcpy(out, pt, len);
		s = kex_stream_new(cek, iv);
		done = 0;
		in = 0;
		do {
			n = rnd_chunk(len - in + 1);
			in += n <= len - in ? n : len - in;
			have = in - done;
			n = kex_stream_encrypt(s, out + done, have, in == len);
			assert_true(n <= have);
			assert_true(in == len ? n == have : n % 16 == 0);
			done += n;
		} while (in < len);
		assert_int_equal(done, len);
		kex_stream_tag(s, t2);
		kex_stream_free(s);
		assert_memory_equal(out, ref, len);
		assert_memory_equal(t1, t2, 16);

		s = kex_stream_new(cek, iv);
		assert_int_equal(kex_stream_decrypt(s, out, len, 1), len);
		kex_stream_tag(s, t2);
		kex_stream_free(s);
		assert_memory_equal(out, pt, len);
		assert_memory_equal(t1, t2, 16);
		free(pt);
		free(ref);
		free(out);
		free(mac);
	}
}

/* KExp15/KImp15 through kuz equal the same construction through GnuTLS. */
static void
test_wrap_cross(void **state)
{
	unsigned char kenc[32], kmac[32], iv[8], cek[KEX_CEK_LEN];
	unsigned char w[KEX_WRAPPED_LEN], ref[KEX_WRAPPED_LEN], back[64];
	unsigned char mac[KEX_IV_LEN + KEX_CEK_LEN];
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		rnd_fill(kenc, sizeof kenc);
		rnd_fill(kmac, sizeof kmac);
		rnd_fill(iv, sizeof iv);
		rnd_fill(cek, sizeof cek);
		memcpy(mac, iv, KEX_IV_LEN);
		memcpy(mac + KEX_IV_LEN, cek, KEX_CEK_LEN);
		memcpy(ref, cek, KEX_CEK_LEN);
		gnutls_omac(kmac, mac, sizeof mac, ref + KEX_CEK_LEN);
		gnutls_ctr(kenc, iv, ref, sizeof ref);
		kex_wrap(kenc, kmac, iv, cek, w);
		assert_memory_equal(w, ref, sizeof w);
		assert_int_equal(kex_unwrap(kenc, kmac, iv, w, back), 0);
		assert_memory_equal(back, cek, sizeof back);
		w[i % sizeof w] ^= 1;
		assert_int_equal(kex_unwrap(kenc, kmac, iv, w, back), -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_block_vector),
	    cmocka_unit_test(test_ctr_vector),
	    cmocka_unit_test(test_acpkm_vector),
	    cmocka_unit_test(test_omac_vector),
	    cmocka_unit_test(test_section_size),
	    cmocka_unit_test(test_gnutls_cross),
	    cmocka_unit_test(test_ctr_omac_cross),
	    cmocka_unit_test(test_kex_stream_cross),
	    cmocka_unit_test(test_wrap_cross),
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
