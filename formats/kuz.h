/*
 * kuz.h: Kuznyechik (GOST R 34.12-2015, 128-bit block), encryption only:
 * the block cipher through precomputed LS tables, CTR and CTR-ACPKM
 * (R 1323565.1.017-2018, RFC 8645) and OMAC (GOST R 34.13-2015 MAC).
 */
#ifndef POSGW_KUZ_H
#define POSGW_KUZ_H

#include <stddef.h>
#include <stdint.h>

#define KUZ_BLOCK 16
#define KUZ_KEY_LEN 32
#define KUZ_ACPKM_SECTION 4096 /* GnuTLS's KUZNYECHIK_CTR_ACPKM, bytes */

/* Expanded round keys K1..K10. */
struct kuz_key {
	_Alignas(16) unsigned char rk[10][16];
};

/* CTR(-ACPKM) keystream state; keeps its place across partial blocks. */
struct kuz_ctr {
	struct kuz_key key;
	uint64_t ctrhi, ctrlo;       /* the next counter block */
	unsigned char ks[KUZ_BLOCK]; /* keystream of the current block */
	size_t ksoff;                /* bytes of ks used, KUZ_BLOCK if none */
	size_t section;              /* ACPKM section in bytes, 0 if none */
	size_t secoff;               /* bytes done in the current section */
};

/* OMAC state; the last block seen is held back until more data or final. */
struct kuz_omac {
	struct kuz_key key;
	unsigned char k1[KUZ_BLOCK], k2[KUZ_BLOCK];
	unsigned char c[KUZ_BLOCK];
	unsigned char buf[KUZ_BLOCK];
	size_t n;
};

void kuz_key_init(struct kuz_key *, const unsigned char *);
void kuz_encrypt_block(
    const struct kuz_key *, const unsigned char *, unsigned char *);
void kuz_ctr_init(
    struct kuz_ctr *, const unsigned char *, const unsigned char *, size_t);
void kuz_ctr_crypt(struct kuz_ctr *, unsigned char *, size_t);
void kuz_ctr_omac(
    struct kuz_ctr *, struct kuz_omac *, unsigned char *, size_t, int);
void kuz_omac_init(struct kuz_omac *, const unsigned char *);
void kuz_omac_update(struct kuz_omac *, const unsigned char *, size_t);
void kuz_omac_final(const struct kuz_omac *, unsigned char *);
void kuz_wipe(void *, size_t);

#endif
