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
#define KUZ_BE64(x) (x)
#else
#define KUZ_BYTE(w, j) ((size_t)((w) >> (8 * (j))) & 0xff)
#define KUZ_BE64(x) kuz_bswap64(x)
#endif

/* The hot helpers are inlined whatever the compiler would rather do. */
#if defined(__GNUC__)
#define KUZ_INLINE static inline __attribute__((always_inline))
#else
#define KUZ_INLINE static inline
#endif

/*
 * A block as two 64-bit words in memory order: one 128-bit vector where
 * the compiler has them (an SSE2/NEON load and XOR per table entry), two
 * words otherwise (or with -DKUZ_PORTABLE, to test that code).
 */
#if defined(__GNUC__) && !defined(KUZ_PORTABLE)
typedef uint64_t kuz_blk __attribute__((vector_size(16)));
#define KUZ_W0(v) ((v)[0])
#define KUZ_W1(v) ((v)[1])
#define KUZ_XOR(a, b) ((a) ^ (b))
#define KUZ_MAKE(w0, w1) ((kuz_blk){(w0), (w1)})
#else
typedef struct {
	uint64_t w[2];
} kuz_blk;
#define KUZ_W0(v) ((v).w[0])
#define KUZ_W1(v) ((v).w[1])
#define KUZ_XOR(a, b) kuz_xor((a), (b))
#define KUZ_MAKE(w0, w1) ((kuz_blk){{(w0), (w1)}})

/* a ^ b for the two-word block. */
static inline kuz_blk
kuz_xor(kuz_blk a, kuz_blk b)
{
	return KUZ_MAKE(a.w[0] ^ b.w[0], a.w[1] ^ b.w[1]);
}
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

static kuz_blk kuz_tab[16][256];
static uint64_t kuz_c[32][2];
static pthread_once_t kuz_once = PTHREAD_ONCE_INIT;

static void *(*volatile kuz_memset)(void *, int, size_t) = memset;

/* x with its bytes reversed. */
static inline uint64_t
kuz_bswap64(uint64_t x)
{
#if defined(__GNUC__)
	return __builtin_bswap64(x);
#else
	x = (x >> 32) | (x << 32);
	x = ((x & 0xffff0000ffff0000ULL) >> 16) |
	    ((x & 0x0000ffff0000ffffULL) << 16);
	return ((x & 0xff00ff00ff00ff00ULL) >> 8) |
	       ((x & 0x00ff00ff00ff00ffULL) << 8);
#endif
}

/* Load 16 bytes as a block. */
KUZ_INLINE kuz_blk
kuz_load(const void *p)
{
	kuz_blk x;

	memcpy(&x, p, sizeof x);
	return x;
}

/* Store a block as 16 bytes. */
KUZ_INLINE void
kuz_store(void *p, kuz_blk x)
{
	memcpy(p, &x, sizeof x);
}

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
			memcpy(&kuz_tab[i][b], v, sizeof v);
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

/* T[i][byte j of word w]. */
#define KUZ_T(i, w, j) kuz_tab[i][KUZ_BYTE(w, j)]

/* LS of the block x: 16 table entries XORed as a tree. */
KUZ_INLINE kuz_blk
kuz_ls(kuz_blk x)
{
	uint64_t a = KUZ_W0(x), b = KUZ_W1(x);
	kuz_blk r0, r1, r2, r3, r4, r5, r6, r7;

	r0 = KUZ_XOR(KUZ_T(0, a, 0), KUZ_T(1, a, 1));
	r1 = KUZ_XOR(KUZ_T(2, a, 2), KUZ_T(3, a, 3));
	r2 = KUZ_XOR(KUZ_T(4, a, 4), KUZ_T(5, a, 5));
	r3 = KUZ_XOR(KUZ_T(6, a, 6), KUZ_T(7, a, 7));
	r4 = KUZ_XOR(KUZ_T(8, b, 0), KUZ_T(9, b, 1));
	r5 = KUZ_XOR(KUZ_T(10, b, 2), KUZ_T(11, b, 3));
	r6 = KUZ_XOR(KUZ_T(12, b, 4), KUZ_T(13, b, 5));
	r7 = KUZ_XOR(KUZ_T(14, b, 6), KUZ_T(15, b, 7));
	return KUZ_XOR(KUZ_XOR(KUZ_XOR(r0, r1), KUZ_XOR(r2, r3)),
	    KUZ_XOR(KUZ_XOR(r4, r5), KUZ_XOR(r6, r7)));
}

/* Encrypt the block x. */
KUZ_INLINE kuz_blk
kuz_enc(const struct kuz_key *k, kuz_blk x)
{
	int r;

	for (r = 0; r < 9; r++)
		x = kuz_ls(KUZ_XOR(x, kuz_load(k->rk[r])));
	return KUZ_XOR(x, kuz_load(k->rk[9]));
}

