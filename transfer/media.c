/*
 * media.c: carrying packages between zones on removable media
 * (posgw media export|import), with a hand-over inventory.
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
#include "media.h"
#include "sig.h"
#include "xmalloc.h"

/* Decisions about one package. */
enum media_action {
	MEDIA_ACT_COPY = 0, /* copy it */
	MEDIA_ACT_ALREADY,  /* the same bytes are already at the target */
	MEDIA_ACT_BEFORE,   /* exported before, no --resend */
	MEDIA_ACT_REFUSE,   /* cannot be handled; reported */
	MEDIA_ACT_SKIP      /* import: sent by --for ID */
};

/* What happens to an inventory entry during an import. */
enum media_state {
	MEDIA_KEEP = 0, /* stays on the media and in the inventory */
	MEDIA_GONE,     /* delivered: removed from media and inventory */
	MEDIA_DROP      /* missing on media: dropped from the inventory */
};

/* A package found in a directory. */
struct media_pkg {
	struct media_entry e; /* first: compared by name */
	int action;
	int logged;   /* listed in the export log */
	int verified; /* e.size and e.digest are those of a verified copy */
	int differs;  /* the target held a different file of that name */
};

/* A line reader with bounded lines over a file descriptor. */
struct media_reader {
	int fd;
	size_t pos, len;
	char buf[65536];
};

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
static void
media_bar_clear(void)
{
	if (!media_bar.drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	media_bar.drawn = 0;
}

/* Start a progress bar over total bytes, if on. */
static void
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
static void __attribute__((format(printf, 1, 2)))
media_bar_label(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(media_bar.label, sizeof media_bar.label, fmt, ap);
	va_end(ap);
	media_bar_draw();
}

/* Count bytes done; redraw at most ten times a second. */
static void
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
static void __attribute__((format(printf, 1, 2)))
media_say(const char *fmt, ...)
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
static void __attribute__((format(printf, 1, 2)))
media_warn(const char *fmt, ...)
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
static int
media_name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Quote untrusted text for a message: printable ASCII, at most 40 bytes. */
static const char *
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
static int
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
static int
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
 * Read one line of at most MEDIA_LINE_MAX bytes without its newline.
 * Returns 1, 0 at the end, -1 on a read error (errno), -2 if too long,
 * -3 on a NUL byte, -4 if the last line has no newline; after -2 and -3
 * the rest of the line has been consumed.
 */
static int
media_reader_line(struct media_reader *r, char *line)
{
	size_t n = 0;
	ssize_t got;
	int bad = 0;
	char c;

	for (;;) {
		if (r->pos == r->len) {
			got = read(r->fd, r->buf, sizeof r->buf);
			if (got == -1 && errno == EINTR)
				continue;
			if (got == -1)
				return -1;
			if (got == 0) {
				line[n] = '\0';
				if (n == 0 && bad == 0)
					return 0;
				return bad != 0 ? bad : -4;
			}
			r->pos = 0;
			r->len = (size_t)got;
		}
		c = r->buf[r->pos++];
		if (c == '\n') {
			line[n] = '\0';
			return bad != 0 ? bad : 1;
		}
		if (c == '\0' && bad == 0)
			bad = -3;
		if (n == MEDIA_LINE_MAX) {
			if (bad == 0)
				bad = -2;
			continue;
		}
		line[n++] = c;
	}
}

/* Parse a size: decimal, no sign, no leading zeros except "0", fits off_t. */
static int
media_size_parse(const char *s, uint64_t *v)
{
	uint64_t n = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 18)
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*v = n;
	return 0;
}

/* Is s 64 lowercase hex digits? */
static int
media_hex_valid(const char *s)
{
	size_t i;

	for (i = 0; i < DIGEST_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* Is s YYYY-MM-DDTHH:MM:SSZ with a valid date? */
static int
media_time_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	time_t t;
	size_t i;

	if (strlen(s) != sizeof shape - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
		                    : s[i] != shape[i])
			return 0;
	}
	return pkg_time_parse(s, &t) == 0;
}

/* Split off the next single-space separated field; NULL if there is none. */
static char *
media_field(char **sp)
{
	char *s = *sp, *sp2;

	if (s == NULL)
		return NULL;
	if ((sp2 = strchr(s, ' ')) != NULL) {
		*sp2 = '\0';
		*sp = sp2 + 1;
	} else
		*sp = NULL;
	return s;
}

