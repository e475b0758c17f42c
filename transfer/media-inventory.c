/*
 * media-inventory.c: the hand-over inventory MEDIA/posgw-inventory.txt
 * (and the bounded line reader the export log shares): read strictly,
 * written durably.
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
#include "package.h"
#include "sig.h"
#include "xmalloc.h"

static char *media_inventory_header(char *line, size_t lineno, const char *kw,
    const char *path, struct error *err);
static int media_inventory_package(char *line, size_t lineno, const char *path,
    struct media_entry *e, struct error *err);

/*
 * Read one line of at most MEDIA_LINE_MAX bytes without its newline.
 * Returns 1, 0 at the end, -1 on a read error (errno), -2 if too long,
 * -3 on a NUL byte, -4 if the last line has no newline; after -2 and -3
 * the rest of the line has been consumed.
 */
int
media_inventory_getline(struct media_reader *r, char *line)
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
int
media_inventory_size(const char *s, uint64_t *v)
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
int
media_inventory_hex(const char *s)
{
	size_t i;

	for (i = 0; i < DIGEST_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* Is s YYYY-MM-DDTHH:MM:SSZ with a valid date? */
int
media_inventory_time(const char *s)
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
char *
media_inventory_field(char **sp)
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
media_inventory_header(char *line, size_t lineno, const char *kw,
    const char *path, struct error *err)
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
media_inventory_package(char *line, size_t lineno, const char *path,
    struct media_entry *e, struct error *err)
{
	char q[64], sender[33], uuid[37], *rest, *kw, *name, *size, *digest;
	uint64_t seq;

	rest = line;
	kw = media_inventory_field(&rest);
	if (strcmp(kw, "package") != 0)
		return err_set(err, ERR_NONE,
		    "%s line %zu: expected the keyword 'package', found '%s'",
		    path, lineno, media_quote(kw, q));
	name = media_inventory_field(&rest);
	size = media_inventory_field(&rest);
	digest = media_inventory_field(&rest);
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
	if (media_inventory_size(size, &e->size) == -1)
		return err_set(err, ERR_NONE,
		    "%s line %zu: size '%s' is not a decimal number without a "
		    "sign "
		    "or leading zeros, of at most 18 digits",
		    path, lineno, media_quote(size, q));
	if (!media_inventory_hex(digest))
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
		got = media_inventory_getline(r, line);
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
			v = media_inventory_header(line, lineno,
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
			if ((v = media_inventory_header(
			         line, lineno, "time", path, err)) == NULL)
				goto out;
			if (!media_inventory_time(v)) {
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
			if (media_inventory_package(
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

/* The bytes of an inventory as export writes it (malloc'd; its length). */
char *
media_inventory_format(const struct media_inventory *inv, size_t *lenp)
{
	size_t cap, len, i;
	char *buf;
	int n;

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
	*lenp = len;
	return buf;
}

/* Write dir/posgw-inventory.txt atomically (tmp, fsync, rename, fsync dir). */
int
media_inventory_write(
    const char *dir, const struct media_inventory *inv, struct error *err)
{
	size_t len;
	char *buf;
	int rc;

	buf = media_inventory_format(inv, &len);
	rc = fs_write_file(
	    dir, MEDIA_INVENTORY, buf, len, 0644, FS_WRITE_REPLACE, err);
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
int
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