/* Encrypt two blocks under the same key, their rounds interleaved. */
KUZ_INLINE void
kuz_enc2(const struct kuz_key *k, kuz_blk *x, kuz_blk *y)
{
	kuz_blk a = *x, b = *y, rk;
	int r;

	for (r = 0; r < 9; r++) {
		rk = kuz_load(k->rk[r]);
		a = kuz_ls(KUZ_XOR(a, rk));
		b = kuz_ls(KUZ_XOR(b, rk));
	}
	rk = kuz_load(k->rk[9]);
	*x = KUZ_XOR(a, rk);
	*y = KUZ_XOR(b, rk);
}

/* Encrypt x under ka and y under kb, their rounds interleaved. */
KUZ_INLINE void
kuz_enc2k(
    const struct kuz_key *ka, kuz_blk *x, const struct kuz_key *kb, kuz_blk *y)
{
	kuz_blk a = *x, b = *y;
	int r;

	for (r = 0; r < 9; r++) {
		a = kuz_ls(KUZ_XOR(a, kuz_load(ka->rk[r])));
		b = kuz_ls(KUZ_XOR(b, kuz_load(kb->rk[r])));
	}
	*x = KUZ_XOR(a, kuz_load(ka->rk[9]));
	*y = KUZ_XOR(b, kuz_load(kb->rk[9]));
}

/* Expand a 256-bit key into the round keys K1..K10. */
void
kuz_key_init(struct kuz_key *k, const unsigned char *key)
{
	kuz_blk a1, a0, t;
	int i, j;

	kuz_tables();
	a1 = kuz_load(key);
	a0 = kuz_load(key + KUZ_BLOCK);
	kuz_store(k->rk[0], a1);
	kuz_store(k->rk[1], a0);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 8; j++) {
			t = kuz_ls(KUZ_XOR(a1, kuz_load(kuz_c[8 * i + j])));
			t = KUZ_XOR(t, a0);
			a0 = a1;
			a1 = t;
		}
		kuz_store(k->rk[2 * i + 2], a1);
		kuz_store(k->rk[2 * i + 3], a0);
	}
	kuz_wipe(&a1, sizeof a1);
	kuz_wipe(&a0, sizeof a0);
	kuz_wipe(&t, sizeof t);
}

/* Encrypt one 16-byte block; in and out may be the same. */
void
kuz_encrypt_block(
    const struct kuz_key *k, const unsigned char *in, unsigned char *out)
{
	kuz_store(out, kuz_enc(k, kuz_load(in)));
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
	uint64_t w[2];

	if (section % KUZ_BLOCK != 0)
		fatalx("ACPKM section of %zu bytes", section);
	kuz_key_init(&c->key, key);
	memcpy(w, iv, KUZ_BLOCK);
	c->ctrhi = KUZ_BE64(w[0]);
	c->ctrlo = KUZ_BE64(w[1]);
	c->ksoff = KUZ_BLOCK;
	c->section = section;
	c->secoff = 0;
}

/* ACPKM: the next section's key if the current section is used up. */
static inline void
kuz_ctr_section(struct kuz_ctr *c)
{
	unsigned char nk[KUZ_KEY_LEN];

	if (c->section == 0 || c->secoff != c->section)
		return;
	kuz_encrypt_block(&c->key, kuz_acpkm_d, nk);
	kuz_encrypt_block(&c->key, kuz_acpkm_d + KUZ_BLOCK, nk + KUZ_BLOCK);
	kuz_key_init(&c->key, nk);
	kuz_wipe(nk, sizeof nk);
	c->secoff = 0;
}

/* The current counter block; steps the counter (mod 2^128). */
KUZ_INLINE kuz_blk
kuz_ctr_step(struct kuz_ctr *c)
{
	kuz_blk x = KUZ_MAKE(KUZ_BE64(c->ctrhi), KUZ_BE64(c->ctrlo));

	if (++c->ctrlo == 0)
		c->ctrhi++;
	c->secoff += KUZ_BLOCK;
	return x;
}

/* XOR the keystream into len bytes of buf, in place, any chunking. */
void
kuz_ctr_crypt(struct kuz_ctr *c, unsigned char *buf, size_t len)
{
	kuz_blk x, y;

	while (len > 0 && c->ksoff < KUZ_BLOCK) {
		*buf++ ^= c->ks[c->ksoff++];
		len--;
	}
	while (len >= KUZ_BLOCK) {
		kuz_ctr_section(c);
		if (len >= 2 * KUZ_BLOCK &&
		    (c->section == 0 ||
		        c->section - c->secoff >= 2 * KUZ_BLOCK)) {
			x = kuz_ctr_step(c);
			y = kuz_ctr_step(c);
			kuz_enc2(&c->key, &x, &y);
			kuz_store(buf, KUZ_XOR(kuz_load(buf), x));
			kuz_store(buf + KUZ_BLOCK,
			    KUZ_XOR(kuz_load(buf + KUZ_BLOCK), y));
			buf += 2 * KUZ_BLOCK;
			len -= 2 * KUZ_BLOCK;
		} else {
			x = kuz_enc(&c->key, kuz_ctr_step(c));
			kuz_store(buf, KUZ_XOR(kuz_load(buf), x));
			buf += KUZ_BLOCK;
			len -= KUZ_BLOCK;
		}
	}
	if (len > 0) {
		kuz_ctr_section(c);
		kuz_store(c->ks, kuz_enc(&c->key, kuz_ctr_step(c)));
		for (c->ksoff = 0; c->ksoff < len; c->ksoff++)
			buf[c->ksoff] ^= c->ks[c->ksoff];
	}
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
	unsigned char r[KUZ_BLOCK] = {0};

	kuz_key_init(&m->key, key);
	kuz_encrypt_block(&m->key, r, r);
	kuz_omac_double(r, m->k1);
	kuz_omac_double(m->k1, m->k2);
	memset(m->c, 0, sizeof m->c);
	m->n = 0;
	kuz_wipe(r, sizeof r);
}

