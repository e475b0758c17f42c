/*
 * envelope.c: packages encrypted for their recipient (formats/envelope.md).
 * An envelope is an uncompressed tar of envelope.xml (who, for whom, the key
 * agreement, the wrapped content key, the ciphertext's size, digest and
 * tag), its detached CMS signature by the sender, and package.enc. The
 * receiver checks in the order of envelope.md section 6 and writes the
 * plain package only to a private file; nothing reads it before its tag
 * has matched.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <gnutls/gnutls.h>

#include "envelope.h"
#include "fsutil.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define ENV_NS "urn:posgw:envelope:1"
#define ENV_CHUNK (256 * 1024)
#define ENV_AGREEMENT "vko-gostr3410-2012-256"
#define ENV_WRAP "kexp15-kuznyechik"
#define ENV_CIPHER "kuznyechik-ctr-acpkm-omac"
#define ENV_LABEL_ENC "posgw envelope 1 wrap enc"
#define ENV_LABEL_MAC "posgw envelope 1 wrap mac"

/* The fields of envelope.xml, decoded. */
struct env_head {
	char name[PKG_NAME_MAX];
	char sender[33], recipient[33];
	char key[DIGEST_HEX_LEN + 1];
	unsigned char eph[KEX_POINT_MAX];
	size_t ephlen;
	unsigned char ukm[KEX_UKM_LEN];
	unsigned char wiv[KEX_IV_LEN];
	unsigned char wrapped[KEX_WRAPPED_LEN];
	unsigned char iv[KEX_IV_LEN];
	uint64_t size;
	enum digest_alg alg;
	char digest[DIGEST_HEX_LEN + 1];
	unsigned char tag[KEX_TAG_LEN];
};

static int env_hex_decode(const char *, unsigned char *, size_t, size_t *);
static void env_hex(const unsigned char *, size_t, char *);
static char *env_head_xml(const struct env_head *, time_t, size_t *);
static void env_keys(const unsigned char *, const unsigned char *,
    unsigned char *, unsigned char *);
static int env_encrypt(const char *, int, const unsigned char *,
    const unsigned char *, enum digest_alg, struct env_head *, struct error *);
static int env_write(const char *, const char *, const void *, size_t,
    const gnutls_datum_t *, int, uint64_t, time_t, struct error *);
static int env_small(
    struct archive *, const char *, unsigned char **, size_t *, struct error *);
static int env_next(
    struct archive *, const char *, uint64_t, uint64_t *, struct error *);
static int env_head_parse(
    const unsigned char *, size_t, struct env_head *, struct error *);
static int env_unlock(const struct env_open_opts *, const struct env_head *,
    unsigned char *, struct error *);
static int env_decrypt(struct archive *, const char *, const struct env_head *,
    const unsigned char *, struct error *);

/* Decode exactly want bytes of lowercase hex (want 0: up to max); -1 if not. */
static int
env_hex_decode(const char *s, unsigned char *out, size_t max, size_t *got)
{
	size_t len = strlen(s), i;
	int hi, lo;

	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= '0' && hi <= '9'   ? hi - '0'
		     : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10
		                              : -1;
		lo = lo >= '0' && lo <= '9'   ? lo - '0'
		     : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10
		                              : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*got = len / 2;
	return 0;
}

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
static void
env_hex(const unsigned char *in, size_t len, char *out)
{
	digest_hex_encode(in, len, out);
}

/* 1 if the open file is an envelope (its first tar entry is envelope.xml). */
int
env_detect_fd(int fd)
{
	unsigned char h[512];
	ssize_t n = pread(fd, h, sizeof h, 0);

	return n == (ssize_t)sizeof h && memcmp(h, "envelope.xml\0", 13) == 0 &&
	       memcmp(h + 257, "ustar", 5) == 0;
}

/*
 * 1 if the file starts as a plain package may (zstd or gzip magic, or a
 * tar whose first entry is manifest.xml): to tell a plain package from
 * noise where only envelopes are taken.
 */
