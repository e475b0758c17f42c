/*
 * media.c: carrying packages between zones on removable media
 * (posgw media export|import), with a hand-over inventory: what export
 * (media-export.c) and import (media-import.c) share: the verified copy,
 * directory scans, progress and messages. The inventory is
 * media-inventory.c's.
 *
 * Only complete files ever carry a package name: every copy is written as
 * .NAME, fsynced, read back and compared, then renamed and the directory
 * fsynced. Readers ignore names starting with '.', so a medium pulled out or
 * full mid-copy leaves nothing half-visible on either side.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "media-int.h"
#include "sig.h"
#include "xmalloc.h"

static unsigned char *media_buffer(void);
static void media_human(uint64_t n, char *buf, size_t len);
static void media_bar_draw(void);
static int media_digest_fd(
    int fd, char hex[DIGEST_HEX_LEN + 1], uint64_t *sizep);
static int media_dir_check(const char *path, const char *what, struct stat *sb);

/* The progress bar and the command running. */
static struct {
	int on;
	const char *cmd;
	uint64_t done, total;
	char label[160];
	struct timespec last;
	int drawn;
} media_bar = {.cmd = "media"};

static unsigned char *media_buf;

/* The shared 1 MiB copy buffer, allocated once. */
static unsigned char *
media_buffer(void)
{
	if (media_buf == NULL)
		media_buf = xmalloc(MEDIA_BUFSZ);
	return media_buf;
}

