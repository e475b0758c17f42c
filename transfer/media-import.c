/*
 * media-import.c: posgw media import: check each package on the medium
 * against its inventory line, copy it into the inbox (verified), and take
 * delivered ones off the medium and its inventory.
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

static void media_import_strays(
    const char *media, const struct media_inventory *inv);
static int media_import_own(
    const struct media_opts *o, const struct media_entry *e);
static int media_import_one(const struct media_opts *o, struct media_entry *e,
    struct media_stats *st, int *rc);
static void media_import_finish(
    const struct media_opts *o, struct media_inventory *inv, int *rc);

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
		    strcmp(de->d_name, MEDIA_INVENTORY) == 0 ||
		    strcmp(de->d_name, MEDIA_INVENTORY_SIG) == 0)
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
media_import_own(const struct media_opts *o, const struct media_entry *e)
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
	uint64_t sz, counted = 0;
	int fd, r;

	memset(&c, 0, sizeof c);
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
	if (media_bar_on())
		media_bar_label("copying %s", e->name);
	r = media_copy(fd, o->to, e->name, e, &c);
	counted = c.size; /* the progress bar has these bytes already */
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
	media_bar_add(e->size > counted ? e->size - counted : 0);
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
	/* The inventory first: a crash then leaves only unlisted files; a
	 * signed one stays as it is (the hand-over's record) */
	if (o->handover == NULL &&
	    media_inventory_write(o->from, &keep, &err) == -1) {
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
	    (keep.n == 0 && o->handover == NULL &&
	        media_inventory_remove(o->from) == -1)) {
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
	char hex[DIGEST_HEX_LEN + 1], *path;
	struct stat sb;
	uint64_t total = 0;
	size_t i;
	int rc = 0, r, seen = 0;

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
		if (o->handover != NULL)
			media_handover_refused(o,
			    r == 1 ? "no inventory on the medium" : err.text);
		return 1;
	}
	if (o->handover != NULL &&
	    media_handover_check(o, &inv, hex, &seen) == -1) {
		media_inventory_free(&inv);
		return 1;
	}
	st->ran = 1;
	media_import_strays(o->from, &inv);
	for (i = 0; i < inv.n; i++)
		if (!media_import_own(o, &inv.e[i]))
			total += inv.e[i].size;
	media_bar_start("media import", o->progress, total);
	for (i = 0; i < inv.n; i++) {
		e = &inv.e[i];
		if (media_import_own(o, e)) {
			media_say("%s: skipped, sent by %s (this side's own "
			          "package)",
			    e->name, o->for_id);
			continue;
		}
		xasprintf(&path, "%s/%s", o->from, e->name);
		r = lstat(path, &sb) == -1 && errno == ENOENT;
		free(path);
		if (seen && r) {
			/* imported and journaled before, then removed */
			media_say("%s: delivered before", e->name);
			e->state = MEDIA_DROP;
			continue;
		}
		if (media_import_one(o, e, st, &rc) == -1)
			break;
	}
	media_bar_clear();
	if (o->handover != NULL &&
	    media_handover_imported(o, &inv, hex, seen) == -1) {
		rc = 1;
		for (i = 0; i < inv.n; i++)
			inv.e[i].state = MEDIA_KEEP;
	}
	media_import_finish(o, &inv, &rc);
	for (i = 0; i < inv.n; i++)
		if (inv.e[i].state == MEDIA_KEEP)
			st->left++;
	media_inventory_free(&inv);
	return rc;
}