int
env_plain_like(const char *path)
{
	unsigned char h[512];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1)
		return 0;
	n = pread(fd, h, sizeof h, 0);
	close(fd);
	if (n >= 4 && memcmp(h, "\x28\xb5\x2f\xfd", 4) == 0)
		return 1;
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return 1;
	return n == (ssize_t)sizeof h && memcmp(h, "manifest.xml\0", 13) == 0;
}

/* env_detect_fd by path; 0 for a file that cannot be opened. */
int
env_detect(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;

	if (fd == -1)
		return 0;
	rc = env_detect_fd(fd);
	close(fd);
	return rc;
}

/* The wrap keys from the KEK and UKM (envelope.md section 4). */
static void
env_keys(const unsigned char *kek, const unsigned char *ukm,
    unsigned char *kenc, unsigned char *kmac)
{
	kex_kdf(kek, ENV_LABEL_ENC, ukm, KEX_UKM_LEN, kenc);
	kex_kdf(kek, ENV_LABEL_MAC, ukm, KEX_UKM_LEN, kmac);
}

/* envelope.xml for a head, serialised (the caller frees it). */
static char *
env_head_xml(const struct env_head *h, time_t created, size_t *len)
{
	char eph[2 * KEX_POINT_MAX + 1], ukm[2 * KEX_UKM_LEN + 1];
	char wiv[2 * KEX_IV_LEN + 1], wrapped[2 * KEX_WRAPPED_LEN + 1];
	char iv[2 * KEX_IV_LEN + 1], tag[2 * KEX_TAG_LEN + 1], t[32];
	char *xml;
	int n;

	env_hex(h->eph, h->ephlen, eph);
	env_hex(h->ukm, sizeof h->ukm, ukm);
	env_hex(h->wiv, sizeof h->wiv, wiv);
	env_hex(h->wrapped, sizeof h->wrapped, wrapped);
	env_hex(h->iv, sizeof h->iv, iv);
	env_hex(h->tag, sizeof h->tag, tag);
	pkg_time_format(created, t, sizeof t);
	n = xasprintf(&xml,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<envelope xmlns=\"" ENV_NS "\" format=\"1\" name=\"%s\"\n"
	    "          sender=\"%s\" recipient=\"%s\" created=\"%s\">\n"
	    "  <key recipient-cert=\"%s\"\n"
	    "       agreement=\"" ENV_AGREEMENT "\" ephemeral=\"%s\"\n"
	    "       ukm=\"%s\" wrap=\"" ENV_WRAP "\" iv=\"%s\"\n"
	    "       wrapped=\"%s\"/>\n"
	    "  <content cipher=\"" ENV_CIPHER "\" iv=\"%s\" size=\"%" PRIu64
	    "\"\n"
	    "           digest-alg=\"%s\" digest=\"%s\" tag=\"%s\"/>\n"
	    "</envelope>\n",
	    h->name, h->sender, h->recipient, t, h->key, eph, ukm, wiv, wrapped,
	    iv, h->size, digest_alg_name(h->alg), h->digest, tag);
	*len = (size_t)n;
	return xml;
}

/*
 * Encrypt the plain package into the open file out (package.enc's bytes),
 * filling the head's size, digest and tag.
 */
static int
env_encrypt(const char *plain, int out, const unsigned char *cek,
    const unsigned char *iv, enum digest_alg alg, struct env_head *h,
    struct error *err)
{
	struct kex_stream *s;
	struct digest d;
	unsigned char *buf = xmalloc(ENV_CHUNK + 16);
	size_t have = 0, done;
	ssize_t n;
	int fd, rc = -1, eof = 0;

