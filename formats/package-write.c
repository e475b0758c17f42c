/* package-write.c: the streaming package writer (package.md sections 2-5). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fsutil.h"
#include "log.h"
#include "package.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define PKG_WRITE_CHUNK (256 * 1024)

struct pkg_wentry {
	char *path;
	char *src;          /* file to stream from, or NULL */
	unsigned char *mem; /* in-memory content, or NULL */
	int spilled;        /* or the content is at off in the spill file */
	uint64_t off;
	uint64_t size;
	char digest[DIGEST_HEX_LEN + 1];
	struct stat sb; /* identity of src when hashed */
};

struct pkg_writer {
	struct signer *signer;
	char recipient[33];
	uint64_t seq;
	enum pkg_compress compress;
	enum digest_alg alg;
	struct pkg_limits limits;
	struct pkg_wentry *e;
	size_t n, cap;
	uint64_t total;
	char uuid[37]; /* fixed identity, or empty for a fresh one */
	time_t created;
	char mdigest[DIGEST_HEX_LEN + 1]; /* Streebog-256 of manifest.xml */
	int spillfd;       /* unlinked file for documents added from memory */
	uint64_t spillend; /* bytes in it */
	int scratch;       /* an intermediate file: written without fsync */
};

/* Start a package from signer's id to recipient with sequence number seq. */
struct pkg_writer *
pkg_writer_new(struct signer *s, const char *recipient, uint64_t seq,
    enum pkg_compress c, enum digest_alg alg)
{
	struct pkg_writer *w;

	w = xcalloc(1, sizeof *w);
	w->signer = s;
	snprintf(w->recipient, sizeof w->recipient, "%s", recipient);
	w->seq = seq;
	w->compress = c;
	w->alg = alg;
	w->spillfd = -1;
	pkg_limits_default(&w->limits);
	return w;
}

/*
 * Keep documents added from memory in an unlinked file under dir instead
 * of in memory (a package of many documents then costs no more memory
 * than one); call before the first pkg_writer_add_mem.
 */
int
pkg_writer_set_spill(struct pkg_writer *w, const char *dir, struct error *err)
{
	char *tmpl;

	if (w->spillfd != -1 || w->n != 0)
		return 0;
	xasprintf(&tmpl, "%s/.spill-XXXXXX", dir);
	if ((w->spillfd = mkostemp(tmpl, O_CLOEXEC)) == -1) {
		err_set(err, ERR_NONE,
		    "cannot create a spill file in %s: %s; %s", dir,
		    strerror(errno),
		    fs_hint(errno,
		        "check that the directory exists and is writable"));
		free(tmpl);
		return -1;
	}
	unlink(tmpl);
	free(tmpl);
	return 0;
}

/*
 * Fix the package's uuid and creation time (to rebuild the same manifest
 * after a crash) instead of a fresh uuid and the current time.
 */
void
pkg_writer_set_identity(struct pkg_writer *w, const char *uuid, time_t created)
{
	snprintf(w->uuid, sizeof w->uuid, "%s", uuid);
	w->created = created;
}

/* The Streebog-256 digest of the manifest written (after pkg_writer_write). */
const char *
pkg_writer_manifest_digest(const struct pkg_writer *w)
{
	return w->mdigest;
}

/* Use the receiver's limits instead of the defaults. */
void
pkg_writer_set_limits(struct pkg_writer *w, const struct pkg_limits *l)
{
	w->limits = *l;
}