/* Feed len bytes to the OMAC; any chunking gives the same tag. */
void
kuz_omac_update(struct kuz_omac *m, const unsigned char *p, size_t len)
{
	kuz_blk c;
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
	c = kuz_enc(&m->key, KUZ_XOR(kuz_load(m->c), kuz_load(m->buf)));
	while (len > KUZ_BLOCK) {
		c = kuz_enc(&m->key, KUZ_XOR(c, kuz_load(p)));
		p += KUZ_BLOCK;
		len -= KUZ_BLOCK;
	}
	kuz_store(m->c, c);
	memcpy(m->buf, p, len);
	m->n = len;
}

/* The 16-byte tag over everything fed so far; m is left as it was. */
void
kuz_omac_final(const struct kuz_omac *m, unsigned char *tag)
{
	unsigned char last[KUZ_BLOCK] = {0};
	kuz_blk x;

	if (m->n > KUZ_BLOCK)
		fatalx("OMAC holds %zu bytes", m->n);
	memcpy(last, m->buf, m->n);
	if (m->n == KUZ_BLOCK)
		x = KUZ_XOR(kuz_load(last), kuz_load(m->k1));
	else {
		last[m->n] = 0x80;
		x = KUZ_XOR(kuz_load(last), kuz_load(m->k2));
	}
	x = kuz_enc(&m->key, KUZ_XOR(x, kuz_load(m->c)));
	kuz_store(tag, x);
	kuz_wipe(&x, sizeof x);
	kuz_wipe(last, sizeof last);
}

/*
 * CTR and OMAC in one pass over buf, in place: encrypting (dec 0), the
 * OMAC takes the output, as kuz_ctr_crypt then kuz_omac_update would;
 * decrypting, the input, as kuz_omac_update then kuz_ctr_crypt would. A
 * keystream block and an OMAC block are computed together, so that the
 * two chains of table lookups overlap.
 */
void
kuz_ctr_omac(struct kuz_ctr *c, struct kuz_omac *m, unsigned char *buf,
    size_t len, int dec)
{
	unsigned char blk[KUZ_BLOCK];
	unsigned char *end, *q;
	size_t r, avail;
	kuz_blk x, y, mc;

	if (len == 0)
		return;
	end = buf + len;
	/* the rest of a keystream block begun before */
	r = c->ksoff < KUZ_BLOCK ? KUZ_BLOCK - c->ksoff : 0;
	r = r < len ? r : len;
	if (dec)
		kuz_omac_update(m, buf, r);
	kuz_ctr_crypt(c, buf, r);
	if (!dec)
		kuz_omac_update(m, buf, r);
	buf += r;
	/*
	 * The OMAC has taken [.., q): decrypting, it stays at least a block
	 * ahead of the CTR, so that it reads each block before the CTR
	 * overwrites it; encrypting, it follows the CTR's output.
	 */
	q = buf;
	if (dec) {
		r = (size_t)(end - buf) < KUZ_BLOCK ? (size_t)(end - buf)
		                                    : KUZ_BLOCK;
		kuz_omac_update(m, buf, r);
		q = buf + r;
	}
	mc = kuz_load(m->c);
	while (end - buf >= KUZ_BLOCK) {
		avail = m->n + (size_t)(dec ? end - q : buf - q);
		if (dec && avail <= KUZ_BLOCK)
			break; /* the OMAC's last block: done below */
		kuz_ctr_section(c);
		x = kuz_ctr_step(c);
		if (avail > KUZ_BLOCK) {
			if (m->n == 0) {
				y = kuz_load(q);
				q += KUZ_BLOCK;
			} else {
				memcpy(blk, m->buf, m->n);
				memcpy(blk + m->n, q, KUZ_BLOCK - m->n);
				q += KUZ_BLOCK - m->n;
				m->n = 0;
				y = kuz_load(blk);
			}
			y = KUZ_XOR(y, mc);
			kuz_enc2k(&c->key, &x, &m->key, &y);
			mc = y;
		} else
			x = kuz_enc(&c->key, x);
		kuz_store(buf, KUZ_XOR(kuz_load(buf), x));
		buf += KUZ_BLOCK;
	}
	kuz_store(m->c, mc);
	if (dec)
		kuz_omac_update(m, q, (size_t)(end - q));
	kuz_ctr_crypt(c, buf, (size_t)(end - buf));
	if (!dec)
		kuz_omac_update(m, q, (size_t)(end - q));
	kuz_wipe(&x, sizeof x);
}
