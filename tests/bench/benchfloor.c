/*
 * benchfloor: the hardware floor the benchmark compares posgw with.
 *
 *	benchfloor hash streebog256|sha256 FILE...
 *		hash every file on its own with the digest code posgw uses
 *		(GnuTLS/nettle), 1 MiB reads; prints "<bytes> <seconds>"
 *	benchfloor fsync DIR N
 *		N times: overwrite 4 KiB of one file in DIR and fsync it
 *		(one durable write per package); prints "<N> <seconds>"
 *	benchfloor encrypt FILE...
 *		encrypt every file with the envelope's Kuznyechik CTR-ACPKM
 *		and OMAC (formats/kex.c over formats/kuz.c, the code posgw
 *		uses), 1 MiB reads, the output dropped; prints
 *		"<bytes> <seconds>"
 *	benchfloor encrypt-gnutls FILE...
 *		the same pass through GnuTLS's KUZNYECHIK_CTR_ACPKM and
 *		KUZNYECHIK_OMAC (what posgw used before formats/kuz.c), for
 *		comparison
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "digest.h"
#include "kex.h"

/* Seconds on the monotonic clock. */
static double
benchfloor_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hash each file; print total bytes and seconds. */
static int
benchfloor_hash(const char *alg, char **files, int n)
{
	static unsigned char buf[1 << 20];
	char hex[DIGEST_HEX_LEN + 1];
	unsigned long long total = 0;
	enum digest_alg a;
	struct digest d;
	double t0;
	ssize_t r;
	int i, fd;

	if (digest_alg_from_name(alg, &a) == -1) {
		fprintf(stderr, "benchfloor: unknown digest '%s'\n", alg);
		return 2;
	}
	t0 = benchfloor_now();
	for (i = 0; i < n; i++) {
		if ((fd = open(files[i], O_RDONLY)) == -1) {
			fprintf(stderr, "benchfloor: cannot open %s: %s\n",
			    files[i], strerror(errno));
			return 1;
		}
		digest_init(&d, a);
		while ((r = read(fd, buf, sizeof buf)) > 0) {
			digest_update(&d, buf, (size_t)r);
			total += (unsigned long long)r;
		}
		if (r == -1) {
			fprintf(stderr, "benchfloor: cannot read %s: %s\n",
			    files[i], strerror(errno));
			close(fd);
			return 1;
		}
		digest_final_hex(&d, hex);
		close(fd);
	}
	printf("%llu %.3f\n", total, benchfloor_now() - t0);
	return 0;
}

/* GnuTLS's CTR-ACPKM and OMAC, as kex_stream_new once did. */
static void
benchfloor_gnutls_new(const unsigned char *cek, const unsigned char *iv,
    gnutls_cipher_hd_t *c, gnutls_hmac_hd_t *m)
{
	unsigned char ivb[16] = {0};
	gnutls_datum_t k = {(unsigned char *)(uintptr_t)cek, KEX_KEY_LEN};
	gnutls_datum_t v = {ivb, sizeof ivb};

	memcpy(ivb, iv, KEX_IV_LEN);
	if (gnutls_cipher_init(c, GNUTLS_CIPHER_KUZNYECHIK_CTR_ACPKM, &k, &v) <
	        0 ||
	    gnutls_hmac_init(m, GNUTLS_MAC_KUZNYECHIK_OMAC, cek + KEX_KEY_LEN,
	        KEX_KEY_LEN) < 0) {
		fprintf(stderr, "benchfloor: no Kuznyechik in this GnuTLS\n");
		exit(1);
	}
	gnutls_hmac(*m, iv, KEX_IV_LEN);
}

/*
 * One Kuznyechik CTR-ACPKM + OMAC pass over each file, through posgw's
 * code or (gnutls) GnuTLS's; bytes and seconds.
 */
static int
benchfloor_encrypt(char **files, int n, int gnutls)
{
	gnutls_cipher_hd_t gc = NULL;
	gnutls_hmac_hd_t gm = NULL;
	static unsigned char buf[1 << 20];
	unsigned char cek[KEX_CEK_LEN], iv[KEX_IV_LEN], tag[KEX_TAG_LEN];
	unsigned long long total = 0;
	struct kex_stream *s = NULL;
	double t0;
	ssize_t r;
	int i, fd;

	kex_random(cek, sizeof cek);
	kex_random(iv, sizeof iv);
	t0 = benchfloor_now();
	for (i = 0; i < n; i++) {
		if ((fd = open(files[i], O_RDONLY)) == -1) {
			fprintf(stderr, "benchfloor: cannot open %s: %s\n",
			    files[i], strerror(errno));
			return 1;
		}
		if (gnutls)
			benchfloor_gnutls_new(cek, iv, &gc, &gm);
		else
			s = kex_stream_new(cek, iv);
		while ((r = read(fd, buf, sizeof buf)) > 0) {
			if (!gnutls)
				kex_stream_encrypt(s, buf, (size_t)r, 1);
			else if (gnutls_cipher_encrypt(gc, buf, (size_t)r) <
			             0 ||
			         gnutls_hmac(gm, buf, (size_t)r) < 0) {
				fprintf(stderr, "benchfloor: GnuTLS failed\n");
				return 1;
			}
			total += (unsigned long long)r;
		}
		if (gnutls) {
			gnutls_cipher_deinit(gc);
			gnutls_hmac_deinit(gm, tag);
		} else {
			kex_stream_tag(s, tag);
			kex_stream_free(s);
		}
		close(fd);
		if (r == -1) {
			fprintf(stderr, "benchfloor: cannot read %s: %s\n",
			    files[i], strerror(errno));
			return 1;
		}
	}
	printf("%llu %.3f\n", total, benchfloor_now() - t0);
	return 0;
}

/* n durable 4 KiB writes to one file in dir; print n and seconds. */
static int
benchfloor_fsync(const char *dir, long n)
{
	char path[4096], buf[4096];
	double t0;
	long i;
	int fd;

	memset(buf, 'x', sizeof buf);
	snprintf(path, sizeof path, "%s/benchfloor.fsync", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		fprintf(stderr, "benchfloor: cannot create %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	t0 = benchfloor_now();
	for (i = 0; i < n; i++) {
		if (pwrite(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf ||
		    fsync(fd) == -1) {
			fprintf(stderr, "benchfloor: cannot write %s: %s\n",
			    path, strerror(errno));
			close(fd);
			return 1;
		}
	}
	printf("%ld %.3f\n", n, benchfloor_now() - t0);
	close(fd);
	unlink(path);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "hash") == 0)
		return benchfloor_hash(argv[2], argv + 3, argc - 3);
	if (argc == 4 && strcmp(argv[1], "fsync") == 0)
		return benchfloor_fsync(argv[2], strtol(argv[3], NULL, 10));
	if (argc >= 3 && strcmp(argv[1], "encrypt") == 0)
		return benchfloor_encrypt(argv + 2, argc - 2, 0);
	if (argc >= 3 && strcmp(argv[1], "encrypt-gnutls") == 0)
		return benchfloor_encrypt(argv + 2, argc - 2, 1);
	fprintf(stderr, "usage: benchfloor hash ALG FILE... | fsync DIR N | "
	                "encrypt FILE... | encrypt-gnutls FILE...\n");
	return 2;
}
