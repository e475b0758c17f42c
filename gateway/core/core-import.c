/*
 * core-import.c: the EDMS's events from the import folder: every
 * <import>/NAME.xml is checked (contract, schema, appeal, order,
 * transition, files, signatures) and either queued for the edge with the
 * appeal's new state and a journal entry in one transaction, then removed
 * from the folder, or moved to <import>/rejected/ with a .reason file.
 */
#include "config.h"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "core-int.h"
#include "digest.h"
#include "edms.h"
#include "filename.h"
#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static void core_import_free_name(
    const char *dir, const char *want, char *out, size_t len);
static int core_import_move_rejected(
    struct core *cs, const char *rejdir, const char *name, struct error *err);
static int core_import_reject(struct core *cs, const char *name,
    const struct edms_event *ev, const struct error *why);
static void core_import_remove(
    struct core *cs, const char *name, const struct edms_event *ev);
static int core_import_stage(struct core *cs, const char *rel, const char *role,
    const char *tmp, uint64_t max, struct error *why, struct error *err);
static int core_import_seen(
    struct core *cs, const struct edms_event *ev, const char *hex);
static int core_import_record(struct core *cs, const char *name,
    const struct edms_event *ev, const struct edms_appeal *a, const char *hex,
    struct error *err);
static void core_import_unstage(struct core *cs, size_t nfiles);
static int core_import_event(
    struct core *cs, const char *name, struct edms_event *ev);
static void core_import_trouble(struct core *cs, const char *name,
    const struct stat *sb, const struct error *why);
static int core_import_item_cmp(const void *a, const void *b);
static int core_import_list(struct core *cs, char ***out, size_t *n);

/* A name for dir/want that is not taken yet (nor its .reason), in out. */
static void
core_import_free_name(const char *dir, const char *want, char *out, size_t len)
{
	char *path, **used = NULL;
	size_t nused = 0, i;
	int taken;

	snprintf(out, len, "%s", want);
	for (;;) {
		xasprintf(&path, "%s/%s", dir, out);
		taken = access(path, F_OK) == 0;
		free(path);
		xasprintf(&path, "%s/%s.reason", dir, out);
		taken = taken || access(path, F_OK) == 0;
		free(path);
		if (!taken || nused > 10000)
			break;
		used = xreallocarray(used, nused + 1, sizeof *used);
		used[nused++] = xstrdup(out);
		snprintf(out, len, "%s", want);
		filename_unique(out, len, used, nused);
	}
	for (i = 0; i < nused; i++)
		free(used[i]);
	free(used);
}

/* Move import/name to rejected/ under a free name; ENOENT is fine. */
static int
core_import_move_rejected(
    struct core *cs, const char *rejdir, const char *name, struct error *err)
{
	char *src, *dst, final[512];

	xasprintf(&src, "%s/%s", cs->e.import_dir, name);
	core_import_free_name(rejdir, name, final, sizeof final);
	xasprintf(&dst, "%s/%s", rejdir, final);
	if (rename(src, dst) == -1 && errno != ENOENT) {
		err_set(err, ERR_NONE, "cannot move %s to %s: %s", src, dst,
		    strerror(errno));
		free(src);
		free(dst);
		return -1;
	}
	free(src);
	free(dst);
	return 0;
}

/*
 * Reject an event file: <import>/rejected/<name>.reason says "what: text",
 * the file and the answer files it names move beside it, and the journal
 * records it. Nothing of it is queued.
 */
