/*
 * kex.h: GOST key agreement and symmetric primitives for envelopes
 * (formats/envelope.md): VKO GOST R 34.10-2012 through nettle, the
 * KDF of R 50.1.113-2016, Kuznyechik CTR-ACPKM and OMAC (formats/kuz.c),
 * and the KExp15/KImp15 key export of R 1323565.1.017-2018.
 */
#ifndef POSGW_KEX_H
#define POSGW_KEX_H

#include <stddef.h>

#include "error.h"

#define KEX_KEY_LEN 32    /* Kuznyechik and OMAC keys, the KEK */
#define KEX_UKM_LEN 16    /* user keying material per envelope */
#define KEX_IV_LEN 8      /* CTR-ACPKM and KExp15 IV: half a block */
#define KEX_TAG_LEN 16    /* Kuznyechik OMAC */
#define KEX_POINT_MAX 128 /* x || y of a 512-bit point */
#define KEX_CEK_LEN 64    /* content key: encryption || MAC key */
#define KEX_WRAPPED_LEN (KEX_CEK_LEN + KEX_TAG_LEN)

/* A private key-agreement key with its certificate's fingerprint. */
struct kex_key;
/* A recipient's public key-agreement key, from a certificate. */
struct kex_pub;
/* Kuznyechik CTR-ACPKM with OMAC over what it produces. */
struct kex_stream;

struct kex_key *kex_key_load(const char *, const char *, struct error *);
const char *kex_key_fingerprint(const struct kex_key *);
const char *kex_key_curve(const struct kex_key *);
void kex_key_free(struct kex_key *);

struct kex_pub *kex_pub_load(const char *, const char *, struct error *);
const char *kex_pub_fingerprint(const struct kex_pub *);
const char *kex_pub_cn(const struct kex_pub *);
const char *kex_pub_curve(const struct kex_pub *);
void kex_pub_free(struct kex_pub *);
int kex_curve_known(const char *);

int kex_ephemeral(const struct kex_pub *, const unsigned char *,
    unsigned char *, size_t *, unsigned char *, struct error *);
int kex_agree(const struct kex_key *, const unsigned char *, size_t,
    const unsigned char *, unsigned char *, struct error *);
void kex_kdf(const unsigned char *, const char *, const unsigned char *, size_t,
    unsigned char *);
void kex_wrap(const unsigned char *, const unsigned char *,
    const unsigned char *, const unsigned char *, unsigned char *);
int kex_unwrap(const unsigned char *, const unsigned char *,
    const unsigned char *, const unsigned char *, unsigned char *);

struct kex_stream *kex_stream_new(const unsigned char *, const unsigned char *);
size_t kex_stream_encrypt(struct kex_stream *, unsigned char *, size_t, int);
size_t kex_stream_decrypt(struct kex_stream *, unsigned char *, size_t, int);
void kex_stream_tag(struct kex_stream *, unsigned char *);
void kex_stream_free(struct kex_stream *);
void kex_random(unsigned char *, size_t);

#endif