/* Common checks and a new slot for an entry. */
static struct pkg_wentry *
pkg_writer_slot(struct pkg_writer *w, const char *path, struct error *err)
{
	size_t i;

	if (!pkg_path_valid(path)) {
		err_set(err, ERR_NONE,
		    "'%s' is not a payload path: payload/ and 1 to 3 parts "
		    "of [A-Za-z0-9._-]",
		    path);
		return NULL;
	}
	for (i = 0; i < w->n; i++) {
		if (strcmp(w->e[i].path, path) == 0) {
			err_set(err, ERR_NONE, "'%s' added twice", path);
			return NULL;
		}
	}
	if (w->n >= w->limits.max_entries) {
		err_set(err, ERR_NONE, "more than %llu entries in one package",
		    (unsigned long long)w->limits.max_entries);
		return NULL;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->e = xreallocarray(w->e, w->cap, sizeof *w->e);
	}
	memset(&w->e[w->n], 0, sizeof w->e[w->n]);
	return &w->e[w->n];
}

/* Check entry and total sizes against the limits. */
static int
pkg_writer_sizes(
    struct pkg_writer *w, const char *path, uint64_t size, struct error *err)
{
	uint64_t max =
	    pkg_doc_path(path) ? w->limits.max_xml : w->limits.max_entry;

	if (size > max)
		return err_set(err, ERR_NONE,
		    "%s: %llu bytes, over the limit of %llu", path,
		    (unsigned long long)size, (unsigned long long)max);
	if (w->total + size > w->limits.max_total)
		return err_set(err, ERR_NONE,
		    "%s: package would exceed %llu bytes in all", path,
		    (unsigned long long)w->limits.max_total);
	return 0;
}

/* Add a file from disk; it is hashed now and streamed at write time. */
int
pkg_writer_add_file(
    struct pkg_writer *w, const char *path, const char *src, struct error *err)
{
	struct pkg_wentry *e;
	struct stat sb;

	if ((e = pkg_writer_slot(w, path, err)) == NULL)
		return -1;
	if (stat(src, &sb) == -1)
		return err_set(
		    err, ERR_NONE, "cannot read %s: %s", src, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return err_set(err, ERR_NONE, "%s is not a regular file", src);
	if (pkg_writer_sizes(w, path, (uint64_t)sb.st_size, err) == -1)
		return -1;
	if (digest_file_hex(w->alg, src, e->digest, &e->size, err) == -1)
		return -1;
	if (stat(src, &e->sb) == -1 || e->sb.st_ino != sb.st_ino ||
	    (uint64_t)e->sb.st_size != e->size)
		return err_set(
		    err, ERR_NONE, "%s changed while being read", src);
	e->path = xstrdup(path);
	e->src = xstrdup(src);
	w->total += e->size;
	w->n++;
	return 0;
}

/*
 * Add an entry from a file whose digest the caller already knows (a
 * content-addressed store names files by it): when alg is the package's
 * digest, the file is not read twice; the size and identity are still
 * checked when the package is written.
 */
int
pkg_writer_add_stored(struct pkg_writer *w, const char *path, const char *src,
    enum digest_alg alg, const char *hex, struct error *err)
{
	struct pkg_wentry *e;