static int
core_import_reject(struct core *cs, const char *name,
    const struct edms_event *ev, const struct error *why)
{
	struct error err = {0};
	char *rejdir, final[512], *reason, rname[600], detail[1200];
	const char *pos = ev != NULL && ev->pos_id[0] ? ev->pos_id : NULL;
	size_t i;
	int n, rc = -1;

	xasprintf(&rejdir, "%s/rejected", cs->e.import_dir);
	if (mkdir(rejdir, 0770) == -1 && errno != EEXIST) {
		log_warnx_changed(&cs->last_trouble,
		    "cannot create %s: %s; event file %s waits", rejdir,
		    strerror(errno), name);
		free(rejdir);
		return -1;
	}
	core_import_free_name(rejdir, name, final, sizeof final);
	snprintf(rname, sizeof rname, "%s.reason", final);
	n = xasprintf(&reason, "%s: %s\n", why->what, why->text);
	if (fs_write_file(rejdir, rname, reason, (size_t)n, 0660,
	        FS_WRITE_REPLACE | FS_WRITE_SHARE, &err) == -1)
		goto out;
	for (i = 0; ev != NULL && i < ev->nfiles; i++) {
		if (edms_event_plain_name(ev->files[i].rel) &&
		    core_import_move_rejected(
		        cs, rejdir, ev->files[i].rel, &err) == -1)
			goto out;
		if (edms_event_plain_name(ev->files[i].sig) &&
		    core_import_move_rejected(
		        cs, rejdir, ev->files[i].sig, &err) == -1)
			goto out;
	}
	{
		char *src, *dst;
		xasprintf(&src, "%s/%s", cs->e.import_dir, name);
		xasprintf(&dst, "%s/%s", rejdir, final);
		if (rename(src, dst) == -1)
			err_set(&err, ERR_NONE, "cannot move %s to %s: %s", src,
			    dst, strerror(errno));
		free(src);
		free(dst);
		if (err.text[0] != '\0')
			goto out;
	}
	if (fs_fsync_dir(rejdir, &err) == -1 ||
	    fs_fsync_dir(cs->e.import_dir, &err) == -1)
		goto out;
	snprintf(
	    detail, sizeof detail, "%s: %s: %s", name, why->what, why->text);
	if (db_begin(cs->db, &err) == -1)
		goto out;
	if (journal_append(cs->db, "event.rejected", NULL, pos, detail, &err) ==
	    -1) {
		db_rollback(cs->db);
		goto out;
	}
	if (db_commit(cs->db, &err) == -1)
		goto out;
	log_warnx("import %s: rejected %s: %s: %s; moved to %s/%s",
	    cs->e.import_dir, name, why->what, why->text, rejdir, final);
	rc = 0;
out:
	if (rc == -1)
		log_warnx_changed(&cs->last_trouble,
		    "rejecting event file %s: %s", name, err.text);
	free(reason);
	free(rejdir);
	return rc;
}

/* Remove the accepted event file and its answer files from the import folder. */
static void
core_import_remove(
    struct core *cs, const char *name, const struct edms_event *ev)
{
	struct error err = {0};
	char *p;
	size_t i;

	for (i = 0; i < ev->nfiles; i++) {
		xasprintf(&p, "%s/%s", cs->e.import_dir, ev->files[i].rel);
		unlink(p);
		free(p);
		xasprintf(&p, "%s/%s", cs->e.import_dir, ev->files[i].sig);
		unlink(p);
		free(p);
	}
	xasprintf(&p, "%s/%s", cs->e.import_dir, name);
	if (unlink(p) == -1 && errno != ENOENT)
		log_warnx_changed(&cs->last_trouble,
		    "cannot remove %s: %s; it was accepted, "
		    "remove it by hand",
		    p, strerror(errno));
	free(p);
	if (fs_fsync_dir(cs->e.import_dir, &err) == -1)
		log_warnx_changed(&cs->last_trouble, "%s", err.text);
}

/*
 * A clerk's decision on a repeated-appeal mark: the appeal must be marked
 * (a candidate, or decided before: a decision may be corrected); recorded
 * and journaled in one transaction, then the file removed. Nothing goes to
 * ПОС: the statistics count the confirmed ones.
 */