/* Check a header line "KEYWORD VALUE"; returns VALUE, or NULL with err set. */
static char *
media_header(char *line, size_t lineno, const char *kw, const char *path,
    struct error *err)
{
	char q[64], *sp;
	size_t kl = strlen(kw);

	if (strcmp(line, kw) == 0) {
		err_set(err, ERR_NONE, "%s line %zu: '%s' needs a value", path,
		    lineno, kw);
		return NULL;
	}
	if (strncmp(line, kw, kl) != 0 || line[kl] != ' ') {
		sp = strchr(line, ' ');
		if (sp != NULL)
			*sp = '\0';
		err_set(err, ERR_NONE,
		    "%s line %zu: expected the keyword '%s', found '%s'", path,
		    lineno, kw, media_quote(line, q));
		return NULL;
	}
	return line + kl + 1;
}

/* Parse one "package NAME SIZE DIGEST" line into e. */
static int
media_parse_package(char *line, size_t lineno, const char *path,
    struct media_entry *e, struct error *err)
{
	char q[64], sender[33], uuid[37], *rest, *kw, *name, *size, *digest;
	uint64_t seq;

	rest = line;
	kw = media_field(&rest);
	if (strcmp(kw, "package") != 0)
		return err_set(err, ERR_NONE,
		    "%s line %zu: expected the keyword 'package', found '%s'",
		    path, lineno, media_quote(kw, q));
	name = media_field(&rest);
	size = media_field(&rest);
	digest = media_field(&rest);
	if (name == NULL || size == NULL || digest == NULL || rest != NULL)
		return err_set(err, ERR_NONE,
		    "%s line %zu: expected 'package NAME SIZE DIGEST' "
		    "separated by single spaces",
		    path, lineno);
	if (strlen(name) >= PKG_NAME_MAX ||
	    pkg_name_parse(name, sender, &seq, uuid) == -1)
		return err_set(err, ERR_NONE,
		    "%s line %zu: '%s' is not a package file name "
		    "(package.md section 2)",
		    path, lineno, media_quote(name, q));
	if (media_size_parse(size, &e->size) == -1)
		return err_set(err, ERR_NONE,
		    "%s line %zu: size '%s' is not a decimal number without a "
		    "sign "
		    "or leading zeros, of at most 18 digits",
		    path, lineno, media_quote(size, q));
	if (!media_hex_valid(digest))
		return err_set(err, ERR_NONE,
		    "%s line %zu: digest '%s' is not 64 lowercase hex digits",
		    path, lineno, media_quote(digest, q));
	snprintf(e->name, sizeof e->name, "%s", name);
	memcpy(e->digest, digest, sizeof e->digest);
	e->line = lineno;
	e->state = MEDIA_KEEP;
	return 0;
}

/*
 * Read dir/posgw-inventory.txt as hostile input. Returns 0, 1 if there is
 * none, -1 with err set (naming the line) if it is unreadable or malformed.
 */
