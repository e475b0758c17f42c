/* sig.h: detached CMS signatures over manifests, and the peer trust list. */
#ifndef POSGW_SIG_H
#define POSGW_SIG_H

#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "error.h"

/* Signature algorithms a receiver may allow (package.md section 5). */
#define SIG_ALLOW_GOST256 0x1u
#define SIG_ALLOW_GOST512 0x2u
#define SIG_ALLOW_ECDSA 0x4u
#define SIG_ALLOW_ED25519 0x8u
#define SIG_ALLOW_ALL 0xfu

struct signer;
struct trust;

struct sig_info {
	char signer[65];      /* subject CN */
	char fingerprint[65]; /* SHA-256 of the certificate DER, hex */
	char algorithm[32];   /* gost256, gost512, ecdsa, ed25519 */
	time_t signing_time;
};

void sig_init(void);
struct signer *signer_load(const char *, const char *, struct error *);
const char *signer_id(const struct signer *);
int signer_sign(
    struct signer *, const void *, size_t, gnutls_datum_t *, struct error *);
void signer_free(struct signer *);

struct trust *trust_new(void);
int trust_add_file(struct trust *, const char *, struct error *);
size_t trust_count(const struct trust *);
int trust_add_crl_file(struct trust *, const char *, struct error *);
void trust_set_crl_strict(struct trust *, int);
int trust_crl_signed(const struct trust *, gnutls_x509_crl_t);
int crl_load_file(
    const char *, gnutls_x509_crl_t **, unsigned *, struct error *);
int trust_check_cert(struct trust *, gnutls_x509_crt_t, time_t, struct error *);
void trust_free(struct trust *);

int sig_verify_named(const char *, const char *, struct trust *, const void *,
    size_t, const void *, size_t, const char *, time_t, unsigned,
    struct sig_info *, struct error *);
int sig_verify(struct trust *, const void *, size_t, const void *, size_t,
    const char *, time_t, unsigned, struct sig_info *, struct error *);
int sig_alg_from_name(const char *, unsigned *);

int key_load_file(const char *, gnutls_privkey_t *, struct error *);
int key_matches_cert(gnutls_privkey_t, gnutls_x509_crt_t);
gnutls_digest_algorithm_t sig_digest_for(gnutls_pk_algorithm_t);
int cert_load_file(
    const char *, gnutls_x509_crt_t **, unsigned *, struct error *);
int cert_cn(gnutls_x509_crt_t, char *, size_t);
int cert_fingerprint(gnutls_x509_crt_t, gnutls_digest_algorithm_t, char *);

#endif