static int
core_import_mark(struct core *cs, const char *name, struct edms_event *ev)
{
	struct error err = {0}, why = {0};
	sqlite3_stmt *st;
	char was[16] = "", was_at[32] = "", detail[600];
	int found = 0;

	st = db_prepare(cs->db,
	    "SELECT COALESCE(repeated, ''), COALESCE(repeated_of, ''),"
	    " COALESCE(repeated_at, '') FROM core_appeals WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, ev->pos_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		snprintf(was, sizeof was, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(detail, sizeof detail, "%s: %s (earlier: %s)", name,
		    ev->result, (const char *)sqlite3_column_text(st, 1));
		snprintf(was_at, sizeof was_at, "%s",
		    (const char *)sqlite3_column_text(st, 2));
	}
	db_finalize(st);
	if (!found) {
		err_what(&why, "appeal",
		    "appeal %s is unknown to posgw-core: it was not exported "
		    "to the EDMS",
		    ev->pos_id);
		return core_import_reject(cs, name, ev, &why);
	}
	if (was[0] == '\0') {
		err_what(&why, "transition",
		    "appeal %s is not marked as a repeated appeal (posgw edms "
		    "list shows the candidates); only a mark can be confirmed "
		    "or rejected",
		    ev->pos_id);
		return core_import_reject(cs, name, ev, &why);
	}
	/* recorded already: killed between the commit and the removal */
	if (strcmp(was, ev->result) == 0 && strcmp(was_at, ev->at) == 0) {
		log_info("import: %s was recorded already; removing it", name);
		core_import_remove(cs, name, ev);
		return 0;
	}
	/* decisions apply in the order they were made, not the files' */
	if (was_at[0] != '\0' && strcmp(ev->at, was_at) < 0) {
		if (db_begin(cs->db, &err) == -1)
			goto fail;
		snprintf(detail, sizeof detail,
		    "%s: %s made at %s ignored: the decision of %s is newer",
		    name, ev->result, ev->at, was_at);
		if (journal_append(cs->db, "appeal.repeated-stale", NULL,
		        ev->pos_id, detail, &err) == -1) {
			db_rollback(cs->db);
			goto fail;
		}
		if (db_commit(cs->db, &err) == -1)
			goto fail;
		log_info("import: appeal %s: %s", ev->pos_id, detail);
		core_import_remove(cs, name, ev);
		return 0;
	}
	if (db_begin(cs->db, &err) == -1)
		goto fail;
	st = db_prepare(cs->db, "UPDATE core_appeals SET repeated = ?,"
	                        " repeated_at = ? WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, ev->result, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->pos_id, -1, SQLITE_STATIC);
	if (db_step_done(cs->db, st, &err) == -1 ||
	    journal_append(cs->db,
	        strcmp(ev->result, "confirmed") == 0 ? "appeal.repeated"
	                                             : "appeal.not-repeated",
	        NULL, ev->pos_id, detail, &err) == -1) {
		db_rollback(cs->db);
		goto fail;
	}
	if (db_commit(cs->db, &err) == -1)
		goto fail;
	log_info("import: appeal %s: repeated-appeal mark %s (was %s)",
	    ev->pos_id, ev->result, was);
	core_import_remove(cs, name, ev);
	return 0;
fail:
	log_warnx_changed(&cs->last_trouble, "import %s: %s", name, err.text);
	return -1;
}

/*
 * Copy an import-folder file into staging under tmp (a private copy is
 * what gets checked and sent, so the EDMS cannot change it in between).
 * Returns 0, -1 with why (missing, not a file, too large) or -2 on our own
 * trouble.
 */
static int
core_import_stage(struct core *cs, const char *rel, const char *role,
    const char *tmp, uint64_t max, struct error *why, struct error *err)
{
	struct stat sb;
	char *src;
	int rc;

	xasprintf(&src, "%s/%s", cs->e.import_dir, rel);
	if (lstat(src, &sb) == -1) {
		rc = errno == ENOENT
		         ? err_what(why, "file",
		               "%s %s is not in the import folder %s", role,
		               rel, cs->e.import_dir)
		         : (err_set(err, ERR_NONE, "cannot read %s: %s", src,
		                strerror(errno)),
		               -2);
		free(src);
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		free(src);
		return err_what(why, "file",
		    "%s %s is not a regular file (a link or a folder?)", role,
		    rel);
	}
	rc = fs_copy_file(src, cs->staging, tmp, 0600, max, 0, err);
	free(src);
	if (rc == -1 && err->code == ERR_SIZE)
		return err_what(why, "size", "%s %s: %s", role, rel, err->text);
	return rc == -1 ? -2 : 0;
}

/* An event already accepted with these very bytes (dropped again)? */
static int
core_import_seen(struct core *cs, const struct edms_event *ev, const char *hex)
{
	sqlite3_stmt *st;
	int same = 0;

	st = db_prepare(cs->db, "SELECT digest FROM core_events"
	                        " WHERE pos_id = ? AND n = ?");
	sqlite3_bind_text(st, 1, ev->pos_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ev->n);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		same =
		    strcmp((const char *)sqlite3_column_text(st, 0), hex) == 0;
	db_finalize(st);
	return same;
}

/* Record an accepted event (inside the transaction that queues it). */
static int
core_import_record(struct core *cs, const char *name,
    const struct edms_event *ev, const struct edms_appeal *a, const char *hex,
    struct error *err)
{
	sqlite3_stmt *st;
	char detail[600];
	int64_t docid;

