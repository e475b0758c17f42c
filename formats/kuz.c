/*
 * kuz.c: Kuznyechik (GOST R 34.12-2015) encryption, table-driven. The
 * round transform LS is linear over GF(2) once S is folded in, so
 * LS(x) = T[0][x0] ^ ... ^ T[15][x15] with T[i][b] = L(pi(b) at byte i):
 * 16 tables of 256 128-bit entries (64 KiB), computed once at first use.
 * Bytes are in the order the standard writes them (a15 first), which is
 * the order GnuTLS and nettle take keys, blocks and counters in.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "kuz.h"
#include "log.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define KUZ_BYTE(w, j) ((size_t)((w) >> (56 - 8 * (j))) & 0xff)
#else
#define KUZ_BYTE(w, j) ((size_t)((w) >> (8 * (j))) & 0xff)
#endif

/* The S-box pi of GOST R 34.12-2015 section 4.1.1. */
static const unsigned char kuz_pi[256] = {252, 238, 221, 17, 207, 110, 49, 22,
    251, 196, 250, 218, 35, 197, 4, 77, 233, 119, 240, 219, 147, 46, 153, 186,
    23, 54, 241, 187, 20, 205, 95, 193, 249, 24, 101, 90, 226, 92, 239, 33, 129,
    28, 60, 66, 139, 1, 142, 79, 5, 132, 2, 174, 227, 106, 143, 160, 6, 11, 237,
    152, 127, 212, 211, 31, 235, 52, 44, 81, 234, 200, 72, 171, 242, 42, 104,
    162, 253, 58, 206, 204, 181, 112, 14, 86, 8, 12, 118, 18, 191, 114, 19, 71,
    156, 183, 93, 135, 21, 161, 150, 41, 16, 123, 154, 199, 243, 145, 120, 111,
    157, 158, 178, 177, 50, 117, 25, 61, 255, 53, 138, 126, 109, 84, 198, 128,
    195, 189, 13, 87, 223, 245, 36, 169, 62, 168, 67, 201, 215, 121, 214, 246,
    124, 34, 185, 3, 224, 15, 236, 222, 122, 148, 176, 188, 220, 232, 40, 80,
    78, 51, 10, 74, 167, 151, 96, 115, 30, 0, 98, 68, 26, 184, 56, 130, 100,
    159, 38, 65, 173, 69, 70, 146, 39, 94, 85, 47, 140, 163, 165, 125, 105, 213,
    149, 59, 7, 88, 179, 64, 134, 172, 29, 247, 48, 55, 107, 228, 136, 217, 231,
    137, 225, 27, 131, 73, 76, 63, 248, 254, 141, 83, 170, 144, 202, 216, 133,
    97, 32, 113, 103, 164, 45, 43, 9, 91, 203, 155, 37, 208, 190, 229, 108, 82,
    89, 166, 116, 210, 230, 244, 180, 192, 209, 102, 175, 194, 57, 75, 99, 182};

/* The coefficients of the linear map l, for a15 (first byte) to a0. */
static const unsigned char kuz_lvec[16] = {
    148, 32, 133, 16, 194, 192, 1, 251, 1, 192, 194, 16, 133, 32, 148, 1};

/* ACPKM's constant D = 0x80 0x81 ... 0x9f (R 1323565.1.017-2018 4.1). */
static const unsigned char kuz_acpkm_d[KUZ_KEY_LEN] = {0x80, 0x81, 0x82, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
    0x9c, 0x9d, 0x9e, 0x9f};

static uint64_t kuz_tab[16][256][2];
static uint64_t kuz_c[32][2];
static pthread_once_t kuz_once = PTHREAD_ONCE_INIT;

static void *(*volatile kuz_memset)(void *, int, size_t) = memset;

/* Clear len bytes of p in a way the compiler cannot drop. */
void
kuz_wipe(void *p, size_t len)
{
	kuz_memset(p, 0, len);
}

/* Multiplication in GF(2^8) modulo x^8 + x^7 + x^6 + x + 1. */
static unsigned char
kuz_mul(unsigned char a, unsigned char b)
{
	unsigned char r = 0;

	while (b != 0) {
		if (b & 1)
			r ^= a;
		a = (unsigned char)((a << 1) ^ ((a & 0x80) ? 0xc3 : 0));
		b >>= 1;
	}
	return r;
}

/* The linear transform L = R^16 on a block, bytewise (table building). */
static void
kuz_l_slow(unsigned char *x)
{
	unsigned char t;
	int r, i;

	for (r = 0; r < 16; r++) {
		t = 0;
		for (i = 0; i < 16; i++)
			t ^= kuz_mul(x[i], kuz_lvec[i]);
		memmove(x + 1, x, 15);
		x[0] = t;
	}
}

/* Build the LS tables and the key schedule's constants C1..C32. */
static void
kuz_tables_init(void)
{
	unsigned char v[KUZ_BLOCK];
	int i, b;

	for (i = 0; i < 16; i++) {
		for (b = 0; b < 256; b++) {
			memset(v, 0, sizeof v);
			v[i] = kuz_pi[b];
			kuz_l_slow(v);
			memcpy(kuz_tab[i][b], v, sizeof v);
		}
	}
	for (i = 0; i < 32; i++) {
		memset(v, 0, sizeof v);
		v[15] = (unsigned char)(i + 1);
		kuz_l_slow(v);
		memcpy(kuz_c[i], v, sizeof v);
	}
}

