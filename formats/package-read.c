/*
 * package-read.c: the verifying package reader (package.md sections 3-8,
 * without the stateful duplicate and conflict checks).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
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

#define PKG_READ_CHUNK (256 * 1024)
#define PKG_P7S_MAX (1024 * 1024)
/*
 * Entries from PKG_READ_BIG bytes are read in PKG_BIG_CHUNK chunks (O_DIRECT
 * writes of 1 MiB take about two thirds of the time of 256 KiB ones here),
 * hashed and written on threads of their own.
 */
#define PKG_READ_BIG (4 * PKG_READ_CHUNK)
#define PKG_BIG_CHUNK (1024 * 1024)
#define PKG_READ_RING 4       /* chunks between the reader and the threads */
#define PKG_DIRECT_ALIGN 4096 /* O_DIRECT buffers, lengths and offsets */
/* the package's page cache is dropped behind the reader in these steps */
#define PKG_DROP_STEP (8 * 1024 * 1024)

/*
 * One big entry in three stages on a ring of chunks: the reader
 * decompresses into a chunk and hands it over; one thread hashes the
 * chunks, another writes them to the staging file, each in order. A chunk
 * is filled again once both are done with it, so an entry costs the
 * slowest stage (the digest, for Streebog) instead of the sum of all three.
 */
struct pkg_pipe {
	pthread_t hasher, writer;
	pthread_mutex_t mu;
	pthread_cond_t more; /* a chunk was filled, or the end or a stop */
	pthread_cond_t room; /* a chunk was hashed or written, or a stop */
	struct digest *d;
	int fd;     /* the staging file (or the documents), -1 for none */
	int direct; /* fd is still O_DIRECT (the writer's) */
	unsigned char *const *ring;
	size_t len[PKG_READ_RING];
	uint64_t filled;  /* chunks handed over */
	uint64_t hashed;  /* chunks the hasher is done with */
	uint64_t written; /* chunks the writer is done with */
	int werrno;       /* the write that failed, 0 if none */
	int end;          /* nothing more: finish what is filled */
	int stop;         /* give up now (an error) */
	int hashing;      /* the hash thread runs */
	int writing;      /* the write thread runs */
};

struct pkg_reader {
	struct archive *a;
	int fd;        /* the package file */
	off_t dropped; /* its bytes dropped from the page cache */
	const struct pkg_verify_opts *o;
	struct pkg *p;
	struct error *err;
	unsigned char *buf;
	unsigned char *ring[PKG_READ_RING];  /* aligned, for big entries */
	const struct manifest_entry **index; /* manifest entries by path */
	unsigned char *seen;
	uint64_t nread;  /* archive entries read */
	uint64_t docend; /* bytes in the document file */
};