	if ((fd = open(plain, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		free(buf);
		return err_set(err, ERR_NONE, "cannot open %s: %s", plain,
		    strerror(errno));
	}
	s = kex_stream_new(cek, iv);
	digest_init(&d, alg);
	h->size = 0;
	while (!eof) {
		n = read(fd, buf + have, ENV_CHUNK - have);
		if (n < 0) {
			err_set(err, ERR_NONE, "reading %s: %s", plain,
			    strerror(errno));
			goto out;
		}
		eof = n == 0;
		have += (size_t)n;
		done = kex_stream_encrypt(s, buf, have, eof);
		digest_update(&d, buf, done);
		if (fs_write_all(out, buf, done) == -1) {
			err_set(err, ERR_NONE,
			    "writing the ciphertext of %s: %s", plain,
			    strerror(errno));
			goto out;
		}
		h->size += done;
		memmove(buf, buf + done, have - done);
		have -= done;
	}
	kex_stream_tag(s, h->tag);
	digest_final_hex(&d, h->digest);
	rc = 0;
out:
	if (rc == -1) {
		char junk[DIGEST_HEX_LEN + 1];
		digest_final_hex(&d, junk);
	}
	kex_stream_free(s);
	close(fd);
	free(buf);
	return rc;
}

/*
 * Write the envelope tar into dir as .<name>, then fsync, rename to <name>
 * and fsync dir: envelope.xml, its signature, and package.enc streamed from
 * the open ciphertext file enc.
 */
static int
env_write(const char *dir, const char *name, const void *xml, size_t xmllen,
    const gnutls_datum_t *p7s, int enc, uint64_t size, time_t t,
    struct error *err)
{
	struct archive *a = NULL;
	unsigned char *buf = NULL;
	char *tmp, *dst;
	uint64_t left = size;
	ssize_t n;
	int fd, rc = -1;

	xasprintf(&tmp, "%s/.%s", dir, name);
	xasprintf(&dst, "%s/%s", dir, name);
	unlink(tmp);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s%s", tmp,
		    strerror(errno), fs_why(errno));
		goto out;
	}
	a = archive_write_new();
	archive_write_set_format_ustar(a);
	archive_write_set_bytes_per_block(a, 64 * 1024);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK ||
	    pkg_writer_header(a, "envelope.xml", xmllen, t) == -1 ||
	    pkg_writer_data(a, xml, xmllen) == -1 ||
	    pkg_writer_header(a, "envelope.xml.p7s", p7s->size, t) == -1 ||
	    pkg_writer_data(a, p7s->data, p7s->size) == -1 ||
	    pkg_writer_header(a, "package.enc", size, t) == -1)
		goto archive;
	buf = xmalloc(ENV_CHUNK);
	if (lseek(enc, 0, SEEK_SET) == -1)
		goto io;
	while (left > 0) {
		n = read(enc, buf, left < ENV_CHUNK ? (size_t)left : ENV_CHUNK);
		if (n <= 0)
			goto io;
		if (pkg_writer_data(a, buf, (size_t)n) == -1)
			goto archive;
		left -= (uint64_t)n;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		goto archive;
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto io;
	}
	fd = -1;
	if (rename(tmp, dst) == -1)
		goto io;
	rc = fs_fsync_dir(dir, err);
	goto out;
archive:
	err_set(err, ERR_NONE, "writing %s: %s", tmp,
	    a != NULL ? pkg_archive_error(a) : "cannot start the archive");
	goto out;
io:
	err_set(err, ERR_NONE, "writing %s: %s", tmp,
	    errno ? strerror(errno) : "short read of the ciphertext");
out:
	if (a != NULL)
		archive_write_free(a);
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	free(buf);
	free(tmp);
	free(dst);
	return rc;
}

/*
 * Seal the plain package file into an envelope dir/<name> for o->to: fresh
 * ephemeral key, UKM, content key and IVs; the ciphertext goes through a
 * private temporary file beside the envelope.
 */