/* Make sure the tables exist (once per process, thread-safe). */
static void
kuz_tables(void)
{
	if (pthread_once(&kuz_once, kuz_tables_init) != 0)
		fatalx("pthread_once failed");
}

/* LS of the block x (two words in memory order), in place. */
static inline void
kuz_ls(uint64_t *x)
{
	uint64_t a = x[0], b = x[1];
	const uint64_t *t;
	uint64_t r0, r1;

#define KUZ_LOOK(i, w, j)                                                      \
	do {                                                                   \
		t = kuz_tab[i][KUZ_BYTE(w, j)];                                \
		r0 ^= t[0];                                                    \
		r1 ^= t[1];                                                    \
	} while (0)
	t = kuz_tab[0][KUZ_BYTE(a, 0)];
	r0 = t[0];
	r1 = t[1];
	KUZ_LOOK(1, a, 1);
	KUZ_LOOK(2, a, 2);
	KUZ_LOOK(3, a, 3);
	KUZ_LOOK(4, a, 4);
	KUZ_LOOK(5, a, 5);
	KUZ_LOOK(6, a, 6);
	KUZ_LOOK(7, a, 7);
	KUZ_LOOK(8, b, 0);
	KUZ_LOOK(9, b, 1);
	KUZ_LOOK(10, b, 2);
	KUZ_LOOK(11, b, 3);
	KUZ_LOOK(12, b, 4);
	KUZ_LOOK(13, b, 5);
	KUZ_LOOK(14, b, 6);
	KUZ_LOOK(15, b, 7);
#undef KUZ_LOOK
	x[0] = r0;
	x[1] = r1;
}

/* Encrypt the block x (two words in memory order) in place. */
static inline void
kuz_enc(const struct kuz_key *k, uint64_t *x)
{
	int r;

	for (r = 0; r < 9; r++) {
		x[0] ^= k->rk[r][0];
		x[1] ^= k->rk[r][1];
		kuz_ls(x);
	}
	x[0] ^= k->rk[9][0];
	x[1] ^= k->rk[9][1];
}

/* Expand a 256-bit key into the round keys K1..K10. */
void
kuz_key_init(struct kuz_key *k, const unsigned char *key)
{
	uint64_t a1[2], a0[2], t[2];
	int i, j;

	kuz_tables();
	memcpy(a1, key, KUZ_BLOCK);
	memcpy(a0, key + KUZ_BLOCK, KUZ_BLOCK);
	memcpy(k->rk[0], a1, sizeof a1);
	memcpy(k->rk[1], a0, sizeof a0);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 8; j++) {
			t[0] = a1[0] ^ kuz_c[8 * i + j][0];
			t[1] = a1[1] ^ kuz_c[8 * i + j][1];
			kuz_ls(t);
			t[0] ^= a0[0];
			t[1] ^= a0[1];
			a0[0] = a1[0];
			a0[1] = a1[1];
			a1[0] = t[0];
			a1[1] = t[1];
		}
		memcpy(k->rk[2 * i + 2], a1, sizeof a1);
		memcpy(k->rk[2 * i + 3], a0, sizeof a0);
	}
	kuz_wipe(a1, sizeof a1);
	kuz_wipe(a0, sizeof a0);
	kuz_wipe(t, sizeof t);
}

/* Encrypt one 16-byte block; in and out may be the same. */
void
kuz_encrypt_block(
    const struct kuz_key *k, const unsigned char *in, unsigned char *out)
{
	uint64_t x[2];

	memcpy(x, in, KUZ_BLOCK);
	kuz_enc(k, x);
	memcpy(out, x, KUZ_BLOCK);
}

/*
 * CTR with the 16-byte initial counter block iv; with section (bytes, a
 * multiple of the block) CTR-ACPKM, the key of each next section being
 * the first 256 bits of E_K(D1) || E_K(D2) under the section's key.
 */
void
kuz_ctr_init(struct kuz_ctr *c, const unsigned char *key,
    const unsigned char *iv, size_t section)
{
	if (section % KUZ_BLOCK != 0)
		fatalx("ACPKM section of %zu bytes", section);
	kuz_key_init(&c->key, key);
	memcpy(c->ctr, iv, KUZ_BLOCK);
	c->ksoff = KUZ_BLOCK;
	c->section = section;
	c->secoff = 0;
}

/* The next keystream block into x; steps the counter and ACPKM's key. */
static inline void
kuz_ctr_next(struct kuz_ctr *c, uint64_t *x)
{
	unsigned char nk[KUZ_KEY_LEN];
	int i;

	if (c->section != 0 && c->secoff == c->section) {
		kuz_encrypt_block(&c->key, kuz_acpkm_d, nk);
		kuz_encrypt_block(
		    &c->key, kuz_acpkm_d + KUZ_BLOCK, nk + KUZ_BLOCK);
		kuz_key_init(&c->key, nk);
		kuz_wipe(nk, sizeof nk);
		c->secoff = 0;
	}
	memcpy(x, c->ctr, KUZ_BLOCK);
	kuz_enc(&c->key, x);
	for (i = KUZ_BLOCK - 1; i >= 0; i--)
		if (++c->ctr[i] != 0)
			break;
	c->secoff += KUZ_BLOCK;
}