/* Compare manifest entries by path. */
static int
pkg_index_cmp(const void *a, const void *b)
{
	const struct manifest_entry *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/* Look a path up in the sorted manifest index. */
static ssize_t
pkg_index_find(struct pkg_reader *r, const char *path)
{
	size_t lo = 0, hi = r->p->m.nentries, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(path, r->index[mid]->path);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Open libarchive on fd with only the tar formats and the allowed filters. */
static struct archive *
pkg_reader_open(int fd, unsigned filters)
{
	struct archive *a;

	a = archive_read_new();
	archive_read_support_format_tar(a);
	if ((filters & PKG_FILTER_GZIP) && archive_zlib_version() != NULL)
		archive_read_support_filter_gzip(a);
	if ((filters & PKG_FILTER_ZSTD) && archive_libzstd_version() != NULL)
		archive_read_support_filter_zstd(a);
	if (archive_read_open_fd(a, fd, PKG_READ_CHUNK) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Read the next header; 1 at the end, 0 with an entry, -1 on a broken archive. */
static int
pkg_reader_next(struct pkg_reader *r, struct archive_entry **ae)
{
	int rc = archive_read_next_header(r->a, ae);

	if (rc == ARCHIVE_EOF)
		return 1;
	if (rc != ARCHIVE_OK)
		return err_set(r->err, ERR_ARCHIVE,
		    "not a valid tar stream: %s", pkg_archive_error(r->a));
	if (++r->nread > r->o->limits.max_entries + 2)
		return err_set(r->err, ERR_SIZE, "more than %llu entries",
		    (unsigned long long)r->o->limits.max_entries);
	return 0;
}

/* Only plain regular files, no links, no sparse maps. */
static int
pkg_reader_type(struct pkg_reader *r, struct archive_entry *ae)
{
	const char *path = archive_entry_pathname(ae);
	const char *what = NULL;

	if (path == NULL)
		path = "(unreadable name)";
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		break;
	case AE_IFDIR:
		what = "a directory";
		break;
	case AE_IFLNK:
		what = "a symbolic link";
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		what = "a device";
		break;
	case AE_IFIFO:
		what = "a fifo";
		break;
	default:
		what = "not a regular file";
		break;
	}
	if (what == NULL && archive_entry_hardlink(ae) != NULL)
		what = "a hard link";
	if (what == NULL && archive_entry_symlink(ae) != NULL)
		what = "a symbolic link";
	if (what == NULL && archive_entry_sparse_count(ae) > 0)
		what = "a sparse file";
	if (what != NULL)
		return err_set(r->err, ERR_ENTRY,
		    "entry %.200s is %s; only regular files are allowed", path,
		    what);
	return 0;
}

/*
 * Read a whole small entry into memory, at most max bytes; the buffer is
 * sized by the header's size when that is within max.
 */
static int
pkg_reader_small(struct pkg_reader *r, struct archive_entry *ae,
    const char *what, uint64_t max, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	la_int64_t hint =
	    archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
	la_ssize_t got;

	for (;;) {
		if (n == cap) {
			if (cap == 0 && hint >= 0 && (uint64_t)hint < max)
				cap = (size_t)hint + 1;
			else
				cap = cap ? cap * 2 : 65536;
			if (cap > max + 1)
				cap = (size_t)max + 1;
			buf = xreallocarray(buf, cap, 1);
		}
		got = archive_read_data(r->a, buf + n, cap - n);
		if (got < 0) {
			free(buf);
			return err_set(r->err, ERR_ARCHIVE, "reading %s: %s",
			    what, pkg_archive_error(r->a));
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			free(buf);
			return err_set(r->err, ERR_SIZE,
			    "%s is larger than the limit of %llu bytes", what,
			    (unsigned long long)max);
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Save bytes to a new file in the staging directory. */
static int
pkg_reader_save(struct pkg_reader *r, const char *name, const void *buf,
    size_t len, char **pathp)
{
	int fd;

	xasprintf(pathp, "%s/%s", r->p->stagedir, name);
	fd = open(
	    *pathp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 || fs_write_all(fd, buf, len) == -1) {
		err_set(r->err, ERR_NONE, "cannot write %s: %s%s", *pathp,
		    strerror(errno), fs_why(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Write a chunk of a big entry to its staging file: with O_DIRECT while
 * whole blocks remain (no copy into fresh page cache, which is what a
 * write costs most here); the tail, or everything when the file system
 * refuses O_DIRECT, goes through the page cache. fsync follows as ever.
 */
static int
pkg_reader_write(int fd, int *direct, const unsigned char *buf, size_t len)
{
	ssize_t n;
	int fl;

	while (*direct && len >= PKG_DIRECT_ALIGN) {
		n = write(fd, buf, len & ~(size_t)(PKG_DIRECT_ALIGN - 1));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EINVAL)
			return -1;
		if (n <= 0)
			break; /* not for this file system: buffered */
		buf += n;
		len -= (size_t)n;
		if (n % PKG_DIRECT_ALIGN != 0)
			break; /* off the blocks: buffered from here */
	}
	if (len == 0)
		return 0;
	if (*direct) {
		if ((fl = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, fl & ~O_DIRECT) == -1)
			return -1;
		*direct = 0;
	}
	return fs_write_all(fd, buf, len);
}

/*
 * A stage's thread: hash (or write) every chunk handed over, in order,
 * until the end; a failed write stops the whole entry.
 */
static void
pkg_pipe_work(struct pkg_pipe *p, int writer)
{
	uint64_t *done = writer ? &p->written : &p->hashed;
	size_t k;
	int rc = 0, e = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (*done == p->filled && !p->end && !p->stop)
			pthread_cond_wait(&p->more, &p->mu);
		if (p->stop || *done == p->filled)
			break;
		k = (size_t)(*done % PKG_READ_RING);
		pthread_mutex_unlock(&p->mu);
		if (writer) {
			rc = pkg_reader_write(
			    p->fd, &p->direct, p->ring[k], p->len[k]);
			e = errno;
		} else
			digest_update(p->d, p->ring[k], p->len[k]);
		pthread_mutex_lock(&p->mu);
		if (rc == -1) {
			p->werrno = e != 0 ? e : EIO;
			p->stop = 1;
			pthread_cond_broadcast(&p->more);
			pthread_cond_signal(&p->room);
			break;
		}
		(*done)++;
		pthread_cond_signal(&p->room);
	}
	pthread_mutex_unlock(&p->mu);
}

/* The hash thread. */
static void *
pkg_pipe_hasher(void *arg)
{
	pkg_pipe_work(arg, 0);
	return NULL;
}

/* The write thread. */
static void *
pkg_pipe_writer(void *arg)
{
	pkg_pipe_work(arg, 1);
	return NULL;
}

/*
 * Start the threads of a big entry: the digest into d, the writes to fd
 * (none if -1). A stage whose thread cannot be made runs in line in the
 * reader (slower, never wrong).
 */
static void
pkg_pipe_start(struct pkg_pipe *p, unsigned char *const *ring, struct digest *d,
    int fd, int direct, const char *path)
{
	int rc;

	memset(p, 0, sizeof *p);
	p->d = d;
	p->fd = fd;
	p->direct = direct;
	p->ring = ring;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->room, NULL);
	if ((rc = pthread_create(&p->hasher, NULL, pkg_pipe_hasher, p)) != 0)
		log_warnx("entry %s: no hash thread (%s); hashing in line",
		    path, strerror(rc));
	else
		p->hashing = 1;
	if (fd == -1)
		return;
	if ((rc = pthread_create(&p->writer, NULL, pkg_pipe_writer, p)) != 0)
		log_warnx("entry %s: no write thread (%s); writing in line",
		    path, strerror(rc));
	else
		p->writing = 1;
}

/*
 * Wait until chunk number n of the ring may be filled again: both stages
 * are done with what it held. -1 if a stage failed.
 */
static int
pkg_pipe_wait(struct pkg_pipe *p, uint64_t n)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	while (!p->stop && (n - p->hashed >= PKG_READ_RING ||
	                       n - p->written >= PKG_READ_RING))
		pthread_cond_wait(&p->room, &p->mu);
	rc = p->stop ? -1 : 0;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/*
 * Hand the next chunk of the ring, len bytes, to the threads; a stage
 * without a thread has done it in line already.
 */
static void
pkg_pipe_put(struct pkg_pipe *p, size_t len)
{
	pthread_mutex_lock(&p->mu);
	p->len[p->filled % PKG_READ_RING] = len;
	p->filled++;
	if (!p->hashing)
		p->hashed = p->filled;
	if (!p->writing)
		p->written = p->filled;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->mu);
}

/*
 * Join the threads: after every chunk is done, or (stop, on any error) at
 * once. Called on every path out of an entry that started them; returns
 * -1 with errno set if a write failed.
 */
static int
pkg_pipe_join(struct pkg_pipe *p, int stop)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	p->end = 1;
	if (stop)
		p->stop = 1;
	pthread_cond_broadcast(&p->more);
	pthread_mutex_unlock(&p->mu);
	if (p->hashing && (rc = pthread_join(p->hasher, NULL)) != 0)
		fatalx("cannot join the hash thread: %s", strerror(rc));
	if (p->writing && (rc = pthread_join(p->writer, NULL)) != 0)
		fatalx("cannot join the write thread: %s", strerror(rc));
	p->hashing = p->writing = 0;
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->more);
	pthread_mutex_destroy(&p->mu);
	if (p->werrno != 0) {
		errno = p->werrno;
		return -1;
	}
	return 0;
}

/* Allocate the ring of aligned chunks for big entries, once per package. */
static void
pkg_reader_ring(struct pkg_reader *r)
{
	size_t i;

	for (i = 0; i < PKG_READ_RING && r->ring[i] == NULL; i++)
		if ((r->ring[i] = aligned_alloc(
		         PKG_DIRECT_ALIGN, PKG_BIG_CHUNK)) == NULL)
			fatal("aligned_alloc");
}

/*
 * Drop the package's pages read so far from the page cache, for a big
 * entry being staged: the package is removed once imported, and evicting
 * a GiB of its cache in that unlink costs the round about 0.2 s, while
 * here it overlaps the hash thread. Only a hint: errors are ignored.
 */
static void
pkg_reader_drop(struct pkg_reader *r)
{
	la_int64_t raw = archive_filter_bytes(r->a, -1);
	off_t to;

	if (raw <= 0)
		return;
	to = (off_t)raw & ~(off_t)(PKG_DROP_STEP - 1);
	if (to <= r->dropped)
		return;
	(void)posix_fadvise(
	    r->fd, r->dropped, to - r->dropped, POSIX_FADV_DONTNEED);
	r->dropped = to;
}

/*
 * Fill buf with up to max bytes of the current entry, never past the size
 * the manifest lists; *len 0 at the entry's end.
 */
static int
pkg_reader_fill(struct pkg_reader *r, const struct manifest_entry *me,
    uint64_t total, unsigned char *buf, size_t max, size_t *len)
{
	la_ssize_t got;

	*len = 0;
	while (*len < max) {
		got = archive_read_data(r->a, buf + *len, max - *len);
		if (got < 0)
			return err_set(r->err, ERR_ARCHIVE, "reading %s: %s",
			    me->path, pkg_archive_error(r->a));
		if (got == 0)
			break;
		if ((uint64_t)got > me->size - total - *len)
			return err_set(r->err, ERR_DIGEST,
			    "entry %s is larger than the %llu bytes the "
			    "manifest lists",
			    me->path, (unsigned long long)me->size);
		*len += (size_t)got;
	}
	return 0;
}

/*
 * Stream one payload entry while hashing, never past its size: documents
 * (at most max_xml bytes, checked against the manifest already) appended
 * to the package's document file, attachments into a staging file of
 * their own (or nowhere, when the caller only verifies). A big entry is
 * hashed and written on threads of their own (struct pkg_pipe) while the
 * next chunks are read.
 */
static int
pkg_reader_entry(
    struct pkg_reader *r, const struct manifest_entry *me, struct pkg_entry *pe)
{
	char hex[DIGEST_HEX_LEN + 1];
	struct digest d;
	struct pkg_pipe p = {0};
	unsigned char *buf;
	uint64_t total = 0, n = 0;
	size_t len;
	int fd = -1, big, direct = 0;

	pe->path = xstrdup(me->path);
	pe->size = me->size;
	memcpy(pe->digest, me->digest, sizeof pe->digest);
	big = me->size >= PKG_READ_BIG;
	if (pkg_doc_path(me->path)) {
		pe->off = r->docend;
		fd = r->p->docfd;
	} else if (r->o->discard)
		; /* only verified: nothing written */
	else {
		xasprintf(
		    &pe->staged, "%s/e%06zu", r->p->stagedir, r->p->nentries);
		direct = big;
		fd = open(pe->staged,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW |
		        (direct ? O_DIRECT : 0),
		    0600);
		if (fd == -1 && direct && errno == EINVAL) {
			/* no O_DIRECT on this file system */
			direct = 0;
			fd = open(pe->staged,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			        O_NOFOLLOW,
			    0600);
		}
		if (fd == -1)
			return err_set(r->err, ERR_NONE,
			    "cannot create %s: %s; check the staging disk",
			    pe->staged, strerror(errno));
	}
	digest_init(&d, r->p->m.alg);
	if (big) {
		pkg_reader_ring(r);
		pkg_pipe_start(&p, r->ring, &d, fd, direct, me->path);
	}
	for (;; n++) {
		buf = big ? r->ring[n % PKG_READ_RING] : r->buf;
		if (big && pkg_pipe_wait(&p, n) == -1)
			goto fail; /* a write failed: reported below */
		if (pkg_reader_fill(r, me, total, buf,
		        big ? PKG_BIG_CHUNK : PKG_READ_CHUNK, &len) == -1)
			goto fail;
		if (len == 0)
			break;
		if (!p.hashing)
			digest_update(&d, buf, len);
		if (!p.writing && fd != -1 &&
		    pkg_reader_write(fd, &direct, buf, len) == -1)
			goto fail_write;
		if (big)
			pkg_pipe_put(&p, len);
		if (big && !r->o->discard)
			pkg_reader_drop(r);
		total += len;
	}
	if (big && pkg_pipe_join(&p, 0) == -1) {
		big = 0;
		goto fail_write;
	}
	digest_final_hex(&d, hex);
	if (fd == r->p->docfd) {
		r->docend += total;
		fd = -1;
	}
	if (fd != -1 && close(fd) == -1)
		return err_set(r->err, ERR_NONE,
		    "cannot write %s: %s; check the staging disk", pe->staged,
		    strerror(errno));
	if (total != me->size)
		return err_set(r->err, ERR_DIGEST,
		    "entry %s has %llu bytes, the manifest lists %llu",
		    me->path, (unsigned long long)total,
		    (unsigned long long)me->size);
	if (strcmp(hex, me->digest) != 0)
		return err_set(r->err, ERR_DIGEST,
		    "entry %s: %s digest mismatch", me->path,
		    digest_alg_name(r->p->m.alg));
	return 0;
fail_write:
	err_set(r->err, ERR_NONE, "cannot write %s: %s; check the staging disk",
	    pe->staged != NULL ? pe->staged : r->p->stagedir, strerror(errno));
fail:
	if (big && pkg_pipe_join(&p, 1) == -1) /* our disk before the package */
		err_set(r->err, ERR_NONE,
		    "cannot write %s: %s; check the staging disk",
		    pe->staged != NULL ? pe->staged : r->p->stagedir,
		    strerror(errno));
	digest_final_hex(&d, hex);
	if (fd != -1 && fd != r->p->docfd)
		close(fd);
	return -1;
}

/* Steps 2: manifest, signature, name, recipient; then limits on the manifest. */
static int
pkg_reader_head(
    struct pkg_reader *r, char *sender, uint64_t seq, const char *uuid)
{
	struct archive_entry *ae;
	const struct pkg_verify_opts *o = r->o;
	const struct pkg_limits *l = &o->limits;
	unsigned char *mbuf = NULL, *sbuf = NULL;
	size_t mlen = 0, slen = 0, i;
	uint64_t sum = 0;
	const char *path;
	int rc, ret = -1, code;

	if ((rc = pkg_reader_next(r, &ae)) != 0) {
		if (rc == 1)
			err_set(r->err, ERR_MANIFEST, "the archive is empty");
		return -1;
	}
	/* archive_filter_code(0) is the outermost decoder; count includes raw */
	if (archive_filter_count(r->a) > 2)
		return err_set(r->err, ERR_ARCHIVE, "nested compression");
	code = archive_filter_code(r->a, 0);
	if (code == ARCHIVE_FILTER_NONE && (o->filters & PKG_FILTER_NONE))
		r->p->compress = PKG_COMPRESS_NONE;
	else if (code == ARCHIVE_FILTER_GZIP)
		r->p->compress = PKG_COMPRESS_GZIP;
	else if (code == ARCHIVE_FILTER_ZSTD)
		r->p->compress = PKG_COMPRESS_ZSTD;
	else
		return err_set(r->err, ERR_ARCHIVE,
		    "compression %s is not allowed",
		    archive_filter_name(r->a, 0));
	if ((archive_format(r->a) & ARCHIVE_FORMAT_BASE_MASK) !=
	    ARCHIVE_FORMAT_TAR)
		return err_set(r->err, ERR_ARCHIVE, "not a tar archive");
	if (pkg_reader_type(r, ae) == -1)
		return -1;
	path = archive_entry_pathname(ae);
	if (path == NULL || strcmp(path, "manifest.xml") != 0)
		return err_set(r->err, ERR_ENTRY,
		    "first entry is %.200s, it must be manifest.xml",
		    path ? path : "(unreadable)");
	if (pkg_reader_small(
	        r, ae, "manifest.xml", l->max_manifest, &mbuf, &mlen) == -1)
		goto out;

	if ((rc = pkg_reader_next(r, &ae)) != 0) {
		if (rc == 1)
			err_set(r->err, ERR_SIGNATURE,
			    "no manifest.xml.p7s after manifest.xml");
		goto out;
	}
	if (pkg_reader_type(r, ae) == -1)
		goto out;
	path = archive_entry_pathname(ae);
	if (path == NULL || strcmp(path, "manifest.xml.p7s") != 0) {
		err_set(r->err, ERR_ENTRY,
		    "second entry is %.200s, it must be manifest.xml.p7s",
		    path ? path : "(unreadable)");
		goto out;
	}
	if (pkg_reader_small(
	        r, ae, "manifest.xml.p7s", PKG_P7S_MAX, &sbuf, &slen) == -1)
		goto out;

	if (manifest_parse(mbuf, mlen, l->max_depth, &r->p->m, r->err) == -1)
		goto out;
	if (strcmp(r->p->m.sender, sender) != 0 || r->p->m.seq != seq ||
	    strcmp(r->p->m.uuid, uuid) != 0) {
		err_set(r->err, ERR_NAME,
		    "file name says %s/%llu/%s, the manifest says "
		    "%s/%llu/%s",
		    sender, (unsigned long long)seq, uuid, r->p->m.sender,
		    (unsigned long long)r->p->m.seq, r->p->m.uuid);
		goto out;
	}
	if (strcmp(r->p->m.recipient, o->own_id) != 0) {
		err_set(r->err, ERR_RECIPIENT,
		    "package is for %s, this gateway is %s", r->p->m.recipient,
		    o->own_id);
		goto out;
	}
	if (((1u << r->p->m.alg) & o->digests) == 0) {
		err_set(r->err, ERR_MANIFEST, "digest %s is not allowed",
		    digest_alg_name(r->p->m.alg));
		goto out;
	}
	if (sig_verify(o->trust, mbuf, mlen, sbuf, slen, r->p->m.sender,
	        o->now ? o->now : time(NULL), o->sig_algs, &r->p->sig,
	        r->err) == -1)
		goto out;
	digest_mem_hex(DIGEST_STREEBOG256, mbuf, mlen, r->p->manifest_digest);

	if (r->p->m.nentries > l->max_entries) {
		err_set(r->err, ERR_SIZE,
		    "manifest lists %zu entries, limit %llu", r->p->m.nentries,
		    (unsigned long long)l->max_entries);
		goto out;
	}
	for (i = 0; i < r->p->m.nentries; i++) {
		const struct manifest_entry *e = &r->p->m.entries[i];
		uint64_t max =
		    pkg_doc_path(e->path) ? l->max_xml : l->max_entry;

		if (e->size > max) {
			err_set(r->err, ERR_SIZE,
			    "entry %s: %llu bytes, limit %llu", e->path,
			    (unsigned long long)e->size,
			    (unsigned long long)max);
			goto out;
		}
		sum += e->size;
	}
	if (sum > l->max_total) {
		err_set(r->err, ERR_SIZE,
		    "entries sum to %llu bytes, limit %llu",
		    (unsigned long long)sum, (unsigned long long)l->max_total);
		goto out;
	}
	if (pkg_reader_save(
	        r, "manifest.xml", mbuf, mlen, &r->p->manifest_path) == -1 ||
	    pkg_reader_save(
	        r, "manifest.xml.p7s", sbuf, slen, &r->p->p7s_path) == -1)
		goto out;
	ret = 0;
out:
	free(mbuf);
	free(sbuf);
	return ret;
}

/* Step 3: every payload entry listed once, streamed and checked. */
static int
pkg_reader_body(struct pkg_reader *r)
{
	struct archive_entry *ae;
	struct manifest *m = &r->p->m;
	const char *path;
	ssize_t k;
	size_t i;
	int rc;

	r->index = xcalloc(m->nentries ? m->nentries : 1, sizeof *r->index);
	r->seen = xcalloc(m->nentries ? m->nentries : 1, 1);
	for (i = 0; i < m->nentries; i++)
		r->index[i] = &m->entries[i];
	qsort(r->index, m->nentries, sizeof *r->index, pkg_index_cmp);
	r->p->entries =
	    xcalloc(m->nentries ? m->nentries : 1, sizeof *r->p->entries);

	while ((rc = pkg_reader_next(r, &ae)) == 0) {
		if (pkg_reader_type(r, ae) == -1)
			return -1;
		path = archive_entry_pathname(ae);
		if (path == NULL || !pkg_path_valid(path))
			return err_set(r->err, ERR_ENTRY,
			    "entry path '%.200s' is not allowed (payload/ "
			    "and 1 to 3 parts of [A-Za-z0-9._-])",
			    path ? path : "(unreadable)");
		if ((k = pkg_index_find(r, path)) == -1)
			return err_set(r->err, ERR_ENTRY,
			    "entry %s is not listed in the manifest", path);
		if (r->seen[k])
			return err_set(
			    r->err, ERR_ENTRY, "entry %s appears twice", path);
		r->seen[k] = 1;
		if (pkg_reader_entry(
		        r, r->index[k], &r->p->entries[r->p->nentries++]) == -1)
			return -1;
	}
	if (rc == -1)
		return -1;
	for (i = 0; i < m->nentries; i++)
		if (!r->seen[i])
			return err_set(r->err, ERR_ENTRY,
			    "entry %s is in the manifest but not in the "
			    "archive",
			    r->index[i]->path);
	return 0;
}

/*
 * Verify the package file at path, staging its content under stagebase
 * (which must be private to us). Returns the package, or NULL with err set
 * to the rejection code and text. Nothing is kept on rejection.
 */
struct pkg *
pkg_read(const char *path, const char *stagebase,
    const struct pkg_verify_opts *o, struct error *err)
{
	struct pkg_reader r;
	struct stat sb;
	char sender[33], uuid[37], *copy, *base, *tmpl;
	uint64_t seq;
	struct pkg *p;
	int fd = -1, ok = 0;

	err_clear(err);
	memset(&r, 0, sizeof r);
	p = xcalloc(1, sizeof *p);
	p->docfd = -1;
	p->limits = o->limits;
	copy = xstrdup(path);
	base = basename(copy);
	if (pkg_name_parse(base, sender, &seq, uuid) == -1) {
		err_set(err, ERR_NAME,
		    "file name %.100s is not <sender>.<seq:12>.<uuid>.pkg",
		    base);
		free(copy);
		free(p);
		return NULL;
	}
	snprintf(p->name, sizeof p->name, "%s", base);
	free(copy);

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		err_set(
		    err, ERR_NONE, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		err_set(err, ERR_ARCHIVE, "%s is not a regular file", path);
		goto out;
	}
	p->file_size = (uint64_t)sb.st_size;
	if (p->file_size > o->limits.max_file) {
		err_set(err, ERR_SIZE, "file has %llu bytes, limit %llu",
		    (unsigned long long)p->file_size,
		    (unsigned long long)o->limits.max_file);
		goto out;
	}
	xasprintf(&tmpl, "%s/.pkg-XXXXXX", stagebase);
	if (mkdtemp(tmpl) == NULL) {
		err_set(err, ERR_NONE, "cannot create staging in %s: %s",
		    stagebase, strerror(errno));
		free(tmpl);
		goto out;
	}
	p->stagedir = tmpl;
	xasprintf(&tmpl, "%s/documents", p->stagedir);
	p->docfd = open(
	    tmpl, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (p->docfd == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s%s", tmpl,
		    strerror(errno), fs_why(errno));
		free(tmpl);
		goto out;
	}
	free(tmpl);

	r.o = o;
	r.p = p;
	r.fd = fd;
	r.err = err;
	r.buf = xmalloc(PKG_READ_CHUNK);
	if ((r.a = pkg_reader_open(fd, o->filters)) == NULL) {
		err_set(err, ERR_ARCHIVE, "cannot read %s as an archive", path);
		goto out;
	}
	if (pkg_reader_head(&r, sender, seq, uuid) == -1 ||
	    pkg_reader_body(&r) == -1 ||
	    payload_check(p->entries, p->nentries, p->docfd, &o->limits, err) ==
	        -1)
		goto out;
	ok = 1;
out:
	if (r.a != NULL)
		archive_read_free(r.a);
	if (fd != -1)
		close(fd);
	free(r.buf);
	for (size_t i = 0; i < PKG_READ_RING; i++)
		free(r.ring[i]);
	free(r.index);
	free(r.seen);
	if (!ok) {
		err_keep(err, ERR_ARCHIVE, "unreadable package");
		pkg_free(p);
		return NULL;
	}
	return p;
}

/* Find a verified entry by its payload path. */
const struct pkg_entry *
pkg_entry_find(const struct pkg *p, const char *path)
{
	size_t i;

	for (i = 0; i < p->nentries; i++)
		if (strcmp(p->entries[i].path, path) == 0)
			return &p->entries[i];
	return NULL;
}

/*
 * Parse a verified document of the package again (pkg_read keeps none in
 * memory); the caller frees the tree.
 */
xmlDocPtr
pkg_entry_parse(
    const struct pkg *p, const struct pkg_entry *e, struct error *err)
{
	return payload_parse(e, p->docfd, &p->limits, err);
}

/* Free a package and remove its staging directory. */
void
pkg_free(struct pkg *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nentries; i++) {
		free(p->entries[i].path);
		free(p->entries[i].staged);
		free(p->entries[i].mem);
	}
	free(p->entries);
	if (p->docfd != -1)
		close(p->docfd);
	manifest_free(&p->m);
	if (p->stagedir != NULL) {
		fs_rmtree(p->stagedir);
		free(p->stagedir);
	}
	free(p->manifest_path);
	free(p->p7s_path);
	free(p);
}

/* Write a document kept in memory to name under dfd, never replacing. */
static int
pkg_extract_mem(const unsigned char *buf, size_t len, int dfd, const char *name,
    const char *shown, struct error *err)
{
	int out;

	out = openat(dfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out == -1)
		return err_set(err, ERR_NONE,
		    errno == EEXIST ? "%s already exists; extract into an "
		                      "empty directory"
		                    : "cannot create %s: %s%s",
		    shown, strerror(errno), fs_why(errno));
	if (fs_write_all(out, buf, len) == -1 || fsync(out) == -1) {
		err_set(err, ERR_NONE, "cannot write %s: %s%s", shown,
		    strerror(errno), fs_why(errno));
		close(out);
		return -1;
	}
	if (close(out) == -1)
		return err_set(err, ERR_NONE, "cannot write %s: %s%s", shown,
		    strerror(errno), fs_why(errno));
	return 0;
}

/* Write a document from the document file to name under dfd, never replacing. */
static int
pkg_extract_doc(const struct pkg *p, const struct pkg_entry *e, int dfd,
    const char *name, const char *shown, struct error *err)
{
	unsigned char *buf;
	int rc;

	if (e->mem != NULL)
		return pkg_extract_mem(
		    e->mem, e->memlen, dfd, name, shown, err);
	if ((buf = payload_bytes(e, p->docfd, err)) == NULL)
		return -1;
	rc = pkg_extract_mem(buf, (size_t)e->size, dfd, name, shown, err);
	free(buf);
	return rc;
}

/* Move or copy one staged file to name under the directory dfd, never replacing. */
static int
pkg_extract_one(const char *staged, int dfd, const char *name,
    const char *shown, struct error *err)
{
	unsigned char buf[65536];
	ssize_t n;
	int in, out;

	if (renameat2(AT_FDCWD, staged, dfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		return err_set(err, ERR_NONE,
		    "%s already exists; extract into "
		    "an empty directory",
		    shown);
	if (errno != EXDEV && errno != EINVAL)
		return err_set(err, ERR_NONE, "cannot create %s: %s%s", shown,
		    strerror(errno), fs_why(errno));
	if ((in = open(staged, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, ERR_NONE, "cannot read %s: %s", staged,
		    strerror(errno));
	out = openat(dfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out == -1) {
		close(in);
		return err_set(err, ERR_NONE, "cannot create %s: %s%s", shown,
		    strerror(errno), fs_why(errno));
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (fs_write_all(out, buf, (size_t)n) == -1)
			break;
	if (n != 0 || fsync(out) == -1) {
		err_set(err, ERR_NONE, "cannot write %s: %s%s", shown,
		    strerror(errno), fs_why(errno));
		close(in);
		close(out);
		return -1;
	}
	close(in);
	close(out);
	return 0;
}

/*
 * Write a verified package's manifest, signature and entries under dir,
 * creating payload/ subdirectories without following any symlink.
 */
int
pkg_extract(const struct pkg *p, const char *dir, struct error *err)
{
	char comp[256], shown[4096];
	const char *s, *slash;
	size_t i;
	int root, dfd, next;

	err_clear(err);
	if ((root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(
		    err, ERR_NONE, "cannot open %s: %s", dir, strerror(errno));
	snprintf(shown, sizeof shown, "%s/manifest.xml", dir);
	if (pkg_extract_one(
	        p->manifest_path, root, "manifest.xml", shown, err) == -1)
		goto fail;
	snprintf(shown, sizeof shown, "%s/manifest.xml.p7s", dir);
	if (pkg_extract_one(
	        p->p7s_path, root, "manifest.xml.p7s", shown, err) == -1)
		goto fail;
	for (i = 0; i < p->nentries; i++) {
		snprintf(shown, sizeof shown, "%s/%s", dir, p->entries[i].path);
		if ((dfd = dup(root)) == -1)
			goto fail;
		for (s = p->entries[i].path; (slash = strchr(s, '/')) != NULL;
		     s = slash + 1) {
			snprintf(
			    comp, sizeof comp, "%.*s", (int)(slash - s), s);
			if (mkdirat(dfd, comp, 0755) == -1 && errno != EEXIST) {
				err_set(err, ERR_NONE, "cannot create %s: %s%s",
				    shown, strerror(errno), fs_why(errno));
				close(dfd);
				goto fail;
			}
			next = openat(dfd, comp,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			close(dfd);
			if ((dfd = next) == -1) {
				err_set(err, ERR_NONE,
				    "cannot open %s: %s "
				    "(a symlink in the way?)",
				    shown, strerror(errno));
				goto fail;
			}
		}
		if ((p->entries[i].staged != NULL
		            ? pkg_extract_one(
		                  p->entries[i].staged, dfd, s, shown, err)
		            : pkg_extract_doc(p, &p->entries[i], dfd, s, shown,
		                  err)) == -1) {
			close(dfd);
			goto fail;
		}
		fsync(dfd);
		close(dfd);
	}
	fsync(root);
	close(root);
	return 0;
fail:
	close(root);
	err_keep(
	    err, ERR_NONE, "cannot extract into %s: %s", dir, strerror(errno));
	return -1;
}