	if (alg != w->alg || strlen(hex) != DIGEST_HEX_LEN)
		return pkg_writer_add_file(w, path, src, err);
	if ((e = pkg_writer_slot(w, path, err)) == NULL)
		return -1;
	if (stat(src, &e->sb) == -1)
		return err_set(
		    err, ERR_NONE, "cannot read %s: %s", src, strerror(errno));
	if (!S_ISREG(e->sb.st_mode))
		return err_set(err, ERR_NONE, "%s is not a regular file", src);
	if (pkg_writer_sizes(w, path, (uint64_t)e->sb.st_size, err) == -1)
		return -1;
	e->size = (uint64_t)e->sb.st_size;
	memcpy(e->digest, hex, DIGEST_HEX_LEN + 1);
	e->path = xstrdup(path);
	e->src = xstrdup(src);
	w->total += e->size;
	w->n++;
	return 0;
}

/* Add an entry from memory (documents); the bytes are copied (or spilled). */
int
pkg_writer_add_mem(struct pkg_writer *w, const char *path, const void *buf,
    size_t len, struct error *err)
{
	struct pkg_wentry *e;

	if ((e = pkg_writer_slot(w, path, err)) == NULL)
		return -1;
	if (pkg_writer_sizes(w, path, len, err) == -1)
		return -1;
	if (w->spillfd != -1) {
		if (fs_write_all(w->spillfd, buf, len) == -1)
			return err_set(err, ERR_NONE,
			    "cannot write %s to the spill file: %s; check the "
			    "staging disk",
			    path, strerror(errno));
		e->spilled = 1;
		e->off = w->spillend;
		w->spillend += len;
	} else {
		e->mem = xmalloc(len ? len : 1);
		memcpy(e->mem, buf, len);
	}
	e->path = xstrdup(path);
	e->size = len;
	digest_mem_hex(w->alg, buf, len, e->digest);
	w->total += len;
	w->n++;
	return 0;
}

/* Refuse to write what a receiver would reject as payload. */
static int
pkg_writer_check(struct pkg_writer *w, struct error *err)
{
	struct pkg_entry *pe;
	size_t i;
	int rc = 0;

	pe = xcalloc(w->n ? w->n : 1, sizeof *pe);
	for (i = 0; i < w->n; i++) {
		pe[i].path = w->e[i].path;
		pe[i].size = w->e[i].size;
		pe[i].staged = w->e[i].src;
		pe[i].mem = w->e[i].mem;
		pe[i].memlen = (size_t)w->e[i].size;
		pe[i].off = w->e[i].off;
	}
	rc = payload_check(pe, w->n, w->spillfd, &w->limits, err);
	free(pe);
	return rc;
}

/* Write one tar header for a regular file. */
int
pkg_writer_header(
    struct archive *a, const char *path, uint64_t size, time_t mtime)
{
	struct archive_entry *ae;
	int rc;

	ae = archive_entry_new();
	archive_entry_set_pathname(ae, path);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)size);
	archive_entry_set_mtime(ae, mtime, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	rc = archive_write_header(a, ae);
	archive_entry_free(ae);
	return rc == ARCHIVE_OK ? 0 : -1;
}

