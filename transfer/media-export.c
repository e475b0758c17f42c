/*
 * media-export.c: posgw media export: copy outbox packages to a medium
 * (verified, renamed into place), list them in the medium's inventory and
 * in the outbox's export log.
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

static int media_export_log_read(
    const char *outbox, struct media_pkg *v, size_t n);
static int media_export_log_append(
    const char *outbox, const struct media_entry *e);
static void media_export_plan(
    const struct media_opts *o, struct media_pkg *p, int *rc);
static int media_export_one(const struct media_opts *o, struct media_pkg *p,
    struct media_stats *st, int *rc);
static void media_export_inventory(const struct media_opts *o,
    struct media_pkg *v, size_t n, struct media_stats *st, int *rc);

/* Mark the packages the export log of outbox lists; -1 if it is unreadable. */
static int
media_export_log_read(const char *outbox, struct media_pkg *v, size_t n)
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
	while ((got = media_inventory_getline(r, line)) != 0) {
		lineno++;
		if (got == -1) {
			media_warn("cannot read the export log %s: %s", path,
			    strerror(errno));
			rc = -1;
			goto out;
		}
		rest = line;
		name = media_inventory_field(&rest);
		size = media_inventory_field(&rest);
		digest = media_inventory_field(&rest);
		when = media_inventory_field(&rest);
		if (got != 1 || when == NULL || rest != NULL ||
		    strlen(name) >= PKG_NAME_MAX ||
		    pkg_name_parse(name, sender, &seq, uuid) == -1 ||
		    media_inventory_size(size, &sz) == -1 ||
		    !media_inventory_hex(digest) ||
		    !media_inventory_time(when)) {
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
media_export_log_append(const char *outbox, const struct media_entry *e)
{
	struct stat sb;
	char *path, *line, t[32], last = '\n';
	int fd, saved, rc = -1;

	xasprintf(&path, "%s/%s", outbox, MEDIA_EXPORT_LOG);
	pkg_time_format(time(NULL), t, sizeof t);
	/* every operator of the outbox's group appends to it, shift after
	 * shift: group-writable, in the outbox's group */
	fd = open(
	    path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd == -1)
		goto fail;
	if (fstat(fd, &sb) == -1)
		goto fail;
	if (sb.st_uid == geteuid() && fs_share_group(fd, outbox, 0660) == -1)
		media_warn(
		    "cannot make the export log %s writable for the "
		    "group of %s: %s; other operators will not be able to "
		    "export",
		    path, outbox, strerror(errno));
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
	           "medium but the next export will copy it again%s",
	    path, strerror(saved), e->name,
	    saved == EACCES ? " (the log's owner makes it writable for the "
	                      "transfer group: chmod g+w)"
	                    : "");
	if (fd != -1)
		close(fd);
	free(path);
	return -1;
}

/* Who hands the medium over: --operator, $SUDO_USER, $USER, the account. */
void
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
media_export_plan(const struct media_opts *o, struct media_pkg *p, int *rc)
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
	if (media_bar_on())
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
	if (media_bar_on())
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
	if (media_export_log_append(o->from, &p->e) == -1)
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
	int oldok;

	memset(&inv, 0, sizeof inv);
	if ((oldok = media_inventory_read(o->to, &old, &err)) == -1)
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
	pkg_time_format(time(NULL), inv.time, sizeof inv.time);
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
		if (media_bar_on())
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
		if (media_inventory_remove(o->to) == -1 ||
		    media_handover_unsign(o->to) == -1) {
			media_warn(
			    "cannot remove the stale inventory %s/%s: %s",
			    o->to, MEDIA_INVENTORY, strerror(errno));
			*rc = 1;
		}
	} else if (o->handover != NULL)
		media_handover_export(o, oldok == 0 ? &old : NULL, &inv, rc);
	else if (media_inventory_write(o->to, &inv, &err) == -1 ||
	         media_handover_unsign(o->to) == -1) {
		media_warn(
		    "writing the inventory failed: %s (medium removed or "
		    "full?); the medium is not ready to hand over",
		    err.text[0] != '\0' ? err.text : strerror(errno));
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
	if ((o->handover != NULL && media_handover_pending(o) == -1) ||
	    media_export_log_read(o->from, v, n) == -1) {
		free(v);
		return 1;
	}
	st->ran = 1;
	for (i = 0; i < n; i++) {
		media_export_plan(o, &v[i], &rc);
		switch (v[i].action) {
		case MEDIA_ACT_COPY:
			total += v[i].e.size;
			break;
		case MEDIA_ACT_ALREADY:
			st->skipped++;
			st->already++;
			media_say("%s: skipped, already there", v[i].e.name);
			if (!v[i].logged &&
			    media_export_log_append(o->from, &v[i].e) == -1)
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
