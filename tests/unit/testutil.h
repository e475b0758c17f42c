/*
 * testutil.h: helpers shared by the unit tests. Every function is static so
 * that each test program includes its own copy; unused ones are not warned.
 */
#ifndef POSGW_TESTUTIL_H
#define POSGW_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "fsutil.h"
#include "keys.h"
#include "sig.h"
#include "xmalloc.h"

#ifndef TESTDATA
#error "TESTDATA must be the absolute path of tests/data"
#endif

#define TU_UNUSED __attribute__((unused))

/* Default to the source tree's schemas when not run by the harness. */
static TU_UNUSED void
tu_init(void)
{
	sig_init();
}

/* dir/name in a new string. */
static TU_UNUSED char *
tu_path(const char *dir, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	return p;
}

/* A fresh private directory under $TMPDIR or /tmp. */
static TU_UNUSED char *
tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	xasprintf(&dir, "%s/posgw-unit-XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

/* Remove a directory made by tu_mkdtemp recursively and free its name. */
static TU_UNUSED int
tu_rmdir(char *dir)
{
	int rc;

	if (dir == NULL)
		return 0;
	rc = fs_rmtree(dir);
	free(dir);
	return rc;
}

/* cmocka setup: *state becomes a fresh temporary directory. */
static TU_UNUSED int
tu_setup_tmpdir(void **state)
{
	*state = tu_mkdtemp();
	return 0;
}

/* cmocka teardown: remove the directory of tu_setup_tmpdir. */
static TU_UNUSED int
tu_teardown_tmpdir(void **state)
{
	return tu_rmdir(*state) == 0 ? 0 : -1;
}

/* Create or truncate path and write len bytes of buf into it. */
static TU_UNUSED void
tu_write_file(const char *path, const void *buf, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	assert_int_equal(fs_write_all(fd, buf, len), 0);
	assert_int_equal(close(fd), 0);
}

/* Read a whole file into a malloc'd, NUL-terminated buffer. */
static TU_UNUSED char *
tu_read_file(const char *path, size_t *lenp)
{
	struct stat sb;
	size_t off = 0;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &sb), 0);
	buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("cannot read %s", path);
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (lenp != NULL)
		*lenp = off;
	return buf;
}

/* A copy of s with the first occurrence of old replaced; old must occur. */
static TU_UNUSED char *
tu_replace(const char *s, const char *old, const char *new)
{
	const char *at = strstr(s, old);
	char *out;

	if (at == NULL)
		fail_msg("'%s' does not occur in the text", old);
	xasprintf(&out, "%.*s%s%s", (int)(at - s), s, new, at + strlen(old));
	return out;
}

/* Count the entries of dir but . and ..; only hidden ones if asked. */
static TU_UNUSED size_t
tu_dir_count(const char *dir, int hidden_only)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		fail_msg("cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (!hidden_only || de->d_name[0] == '.')
			n++;
	}
	closedir(d);
	return n;
}

/* The manifest name of a key algorithm. */
static TU_UNUSED const char *
tu_alg_name(enum key_alg alg)
{
	switch (alg) {
	case KEY_GOST256:
		return "gost256";
	case KEY_GOST512:
		return "gost512";
	case KEY_ECDSA:
		return "ecdsa";
	case KEY_ED25519:
		return "ed25519";
	}
	return "unknown";
}

/*
 * Generate outdir/<id>.key and outdir/<id>.crt valid for days, self-signed
 * unless ca_key/ca_cert are given; is_ca makes a CA certificate.
 */
static TU_UNUSED void
tu_keys_full(const char *outdir, const char *id, enum key_alg alg,
    const char *ca_key, const char *ca_cert, int is_ca, int days, char **key,
    char **cert)
{
	struct keys_params kp;
	struct error err;

	memset(&kp, 0, sizeof kp);
	kp.id = id;
	kp.alg = alg;
	kp.ca_key = ca_key;
	kp.ca_cert = ca_cert;
	kp.days = days;
	kp.is_ca = is_ca;
	kp.outdir = outdir;
	err_clear(&err);
	if (keys_generate(&kp, key, cert, &err) == -1)
		fail_msg("keys_generate %s (%s): %s", id, tu_alg_name(alg),
		    err.text);
	assert_non_null(*key);
	assert_non_null(*cert);
}

/* A self-signed key pair for id, valid 730 days. */
static TU_UNUSED void
tu_keys(const char *outdir, const char *id, enum key_alg alg, char **key,
    char **cert)
{
	tu_keys_full(outdir, id, alg, NULL, NULL, 0, 730, key, cert);
}

/* Load a signer that must load. */
static TU_UNUSED struct signer *
tu_signer(const char *key, const char *cert)
{
	struct signer *s;
	struct error err;

	err_clear(&err);
	if ((s = signer_load(key, cert, &err)) == NULL)
		fail_msg("signer_load %s: %s", cert, err.text);
	return s;
}

/* A trust list holding the certificates of one file (none if NULL). */
static TU_UNUSED struct trust *
tu_trust(const char *cert)
{
	struct trust *t = trust_new();
	struct error err;

	err_clear(&err);
	if (cert != NULL && trust_add_file(t, cert, &err) == -1)
		fail_msg("trust_add_file %s: %s", cert, err.text);
	return t;
}

#endif