/* XOR the keystream into len bytes of buf, in place, any chunking. */
void
kuz_ctr_crypt(struct kuz_ctr *c, unsigned char *buf, size_t len)
{
	uint64_t x[2], d[2];

	while (len > 0 && c->ksoff < KUZ_BLOCK) {
		*buf++ ^= c->ks[c->ksoff++];
		len--;
	}
	while (len >= KUZ_BLOCK) {
		kuz_ctr_next(c, x);
		memcpy(d, buf, KUZ_BLOCK);
		d[0] ^= x[0];
		d[1] ^= x[1];
		memcpy(buf, d, KUZ_BLOCK);
		buf += KUZ_BLOCK;
		len -= KUZ_BLOCK;
	}
	if (len > 0) {
		kuz_ctr_next(c, x);
		memcpy(c->ks, x, KUZ_BLOCK);
		for (c->ksoff = 0; c->ksoff < len; c->ksoff++)
			buf[c->ksoff] ^= c->ks[c->ksoff];
	}
	kuz_wipe(x, sizeof x);
}

/* The OMAC subkey doubling: shift left by one bit, xor 0x87 on carry. */
static void
kuz_omac_double(const unsigned char *in, unsigned char *out)
{
	unsigned char carry = in[0] >> 7;
	int i;

	for (i = 0; i < KUZ_BLOCK - 1; i++)
		out[i] = (unsigned char)((in[i] << 1) | (in[i + 1] >> 7));
	out[KUZ_BLOCK - 1] = (unsigned char)(in[KUZ_BLOCK - 1] << 1);
	if (carry)
		out[KUZ_BLOCK - 1] ^= 0x87;
}

/* Start an OMAC under a 256-bit key. */
void
kuz_omac_init(struct kuz_omac *m, const unsigned char *key)
{
	unsigned char r[KUZ_BLOCK] = {0}, k1[KUZ_BLOCK], k2[KUZ_BLOCK];

	kuz_key_init(&m->key, key);
	kuz_encrypt_block(&m->key, r, r);
	kuz_omac_double(r, k1);
	kuz_omac_double(k1, k2);
	memcpy(m->k1, k1, sizeof k1);
	memcpy(m->k2, k2, sizeof k2);
	m->c[0] = m->c[1] = 0;
	m->n = 0;
	kuz_wipe(r, sizeof r);
	kuz_wipe(k1, sizeof k1);
	kuz_wipe(k2, sizeof k2);
}

/* Feed len bytes to the OMAC; any chunking gives the same tag. */
void
kuz_omac_update(struct kuz_omac *m, const unsigned char *p, size_t len)
{
	uint64_t d[2];
	size_t take;

	if (len == 0)
		return;
	if (m->n < KUZ_BLOCK) {
		take = KUZ_BLOCK - m->n < len ? KUZ_BLOCK - m->n : len;
		memcpy(m->buf + m->n, p, take);
		m->n += take;
		p += take;
		len -= take;
		if (len == 0)
			return;
	}
	memcpy(d, m->buf, KUZ_BLOCK);
	m->c[0] ^= d[0];
	m->c[1] ^= d[1];
	kuz_enc(&m->key, m->c);
	while (len > KUZ_BLOCK) {
		memcpy(d, p, KUZ_BLOCK);
		m->c[0] ^= d[0];
		m->c[1] ^= d[1];
		kuz_enc(&m->key, m->c);
		p += KUZ_BLOCK;
		len -= KUZ_BLOCK;
	}
	memcpy(m->buf, p, len);
	m->n = len;
}

/* The 16-byte tag over everything fed so far; m is left as it was. */
void
kuz_omac_final(const struct kuz_omac *m, unsigned char *tag)
{
	unsigned char last[KUZ_BLOCK] = {0};
	uint64_t x[2], d[2];

	if (m->n > KUZ_BLOCK)
		fatalx("OMAC holds %zu bytes", m->n);
	memcpy(last, m->buf, m->n);
	memcpy(d, last, KUZ_BLOCK);
	if (m->n == KUZ_BLOCK) {
		x[0] = m->c[0] ^ d[0] ^ m->k1[0];
		x[1] = m->c[1] ^ d[1] ^ m->k1[1];
	} else {
		last[m->n] = 0x80;
		memcpy(d, last, KUZ_BLOCK);
		x[0] = m->c[0] ^ d[0] ^ m->k2[0];
		x[1] = m->c[1] ^ d[1] ^ m->k2[1];
	}
	kuz_enc(&m->key, x);
	memcpy(tag, x, KUZ_BLOCK);
	kuz_wipe(x, sizeof x);
	kuz_wipe(d, sizeof d);
	kuz_wipe(last, sizeof last);
}