int
media_inventory_read(
    const char *dir, struct media_inventory *inv, struct error *err)
{
	struct media_reader *r;
	struct stat sb;
	char *path, *line, *v;
	size_t lineno = 0, i;
	int got, rc = -1;

	memset(inv, 0, sizeof *inv);
	xasprintf(&path, "%s/%s", dir, MEDIA_INVENTORY);
	r = xcalloc(1, sizeof *r);
	line = xmalloc(MEDIA_LINE_MAX + 1);
	if ((r->fd = open(
	         path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1) {
		/* none (1) is not an error: err stays clear for the caller */
		rc = errno == ENOENT ? 1 : -1;
		if (rc == -1)
			err_set(err, ERR_NONE, "cannot open %s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (fstat(r->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		err_set(err, ERR_NONE, "%s is not a regular file", path);
		goto out;
	}
	for (;;) {
		got = media_reader_line(r, line);
		if (got == 0)
			break;
		lineno++;
		if (got == -1) {
			err_set(err, ERR_NONE, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (got == -2) {
			err_set(err, ERR_NONE,
			    "%s line %zu: longer than %d bytes", path, lineno,
			    MEDIA_LINE_MAX);
			goto out;
		}
		if (got == -3) {
			err_set(err, ERR_NONE, "%s line %zu: holds a NUL byte",
			    path, lineno);
			goto out;
		}
		if (got == -4) {
			err_set(err, ERR_NONE,
			    "%s line %zu: no newline at the end (a torn "
			    "copy?)",
			    path, lineno);
			goto out;
		}
		if (lineno == 1) {
			if (strcmp(line, "posgw-inventory 1") != 0) {
				err_set(err, ERR_NONE,
				    "%s line 1: expected 'posgw-inventory 1' "
				    "(not a posgw inventory, or a newer "
				    "format)",
				    path);
				goto out;
			}
		} else if (lineno == 2 || lineno == 3) {
			v = media_header(line, lineno,
			    lineno == 2 ? "host" : "operator", path, err);
			if (v == NULL)
				goto out;
			if (!media_text_valid(v)) {
				err_set(err, ERR_NONE,
				    "%s line %zu: the %s must be 1 to %d "
				    "bytes without control characters",
				    path, lineno,
				    lineno == 2 ? "host" : "operator",
				    MEDIA_TEXT_MAX);
				goto out;
			}
			snprintf(lineno == 2 ? inv->host : inv->operator_name,
			    MEDIA_TEXT_MAX + 1, "%s", v);
		} else if (lineno == 4) {
			if ((v = media_header(
			         line, lineno, "time", path, err)) == NULL)
				goto out;
			if (!media_time_valid(v)) {
				err_set(err, ERR_NONE,
				    "%s line 4: the time must be "
				    "YYYY-MM-DDTHH:MM:SSZ",
				    path);
				goto out;
			}
			snprintf(inv->time, sizeof inv->time, "%s", v);
		} else {
			if (inv->n == MEDIA_COUNT_MAX) {
				err_set(err, ERR_NONE,
				    "%s line %zu: more than %d packages", path,
				    lineno, MEDIA_COUNT_MAX);
				goto out;
			}
			if (inv->n == inv->cap) {
				inv->cap = inv->cap ? inv->cap * 2 : 64;
				inv->e = xreallocarray(
				    inv->e, inv->cap, sizeof *inv->e);
			}
			if (media_parse_package(
			        line, lineno, path, &inv->e[inv->n], err) == -1)
				goto out;
			inv->n++;
		}
	}
	if (lineno < 4) {
		err_set(err, ERR_NONE,
		    "%s line %zu: ends early; the header has 4 lines (a torn "
		    "copy?)",
		    path, lineno + 1);
		goto out;
	}
	if (inv->n > 0)
		qsort(inv->e, inv->n, sizeof *inv->e, media_name_cmp);
	for (i = 1; i < inv->n; i++) {
		if (strcmp(inv->e[i - 1].name, inv->e[i].name) == 0) {
			err_set(err, ERR_NONE,
			    "%s line %zu: package %s is listed twice (also "
			    "on line %zu)",
			    path,
			    inv->e[i].line > inv->e[i - 1].line
			        ? inv->e[i].line
			        : inv->e[i - 1].line,
			    inv->e[i].name,
			    inv->e[i].line > inv->e[i - 1].line
			        ? inv->e[i - 1].line
			        : inv->e[i].line);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		media_inventory_free(inv);
	if (r->fd != -1)
		close(r->fd);
	free(r);
	free(line);
	free(path);
	return rc;
}

/* Write dir/posgw-inventory.txt atomically (tmp, fsync, rename, fsync dir). */
int
media_inventory_write(
    const char *dir, const struct media_inventory *inv, struct error *err)
{
	size_t cap, len, i;
	char *buf;
	int n, rc;

	cap = 128 + 3 * MEDIA_TEXT_MAX + inv->n * (PKG_NAME_MAX + 96);
	buf = xmalloc(cap);
	n = snprintf(buf, cap,
	    "posgw-inventory 1\nhost %s\noperator %s\ntime %s\n", inv->host,
	    inv->operator_name, inv->time);
	len = (size_t)n;
	for (i = 0; i < inv->n; i++) {
		n = snprintf(buf + len, cap - len,
		    "package %s %" PRIu64 " %s\n", inv->e[i].name,
		    inv->e[i].size, inv->e[i].digest);
		len += (size_t)n;
	}
	rc = fs_write_file(dir, MEDIA_INVENTORY, buf, len, 0644, 1, err);
	free(buf);
	return rc;
}

/* Free the entries of an inventory. */
void
media_inventory_free(struct media_inventory *inv)
{
	free(inv->e);
	inv->e = NULL;
	inv->n = inv->cap = 0;
}

/* Remove dir/posgw-inventory.txt if it is there; -1 with errno on failure. */
static int
media_inventory_remove(const char *dir)
{
	char *path;
	int rc;

	xasprintf(&path, "%s/%s", dir, MEDIA_INVENTORY);
	rc = unlink(path);
	free(path);
	if (rc == -1)
		return errno == ENOENT ? 0 : -1;
	return media_fsync_dir(dir);
}

/*
 * Collect the package files of dir (regular files with a package name),
 * sorted by name. With warn, every other name not starting with '.' is
 * reported once. Returns -1 with errno if dir cannot be read.
 */
static int
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
static int
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

/* Mark the packages the export log of outbox lists; -1 if it is unreadable. */
static int
media_log_read(const char *outbox, struct media_pkg *v, size_t n)
{
	struct media_reader *r;
	struct media_pkg *p;
	char *path, *line, *rest, *name, *size, *digest, *when;
	char sender[33], uuid[37];
	size_t lineno = 0, bad = 0, first = 0;
	struct stat sb;
	uint64_t seq, sz;
	int got, rc = 0;

	xasprintf(&path, "%s/%s", outbox, MEDIA_EXPORT_LOG);
	r = xcalloc(1, sizeof *r);
	line = xmalloc(MEDIA_LINE_MAX + 1);
	if ((r->fd = open(
	         path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1) {
		if (errno != ENOENT) {
			media_warn("cannot read the export log %s: %s; fix it "
			           "or move it away",
			    path, strerror(errno));
			rc = -1;
		}
		goto out;
	}
	if (fstat(r->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		media_warn("the export log %s is not a regular file; move it "
		           "away",
		    path);
		rc = -1;
		goto out;
	}
	while ((got = media_reader_line(r, line)) != 0) {
		lineno++;
		if (got == -1) {
			media_warn("cannot read the export log %s: %s", path,
			    strerror(errno));
			rc = -1;
			goto out;
		}
		rest = line;
		name = media_field(&rest);
		size = media_field(&rest);
		digest = media_field(&rest);
		when = media_field(&rest);
		if (got != 1 || when == NULL || rest != NULL ||
		    strlen(name) >= PKG_NAME_MAX ||
		    pkg_name_parse(name, sender, &seq, uuid) == -1 ||
		    media_size_parse(size, &sz) == -1 ||
		    !media_hex_valid(digest) || !media_time_valid(when)) {
			if (bad++ == 0)
				first = lineno;
			continue;
		}
		p = n > 0 ? bsearch(name, v, n, sizeof *v, media_name_cmp)
		          : NULL;
		if (p != NULL)
			p->logged = 1;
	}
	if (bad > 0)
		media_warn("%s: ignored %zu malformed line(s), the first on "
		           "line %zu (an interrupted append?)",
		    path, bad, first);
out:
	if (r->fd != -1)
		close(r->fd);
	free(r);
	free(line);
	free(path);
	return rc;
}

/* Append "name size digest time" to the export log of outbox and fsync it. */
static int
media_log_append(const char *outbox, const struct media_entry *e)
{
	struct stat sb;
	char *path, *line, t[32], last = '\n';
	int fd, saved, rc = -1;

	xasprintf(&path, "%s/%s", outbox, MEDIA_EXPORT_LOG);
	time_format(time(NULL), t, sizeof t);
	fd = open(
	    path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd == -1)
		goto fail;
	if (fstat(fd, &sb) == -1)
		goto fail;
	/* A torn last line from a crash must not swallow this one. */
	if (sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) != 1)
		goto fail;
	xasprintf(&line, "%s%s %" PRIu64 " %s %s\n", last == '\n' ? "" : "\n",
	    e->name, e->size, e->digest, t);
	rc = fs_write_all(fd, line, strlen(line));
	free(line);
	if (rc == -1 || fsync(fd) == -1) {
		rc = -1;
		goto fail;
	}
	close(fd);
	fd = -1;
	if (sb.st_size == 0 && media_fsync_dir(outbox) == -1)
		goto fail;
	free(path);
	return 0;
fail:
	saved = errno;
	media_warn("cannot append to the export log %s: %s; %s is on the "
	           "medium but the next export will copy it again",
	    path, strerror(saved), e->name);
	if (fd != -1)
		close(fd);
	free(path);
	return -1;
}

/* Who hands the medium over: --operator, $SUDO_USER, $USER, the account. */
static void
media_operator(const char *given, char *out, size_t len)
{
	const char *env[] = {"SUDO_USER", "USER"}, *v;
	struct passwd *pw;
	size_t i;

	if (media_text_valid(given)) {
		snprintf(out, len, "%s", given);
		return;
	}
	for (i = 0; i < 2; i++) {
		if (media_text_valid(v = getenv(env[i]))) {
			snprintf(out, len, "%s", v);
			return;
		}
	}
	if ((pw = getpwuid(getuid())) != NULL && media_text_valid(pw->pw_name))
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "uid %u", (unsigned)getuid());
}

/* Decide what to do with one outbox package; reads both copies if needed. */
static void
media_plan(const struct media_opts *o, struct media_pkg *p, int *rc)
{
	char src[DIGEST_HEX_LEN + 1], dst[DIGEST_HEX_LEN + 1], *path;
	uint64_t ssz, dsz;
	struct stat sb;
	int r;

	xasprintf(&path, "%s/%s", o->to, p->e.name);
	r = lstat(path, &sb);
	free(path);
	if (r == -1 && errno == ENOENT) {
		p->action =
		    p->logged && !o->resend ? MEDIA_ACT_BEFORE : MEDIA_ACT_COPY;
		return;
	}
	if (r == -1 || !S_ISREG(sb.st_mode)) {
		media_warn("%s/%s is in the way (%s); move it away and export "
		           "again",
		    o->to, p->e.name,
		    r == -1 ? strerror(errno) : "not a regular file");
		p->action = MEDIA_ACT_REFUSE;
		*rc = 1;
		return;
	}
	if (media_bar.on)
		media_bar_label("checking %s", p->e.name);
	if (media_digest_path(o->from, p->e.name, src, &ssz) == -1) {
		media_warn("cannot read %s/%s: %s; it was not exported",
		    o->from, p->e.name, strerror(errno));
		p->action = MEDIA_ACT_REFUSE;
		*rc = 1;
		return;
	}
	if (media_digest_path(o->to, p->e.name, dst, &dsz) == 0 && ssz == dsz &&
	    strcmp(src, dst) == 0) {
		p->action = MEDIA_ACT_ALREADY;
		p->verified = 1;
		p->e.size = ssz;
		memcpy(p->e.digest, src, sizeof p->e.digest);
		return;
	}
	media_warn("%s/%s differs from %s/%s (a torn or altered copy); "
	           "replacing it",
	    o->to, p->e.name, o->from, p->e.name);
	p->differs = 1;
	p->action = MEDIA_ACT_COPY;
}

/* Copy one package to the media; returns -1 if the medium failed. */
static int
media_export_one(const struct media_opts *o, struct media_pkg *p,
    struct media_stats *st, int *rc)
{
	struct media_copied c;
	struct stat sb;
	char *path;
	int fd, r;

	xasprintf(&path, "%s/%s", o->from, p->e.name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd == -1 && errno == ENOENT) {
		media_say("%s: gone from %s meanwhile (its receipt arrived?); "
		          "not exported",
		    p->e.name, o->from);
		return 0;
	}
	if (fd == -1 || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		media_warn("cannot read %s/%s: %s; it was not exported",
		    o->from, p->e.name,
		    fd == -1 ? strerror(errno) : "not a regular file");
		if (fd != -1)
			close(fd);
		*rc = 1;
		return 0;
	}
	if (media_bar.on)
		media_bar_label("copying %s", p->e.name);
	r = media_copy(fd, o->to, p->e.name, NULL, &c);
	close(fd);
	switch (r) {
	case MEDIA_COPY_OK:
		break;
	case MEDIA_COPY_READ:
		media_warn("reading %s/%s failed: %s; it was not exported",
		    o->from, p->e.name, strerror(c.errnum));
		*rc = 1;
		return 0;
	case MEDIA_COPY_READBACK:
		media_warn("the copy of %s on %s reads back differently%s%s "
		           "(a faulty medium?); it was removed: use another "
		           "medium",
		    p->e.name, o->to, c.errnum ? ": " : "",
		    c.errnum ? strerror(c.errnum) : "");
		*rc = 1;
		return -1;
	default:
		media_warn("copying %s to %s failed: %s (medium removed or "
		           "full?); nothing was half-written: temporary files "
		           "start with '.'",
		    p->e.name, o->to, strerror(c.errnum));
		*rc = 1;
		return -1;
	}
	p->e.size = c.size;
	memcpy(p->e.digest, c.digest, sizeof p->e.digest);
	p->verified = 1;
	p->differs = 0;
	st->exported++;
	if (media_log_append(o->from, &p->e) == -1)
		*rc = 1;
	media_say("%s: exported", p->e.name);
	return 0;
}

/* List every package now on the media, re-verified, in a fresh inventory. */
static void
media_export_inventory(const struct media_opts *o, struct media_pkg *v,
    size_t n, struct media_stats *st, int *rc)
{
	struct media_inventory old, inv;
	struct media_pkg *m = NULL, *p;
	struct media_entry *prev, *e;
	struct error err = {0};
	char hex[DIGEST_HEX_LEN + 1], host[MEDIA_TEXT_MAX + 1];
	size_t nm = 0, i;
	uint64_t sz;

	memset(&inv, 0, sizeof inv);
	if (media_inventory_read(o->to, &old, &err) == -1)
		media_warn("the previous inventory is unusable (%s); writing a "
		           "new one",
		    err.text);
	err_clear(&err);
	if (media_scan(o->to, 0, &m, &nm) == -1) {
		media_warn("cannot list %s: %s (medium removed?); no inventory "
		           "was written",
		    o->to, strerror(errno));
		*rc = 1;
		media_inventory_free(&old);
		return;
	}
	if (gethostname(host, sizeof host) == -1)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	snprintf(inv.host, sizeof inv.host, "%s",
	    media_text_valid(host) ? host : "unknown");
	media_operator(
	    o->operator_name, inv.operator_name, sizeof inv.operator_name);
	time_format(time(NULL), inv.time, sizeof inv.time);
	inv.e = xreallocarray(NULL, nm ? nm : 1, sizeof *inv.e);
	for (i = 0; i < nm; i++) {
		e = &inv.e[inv.n];
		memset(e, 0, sizeof *e);
		snprintf(e->name, sizeof e->name, "%s", m[i].e.name);
		p = n > 0
		        ? bsearch(m[i].e.name, v, n, sizeof *v, media_name_cmp)
		        : NULL;
		if (p != NULL && p->verified) {
			e->size = p->e.size;
			memcpy(e->digest, p->e.digest, sizeof e->digest);
			inv.n++;
			continue;
		}
		if (p != NULL && p->differs) {
			media_warn("%s/%s differs from %s/%s and was not "
			           "replaced; left out of the inventory",
			    o->to, m[i].e.name, o->from, m[i].e.name);
			*rc = 1;
			continue;
		}
		if (media_bar.on)
			media_bar_label("checking %s", m[i].e.name);
		if (media_digest_path(o->to, m[i].e.name, hex, &sz) == -1) {
			media_warn("cannot read %s/%s: %s; left out of the "
			           "inventory",
			    o->to, m[i].e.name, strerror(errno));
			*rc = 1;
			continue;
		}
		prev = old.n > 0 ? bsearch(m[i].e.name, old.e, old.n,
		                       sizeof *old.e, media_name_cmp)
		                 : NULL;
		if (prev != NULL &&
		    (prev->size != sz || strcmp(prev->digest, hex) != 0)) {
			media_warn("digest mismatch on media: %s (a torn or "
			           "altered copy); left out of the inventory: "
			           "remove it, or export it again",
			    m[i].e.name);
			*rc = 1;
			continue;
		}
		e->size = sz;
		memcpy(e->digest, hex, sizeof e->digest);
		inv.n++;
	}
	media_bar_clear();
	if (inv.n == 0) {
		if (media_inventory_remove(o->to) == -1) {
			media_warn(
			    "cannot remove the stale inventory %s/%s: %s",
			    o->to, MEDIA_INVENTORY, strerror(errno));
			*rc = 1;
		}
	} else if (media_inventory_write(o->to, &inv, &err) == -1) {
		media_warn(
		    "writing the inventory failed: %s (medium removed or "
		    "full?); the medium is not ready to hand over",
		    err.text);
		*rc = 1;
	}
	st->on_media = inv.n;
	media_inventory_free(&inv);
	media_inventory_free(&old);
	free(m);
}

/*
 * posgw media export: copy the complete packages of o->from (the outbox)
 * to o->to (the media), verify them, log them, and write the inventory.
 * Returns the exit status: 0 if everything went well, else 1.
 */
int
media_export(const struct media_opts *o, struct media_stats *st)
{
	struct media_pkg *v = NULL;
	uint64_t total = 0;
	size_t n = 0, i;
	int rc = 0;

	memset(st, 0, sizeof *st);
	media_bar_start("media export", o->progress, 0);
	if (media_dirs(o->from, "OUTBOX", o->to, "MEDIA") == -1)
		return 1;
	if (media_scan(o->from, 1, &v, &n) == -1) {
		media_warn(
		    "cannot list OUTBOX %s: %s", o->from, strerror(errno));
		return 1;
	}
	if (media_log_read(o->from, v, n) == -1) {
		free(v);
		return 1;
	}
	st->ran = 1;
	for (i = 0; i < n; i++) {
		media_plan(o, &v[i], &rc);
		switch (v[i].action) {
		case MEDIA_ACT_COPY:
			total += v[i].e.size;
			break;
		case MEDIA_ACT_ALREADY:
			st->skipped++;
			st->already++;
			media_say("%s: skipped, already there", v[i].e.name);
			if (!v[i].logged &&
			    media_log_append(o->from, &v[i].e) == -1)
				rc = 1;
			break;
		case MEDIA_ACT_BEFORE:
			st->skipped++;
			st->before++;
			media_say("%s: skipped, exported before; --resend to "
			          "export again",
			    v[i].e.name);
			break;
		default:
			break;
		}
	}
	media_bar_start("media export", o->progress, total);
	for (i = 0; i < n; i++) {
		if (v[i].action != MEDIA_ACT_COPY)
			continue;
		if (media_export_one(o, &v[i], st, &rc) == -1)
			break;
	}
	media_export_inventory(o, v, n, st, &rc);
	media_bar_clear();
	free(v);
	return rc;
}

/* Report what on the media is not in the inventory; it is left alone. */
static void
media_import_strays(const char *media, const struct media_inventory *inv)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if ((d = opendir(media)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, MEDIA_INVENTORY) == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    S_ISDIR(sb.st_mode))
			continue;
		if (de->d_name[0] == '.')
			media_warn("%s/%s: left alone (names starting with '.' "
			           "are work in progress or an interrupted "
			           "copy)",
			    media, de->d_name);
		else if (inv->n == 0 ||
		         bsearch(de->d_name, inv->e, inv->n, sizeof *inv->e,
		             media_name_cmp) == NULL)
			media_warn("%s/%s: left alone (not in the inventory)",
			    media, de->d_name);
	}
	closedir(d);
}

/* Was this package sent by --for ID, this side itself? */
static int
media_own(const struct media_opts *o, const struct media_entry *e)
{
	size_t len;

	if (o->for_id == NULL)
		return 0;
	len = strlen(o->for_id);
	return strncmp(e->name, o->for_id, len) == 0 && e->name[len] == '.';
}

/* Import one inventory entry; returns -1 if the run must stop. */
static int
media_import_one(const struct media_opts *o, struct media_entry *e,
    struct media_stats *st, int *rc)
{
	char hex[DIGEST_HEX_LEN + 1], *path;
	struct media_copied c;
	struct stat sb;
	uint64_t sz;
	int fd, r;

	xasprintf(&path, "%s/%s", o->from, e->name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd == -1) {
		if (errno == ENOENT) {
			media_warn(
			    "listed in the inventory but missing on "
			    "media: %s (lost or removed; export it again)",
			    e->name);
			e->state = MEDIA_DROP;
		} else
			media_warn("cannot open %s/%s: %s; left on media",
			    o->from, e->name, strerror(errno));
		goto refused;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		media_warn("%s/%s is not a regular file; left on media",
		    o->from, e->name);
		goto refused;
	}
	if ((uint64_t)sb.st_size != e->size)
		goto mismatch;
	xasprintf(&path, "%s/%s", o->to, e->name);
	r = lstat(path, &sb);
	free(path);
	if (r == 0) {
		if (S_ISREG(sb.st_mode) &&
		    media_digest_path(o->to, e->name, hex, &sz) == 0 &&
		    sz == e->size && strcmp(hex, e->digest) == 0) {
			close(fd);
			media_bar_add(e->size);
			media_say("%s: already there", e->name);
			st->already++;
			e->state = MEDIA_GONE;
			return 0;
		}
		media_warn("%s/%s already exists with other content; %s left "
		           "on media: look into it (a conflict?)",
		    o->to, e->name, e->name);
		goto refused;
	}
	if (media_bar.on)
		media_bar_label("copying %s", e->name);
	r = media_copy(fd, o->to, e->name, e, &c);
	close(fd);
	fd = -1;
	switch (r) {
	case MEDIA_COPY_OK:
		media_say("%s: imported", e->name);
		st->imported++;
		e->state = MEDIA_GONE;
		return 0;
	case MEDIA_COPY_MISMATCH:
		goto mismatch;
	case MEDIA_COPY_READ:
		media_warn("reading %s from %s failed: %s (medium removed?); "
		           "nothing was half-written: temporary files start "
		           "with '.'",
		    e->name, o->from, strerror(c.errnum));
		break;
	case MEDIA_COPY_READBACK:
		media_warn("the copy of %s in %s reads back differently%s%s "
		           "(disk trouble?); it was removed",
		    e->name, o->to, c.errnum ? ": " : "",
		    c.errnum ? strerror(c.errnum) : "");
		break;
	default:
		media_warn("copying %s to %s failed: %s (disk full?); nothing "
		           "was half-written: temporary files start with '.'",
		    e->name, o->to, strerror(c.errnum));
		break;
	}
	*rc = 1;
	return -1;
mismatch:
	media_warn("digest mismatch on media: %s (torn or altered copy; "
	           "export it again)",
	    e->name);
refused:
	if (fd != -1)
		close(fd);
	media_bar_add(e->size);
	st->refused++;
	*rc = 1;
	return 0;
}

/* Rewrite the inventory without what was delivered, then remove that. */
static void
media_import_finish(
    const struct media_opts *o, struct media_inventory *inv, int *rc)
{
	struct media_inventory keep;
	struct error err = {0};
	size_t i, gone = 0;
	char *path;

	keep = *inv;
	keep.e = xreallocarray(NULL, inv->n ? inv->n : 1, sizeof *keep.e);
	keep.n = keep.cap = 0;
	for (i = 0; i < inv->n; i++) {
		if (inv->e[i].state == MEDIA_KEEP)
			keep.e[keep.n++] = inv->e[i];
		else
			gone++;
	}
	if (gone == 0)
		goto out;
	/* The inventory first: a crash then leaves only unlisted files. */
	if (media_inventory_write(o->from, &keep, &err) == -1) {
		media_warn("rewriting the inventory failed: %s; nothing was "
		           "removed from the medium",
		    err.text);
		*rc = 1;
		goto out;
	}
	for (i = 0; i < inv->n; i++) {
		if (inv->e[i].state != MEDIA_GONE)
			continue;
		xasprintf(&path, "%s/%s", o->from, inv->e[i].name);
		if (unlink(path) == -1 && errno != ENOENT) {
			media_warn("cannot remove %s: %s; it is delivered, "
			           "remove it by hand",
			    path, strerror(errno));
			*rc = 1;
		}
		free(path);
	}
	if (media_fsync_dir(o->from) == -1 ||
	    (keep.n == 0 && media_inventory_remove(o->from) == -1)) {
		media_warn("cannot update %s: %s", o->from, strerror(errno));
		*rc = 1;
	}
out:
	free(keep.e);
}

/*
 * posgw media import: check every package of the inventory of o->from (the
 * media), copy the good ones to o->to (the inbox), verify them there, then
 * remove them from the media. Returns the exit status: 0 or 1.
 */
int
media_import(const struct media_opts *o, struct media_stats *st)
{
	struct media_inventory inv;
	struct error err = {0};
	struct media_entry *e;
	uint64_t total = 0;
	size_t i;
	int rc = 0, r;

	memset(st, 0, sizeof *st);
	media_bar_start("media import", o->progress, 0);
	if (media_dirs(o->from, "MEDIA", o->to, "INBOX") == -1)
		return 1;
	if ((r = media_inventory_read(o->from, &inv, &err)) != 0) {
		if (r == 1)
			media_warn("%s/%s is missing: this medium holds no "
			           "hand-over inventory; nothing was imported "
			           "(make one with posgw media export)",
			    o->from, MEDIA_INVENTORY);
		else
			media_warn("%s; nothing was imported (the inventory "
			           "must be exactly as posgw media export "
			           "writes it)",
			    err.text);
		return 1;
	}
	st->ran = 1;
	media_import_strays(o->from, &inv);
	for (i = 0; i < inv.n; i++)
		if (!media_own(o, &inv.e[i]))
			total += inv.e[i].size;
	media_bar_start("media import", o->progress, total);
	for (i = 0; i < inv.n; i++) {
		e = &inv.e[i];
		if (media_own(o, e)) {
			media_say("%s: skipped, sent by %s (this side's own "
			          "package)",
			    e->name, o->for_id);
			continue;
		}
		if (media_import_one(o, e, st, &rc) == -1)
			break;
	}
	media_bar_clear();
	media_import_finish(o, &inv, &rc);
	for (i = 0; i < inv.n; i++)
		if (inv.e[i].state == MEDIA_KEEP)
			st->left++;
	media_inventory_free(&inv);
	return rc;
}
