/*
 * media-handover.c: journaled hand-overs (posgw media export|import
 * --config): the exporting gateway signs the medium's inventory with its
 * key (MEDIA/posgw-inventory.txt.p7s), the importing one verifies it against
 * its peer's certificate and refuses a missing, unsigned, edited or swapped
 * inventory; each side keeps the signed inventory in STATE/handovers and
 * records the hand-over once (table handovers, UNIQUE by direction and
 * inventory digest) with its journal entry in the same transaction.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "media-int.h"
#include "xmalloc.h"

#define MEDIA_HANDOVER_TXT_MAX (32 * 1024 * 1024)
#define MEDIA_HANDOVER_SIG_MAX (64 * 1024)

/* The two files of a signed inventory, as read. */
struct media_signed {
	char *txt, *p7s;
	size_t tlen, plen;
	char hex[DIGEST_HEX_LEN + 1];
};

static int media_handover_file(const char *dir, const char *name, size_t max,
    char **bufp, size_t *lenp, struct error *err);
static int media_handover_load(
    const char *dir, struct media_signed *s, struct error *err);
static void media_handover_unload(struct media_signed *s);
static int media_handover_keep(const struct media_handover *h,
    const struct media_signed *s, struct error *err);
static int media_handover_same(
    const struct media_inventory *a, const struct media_inventory *b);
static char *media_handover_detail(const char *hex, const char *medium,
    const char *operator_name, const char *host,
    const struct media_inventory *inv, int want, const char *extra);
static int media_handover_record(const struct media_handover *h,
    const char *direction, const char *hex, const char *medium,
    const char *operator_name, size_t npkgs, const char *replaces,
    const char *detail, struct error *err);
static const char *media_handover_host(char *buf, size_t len);
static int media_handover_replayed(
    const char *dir, const struct media_inventory *inv, char *out);