	st = db_prepare(cs->db, "SELECT MAX(id) FROM documents WHERE"
	                        " direction = 'out' AND kind = 'event' AND"
	                        " pos_id = ?");
	sqlite3_bind_text(st, 1, ev->pos_id, -1, SQLITE_STATIC);
	docid =
	    sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	db_finalize(st);
	st = db_prepare(cs->db,
	    "UPDATE core_appeals SET state = ?, due = ?, registered_at = ?,"
	    " last_n = ?, postpones = ?, forward_due = ?, closed_at = ?,"
	    " forward_kind = COALESCE(?, forward_kind), forward_to ="
	    " COALESCE(?, forward_to), result = COALESCE(?, result),"
	    " measures = COALESCE(?, measures) WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, a->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->due, -1, SQLITE_STATIC);
	if (a->registered[0] != '\0')
		sqlite3_bind_text(st, 3, a->registered, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, a->last_n);
	sqlite3_bind_int(st, 5, a->postpones);
	if (a->forward_due[0] != '\0')
		sqlite3_bind_text(st, 6, a->forward_due, -1, SQLITE_STATIC);
	if (a->closed[0] != '\0')
		sqlite3_bind_text(st, 7, a->closed, -1, SQLITE_STATIC);
	if (strcmp(ev->type, "forward") == 0) {
		sqlite3_bind_text(st, 8, ev->fwd_kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, ev->fwd_to, -1, SQLITE_STATIC);
	}
	if (strcmp(ev->type, "answer") == 0) {
		sqlite3_bind_text(st, 10,
		    ev->result[0] != '\0' ? ev->result : "explained", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int(st, 11, ev->measures);
	}
	sqlite3_bind_text(st, 12, ev->pos_id, -1, SQLITE_STATIC);
	if (db_step_done(cs->db, st, err) == -1)
		return -1;
	st = db_prepare(cs->db,
	    "INSERT OR REPLACE INTO core_events (pos_id, n, type, at, state,"
	    " document_id, source, digest, accepted) VALUES"
	    " (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, ev->pos_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ev->n);
	sqlite3_bind_text(st, 3, ev->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ev->at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, docid);
	sqlite3_bind_text(st, 7, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)time(NULL));
	if (db_step_done(cs->db, st, err) == -1)
		return -1;
	snprintf(detail, sizeof detail,
	    "n=%ld %s from %.200s, %zu file(s); appeal now %s, due %s", ev->n,
	    ev->type, name, ev->nfiles, edms_state_label(a->state),
	    a->due[0] ? a->due : "-");
	return journal_append(
	    cs->db, "event.accepted", NULL, ev->pos_id, detail, err);
}

/* Drop the private copies of one event's files. */
static void
core_import_unstage(struct core *cs, size_t nfiles)
{
	char *p;
	size_t i;

	for (i = 0; i < nfiles; i++) {
		xasprintf(&p, "%s/%zu.bin", cs->staging, i + 1);
		unlink(p);
		free(p);
		xasprintf(&p, "%s/%zu.p7s", cs->staging, i + 1);
		unlink(p);
		free(p);
	}
}

/*
 * Take one prepared event file: accept it (queue it for the edge, update
 * the appeal, journal, in one transaction; then remove it from the import
 * folder) or reject it. Returns -1 on our own trouble (the file stays).
 */
static int
core_import_event(struct core *cs, const char *name, struct edms_event *ev)
{
	struct xfer_file *xf = NULL;
	struct edms_appeal a;
	struct error why = {0};
	struct error err = {0};
	char hex[DIGEST_HEX_LEN + 1], *path, **src = NULL, tmp[32];
	xmlChar *xml = NULL;
	uint64_t size;
	size_t i, nsrc = 0;
	int xlen, rc = -1, r;

	xasprintf(&path, "%s/%s", cs->e.import_dir, name);
	if (digest_file_hex(DIGEST_STREEBOG256, path, hex, &size, &err) == -1)
		goto out;
	if (!edms_appeal_load(cs->db, ev->pos_id, &a)) {
		err_what(&why, "appeal",
		    "appeal %s is unknown to posgw-core: it was never exported "
		    "to the EDMS",
		    ev->pos_id);
		rc = core_import_reject(cs, name, ev, &why);
		goto out;
	}
	if (ev->n <= a.last_n && core_import_seen(cs, ev, hex)) {
		/* accepted before a crash kept us from removing it */
		if (db_begin(cs->db, &err) == -1)
			goto out;
		if (journal_append(cs->db, "event.duplicate", NULL, ev->pos_id,
		        name, &err) == -1) {
			db_rollback(cs->db);
			goto out;
		}
		if (db_commit(cs->db, &err) == -1)
			goto out;
		log_info("import: %s was accepted already; removing it", name);
		core_import_remove(cs, name, ev);
		rc = 0;
		goto out;
	}
	if (edms_advance(&a, ev, &cs->e, &why) == -1) {
		rc = core_import_reject(cs, name, ev, &why);
		goto out;
	}
	if (strcmp(ev->type, "forward") == 0 &&
	    strcmp(ev->fwd_kind, "organization") == 0 &&
	    conf_org_find(&cs->orgs, ev->fwd_to) == NULL) {
		err_what(&why, "target",
		    "appeal %s: forward to organization %s, which [orgs] of "
		    "posgw-core's configuration does not list; add it (ID = "
		    "name) if appeals may go there, or forward elsewhere",
		    ev->pos_id, ev->fwd_to);
		rc = core_import_reject(cs, name, ev, &why);
		goto out;
	}
	src = xcalloc(2 * ev->nfiles + 1, sizeof *src);
	xf = xcalloc(2 * ev->nfiles + 1, sizeof *xf);
	for (i = 0; i < ev->nfiles; i++) {
		snprintf(tmp, sizeof tmp, "%zu.bin", i + 1);
		r = core_import_stage(cs, ev->files[i].rel, "answer file", tmp,
		    cs->limits.max_entry, &why, &err);
		if (r == 0) {
			xasprintf(&src[nsrc], "%s/%s", cs->staging, tmp);
			xf[nsrc].path = ev->files[i].path;
			xf[nsrc].src = src[nsrc];
			nsrc++;
			snprintf(tmp, sizeof tmp, "%zu.p7s", i + 1);
			r = core_import_stage(cs, ev->files[i].sig, "signature",
			    tmp, EDMS_SIG_MAX, &why, &err);
		}
		if (r == 0) {
			xasprintf(&src[nsrc], "%s/%s", cs->staging, tmp);
			xf[nsrc].path = ev->files[i].sigpath;
			xf[nsrc].src = src[nsrc];
			nsrc++;
			r = edms_sign_verify(ev->files[i].rel, src[nsrc - 2],
			    ev->files[i].sig, src[nsrc - 1], ev->files[i].size,
			    cs->signers, cs->sig_algs, &why);
		}
		if (r == -1) {
			rc = core_import_reject(cs, name, ev, &why);
			goto out;
		}
		if (r == -2)
			goto out;
	}
	xmlDocDumpMemoryEnc(ev->doc, &xml, &xlen, "UTF-8");
	if (db_begin(cs->db, &err) == -1)
		goto out;
	if (spool_enqueue(cs->x, "event", ev->pos_id, xml, (size_t)xlen, xf,
	        nsrc, &err) == -1) {
		db_rollback(cs->db);
		if (err.code == ERR_PAYLOAD) {
			err_what(&why, "schema", "%s", err.text);
			rc = core_import_reject(cs, name, ev, &why);
		}
		goto out;
	}
	if (core_import_record(cs, name, ev, &a, hex, &err) == -1) {
		db_rollback(cs->db);
		goto out;
	}
	if (db_commit(cs->db, &err) == -1)
		goto out;
	log_info("import: accepted %s: appeal %s event n=%ld %s, queued for %s",
	    name, ev->pos_id, ev->n, ev->type, xfer_config(cs->x)->peer_id);
	core_import_remove(cs, name, ev);
	rc = 0;
out:
	if (rc == -1 && err.text[0] != '\0')
		log_warnx_changed(&cs->last_trouble,
		    "import %s: %s; will retry", name, err.text);
	core_import_unstage(cs, ev->nfiles);
	for (i = 0; i < nsrc; i++)
		free(src[i]);
	free(src);
	free(xf);
	xmlFree(xml);
	free(path);
	return rc;
}

/*
 * Log (once while it lasts) why an event file could not be read; when the
 * core may not, say whose file it is and how to let the core read it.
 */
static void
core_import_trouble(struct core *cs, const char *name, const struct stat *sb,
    const struct error *why)
{
	char *path;

	xasprintf(&path, "%s/%s", cs->e.import_dir, name);
	if (access(path, R_OK) == -1 && errno == EACCES)
		log_warnx_changed(&cs->last_trouble,
		    "import: cannot read %s (owner uid %lu, group gid %lu, "
		    "mode %04o): posgw-core may not; give it the import "
		    "folder's group with group read (chgrp GROUP FILE; chmod "
		    "g+r FILE), as posgw edms commands do; will retry",
		    path, (unsigned long)sb->st_uid, (unsigned long)sb->st_gid,
		    (unsigned)(sb->st_mode & 07777));
	else
		log_warnx_changed(
		    &cs->last_trouble, "import: %s; will retry", why->text);
	free(path);
}

/* Order event files by appeal, then n, then name. */
static int
core_import_item_cmp(const void *a, const void *b)
{
	const struct core_item *x = a, *y = b;
	size_t lx = strlen(x->ev.pos_id), ly = strlen(y->ev.pos_id);
	int c;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	if ((c = strcmp(x->ev.pos_id, y->ev.pos_id)) != 0)
		return c;
	if (x->ev.n != y->ev.n)
		return x->ev.n < y->ev.n ? -1 : 1;
	/* repeated-appeal decisions (n 0) in the order they were made */
	if ((c = strcmp(x->ev.at, y->ev.at)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

/* The event files of the import folder: *.xml, no dot files, name order. */
static int
core_import_list(struct core *cs, char ***out, size_t *n)
{
	if (fs_xml_names(cs->e.import_dir, 0, out, n) == -1) {
		log_warnx_changed(&cs->last_trouble,
		    "cannot read [edms] import %s: %s; events wait until it "
		    "is there",
		    cs->e.import_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * One import round: read up to CORE_IMPORT_BATCH event files (name order),
 * reject those that are not events, then take the others by appeal and n.
 */
int
core_import(struct core *cs, int *did)
{
	struct core_item *items = NULL;
	struct edms_event ev;
	struct error why = {0};
	struct stat sb;
	char **names, *path;
	size_t n, i, nitems = 0;
	int rc = 0, r, malformed;

	if (core_import_list(cs, &names, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (nitems + 1 > CORE_IMPORT_BATCH) {
			*did += 1; /* more next round, right away */
			break;
		}
		xasprintf(&path, "%s/%s", cs->e.import_dir, names[i]);
		r = lstat(path, &sb);
		free(path);
		if (r == -1 || S_ISDIR(sb.st_mode))
			continue;
		if (!S_ISREG(sb.st_mode)) {
			err_what(&why, "file",
			    "%s is not a regular file (a symbolic link?)",
			    names[i]);
			if (core_import_reject(cs, names[i], NULL, &why) == 0)
				(*did)++;
			continue;
		}
		r = edms_event_read(cs->e.import_dir, names[i], &cs->limits,
		    &ev, &why, &malformed);
		if (r == -2) {
			core_import_trouble(cs, names[i], &sb, &why);
			edms_event_free(&ev);
			rc = -1;
			continue;
		}
		if (r == -1 && malformed &&
		    sb.st_mtime > time(NULL) - CORE_SETTLE) {
			/* perhaps still being written in place: wait */
			log_debug(
			    "import: %s is not well-formed yet", names[i]);
			edms_event_free(&ev);
			continue;
		}
		if (r == -1) {
			if (core_import_reject(cs, names[i], &ev, &why) == 0)
				(*did)++;
			else
				rc = -1;
			edms_event_free(&ev);
			continue;
		}
		items = xreallocarray(items, nitems + 1, sizeof *items);
		items[nitems].name = names[i];
		names[i] = NULL;
		items[nitems++].ev = ev;
	}
	if (nitems > 0)
		qsort(items, nitems, sizeof *items, core_import_item_cmp);
	for (i = 0; i < nitems; i++) {
		if (strcmp(items[i].ev.type, "repeated") == 0
		        ? core_import_mark(cs, items[i].name, &items[i].ev) == 0
		        : core_import_event(cs, items[i].name, &items[i].ev) ==
		              0)
			(*did)++;
		else
			rc = -1;
		edms_event_free(&items[i].ev);
		free(items[i].name);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(items);
	return rc;
}
