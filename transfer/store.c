/*
 * store.c: the gateway's file store: attachments kept once under their
 * digest in STATE/files/, durably, before the transaction that records
 * them commits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "digest.h"
#include "fsutil.h"
#include "log.h"
#include "xfer-int.h"
#include "xmalloc.h"

static int store_hash(
    const char *path, int sync, char *hex, uint64_t *size, struct error *err);

/* Path of a stored file by digest (valid until the next call). */
const char *
store_path(struct xfer *x, const char *digest)
{
	free(x->pathbuf);
	xasprintf(&x->pathbuf, "%s/%s", x->dir_files, digest);
	return x->pathbuf;
}

/*
 * Hash a file just linked into the store and make its data durable; the
 * link shares the inode, so this also flushes what its writer left dirty.
 */
static int
store_hash(
    const char *path, int sync, char *hex, uint64_t *size, struct error *err)
{
	struct stat sb;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(err, ERR_NONE, "%s is not a regular file", path);
	}
	if (digest_fd_hex(DIGEST_STREEBOG256, fd, path, hex, size, err) == -1) {
		close(fd);
		return -1;
	}
	if (sync && fsync(fd) == -1) {
		err_set(err, ERR_NONE, "cannot fsync %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Give the store's temp file tmp (its data durable or in a batch) its
 * name, the digest hex, and make the name durable: now, or inside a batch
 * transaction with the rest by store_sync. Frees tmp.
 */
static int
store_name(struct xfer *x, char *tmp, const char *hex, struct error *err)
{
	char *dst;

	xasprintf(&dst, "%s/%s", x->dir_files, hex);
	if (rename(tmp, dst) == -1) {
		err_set(err, ERR_NONE, "cannot rename %s: %s", tmp,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		free(dst);
		return -1;
	}
	/* renaming a link onto another link of the same file does nothing */
	unlink(tmp);
	free(tmp);
	if (db_nested(x->db)) {
		/* store_sync before the commit */
		fs_syncset_add(&x->store_unsynced, dst);
		free(dst);
		return 0;
	}
	free(dst);
	return fs_fsync_dir(x->dir_files, err);
}

/*
 * Take a local file into the content-addressed store; returns its
 * Streebog-256 digest in hex (65 bytes) and size. When the caller takes
 * the file (removes it once queued, as the edge does with the adapter's
 * attachments) and the file system allows it (same file system, and the kernel's protected_hardlinks rule
 * lets us link the file) the store gets a hard link: the bytes are read
 * once to hash them and never written a second time. Otherwise a copy.
 * Either way the file is fsynced before it gets its name, or, inside a
 * batch transaction, made durable with the rest by store_sync.
 */
int
store_file(struct xfer *x, const char *src, int take, char *hex, uint64_t *size,
    struct error *err)
{
	static unsigned seq;
	char *tmp;
	unsigned char buf[1 << 16];
	struct digest d;
	int in, out;
	ssize_t n;

	*size = 0;
	xasprintf(&tmp, "%s/.ln-%ld-%u", x->dir_files, (long)getpid(), ++seq);
	unlink(tmp); /* a leftover of an earlier process with our pid */
	if (take && link(src, tmp) == 0) {
		if (store_hash(tmp, !db_nested(x->db), hex, size, err) == -1) {
			unlink(tmp);
			free(tmp);
			return -1;
		}
		goto named;
	}
	if (take && errno != EXDEV && errno != EPERM && errno != EMLINK &&
	    errno != EOPNOTSUPP && errno != EACCES) {
		err_set(err, ERR_NONE, "cannot take %s into %s: %s", src,
		    x->dir_files, strerror(errno));
		free(tmp);
		return -1;
	}
	free(tmp);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", src, strerror(errno));
	xasprintf(&tmp, "%s/.in-XXXXXX", x->dir_files);
	if ((out = mkstemp(tmp)) == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s%s", tmp,
		    strerror(errno), fs_why(errno));
		close(in);
		free(tmp);
		return -1;
	}
	digest_init(&d, DIGEST_STREEBOG256);
	while ((n = read(in, buf, sizeof buf)) > 0) {
		digest_update(&d, buf, (size_t)n);
		if (fs_write_all(out, buf, (size_t)n) == -1)
			break;
		*size += (uint64_t)n;
	}
	digest_final_hex(&d, hex);
	if (n != 0 || (!db_nested(x->db) && fsync(out) == -1)) {
		err_set(err, ERR_NONE, "cannot copy %s into %s: %s%s", src,
		    x->dir_files, strerror(errno), fs_why(errno));
		close(in);
		close(out);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	close(in);
	close(out);
named:
	return store_name(x, tmp, hex, err);
}

/*
 * Make the files stored in a batch durable, bytes and names, before the
 * batch commits: an fsync each for a few, one syncfs for a flood.
 */
int
store_sync(struct xfer *x, struct error *err)
{
	return fs_syncset_sync(&x->store_unsynced, x->dir_files, err);
}

/*
 * Hash a file ahead of its custody (safe on any thread: no logging, no
 * engine state): its Streebog-256 digest and the identity store_file_known
 * checks. -1 with err if it cannot be read or changed while being read.
 */
int
store_hash_known(const char *path, struct xfer_hash *h, struct error *err)
{
	struct stat sa, sb;
	uint64_t size;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sa) == -1 || !S_ISREG(sa.st_mode)) {
		close(fd);
		return err_set(err, ERR_NONE, "%s is not a regular file", path);
	}
	if (digest_fd_hex(DIGEST_STREEBOG256, fd, path, h->hex, &size, err) ==
	    -1) {
		close(fd);
		return -1;
	}
	if (fstat(fd, &sb) == -1 || sb.st_ino != sa.st_ino ||
	    sb.st_size != sa.st_size || (uint64_t)sb.st_size != size ||
	    fs_mtime_ns(&sb) != fs_mtime_ns(&sa)) {
		close(fd);
		return err_set(
		    err, ERR_NONE, "%s changed while it was hashed", path);
	}
	close(fd);
	h->dev = (uint64_t)sb.st_dev;
	h->ino = (uint64_t)sb.st_ino;
	h->size = size;
	h->mtime_ns = fs_mtime_ns(&sb);
	return 0;
}

/*
 * store_file for a file the caller takes (take = 1) whose digest h was
 * computed ahead by store_hash_known: the store gets a hard link and the
 * bytes are not read again, provided the linked inode is still the one
 * hashed (device, inode, size and modification time unchanged). Otherwise,
 * or if it cannot be linked, exactly store_file.
 */
int
store_file_known(struct xfer *x, const char *src, const struct xfer_hash *h,
    char *hex, uint64_t *size, struct error *err)
{
	static unsigned seq;
	struct stat sb;
	char *tmp;
	int fd, same;

	xasprintf(&tmp, "%s/.ln-%ld-k%u", x->dir_files, (long)getpid(), ++seq);
	unlink(tmp); /* a leftover of an earlier process with our pid */
	if (link(src, tmp) == -1) {
		free(tmp);
		return store_file(x, src, 1, hex, size, err);
	}
	same = lstat(tmp, &sb) == 0 && S_ISREG(sb.st_mode) &&
	       (uint64_t)sb.st_dev == h->dev && (uint64_t)sb.st_ino == h->ino &&
	       (uint64_t)sb.st_size == h->size &&
	       fs_mtime_ns(&sb) == h->mtime_ns;
	if (!same) {
		unlink(tmp);
		free(tmp);
		return store_file(x, src, 1, hex, size, err);
	}
	if (!db_nested(x->db)) {
		/* the link shares the inode: this flushes its writer's data */
		if ((fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
		    fsync(fd) == -1) {
			err_set(err, ERR_NONE, "cannot fsync %s: %s", tmp,
			    strerror(errno));
			if (fd != -1)
				close(fd);
			unlink(tmp);
			free(tmp);
			return -1;
		}
		close(fd);
	}
	memcpy(hex, h->hex, sizeof h->hex);
	*size = h->size;
	return store_name(x, tmp, hex, err);
}