/* Format a byte count for people. */
static void
media_human(uint64_t n, char *buf, size_t len)
{
	if (n >= 1024ULL * 1024 * 1024)
		snprintf(
		    buf, len, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
	else if (n >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024));
	else if (n >= 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(buf, len, "%" PRIu64 " B", n);
}

/* True while a progress bar is drawn (messages then clear it first). */
int
media_bar_on(void)
{
	return media_bar.on;
}

/* Draw the progress bar on stderr (a terminal). */
static void
media_bar_draw(void)
{
	struct winsize ws;
	char line[512], bar[21], done[32], total[32];
	int cols = 80, pct, fill, i;

	if (!media_bar.on)
		return;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		cols = ws.ws_col;
	if (media_bar.total == 0)
		pct = 100;
	else
		pct = (int)(media_bar.done * 100 / media_bar.total);
	if (pct > 100)
		pct = 100;
	fill = pct / 5;
	for (i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[20] = '\0';
	media_human(media_bar.done, done, sizeof done);
	media_human(media_bar.total, total, sizeof total);
	if (media_bar.total == 0)
		snprintf(line, sizeof line, "%s", media_bar.label);
	else
		snprintf(line, sizeof line, "%3d%% [%s] %s / %s  %s", pct, bar,
		    done, total, media_bar.label);
	if ((size_t)cols - 1 < sizeof line)
		line[cols - 1] = '\0';
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	media_bar.drawn = 1;
	clock_gettime(CLOCK_MONOTONIC, &media_bar.last);
}

/* Erase the progress bar so that a message can be printed. */
void
media_bar_clear(void)
{
	if (!media_bar.drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	media_bar.drawn = 0;
}

/* Start a progress bar over total bytes, if on. */
void
media_bar_start(const char *cmd, int on, uint64_t total)
{
	media_bar.cmd = cmd;
	media_bar.on = on;
	media_bar.done = 0;
	media_bar.total = total;
	media_bar.label[0] = '\0';
	media_bar.drawn = 0;
}

/* Say what is being done now and redraw. */
void __attribute__((format(printf, 1, 2))) media_bar_label(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(media_bar.label, sizeof media_bar.label, fmt, ap);
	va_end(ap);
	media_bar_draw();
}

/* Count bytes done; redraw at most ten times a second. */
void
media_bar_add(uint64_t n)
{
	struct timespec now;
	long ms;

	media_bar.done += n;
	if (!media_bar.on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - media_bar.last.tv_sec) * 1000 +
	     (now.tv_nsec - media_bar.last.tv_nsec) / 1000000;
	if (ms >= 100)
		media_bar_draw();
}

/* Print a line about one package on stdout. */
void __attribute__((format(printf, 1, 2))) media_say(const char *fmt, ...)
{
	va_list ap;

	media_bar_clear();
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Print "posgw: media CMD: ..." on stderr. */
void __attribute__((format(printf, 1, 2))) media_warn(const char *fmt, ...)
{
	va_list ap;

	media_bar_clear();
	fflush(stdout);
	fprintf(stderr, "posgw: %s: ", media_bar.cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Compare two records that start with a package name. */
int
media_name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Quote untrusted text for a message: printable ASCII, at most 40 bytes. */
const char *
media_quote(const char *s, char out[64])
{
	size_t i, j = 0;

	for (i = 0; s[i] != '\0' && j < 40; i++)
		out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = '\0';
	return out;
}

/* Is this fit as an inventory host or operator (1-256 bytes, no controls)? */
int
media_text_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= MEDIA_TEXT_MAX || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f)
			return 0;
	return 1;
}

/* fsync a directory, keeping errno on failure. */
int
media_fsync_dir(const char *dir)
{
	int fd, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fsync(fd) == -1 && errno != EINVAL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

/* Digest an open file, dropping its cached pages first to read the device. */
static int
media_digest_fd(int fd, char hex[DIGEST_HEX_LEN + 1], uint64_t *sizep)
{
	unsigned char *buf = media_buffer();
	struct digest d;
	uint64_t total = 0;
	ssize_t n;
	int saved;

	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	digest_init(&d, DIGEST_STREEBOG256);
	for (;;) {
		n = read(fd, buf, MEDIA_BUFSZ);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			digest_final_hex(&d, hex);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		digest_update(&d, buf, (size_t)n);
		total += (uint64_t)n;
	}
	digest_final_hex(&d, hex);
	*sizep = total;
	return 0;
}

/* Digest the regular file dir/name; -1 with errno set if it cannot be read. */
int
media_digest_path(const char *dir, const char *name,
    char hex[DIGEST_HEX_LEN + 1], uint64_t *sizep)
{
	struct stat sb;
	char *path;
	int fd, rc, saved;

	xasprintf(&path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		saved = S_ISREG(sb.st_mode) ? errno : EINVAL;
		close(fd);
		errno = saved;
		return -1;
	}
	rc = media_digest_fd(fd, hex, sizep);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Copy the open file src to dir/name through dir/.name with the 1 MiB
 * buffer, hashing while copying: write, fsync, read the copy back and compare,
 * then rename and fsync dir. If expect is given, the source must have its
 * size and digest. On any failure the dot file is removed.
 */
int
media_copy(int src, const char *dir, const char *name,
    const struct media_entry *expect, struct media_copied *c)
{
	unsigned char *buf = media_buffer();
	char *tmp, *dst, hex[DIGEST_HEX_LEN + 1];
	struct digest d;
	uint64_t back;
	ssize_t n;
	int fd = -1, rc;

	memset(c, 0, sizeof *c);
	xasprintf(&tmp, "%s/.%s", dir, name);
	xasprintf(&dst, "%s/%s", dir, name);
	if (unlink(tmp) == -1 && errno != ENOENT)
		goto write_fail;
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1)
		goto write_fail;
	/* the next account (the daemon of the inbox, the operator of the
	 * other zone) reads it through the folder's group */
	if (fs_share_group(fd, dir, 0640) == -1)
		media_warn("cannot give %s the group of %s: %s", tmp, dir,
		    strerror(errno));
	digest_init(&d, DIGEST_STREEBOG256);
	for (;;) {
		n = read(src, buf, MEDIA_BUFSZ);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			c->errnum = errno;
			digest_final_hex(&d, c->digest);
			rc = MEDIA_COPY_READ;
			goto fail;
		}
		if (n == 0)
			break;
		digest_update(&d, buf, (size_t)n);
		c->size += (uint64_t)n;
		if (expect != NULL && c->size > expect->size) {
			digest_final_hex(&d, c->digest);
			rc = MEDIA_COPY_MISMATCH;
			goto fail;
		}
		if (fs_write_all(fd, buf, (size_t)n) == -1) {
			c->errnum = errno;
			digest_final_hex(&d, c->digest);
			rc = MEDIA_COPY_WRITE;
			goto fail;
		}
		media_bar_add((uint64_t)n);
	}
	digest_final_hex(&d, c->digest);
	if (expect != NULL && (c->size != expect->size ||
	                          strcmp(c->digest, expect->digest) != 0)) {
		rc = MEDIA_COPY_MISMATCH;
		goto fail;
	}
	if (fsync(fd) == -1)
		goto write_fail;
	if (close(fd) == -1) {
		fd = -1;
		goto write_fail;
	}
	fd = -1;
	if (media_bar.on)
		media_bar_label("verifying %s", name);
	if (media_digest_path(dir, tmp + strlen(dir) + 1, hex, &back) == -1) {
		c->errnum = errno;
		rc = MEDIA_COPY_READBACK;
		goto fail;
	}
	if (back != c->size || strcmp(hex, c->digest) != 0) {
		rc = MEDIA_COPY_READBACK;
		goto fail;
	}
	if (rename(tmp, dst) == -1)
		goto write_fail;
	/* From here the file is complete; only its name may not be durable. */
	free(tmp);
	free(dst);
	if (media_fsync_dir(dir) == -1) {
		c->errnum = errno;
		return MEDIA_COPY_WRITE;
	}
	return MEDIA_COPY_OK;
write_fail:
	c->errnum = errno;
	rc = MEDIA_COPY_WRITE;
fail:
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	free(tmp);
	free(dst);
	return rc;
}

/*
 * Collect the package files of dir (regular files with a package name),
 * sorted by name. With warn, every other name not starting with '.' is
 * reported once. Returns -1 with errno if dir cannot be read.
 */
int
media_scan(const char *dir, int warn, struct media_pkg **out, size_t *np)
{
	char sender[33], uuid[37];
	struct media_pkg *v = NULL;
	struct dirent *de;
	struct stat sb;
	size_t n = 0, cap = 0;
	uint64_t seq;
	DIR *d;
	int saved;

	if ((d = opendir(dir)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (strlen(de->d_name) >= PKG_NAME_MAX ||
		    pkg_name_parse(de->d_name, sender, &seq, uuid) == -1) {
			if (warn)
				media_warn("ignoring %s/%s: not a package "
				           "name (package.md section 2)",
				    dir, de->d_name);
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			continue;
		if (!S_ISREG(sb.st_mode)) {
			if (warn)
				media_warn("ignoring %s/%s: not a regular file",
				    dir, de->d_name);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof *v);
		}
		memset(&v[n], 0, sizeof v[n]);
		snprintf(v[n].e.name, sizeof v[n].e.name, "%s", de->d_name);
		v[n].e.size = (uint64_t)sb.st_size;
		n++;
	}
	saved = errno;
	closedir(d);
	if (saved != 0) {
		free(v);
		errno = saved;
		return -1;
	}
	if (n > 0)
		qsort(v, n, sizeof *v, media_name_cmp);
	*out = v;
	*np = n;
	return 0;
}

/* Check that path is a directory we can use. */
static int
media_dir_check(const char *path, const char *what, struct stat *sb)
{
	if (stat(path, sb) == -1) {
		media_warn("cannot use %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb->st_mode)) {
		media_warn("cannot use %s %s: not a directory", what, path);
		return -1;
	}
	return 0;
}

/* Check that from and to are two different directories. */
int
media_dirs(
    const char *from, const char *fwhat, const char *to, const char *twhat)
{
	struct stat a, b;

	if (media_dir_check(from, fwhat, &a) == -1 ||
	    media_dir_check(to, twhat, &b) == -1)
		return -1;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		media_warn(
		    "--from %s and --to %s are the same directory", from, to);
		return -1;
	}
	return 0;
}