int
env_seal(const struct env_seal_opts *o, const char *plain, const char *dir,
    const char *name, struct error *err)
{
	struct env_head h;
	unsigned char kek[KEX_KEY_LEN], kenc[KEX_KEY_LEN], kmac[KEX_KEY_LEN];
	unsigned char cek[KEX_CEK_LEN];
	gnutls_datum_t p7s = {NULL, 0};
	char *xml = NULL, *encpath;
	size_t xmllen;
	time_t t = o->created ? o->created : time(NULL);
	int fd, rc = -1;

	memset(&h, 0, sizeof h);
	snprintf(h.name, sizeof h.name, "%s", name);
	snprintf(h.sender, sizeof h.sender, "%s", signer_id(o->signer));
	snprintf(h.recipient, sizeof h.recipient, "%s", o->recipient);
	snprintf(h.key, sizeof h.key, "%s", kex_pub_fingerprint(o->to));
	h.alg = o->digest;
	kex_random(h.ukm, sizeof h.ukm);
	kex_random(h.wiv, sizeof h.wiv);
	kex_random(h.iv, sizeof h.iv);
	kex_random(cek, sizeof cek);
	if (kex_ephemeral(o->to, h.ukm, h.eph, &h.ephlen, kek, err) == -1)
		return -1;
	env_keys(kek, h.ukm, kenc, kmac);
	kex_wrap(kenc, kmac, h.wiv, cek, h.wrapped);

	xasprintf(&encpath, "%s/.%s.enc", dir, name);
	unlink(encpath);
	fd = open(
	    encpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s%s", encpath,
		    strerror(errno), fs_why(errno));
		goto out;
	}
	unlink(encpath); /* nameless from here on: nothing to clean up */
	if (env_encrypt(plain, fd, cek, h.iv, o->digest, &h, err) == -1)
		goto out;
	xml = env_head_xml(&h, t, &xmllen);
	if (signer_sign(o->signer, xml, xmllen, &p7s, err) == -1)
		goto out;
	rc = env_write(dir, name, xml, xmllen, &p7s, fd, h.size, t, err);
out:
	if (fd != -1)
		close(fd);
	gnutls_memset(cek, 0, sizeof cek);
	gnutls_memset(kek, 0, sizeof kek);
	gnutls_memset(kenc, 0, sizeof kenc);
	gnutls_memset(kmac, 0, sizeof kmac);
	gnutls_free(p7s.data);
	free(xml);
	free(encpath);
	return rc;
}

/*
 * Read the next tar header and check it is the regular file want of at
 * most max bytes; its size goes to *size.
 */
static int
env_next(struct archive *a, const char *want, uint64_t max, uint64_t *size,
    struct error *err)
{
	struct archive_entry *ae;
	const char *path;
	la_int64_t sz;
	int rc = archive_read_next_header(a, &ae);

	if (rc == ARCHIVE_EOF)
		return err_set(
		    err, ERR_ENVELOPE, "the envelope ends before %s", want);
	if (rc != ARCHIVE_OK)
		return err_set(err, ERR_ENVELOPE,
		    "not a valid envelope (uncompressed tar expected): %s",
		    pkg_archive_error(a));
	path = archive_entry_pathname(ae);
	if (path == NULL || strcmp(path, want) != 0)
		return err_set(err, ERR_ENVELOPE,
		    "entry %.100s where %s belongs (envelope.xml, "
		    "envelope.xml.p7s, package.enc, in this order)",
		    path != NULL ? path : "(unreadable name)", want);
	if (archive_entry_filetype(ae) != AE_IFREG ||
	    archive_entry_sparse_count(ae) > 0)
		return err_set(
		    err, ERR_ENVELOPE, "%s is not a plain regular file", want);
	sz = archive_entry_size(ae);
	if (!archive_entry_size_is_set(ae) || sz < 0 || (uint64_t)sz > max)
		return err_set(err, ERR_SIZE, "%s has %lld bytes, limit %llu",
		    want, (long long)sz, (unsigned long long)max);
	*size = (uint64_t)sz;
	return 0;
}

/* Read the current (small, bounded by env_next) entry into memory. */
static int
env_small(struct archive *a, const char *what, unsigned char **out, size_t *len,
    struct error *err)
{
	unsigned char *buf = xmalloc(ENV_XML_MAX + 1);
	size_t n = 0;
	la_ssize_t got;