/* Read dir/name, at most max bytes; 1 if it is missing, -1 with err. */
static int
media_handover_file(const char *dir, const char *name, size_t max, char **bufp,
    size_t *lenp, struct error *err)
{
	struct stat sb;
	char *path, *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	xasprintf(&path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			rc = 1;
		else
			err_set(err, ERR_NONE, "cannot open %s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > max) {
		err_set(err, ERR_NONE,
		    "%s is not a regular file of at most %zu bytes", path, max);
		goto out;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (len <= (size_t)sb.st_size) {
		n = read(fd, buf + len, (size_t)sb.st_size + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(err, ERR_NONE, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != (size_t)sb.st_size) {
		err_set(err, ERR_NONE, "%s changed while being read", path);
		goto out;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

/* Read the inventory and its signature of dir; 1 if the signature is absent. */
static int
media_handover_load(const char *dir, struct media_signed *s, struct error *err)
{
	int r;

	memset(s, 0, sizeof *s);
	r = media_handover_file(dir, MEDIA_INVENTORY, MEDIA_HANDOVER_TXT_MAX,
	    &s->txt, &s->tlen, err);
	if (r == 1)
		err_set(
		    err, ERR_NONE, "%s/%s is missing", dir, MEDIA_INVENTORY);
	if (r != 0)
		return -1;
	digest_mem_hex(DIGEST_STREEBOG256, s->txt, s->tlen, s->hex);
	r = media_handover_file(dir, MEDIA_INVENTORY_SIG,
	    MEDIA_HANDOVER_SIG_MAX, &s->p7s, &s->plen, err);
	if (r == 1)
		err_set(err, ERR_SIGNATURE,
		    "%s/%s is missing: the inventory is not signed", dir,
		    MEDIA_INVENTORY_SIG);
	return r;
}

/* Free what media_handover_load read. */
static void
media_handover_unload(struct media_signed *s)
{
	free(s->txt);
	free(s->p7s);
	s->txt = s->p7s = NULL;
}

/* Keep the signed inventory as STATE/handovers/DIGEST.txt and .txt.p7s. */
static int
media_handover_keep(const struct media_handover *h,
    const struct media_signed *s, struct error *err)
{
	char *dir, *name;
	int rc = 0, made;

	xasprintf(&dir, "%s/%s", h->state, MEDIA_HANDOVERS);
	made = mkdir(dir, 0750) == 0;
	if (!made && errno != EEXIST) {
		rc = err_set(err, ERR_NONE, "cannot create %s: %s%s", dir,
		    strerror(errno), fs_why(errno));
		goto out;
	}
	if (made && media_fsync_dir(h->state) == -1) {
		rc = err_set(err, ERR_NONE, "cannot fsync %s: %s", h->state,
		    strerror(errno));
		goto out;
	}
	xasprintf(&name, "%s.txt", s->hex);
	rc = fs_write_file(
	    dir, name, s->txt, s->tlen, 0640, FS_WRITE_REPLACE, err);
	free(name);
	if (rc == 0 && s->p7s != NULL) {
		xasprintf(&name, "%s.txt.p7s", s->hex);
		rc = fs_write_file(
		    dir, name, s->p7s, s->plen, 0640, FS_WRITE_REPLACE, err);
		free(name);
	}
out:
	free(dir);
	return rc;
}

/* Do two inventories list the same packages with the same bytes? */
static int
media_handover_same(
    const struct media_inventory *a, const struct media_inventory *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->e[i].name, b->e[i].name) != 0 ||
		    a->e[i].size != b->e[i].size ||
		    strcmp(a->e[i].digest, b->e[i].digest) != 0)
			return 0;
	return 1;
}

/* This host's name for the journal. */
static const char *
media_handover_host(char *buf, size_t len)
{
	if (gethostname(buf, len) == -1)
		buf[0] = '\0';
	buf[len - 1] = '\0';
	if (!media_text_valid(buf))
		snprintf(buf, len, "unknown");
	return buf;
}

/*
 * The journal's detail of a hand-over: "inventory HEX, medium M, operator O,
 * host H[, EXTRA]: N package(s) NAME ..." listing the entries of inv in
 * state want (-1: all).
 */
static char *
media_handover_detail(const char *hex, const char *medium,
    const char *operator_name, const char *host,
    const struct media_inventory *inv, int want, const char *extra)
{
	char *buf = NULL, q[64];
	size_t len = 0, i, n = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	fprintf(f, "inventory %s, medium %s, operator %s, host %s%s%s", hex,
	    media_quote(medium, q), operator_name, host,
	    extra != NULL ? ", " : "", extra != NULL ? extra : "");
	for (i = 0; inv != NULL && i < inv->n; i++)
		if (want == -1 || inv->e[i].state == want)
			n++;
	fprintf(f, ": %zu package(s)", n);
	for (i = 0; inv != NULL && i < inv->n; i++)
		if (want == -1 || inv->e[i].state == want)
			fprintf(f, " %s", inv->e[i].name);
	if (fclose(f) != 0)
		fatal("open_memstream");
	return buf;
}

/*
 * Record a hand-over once: its row and its journal entry in one
 * transaction. Returns 0, 1 if this direction and digest are recorded
 * already, -1 with err.
 */
static int
media_handover_record(const struct media_handover *h, const char *direction,
    const char *hex, const char *medium, const char *operator_name,
    size_t npkgs, const char *replaces, const char *detail, struct error *err)
{
	char kind[32], host[MEDIA_TEXT_MAX + 1];
	sqlite3_stmt *st;
	int seen;

	if (db_begin(h->db, err) == -1)
		return -1;
	st = db_prepare(h->db, "SELECT 1 FROM handovers WHERE direction = ?"
	                       " AND digest = ?");
	sqlite3_bind_text(st, 1, direction, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
	seen = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	if (seen) {
		db_rollback(h->db);
		return 1;
	}
	st = db_prepare(h->db,
	    "INSERT INTO handovers (direction, digest, at, operator, host,"
	    " medium, packages, replaces, reason) VALUES"
	    " (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, direction, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	sqlite3_bind_text(st, 4, operator_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(
	    st, 5, media_handover_host(host, sizeof host), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, medium, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)npkgs);
	sqlite3_bind_text(st, 8, replaces, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9,
	    strcmp(direction, "refused") == 0 ? detail : NULL, -1,
	    SQLITE_STATIC);
	snprintf(kind, sizeof kind, "media.%s", direction);
	if (db_step_done(h->db, st, err) == -1 ||
	    journal_append(h->db, kind, NULL, NULL, detail, err) == -1 ||
	    db_commit(h->db, err) == -1) {
		db_rollback(h->db);
		return err_wrap(
		    err, "cannot journal the hand-over in %s", h->state);
	}
	return 0;
}

/*
 * On a medium whose inventory was imported before: is there a package file
 * it does not list while none it lists is left (an old inventory put back
 * onto a new medium)? Then 1, with that file's name in out (PKG_NAME_MAX).
 */
static int
media_handover_replayed(
    const char *dir, const struct media_inventory *inv, char *out)
{
	struct media_pkg *v = NULL;
	size_t n = 0, i;
	int listed = 0, stray = -1;

	if (media_scan(dir, 0, &v, &n) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (inv->n > 0 && bsearch(v[i].e.name, inv->e, inv->n,
		                      sizeof *inv->e, media_name_cmp) != NULL)
			listed = 1;
		else if (stray == -1)
			stray = (int)i;
	}
	if (!listed && stray != -1)
		snprintf(out, PKG_NAME_MAX, "%s", v[stray].e.name);
	free(v);
	return !listed && stray != -1;
}

/*
 * Before a journaled export: does MEDIA hold the peer's signed hand-over
 * with packages still on it (not imported here yet)? Exporting would list
 * them under this gateway's signature; -1 says so.
 */
int
media_handover_pending(const struct media_opts *o)
{
	const struct media_handover *h = o->handover;
	struct media_inventory inv;
	struct media_signed s;
	struct error err = {0};
	struct sig_info info;
	char *path;
	size_t i;
	int rc = 0;

	if (media_handover_load(o->to, &s, &err) != 0 ||
	    sig_verify_named(MEDIA_INVENTORY_SIG, MEDIA_INVENTORY, h->peer,
	        s.txt, s.tlen, s.p7s, s.plen, h->peer_id, time(NULL),
	        SIG_ALLOW_ALL, &info, &err) == -1) {
		media_handover_unload(&s);
		return 0;
	}
	media_handover_unload(&s);
	if (media_inventory_read(o->to, &inv, &err) != 0)
		return 0;
	for (i = 0; rc == 0 && i < inv.n; i++) {
		if (strncmp(inv.e[i].name, h->own_id, strlen(h->own_id)) == 0 &&
		    inv.e[i].name[strlen(h->own_id)] == '.')
			continue; /* this side's own, left there */
		xasprintf(&path, "%s/%s", o->to, inv.e[i].name);
		if (access(path, F_OK) == 0) {
			media_warn("%s holds a hand-over from %s not imported "
			           "yet (%s is still on it); nothing was "
			           "exported: import it first (posgw media "
			           "import --config) or use another medium",
			    o->to, h->peer_id, inv.e[i].name);
			rc = -1;
		}
		free(path);
	}
	media_inventory_free(&inv);
	return rc;
}

/* Remove a stale signature of dir (an unsigned export replaced it). */
int
media_handover_unsign(const char *dir)
{
	char *path;
	int rc;

	xasprintf(&path, "%s/%s", dir, MEDIA_INVENTORY_SIG);
	rc = unlink(path);
	free(path);
	if (rc == -1)
		return errno == ENOENT ? 0 : -1;
	return media_fsync_dir(dir);
}

/*
 * Hand the medium over, journaled: keep the signed inventory already on it
 * if it lists the same packages (a re-run), else write inv and sign it;
 * keep a copy in the state and record media.exported once.
 */
void
media_handover_export(const struct media_opts *o,
    const struct media_inventory *old, const struct media_inventory *inv,
    int *rc)
{
	const struct media_handover *h = o->handover;
	struct media_signed s, prev;
	struct error err = {0};
	struct sig_info info;
	gnutls_datum_t sig = {NULL, 0};
	char *detail, replaces[DIGEST_HEX_LEN + 1] = "",
	                                        host[MEDIA_TEXT_MAX + 1];
	char *again;
	size_t alen;
	int r, mine = 0;

	memset(&s, 0, sizeof s);
	memset(&prev, 0, sizeof prev);
	if (old != NULL && media_handover_load(o->to, &prev, &err) == 0 &&
	    sig_verify_named(MEDIA_INVENTORY_SIG, MEDIA_INVENTORY, h->own,
	        prev.txt, prev.tlen, prev.p7s, prev.plen, h->own_id, time(NULL),
	        SIG_ALLOW_ALL, &info, &err) == 0)
		mine = 1;
	err_clear(&err);
	if (mine) {
		/* the parsed inventory must be the verified bytes */
		again = media_inventory_format(old, &alen);
		mine = alen == prev.tlen && memcmp(again, prev.txt, alen) == 0;
		free(again);
	}
	if (mine && media_handover_same(old, inv)) {
		s = prev;
		memset(&prev, 0, sizeof prev);
		media_say("the signed inventory on %s already lists these "
		          "packages; kept as it is",
		    o->to);
		goto signed_ok;
	}
	if (mine)
		memcpy(replaces, prev.hex, sizeof replaces);
	if (media_inventory_write(o->to, inv, &err) == -1 ||
	    media_handover_load(o->to, &s, &err) == -1 ||
	    signer_sign(h->signer, s.txt, s.tlen, &sig, &err) == -1 ||
	    fs_write_file(o->to, MEDIA_INVENTORY_SIG, sig.data, sig.size, 0644,
	        FS_WRITE_REPLACE, &err) == -1) {
		media_warn("writing the signed inventory failed: %s (medium "
		           "removed or full?); the medium is not ready to hand "
		           "over: export again",
		    err.text);
		*rc = 1;
		goto out_s;
	}
	free(s.p7s);
	s.p7s = xmalloc(sig.size);
	memcpy(s.p7s, sig.data, sig.size);
	s.plen = sig.size;
signed_ok:
	if (media_handover_keep(h, &s, &err) == -1) {
		media_warn("%s; the hand-over was not journaled: export again",
		    err.text);
		*rc = 1;
		goto out_s;
	}
	detail = media_handover_detail(s.hex, o->to, inv->operator_name,
	    media_handover_host(host, sizeof host), inv, -1, NULL);
	r = media_handover_record(h, "exported", s.hex, o->to,
	    inv->operator_name, inv->n, replaces[0] ? replaces : NULL, detail,
	    &err);
	free(detail);
	if (r == -1) {
		media_warn("%s; the hand-over was not journaled: export again",
		    err.text);
		*rc = 1;
	} else if (r == 1)
		media_say("hand-over %s: already journaled", s.hex);
	else
		media_say("hand-over %s: journaled as media.exported", s.hex);
out_s:
	media_handover_unload(&s);
	media_handover_unload(&prev);
	gnutls_free(sig.data);
}

/*
 * Journal a refused hand-over of o->from (import), naming why; with no
 * inventory to digest, the entry stands alone (no hand-over row).
 */
void
media_handover_refused(const struct media_opts *o, const char *reason)
{
	const struct media_handover *h = o->handover;
	struct media_signed s;
	struct error err = {0};
	char op[MEDIA_TEXT_MAX + 1], host[MEDIA_TEXT_MAX + 1], *why, *detail;
	int have, r = 0;

	media_operator(o->operator_name, op, sizeof op);
	(void)media_handover_load(o->from, &s, &err);
	if (!(have = s.txt != NULL))
		memcpy(s.hex, "none", 5);
	else if (media_handover_keep(h, &s, &err) == -1)
		media_warn("%s; the refused inventory was not kept", err.text);
	err_clear(&err);
	xasprintf(&why, "refused: %s", reason);
	detail = media_handover_detail(s.hex, o->from, op,
	    media_handover_host(host, sizeof host), NULL, -1, why);
	if (have)
		r = media_handover_record(
		    h, "refused", s.hex, o->from, op, 0, NULL, detail, &err);
	else if (db_begin(h->db, &err) == -1 ||
	         journal_append(
	             h->db, "media.refused", NULL, NULL, detail, &err) == -1 ||
	         db_commit(h->db, &err) == -1) {
		db_rollback(h->db);
		r = -1;
	}
	if (r == -1)
		media_warn("%s", err.text);
	else
		media_warn("the refusal is %sjournaled as media.refused",
		    r == 1 ? "already " : "");
	free(why);
	free(detail);
	media_handover_unload(&s);
}

/*
 * Check the signed inventory of o->from before anything is imported: signed
 * by the peer, unchanged, listing only the peer's (or this side's own)
 * packages, and describing this medium (each listed package present with its
 * size) unless the hand-over was imported before (*seen). Keeps the copy.
 * A refusal is reported and journaled; returns -1.
 */
int
media_handover_check(const struct media_opts *o,
    const struct media_inventory *inv, char hex[DIGEST_HEX_LEN + 1], int *seen)
{
	const struct media_handover *h = o->handover;
	char sender[33], uuid[37], *path, *why = NULL;
	char stray[PKG_NAME_MAX], *used;
	size_t ulen;
	int same;
	struct media_signed s;
	struct error err = {0};
	struct sig_info info;
	sqlite3_stmt *st;
	struct stat sb;
	uint64_t seq;
	size_t i;

	*seen = 0;
	if (media_handover_load(o->from, &s, &err) != 0 ||
	    sig_verify_named(MEDIA_INVENTORY_SIG, MEDIA_INVENTORY, h->peer,
	        s.txt, s.tlen, s.p7s, s.plen, h->peer_id, time(NULL),
	        SIG_ALLOW_ALL, &info, &err) == -1) {
		xasprintf(
		    &why, "%s/%s: %s", o->from, MEDIA_INVENTORY, err.text);
		goto refuse;
	}
	memcpy(hex, s.hex, DIGEST_HEX_LEN + 1);
	/* what is used must be what was verified: the parsed inventory,
	 * written again, is the signed bytes */
	used = media_inventory_format(inv, &ulen);
	same = ulen == s.tlen && memcmp(used, s.txt, ulen) == 0;
	free(used);
	if (!same) {
		xasprintf(&why,
		    "%s/%s changed while being checked, or is not as posgw "
		    "media export writes it",
		    o->from, MEDIA_INVENTORY);
		goto refuse;
	}
	for (i = 0; i < inv->n; i++) {
		(void)pkg_name_parse(inv->e[i].name, sender, &seq, uuid);
		if (strcmp(sender, h->peer_id) != 0 &&
		    strcmp(sender, h->own_id) != 0) {
			xasprintf(&why,
			    "%s/%s lists %s, sent by %s: neither %s nor %s",
			    o->from, MEDIA_INVENTORY, inv->e[i].name, sender,
			    h->peer_id, h->own_id);
			goto refuse;
		}
	}
	st = db_prepare(h->db, "SELECT 1 FROM handovers WHERE direction ="
	                       " 'imported' AND digest = ?");
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	*seen = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	if (*seen && media_handover_replayed(o->from, inv, stray)) {
		xasprintf(&why,
		    "%s/%s was imported before and lists none of the packages "
		    "on this medium, such as %s (an old inventory put back?)",
		    o->from, MEDIA_INVENTORY, stray);
		goto refuse;
	}
	for (i = 0; !*seen && i < inv->n; i++) {
		if (strncmp(inv->e[i].name, h->own_id, strlen(h->own_id)) ==
		        0 &&
		    inv->e[i].name[strlen(h->own_id)] == '.')
			continue;
		xasprintf(&path, "%s/%s", o->from, inv->e[i].name);
		if (lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    (uint64_t)sb.st_size != inv->e[i].size) {
			xasprintf(&why,
			    "the inventory does not describe this medium: %s "
			    "is missing or of another size (a swapped "
			    "inventory?)",
			    path);
			free(path);
			goto refuse;
		}
		free(path);
	}
	if (media_handover_keep(h, &s, &err) == -1) {
		media_warn("%s; nothing was imported: fix it and import again",
		    err.text);
		media_handover_unload(&s);
		return -1;
	}
	media_handover_unload(&s);
	return 0;
refuse:
	media_warn("refused the hand-over: %s; nothing was imported: the "
	           "exporting operator runs posgw media export --config "
	           "again onto this medium",
	    why);
	media_handover_unload(&s);
	media_handover_refused(o, why);
	free(why);
	return -1;
}

/* Record media.imported once, listing the packages delivered. */
int
media_handover_imported(const struct media_opts *o,
    const struct media_inventory *inv, const char *hex, int seen)
{
	const struct media_handover *h = o->handover;
	char op[MEDIA_TEXT_MAX + 1], host[MEDIA_TEXT_MAX + 1], extra[64];
	struct error err = {0};
	size_t i, n = 0, refused = 0;
	char *detail;
	int r;

	for (i = 0; i < inv->n; i++) {
		if (inv->e[i].state == MEDIA_GONE)
			n++;
		else if (inv->e[i].state == MEDIA_KEEP)
			refused++;
	}
	media_operator(o->operator_name, op, sizeof op);
	snprintf(extra, sizeof extra, "left on media %zu", refused);
	detail = media_handover_detail(hex, o->from, op,
	    media_handover_host(host, sizeof host), inv, MEDIA_GONE, extra);
	r = media_handover_record(
	    h, "imported", hex, o->from, op, n, NULL, detail, &err);
	free(detail);
	if (r == -1) {
		media_warn("%s; nothing was removed from the medium: import "
		           "again",
		    err.text);
		return -1;
	}
	media_say("hand-over %s: %s", hex,
	    r == 1 || seen ? "already journaled"
	                   : "journaled as media.imported");
	return 0;
}