/* Write bytes into the current entry. */
int
pkg_writer_data(struct archive *a, const void *buf, size_t len)
{
	la_ssize_t n;

	while (len > 0) {
		if ((n = archive_write_data(a, buf, len)) <= 0)
			return -1;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy one document from the spill file into the archive. */
static int
pkg_writer_spilled(struct archive *a, struct pkg_writer *w,
    struct pkg_wentry *e, const char *tmp, struct error *err)
{
	struct pkg_entry pe;
	unsigned char *buf;
	int rc = 0;

	memset(&pe, 0, sizeof pe);
	pe.path = e->path;
	pe.size = e->size;
	pe.off = e->off;
	if ((buf = payload_bytes(&pe, w->spillfd, err)) == NULL)
		return -1;
	if (pkg_writer_data(a, buf, (size_t)e->size) == -1)
		rc = err_set(
		    err, ERR_NONE, "writing %s: %s", tmp, pkg_archive_error(a));
	free(buf);
	return rc;
}

/* Stream a source file into the archive, checking it did not change. */
static int
pkg_writer_stream(struct archive *a, struct pkg_wentry *e, unsigned char *buf,
    struct error *err)
{
	struct stat sb;
	uint64_t total = 0;
	ssize_t n;
	int fd;

	if ((fd = open(e->src, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, ERR_NONE, "cannot open %s: %s", e->src,
		    strerror(errno));
	if (fstat(fd, &sb) == -1 || sb.st_ino != e->sb.st_ino ||
	    sb.st_dev != e->sb.st_dev || sb.st_size != e->sb.st_size ||
	    sb.st_mtim.tv_sec != e->sb.st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != e->sb.st_mtim.tv_nsec)
		goto changed;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (total < e->size) {
		n = read(fd, buf, PKG_WRITE_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(err, ERR_NONE, "cannot read %s: %s", e->src,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0 || total + (uint64_t)n > e->size)
			goto changed;
		if (pkg_writer_data(a, buf, (size_t)n) == -1) {
			err_set(err, ERR_NONE,
			    "writing %s into the package: %s", e->path,
			    pkg_archive_error(a));
			close(fd);
			return -1;
		}
		total += (uint64_t)n;
	}
	if (fstat(fd, &sb) == -1 || sb.st_size != e->sb.st_size ||
	    sb.st_mtim.tv_sec != e->sb.st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != e->sb.st_mtim.tv_nsec)
		goto changed;
	close(fd);
	return 0;
changed:
	close(fd);
	return err_set(err, ERR_NONE,
	    "%s changed while being packed; pack it again once it is "
	    "complete",
	    e->src);
}

/* Set up libarchive for a pax stream with the chosen filter. */
static struct archive *
pkg_writer_archive(struct pkg_writer *w, int fd, struct error *err)
{
	struct archive *a;
	int rc = ARCHIVE_OK;

	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (w->compress == PKG_COMPRESS_ZSTD)
		rc = archive_write_add_filter_zstd(a);
	else if (w->compress == PKG_COMPRESS_GZIP)
		rc = archive_write_add_filter_gzip(a);
	if (rc != ARCHIVE_OK) {
		err_set(err, ERR_NONE,
		    "libarchive cannot write %s in-process: %s",
		    pkg_compress_name(w->compress), pkg_archive_error(a));
		archive_write_free(a);
		return NULL;
	}
	archive_write_set_bytes_per_block(a, 64 * 1024);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		err_set(err, ERR_NONE, "cannot start the archive: %s",
		    pkg_archive_error(a));
		archive_write_free(a);
		return NULL;
	}
	return a;
}

/*
 * Sign and write the package into dir as .<name>, fsync, rename to <name>,
 * fsync dir (no fsync for a scratch package). The name is copied to name
 * (PKG_NAME_MAX bytes).
 */
int
pkg_writer_write(struct pkg_writer *w, const char *dir, char *name,
    size_t namelen, struct error *err)
{
	struct manifest m;
	gnutls_datum_t p7s = {NULL, 0};
	struct archive *a = NULL;
	unsigned char *buf = NULL;
	char uuid[37], fname[PKG_NAME_MAX], *tmp = NULL, *dst = NULL,
	                                    *mbuf = NULL;
	size_t mlen, i;
	int fd = -1, dfd = -1, ret = -1, saved;

	if (w->seq == 0 || w->seq > PKG_SEQ_MAX)
		return err_set(err, ERR_NONE, "seq %llu out of range 1..%llu",
		    (unsigned long long)w->seq, PKG_SEQ_MAX);
	if (!pkg_id_valid(w->recipient))
		return err_set(err, ERR_NONE,
		    "recipient '%s' is not a gateway id", w->recipient);
	if (pkg_writer_check(w, err) == -1)
		return -1;

	memset(&m, 0, sizeof m);
	if (w->uuid[0] != '\0')
		memcpy(uuid, w->uuid, sizeof uuid);
	else
		pkg_uuid_new(uuid);
	memcpy(m.uuid, uuid, sizeof m.uuid);
	snprintf(m.sender, sizeof m.sender, "%s", signer_id(w->signer));
	snprintf(m.recipient, sizeof m.recipient, "%s", w->recipient);
	m.seq = w->seq;
	m.created = w->created ? w->created : time(NULL);
	m.alg = w->alg;
	m.nentries = w->n;
	m.entries = xcalloc(w->n ? w->n : 1, sizeof *m.entries);
	for (i = 0; i < w->n; i++) {
		m.entries[i].path = w->e[i].path;
		m.entries[i].size = w->e[i].size;
		memcpy(m.entries[i].digest, w->e[i].digest,
		    sizeof m.entries[i].digest);
	}
	mbuf = manifest_serialize(&m, &mlen);
	free(m.entries);
	digest_mem_hex(DIGEST_STREEBOG256, mbuf, mlen, w->mdigest);
	if (signer_sign(w->signer, mbuf, mlen, &p7s, err) == -1)
		goto out;

	pkg_name_format(
	    fname, sizeof fname, signer_id(w->signer), w->seq, uuid);
	xasprintf(&tmp, "%s/.%s", dir, fname);
	xasprintf(&dst, "%s/%s", dir, fname);
	unlink(tmp); /* a rebuild after a crash may find its own dot file */
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s%s", tmp,
		    strerror(errno), fs_why(errno));
		goto out;
	}
	if ((a = pkg_writer_archive(w, fd, err)) == NULL)
		goto out;
	buf = xmalloc(PKG_WRITE_CHUNK);
	if (pkg_writer_header(a, "manifest.xml", mlen, m.created) == -1 ||
	    pkg_writer_data(a, mbuf, mlen) == -1 ||
	    pkg_writer_header(a, "manifest.xml.p7s", p7s.size, m.created) ==
	        -1 ||
	    pkg_writer_data(a, p7s.data, p7s.size) == -1) {
		err_set(
		    err, ERR_NONE, "writing %s: %s", tmp, pkg_archive_error(a));
		goto out;
	}
	for (i = 0; i < w->n; i++) {
		if (pkg_writer_header(
		        a, w->e[i].path, w->e[i].size, m.created) == -1) {
			err_set(err, ERR_NONE, "writing %s: %s", tmp,
			    pkg_archive_error(a));
			goto out;
		}
		if (w->e[i].spilled) {
			if (pkg_writer_spilled(a, w, &w->e[i], tmp, err) == -1)
				goto out;
		} else if (w->e[i].mem != NULL) {
			if (pkg_writer_data(a, w->e[i].mem, w->e[i].size) ==
			    -1) {
				err_set(err, ERR_NONE, "writing %s: %s", tmp,
				    pkg_archive_error(a));
				goto out;
			}
		} else if (pkg_writer_stream(a, &w->e[i], buf, err) == -1)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		err_set(
		    err, ERR_NONE, "writing %s: %s", tmp, pkg_archive_error(a));
		goto out;
	}
	if ((!w->scratch && fsync(fd) == -1) || close(fd) == -1) {
		saved = errno;
		fd = -1;
		err_set(err, ERR_NONE, "cannot write %s: %s%s", tmp,
		    strerror(saved), fs_why(saved));
		goto out;
	}
	fd = -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		err_set(
		    err, ERR_NONE, "cannot open %s: %s", dir, strerror(errno));
		goto out;
	}
	if (renameat2(dfd, tmp + strlen(dir) + 1, dfd, fname,
	        RENAME_NOREPLACE) == -1 &&
	    (errno != EINVAL ||
	        renameat(dfd, tmp + strlen(dir) + 1, dfd, fname) == -1)) {
		err_set(err, ERR_NONE, "cannot rename %s to %s: %s", tmp, dst,
		    strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (!w->scratch && fsync(dfd) == -1) {
		err_set(
		    err, ERR_NONE, "cannot fsync %s: %s", dir, strerror(errno));
		goto out;
	}
	snprintf(name, namelen, "%s", fname);
	ret = 0;
out:
	if (a != NULL)
		archive_write_free(a);
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dst);
	free(buf);
	free(mbuf);
	gnutls_free(p7s.data);
	return ret;
}

/*
 * The package is an intermediate file that is sealed into an envelope and
 * removed right after (a crash leaves it to the staging cleanup and the
 * rebuild): write it without fsync, so its bytes need not reach the disk.
 */
void
pkg_writer_set_scratch(struct pkg_writer *w)
{
	w->scratch = 1;
}

/* Free a writer and its in-memory entries. */
void
pkg_writer_free(struct pkg_writer *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++) {
		free(w->e[i].path);
		free(w->e[i].src);
		free(w->e[i].mem);
	}
	free(w->e);
	if (w->spillfd != -1)
		close(w->spillfd);
	free(w);
}