	while ((got = archive_read_data(a, buf + n, ENV_XML_MAX + 1 - n)) > 0) {
		n += (size_t)got;
		if (n > ENV_XML_MAX) {
			free(buf);
			return err_set(err, ERR_SIZE, "%s is over %d bytes",
			    what, ENV_XML_MAX);
		}
	}
	if (got < 0) {
		free(buf);
		return err_set(err, ERR_ENVELOPE, "reading %s: %s", what,
		    pkg_archive_error(a));
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Parse and validate envelope.xml into h (code envelope on any fault). */
static int
env_head_parse(
    const unsigned char *xml, size_t len, struct env_head *h, struct error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, key, content;
	size_t got;
	char *end;
	int rc = -1;

	memset(h, 0, sizeof *h);
	doc = xmlsafe_parse(xml, len, "envelope.xml", 8, ERR_ENVELOPE, err);
	if (doc == NULL)
		return -1;
	if (schema_validate(
	        SCHEMA_ENVELOPE, doc, "envelope.xml", ERR_ENVELOPE, err) == -1)
		goto out;
	root = xmlDocGetRootElement(doc);
	key = xmlsafe_child(root, ENV_NS, "key");
	content = xmlsafe_child(root, ENV_NS, "content");
	snprintf(h->name, sizeof h->name, "%s", xmlsafe_attr(root, "name"));
	snprintf(
	    h->sender, sizeof h->sender, "%s", xmlsafe_attr(root, "sender"));
	snprintf(h->recipient, sizeof h->recipient, "%s",
	    xmlsafe_attr(root, "recipient"));
	snprintf(
	    h->key, sizeof h->key, "%s", xmlsafe_attr(key, "recipient-cert"));
	snprintf(
	    h->digest, sizeof h->digest, "%s", xmlsafe_attr(content, "digest"));
	if (env_hex_decode(xmlsafe_attr(key, "ephemeral"), h->eph,
	        sizeof h->eph, &h->ephlen) == -1 ||
	    env_hex_decode(
	        xmlsafe_attr(key, "ukm"), h->ukm, sizeof h->ukm, &got) == -1 ||
	    env_hex_decode(
	        xmlsafe_attr(key, "iv"), h->wiv, sizeof h->wiv, &got) == -1 ||
	    env_hex_decode(xmlsafe_attr(key, "wrapped"), h->wrapped,
	        sizeof h->wrapped, &got) == -1 ||
	    env_hex_decode(
	        xmlsafe_attr(content, "iv"), h->iv, sizeof h->iv, &got) == -1 ||
	    env_hex_decode(xmlsafe_attr(content, "tag"), h->tag, sizeof h->tag,
	        &got) == -1 ||
	    digest_alg_from_name(
	        xmlsafe_attr(content, "digest-alg"), &h->alg) == -1) {
		err_set(err, ERR_ENVELOPE, "envelope.xml: a malformed value");
		goto out;
	}
	errno = 0;
	h->size = strtoull(xmlsafe_attr(content, "size"), &end, 10);
	if (errno != 0 || *end != '\0') {
		err_set(err, ERR_ENVELOPE, "envelope.xml: size out of range");
		goto out;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

/* Find the receiver's key the envelope names and unwrap the content key. */
static int
env_unlock(const struct env_open_opts *o, const struct env_head *h,
    unsigned char *cek, struct error *err)
{
	const struct kex_key *kk = NULL;
	unsigned char kek[KEX_KEY_LEN], kenc[KEX_KEY_LEN], kmac[KEX_KEY_LEN];
	struct error e2 = {0};
	size_t i;
	int rc;

	for (i = 0; i < o->nkeys; i++)
		if (strcmp(kex_key_fingerprint(o->keys[i]), h->key) == 0)
			kk = o->keys[i];
	if (kk == NULL)
		return err_set(err, ERR_KEY,
		    "encrypted for the key-agreement certificate %.16s..., "
		    "which this gateway does not hold (its own: %.16s...): "
		    "give the sender this gateway's exchange certificate",
		    h->key,
		    o->nkeys > 0 ? kex_key_fingerprint(o->keys[0]) : "none");
	if (kex_agree(kk, h->eph, h->ephlen, h->ukm, kek, &e2) == -1)
		return err_set(err, ERR_ENVELOPE, "envelope.xml: %s", e2.text);
	env_keys(kek, h->ukm, kenc, kmac);
	rc = kex_unwrap(kenc, kmac, h->wiv, h->wrapped, cek);
	gnutls_memset(kek, 0, sizeof kek);
	gnutls_memset(kenc, 0, sizeof kenc);
	gnutls_memset(kmac, 0, sizeof kmac);
	if (rc == -1)
		return err_set(err, ERR_DECRYPT,
		    "the wrapped content key does not authenticate (not made "
		    "for this key, or altered)");
	return 0;
}

/*
 * Stream package.enc: hash and authenticate the ciphertext while writing
 * its decryption to the private file out; the digest and tag decide. With
 * out NULL only the size and digest are checked (no key needed).
 */
static int
env_decrypt(struct archive *a, const char *out, const struct env_head *h,
    const unsigned char *cek, struct error *err)
{
	struct kex_stream *s = NULL;
	unsigned char *buf, tag[KEX_TAG_LEN] = {0};
	char hex[DIGEST_HEX_LEN + 1];
	struct digest d;
	uint64_t total = 0;
	size_t have = 0, done;
	la_ssize_t got;
	int fd = -1, rc = -1, eof = 0, fin = 0;

	if (out != NULL) {
		fd = open(out,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1)
			return err_set(err, ERR_NONE, "cannot create %s: %s%s",
			    out, strerror(errno), fs_why(errno));
		s = kex_stream_new(cek, h->iv);
	}
	buf = xmalloc(ENV_CHUNK + 16);
	digest_init(&d, h->alg);
	while (!eof) {
		got = archive_read_data(a, buf + have, ENV_CHUNK - have);
		if (got < 0) {
			err_set(err, ERR_ENVELOPE, "reading package.enc: %s",
			    pkg_archive_error(a));
			goto out;
		}
		eof = got == 0;
		digest_update(&d, buf + have, (size_t)got);
		have += (size_t)got;
		total += (uint64_t)got;
		if (s == NULL) { /* only the digest: an auditor's check */
			have = 0;
			continue;
		}
		done = kex_stream_decrypt(s, buf, have, eof);
		if (fs_write_all(fd, buf, done) == -1) {
			err_set(err, ERR_NONE, "cannot write %s: %s%s", out,
			    strerror(errno), fs_why(errno));
			goto out;
		}
		memmove(buf, buf + done, have - done);
		have -= done;
	}
	digest_final_hex(&d, hex);
	fin = 1;
	if (s != NULL)
		kex_stream_tag(s, tag);
	if (total != h->size)
		err_set(err, ERR_ENVELOPE,
		    "package.enc has %llu bytes, envelope.xml says %llu",
		    (unsigned long long)total, (unsigned long long)h->size);
	else if (strcmp(hex, h->digest) != 0)
		err_set(err, ERR_DIGEST,
		    "package.enc does not match the digest envelope.xml "
		    "gives");
	else if (s != NULL && gnutls_memcmp(tag, h->tag, KEX_TAG_LEN) != 0)
		err_set(err, ERR_DECRYPT,
		    "the ciphertext does not authenticate (tag mismatch): "
		    "altered on the way or not encrypted with this key");
	else
		rc = 0;
out:
	if (fd != -1 && rc == 0 && close(fd) == -1)
		rc = err_set(err, ERR_NONE, "cannot write %s: %s%s", out,
		    strerror(errno), fs_why(errno));
	else if (fd != -1 && rc == -1)
		close(fd);
	if (!fin)
		digest_final_hex(&d, hex);
	if (rc == -1 && out != NULL)
		unlink(out);
	kex_stream_free(s);
	free(buf);
	return rc;
}

/*
 * Open the envelope at path (its file name a package name) into the plain
 * package file out, a path in a private directory. Every check of
 * envelope.md section 6, in its order; on failure err has the stable code
 * and nothing is left at out. With out NULL, the checks an outsider can
 * make: structure, names, signature, size and digest of package.enc.
 */
int
env_open(const char *path, const char *out, const struct env_open_opts *o,
    struct env_info *info, struct error *err)
{
	struct archive *a = NULL;
	struct env_head h;
	unsigned char *xml = NULL, *p7s = NULL, cek[KEX_CEK_LEN];
	size_t xmllen = 0, p7slen = 0;
	const char *base = strrchr(path, '/');
	struct stat sb;
	uint64_t sz;
	int fd, rc = -1;

	err_clear(err);
	memset(info, 0, sizeof *info);
	base = base != NULL ? base + 1 : path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(
		    err, ERR_ENVELOPE, "%s is not a regular file", path);
	}
	a = archive_read_new();
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, ENV_CHUNK) != ARCHIVE_OK) {
		err_set(
		    err, ERR_ENVELOPE, "cannot read %s as a tar stream", path);
		goto out;
	}
	/* 1-2: the envelope's structure and envelope.xml */
	if (env_next(a, "envelope.xml", ENV_XML_MAX, &sz, err) == -1 ||
	    env_small(a, "envelope.xml", &xml, &xmllen, err) == -1 ||
	    env_head_parse(xml, xmllen, &h, err) == -1)
		goto out;
	snprintf(info->name, sizeof info->name, "%s", h.name);
	snprintf(info->sender, sizeof info->sender, "%s", h.sender);
	snprintf(info->recipient, sizeof info->recipient, "%s", h.recipient);
	snprintf(info->key, sizeof info->key, "%s", h.key);
	snprintf(info->digest, sizeof info->digest, "%s", h.digest);
	info->digest_alg = h.alg;
	info->size = h.size;
	/* 3: names and recipient */
	if (strcmp(h.name, base) != 0 ||
	    strncmp(h.name, h.sender, strlen(h.sender)) != 0 ||
	    h.name[strlen(h.sender)] != '.') {
		err_set(err, ERR_NAME,
		    "envelope.xml names %.100s from %s, but the file is %.100s",
		    h.name, h.sender, base);
		goto out;
	}
	if (o->own_id != NULL && strcmp(h.recipient, o->own_id) != 0) {
		err_set(err, ERR_RECIPIENT,
		    "the envelope is for %s, this gateway is %s", h.recipient,
		    o->own_id);
		goto out;
	}
	if (!(o->digests & (1u << h.alg))) {
		err_set(err, ERR_DIGEST, "digest %s is not allowed here",
		    digest_alg_name(h.alg));
		goto out;
	}
	if (h.size > o->max_file) {
		err_set(err, ERR_SIZE,
		    "the package inside has %llu bytes, limit %llu",
		    (unsigned long long)h.size,
		    (unsigned long long)o->max_file);
		goto out;
	}
	/* 4: the sender's signature over envelope.xml */
	if (env_next(a, "envelope.xml.p7s", ENV_XML_MAX, &sz, err) == -1 ||
	    env_small(a, "envelope.xml.p7s", &p7s, &p7slen, err) == -1 ||
	    sig_verify_named("envelope.xml.p7s", "envelope.xml", o->trust, xml,
	        xmllen, p7s, p7slen, h.sender, o->now ? o->now : time(NULL),
	        o->sig_algs, &info->sig, err) == -1)
		goto out;
	/* 5-6: the key, then the content key */
	if (out != NULL && env_unlock(o, &h, cek, err) == -1)
		goto out;
	/* 7: the ciphertext, authenticated before anything reads the plain */
	if (env_next(a, "package.enc", o->max_file, &sz, err) == -1)
		goto out;
	if (sz != h.size) {
		err_set(err, ERR_ENVELOPE,
		    "package.enc has %llu bytes, envelope.xml says %llu",
		    (unsigned long long)sz, (unsigned long long)h.size);
		goto out;
	}
	if (env_decrypt(a, out, &h, cek, err) == -1)
		goto out;
	if (archive_read_next_header(a, &(struct archive_entry *){NULL}) !=
	    ARCHIVE_EOF) {
		if (out != NULL)
			unlink(out);
		err_set(err, ERR_ENVELOPE,
		    "entries after package.enc (an envelope has three)");
		goto out;
	}
	rc = 0;
out:
	gnutls_memset(cek, 0, sizeof cek);
	if (a != NULL)
		archive_read_free(a);
	close(fd);
	free(xml);
	free(p7s);
	return rc;
}
