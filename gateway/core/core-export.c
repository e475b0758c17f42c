/*
 * core-export.c: appeals, outcomes and the classifier out to the EDMS
 * export folder. Each is written durably (a hidden temp folder or file,
 * fsync, rename, fsync of the folder) and only then marked consumed, with
 * its journal entry, in one transaction; a crash in between writes the
 * same files again.
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
#include "package.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static int core_export_consume(struct core *cs, int64_t id, struct error *err);
static int core_export_consume_only(struct core *cs, int64_t id,
    const char *kind, const char *pos, const char *detail, struct error *err);
static xmlChar *core_export_text(xmlNodePtr n);
static xmlNodePtr core_export_child(xmlNodePtr parent, const char *name);
static int core_export_topic(
    struct core *cs, const char *code, char *sstu, size_t slen, char **name);
static void core_export_add_topic(
    struct core *cs, xmlNodePtr root, char *sstu, size_t slen);
static int core_export_file_digest(
    struct core *cs, int64_t id, const char *path, char *hex);
static int core_export_merge(
    const char *tmp, const char *dst, struct error *err);
static int core_export_place(struct core *cs, const char *src, const char *dir,
    const char *name, struct error *err);
static int core_export_put(const char *dir, const char *name, const void *buf,
    size_t len, int sync, struct error *err);
static int core_export_rename(
    const char *tmp, const char *dst, struct error *err);
static int core_export_publish(struct core *cs, struct error *err);
static int core_export_known(struct core *cs, const char *pos, int64_t *when);
static void core_export_bind_coded(sqlite3_stmt *st, int i, xmlNodePtr n);
static int core_export_write_appeal(struct core *cs, int64_t id,
    const char *pos, xmlDocPtr doc, size_t *natt, struct error *err);
static int core_export_appeal(
    struct core *cs, int64_t id, const char *body, int blen, struct error *err);
static int core_export_same(
    const char *dir, const char *name, const char *buf, size_t len);
static int core_export_write_outcome(struct core *cs, const char *pos,
    char *name, size_t len, const char *body, size_t blen, struct error *err);
static int core_export_outcome(
    struct core *cs, int64_t id, const char *body, int blen, struct error *err);
static int core_export_classifier(
    struct core *cs, int64_t id, const char *body, int blen, struct error *err);

/* Mark a document consumed (inside a transaction). */
static int
core_export_consume(struct core *cs, int64_t id, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(cs->db, "UPDATE documents SET consumed = ?"
	                        " WHERE id = ? AND consumed IS NULL");
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(cs->db, st, err);
}

/* Consume a document with only a journal entry, in one transaction. */
static int
core_export_consume_only(struct core *cs, int64_t id, const char *kind,
    const char *pos, const char *detail, struct error *err)
{
	if (db_begin(cs->db, err) == -1)
		return -1;
	if (core_export_consume(cs, id, err) == -1 ||
	    journal_append(cs->db, kind, NULL, pos, detail, err) == -1) {
		db_rollback(cs->db);
		return -1;
	}
	return db_commit(cs->db, err);
}

/* The text of an element, or "" (the caller frees with xmlFree). */
static xmlChar *
core_export_text(xmlNodePtr n)
{
	xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;

	return t != NULL ? t : xmlStrdup((const xmlChar *)"");
}

/* The first child element with this name, or NULL. */
static xmlNodePtr
core_export_child(xmlNodePtr parent, const char *name)
{
	return xmlsafe_child(parent, NS_EXCHANGE, name);
}

/* Look up the ССТУ topic of a ПОС code; 1 if mapped. */
static int
core_export_topic(
    struct core *cs, const char *code, char *sstu, size_t slen, char **name)
{
	sqlite3_stmt *st;
	int found = 0;

	if (code == NULL)
		return 0;
	st = db_prepare(cs->db, "SELECT sstu_code, name FROM core_topics"
	                        " WHERE pos_code = ?");
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(
		    sstu, slen, "%s", (const char *)sqlite3_column_text(st, 0));
		*name = sqlite3_column_type(st, 1) == SQLITE_NULL
		            ? NULL
		            : xstrdup((const char *)sqlite3_column_text(st, 1));
		found = 1;
	}
	db_finalize(st);
	return found;
}

/*
 * Put the ССТУ topic into an appeal after its subcategory (or category):
 * the subcategory's mapping wins over the category's. A <topic> the edge
 * wrote is dropped: only the core maps. The code used goes to sstu ("" for
 * none).
 */
static void
core_export_add_topic(struct core *cs, xmlNodePtr root, char *sstu, size_t slen)
{
	xmlNodePtr cat = core_export_child(root, "category");
	xmlNodePtr sub = core_export_child(root, "subcategory");
	xmlNodePtr old, after, topic;
	char *name = NULL;

	sstu[0] = '\0';
	while ((old = core_export_child(root, "topic")) != NULL) {
		xmlUnlinkNode(old);
		xmlFreeNode(old);
	}
	if (!core_export_topic(cs, sub ? xmlsafe_attr(sub, "code") : NULL, sstu,
	        slen, &name) &&
	    !core_export_topic(
	        cs, cat ? xmlsafe_attr(cat, "code") : NULL, sstu, slen, &name))
		return;
	after = sub != NULL ? sub : cat;
	if (after == NULL) {
		sstu[0] = '\0';
		free(name);
		return;
	}
	topic =
	    xmlNewDocNode(root->doc, root->ns, (const xmlChar *)"topic", NULL);
	xmlNewProp(topic, (const xmlChar *)"sstu-code", (const xmlChar *)sstu);
	if (name != NULL && *name != '\0')
		xmlAddChild(
		    topic, xmlNewDocText(root->doc, (const xmlChar *)name));
	after = xmlAddNextSibling(
	    after, xmlNewDocText(root->doc, (const xmlChar *)"\n  "));
	xmlAddNextSibling(after, topic);
	free(name);
}

/* The digest of the stored file a document references by payload path. */
static int
core_export_file_digest(
    struct core *cs, int64_t id, const char *path, char *hex)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(cs->db, "SELECT digest FROM files WHERE"
	                        " document_id = ? AND path = ?");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(
		    hex, 80, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	db_finalize(st);
	return found;
}

/*
 * Move what the temp folder holds into an existing appeal folder (a crash
 * after the rename and before the commit left it there), then drop it.
 */
static int
core_export_merge(const char *tmp, const char *dst, struct error *err)
{
	struct dirent *de;
	char *a, *b;
	DIR *d;
	int rc = 0;

	if ((d = opendir(tmp)) == NULL)
		return err_set(
		    err, ERR_NONE, "cannot read %s: %s", tmp, strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&a, "%s/%s", tmp, de->d_name);
		xasprintf(&b, "%s/%s", dst, de->d_name);
		if (rename(a, b) == -1)
			rc = err_set(err, ERR_NONE, "cannot move %s to %s: %s",
			    a, b, strerror(errno));
		free(a);
		free(b);
	}
	closedir(d);
	if (rc == 0 && fs_fsync_dir(dst, err) == -1)
		rc = -1;
	if (rc == 0)
		fs_rmtree(tmp);
	return rc;
}

/*
 * Put a stored attachment into an export folder: a hard link to the
 * store's read-only (0440) file when both are on one file system (no second copy
 * of the bytes, which the store has already made durable), else a copy
 * that is fsynced.
 */
static int
core_export_place(struct core *cs, const char *src, const char *dir,
    const char *name, struct error *err)
{
	struct stat ds, fs;
	char *dst;
	int rc;

	(void)cs;
	xasprintf(&dst, "%s/%s", dir, name);
	rc = link(src, dst);
	if (rc == -1 && errno != EXDEV && errno != EPERM && errno != EMLINK) {
		err_set(err, ERR_NONE, "cannot link %s to %s: %s", src, dst,
		    strerror(errno));
		free(dst);
		return -1;
	}
	/*
	 * The EDMS reads through the export folder's group (setgid folder):
	 * a link must carry that group, as a copy made there would; if we
	 * may not give it, copy after all.
	 */
	if (rc == 0 && (stat(dir, &ds) == -1 || stat(dst, &fs) == -1 ||
	                   (fs.st_gid != ds.st_gid &&
	                       chown(dst, (uid_t)-1, ds.st_gid) == -1))) {
		unlink(dst);
		rc = -1;
	}
	free(dst);
	if (rc == 0)
		return 0;
	return fs_copy_file(src, dir, name, 0640, UINT64_MAX,
	    FS_COPY_SYNC | FS_COPY_SHARE, err);
}

/*
 * Create a file in a private temp folder (no temp name needed: the folder
 * is renamed whole), fsynced unless a batch syncs the file system later.
 */
static int
core_export_put(const char *dir, const char *name, const void *buf, size_t len,
    int sync, struct error *err)
{
	char *path;
	int fd, rc = -1;

	xasprintf(&path, "%s/%s", dir, name);
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd == -1)
		err_set(err, ERR_NONE, "cannot create %s: %s", path,
		    strerror(errno));
	else if (fs_write_all(fd, buf, len) == -1 || (sync && fsync(fd) == -1))
		err_set(err, ERR_NONE, "cannot write %s: %s", path,
		    strerror(errno));
	else
		rc = 0;
	if (fd != -1 && close(fd) == -1 && rc == 0)
		rc = err_set(err, ERR_NONE, "cannot write %s: %s", path,
		    strerror(errno));
	free(path);
	return rc;
}

/* Rename a finished temp folder into place, merging into an existing one. */
static int
core_export_rename(const char *tmp, const char *dst, struct error *err)
{
	if (rename(tmp, dst) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return err_set(err, ERR_NONE, "cannot rename %s to %s: %s", tmp,
		    dst, strerror(errno));
	return core_export_merge(tmp, dst, err);
}

/*
 * Publish a round's appeal folders: their files made durable (an fsync
 * each for a few, one syncfs for many), then each is renamed into place and the export folder fsynced
 * once; on failure the unpublished temp folders are removed.
 */
static int
core_export_publish(struct core *cs, struct error *err)
{
	char *tmp, *dst;
	size_t i;
	int rc = 0;

	if (cs->npending > FS_SYNCSET_MAX) {
		if (fs_syncfs(cs->e.export_dir, err) == -1)
			rc = -1;
	} else
		for (i = 0; i < cs->npending && rc == 0; i++) {
			/* a few: their own fsyncs, not the whole file system */
			xasprintf(&tmp, "%s/.%s.tmp", cs->e.export_dir,
			    cs->pending[i]);
			xasprintf(&dst, "%s/appeal.xml", tmp);
			if (fs_fsync_file(dst, err) == -1 ||
			    fs_fsync_dir(tmp, err) == -1)
				rc = -1;
			free(tmp);
			free(dst);
		}
	for (i = 0; i < cs->npending; i++) {
		xasprintf(&tmp, "%s/.%s.tmp", cs->e.export_dir, cs->pending[i]);
		xasprintf(&dst, "%s/%s", cs->e.export_dir, cs->pending[i]);
		if (rc == 0 && core_export_rename(tmp, dst, err) == -1)
			rc = -1;
		if (rc == -1)
			fs_rmtree(tmp);
		else
			cs->export_dirty = 1;
		free(tmp);
		free(dst);
		free(cs->pending[i]);
	}
	cs->npending = 0;
	if (rc == 0 && cs->export_dirty &&
	    fs_fsync_dir(cs->e.export_dir, err) == -1)
		rc = -1;
	cs->export_dirty = 0;
	return rc;
}

/* Is an appeal exported already? Copies its export time into when. */
static int
core_export_known(struct core *cs, const char *pos, int64_t *when)
{
	sqlite3_stmt *st;
	int found = 0;

	st = db_prepare(
	    cs->db, "SELECT exported_at FROM core_appeals WHERE pos_id = ?");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*when = sqlite3_column_int64(st, 0);
		found = 1;
	}
	db_finalize(st);
	return found;
}

/* Bind an element's code attribute and text to two parameters. */
static void
core_export_bind_coded(sqlite3_stmt *st, int i, xmlNodePtr n)
{
	xmlChar *t;

	if (n == NULL)
		return;
	sqlite3_bind_text(st, i, xmlsafe_attr(n, "code"), -1, SQLITE_TRANSIENT);
	t = core_export_text(n);
	sqlite3_bind_text(st, i + 1, (const char *)t, -1, SQLITE_TRANSIENT);
	xmlFree(t);
}

/*
 * The territory of an appeal: the ОКТМО of the problem's location when ПОС
 * gives one, else the organization's.
 */
static const char *
core_export_oktmo(xmlNodePtr root, xmlNodePtr org)
{
	xmlNodePtr loc = core_export_child(root, "location");
	const char *v;

	if (loc != NULL && (v = xmlsafe_attr(loc, "oktmo")) != NULL)
		return v;
	return org != NULL ? xmlsafe_attr(org, "oktmo") : NULL;
}

/*
 * The EDMS export names the ЛКО: the name [lko] gives it when ПОС sent
 * none, and its territory when ПОС left it out.
 */
static void
core_export_name_lko(struct core *cs, xmlNodePtr org, const char *lko)
{
	const struct conf_org *o = conf_lko_find(&cs->orgs, lko);
	xmlChar *t;

	if (org == NULL || o == NULL)
		return;
	t = xmlNodeGetContent(org);
	if (t == NULL || *t == '\0')
		xmlNodeSetContent(org, (const xmlChar *)o->name);
	xmlFree(t);
	if (xmlsafe_attr(org, "oktmo") == NULL)
		xmlSetProp(
		    org, (const xmlChar *)"oktmo", (const xmlChar *)o->oktmo);
}

/*
 * Write the appeal folder: a temp folder with the attachments under their
 * sanitised original names and appeal.xml, whose attachment elements name
 * those files (file attribute), fsynced, renamed into place, fsynced; in a
 * batch, core_export_publish does the last three for the whole round.
 */
static int
core_export_write_appeal(struct core *cs, int64_t id, const char *pos,
    xmlDocPtr doc, size_t *natt, struct error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), c;
	char *tmp, *dst, **used = NULL, name[FILENAME_MAX_BYTES + 1], hex[80];
	const char *path, *orig;
	xmlChar *xml = NULL;
	size_t nused = 0, i;
	int xlen, rc = -1;

	*natt = 0;
	xasprintf(&tmp, "%s/.%s.tmp", cs->e.export_dir, pos);
	xasprintf(&dst, "%s/%s", cs->e.export_dir, pos);
	fs_rmtree(tmp);
	if (mkdir(tmp, 0770) == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s; %s", tmp,
		    strerror(errno),
		    fs_hint(errno, "check that [edms] export exists and "
		                   "posgw-core may write there"));
		goto out;
	}
	used = xreallocarray(used, nused + 1, sizeof *used);
	used[nused++] = xstrdup("appeal.xml");
	for (c = root->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, NS_EXCHANGE, "attachment"))
			continue;
		path = xmlsafe_attr(c, "path");
		orig = xmlsafe_attr(c, "name");
		if (path == NULL ||
		    !core_export_file_digest(cs, id, path, hex)) {
			err_set(err, ERR_NONE,
			    "appeal %s: the file store has no %s; the core's "
			    "state directory is damaged (see posgw transfer "
			    "status)",
			    pos, path != NULL ? path : "attachment");
			goto out;
		}
		filename_sanitize(orig != NULL ? orig : "", name, sizeof name);
		if (strncasecmp(name, "outcome-", 8) == 0) {
			char *t;
			xasprintf(&t, "_%s", name);
			filename_sanitize(t, name, sizeof name);
			free(t);
		}
		filename_unique(name, sizeof name, used, nused);
		used = xreallocarray(used, nused + 1, sizeof *used);
		used[nused++] = xstrdup(name);
		if (core_export_place(
		        cs, store_path(cs->x, hex), tmp, name, err) == -1)
			goto out;
		xmlSetProp(c, (const xmlChar *)"file", (const xmlChar *)name);
		(*natt)++;
	}
	xmlDocDumpMemoryEnc(doc, &xml, &xlen, "UTF-8");
	if (xml == NULL)
		fatalx("cannot serialise appeal %s", pos);
	if (core_export_put(
	        tmp, "appeal.xml", xml, (size_t)xlen, !cs->batch, err) == -1)
		goto out;
	if (cs->batch) {
		/* core_export_publish: one syncfs, then every rename of the round */
		cs->pending = xreallocarray(
		    cs->pending, cs->npending + 1, sizeof *cs->pending);
		cs->pending[cs->npending++] = xstrdup(pos);
		rc = 0;
		goto out;
	}
	if (fs_fsync_dir(tmp, err) == -1 ||
	    core_export_rename(tmp, dst, err) == -1)
		goto out;
	rc = fs_fsync_dir(cs->e.export_dir, err);
out:
	if (rc == -1)
		fs_rmtree(tmp);
	for (i = 0; i < nused; i++)
		free(used[i]);
	free(used);
	xmlFree(xml);
	free(tmp);
	free(dst);
	return rc;
}

/* Export one appeal document and record it. */
static int
core_export_appeal(
    struct core *cs, int64_t id, const char *body, int blen, struct error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	sqlite3_stmt *st;
	const char *pos, *kind, *created, *pos_due, *lko, *oktmo;
	xmlNodePtr org;
	char sstu[80], due[11], detail[700], t[32], akeys[2][65], repof[240];
	long days;
	int r, nrep;
	int64_t when;
	size_t natt;
	int rc = -1;

	doc = xmlsafe_parse(body, (size_t)blen, "appeal", cs->limits.max_depth,
	    ERR_PAYLOAD, err);
	if (doc == NULL)
		return core_export_consume_only(
		    cs, id, "document.ignored", NULL, err->text, err);
	root = xmlDocGetRootElement(doc);
	pos = xmlsafe_attr(root, "pos-id");
	kind = xmlsafe_attr(root, "kind");
	created = xmlsafe_attr(root, "created");
	if (pos == NULL || kind == NULL || created == NULL ||
	    edms_initial_due(kind, created, &cs->e, due) == -1) {
		rc = core_export_consume_only(cs, id, "document.ignored", pos,
		    "appeal without pos-id, kind or created", err);
		goto out;
	}
	if (core_export_known(cs, pos, &when)) {
		pkg_time_format((time_t)when, t, sizeof t);
		snprintf(detail, sizeof detail,
		    "appeal %s was exported at %s; not exported again", pos, t);
		log_info("%s", detail);
		rc = core_export_consume_only(
		    cs, id, "appeal.duplicate", pos, detail, err);
		goto out;
	}
	core_export_add_topic(cs, root, sstu, sizeof sstu);
	/* ПОС's deadline wins over the configured one (issue 15) */
	if ((pos_due = xmlsafe_attr(root, "due")) != NULL &&
	    edms_date_parse(pos_due, &days) == 0)
		snprintf(due, sizeof due, "%s", pos_due);
	else {
		pos_due = NULL;
		xmlSetProp(root, (const xmlChar *)"due", (const xmlChar *)due);
	}
	org = core_export_child(root, "organization");
	lko = org != NULL ? xmlsafe_attr(org, "lko-id") : NULL;
	if (cs->orgs.nlko > 0 && conf_lko_find(&cs->orgs, lko) == NULL)
		log_warnx("appeal %s is for ЛКО %s, which [lko] does not list; "
		          "exported all the same (the edge should have refused "
		          "it: compare both zones' [lko])",
		    pos, lko != NULL ? lko : "(none)");
	core_export_name_lko(cs, org, lko);
	oktmo = core_export_oktmo(root, org);
	/* 59-FZ art. 11: a candidate repeated appeal is marked in the export */
	if (db_begin(cs->db, err) == -1)
		goto out;
	r = cs->e.repeat_days > 0 ? core_repeated_key(cs, root, akeys, err) : 0;
	if (r == -1 || db_commit(cs->db, err) == -1) {
		db_rollback(cs->db);
		goto out;
	}
	nrep = 0;
	if (r > 0) {
		xmlNodePtr cat = core_export_child(root, "category");
		xmlNodePtr sub = core_export_child(root, "subcategory");
		nrep = core_repeated_find(cs, akeys, pos, created,
		    cat != NULL ? xmlsafe_attr(cat, "code") : NULL,
		    sub != NULL ? xmlsafe_attr(sub, "code") : NULL, repof,
		    sizeof repof);
	}
	if (nrep > 0) {
		xmlNodePtr m = xmlNewChild(
		    root, root->ns, (const xmlChar *)"repeated", NULL);
		xmlSetProp(m, (const xmlChar *)"of", (const xmlChar *)repof);
		xmlSetProp(
		    m, (const xmlChar *)"status", (const xmlChar *)"candidate");
	}
	if (core_export_write_appeal(cs, id, pos, doc, &natt, err) == -1)
		goto out;
	snprintf(detail, sizeof detail,
	    "%s/%s: %s, %zu attachment(s), %s%s, due %s%s%s", cs->e.export_dir,
	    pos, kind, natt, sstu[0] ? "ССТУ topic " : "no ССТУ topic", sstu,
	    due, nrep > 0 ? ", repeated candidate of " : "",
	    nrep > 0 ? repof : "");
	if (db_begin(cs->db, err) == -1)
		goto out;
	st = db_prepare(cs->db,
	    "INSERT INTO core_appeals (pos_id, kind, created, due, state,"
	    " exported_at, document_id, category, category_name, subcategory,"
	    " subcategory_name, sstu, pos_due, lko_id, oktmo, applicant_key,"
	    " repeated, repeated_of) VALUES (?, ?, ?, ?, 'new', ?, ?, ?, ?, ?,"
	    " ?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, created, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, due, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 6, id);
	core_export_bind_coded(st, 7, core_export_child(root, "category"));
	core_export_bind_coded(st, 9, core_export_child(root, "subcategory"));
	if (sstu[0] != '\0')
		sqlite3_bind_text(st, 11, sstu, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, pos_due, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, lko, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, oktmo, -1, SQLITE_STATIC);
	if (r > 0)
		sqlite3_bind_text(st, 15, akeys[0][0] ? akeys[0] : akeys[1], -1,
		    SQLITE_STATIC);
	if (nrep > 0) {
		sqlite3_bind_text(st, 16, "candidate", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 17, repof, -1, SQLITE_STATIC);
	}
	if (db_step_done(cs->db, st, err) == -1 ||
	    (r > 0 && core_repeated_keep(cs, pos, akeys, err) == -1) ||
	    core_export_consume(cs, id, err) == -1 ||
	    journal_append(cs->db, "appeal.exported", NULL, pos, detail, err) ==
	        -1) {
		db_rollback(cs->db);
		goto out;
	}
	if (db_commit(cs->db, err) == -1)
		goto out;
	log_info("exported appeal %s", detail);
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

/* Does dir/name hold exactly these bytes? */
static int
core_export_same(const char *dir, const char *name, const char *buf, size_t len)
{
	char *path, *have;
	struct stat sb;
	FILE *f;
	int same = 0;

	xasprintf(&path, "%s/%s", dir, name);
	if (stat(path, &sb) == 0 && (size_t)sb.st_size == len &&
	    (f = fopen(path, "r")) != NULL) {
		have = xmalloc(len + 1);
		same = fread(have, 1, len, f) == len &&
		       memcmp(have, buf, len) == 0;
		free(have);
		fclose(f);
	}
	free(path);
	return same;
}

/*
 * Write an outcome as <export>/<pos-id>/<name> durably; a different file
 * already there of that name is kept and this one becomes "<stem> (2).xml".
 * The final name goes back in name.
 */
static int
core_export_write_outcome(struct core *cs, const char *pos, char *name,
    size_t len, const char *body, size_t blen, struct error *err)
{
	char *dir, *path, *orig = xstrdup(name), **used = NULL;
	size_t nused = 0, i;
	int rc = -1, fresh = 0;

	xasprintf(&dir, "%s/%s", cs->e.export_dir, pos);
	if (mkdir(dir, 0770) == 0)
		fresh = 1;
	else if (errno != EEXIST) {
		err_set(err, ERR_NONE, "cannot create %s: %s; %s", dir,
		    strerror(errno),
		    fs_hint(errno, "check that [edms] export exists and "
		                   "posgw-core may write there"));
		goto out;
	}
	if (fresh && fs_fsync_dir(cs->e.export_dir, err) == -1)
		goto out;
	for (;;) {
		if (core_export_same(dir, name, body, blen)) {
			rc = 0; /* written before a crash */
			goto out;
		}
		xasprintf(&path, "%s/%s", dir, name);
		if (access(path, F_OK) == -1) {
			free(path);
			break;
		}
		free(path);
		used = xreallocarray(used, nused + 1, sizeof *used);
		used[nused++] = xstrdup(name);
		snprintf(name, len, "%s", orig);
		filename_unique(name, len, used, nused);
	}
	rc = fs_write_file(dir, name, body, blen, 0660, FS_WRITE_SHARE, err);
out:
	for (i = 0; i < nused; i++)
		free(used[i]);
	free(used);
	free(orig);
	free(dir);
	return rc;
}

/* Export one outcome document and record it. */
static int
core_export_outcome(
    struct core *cs, int64_t id, const char *body, int blen, struct error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, c = NULL;
	sqlite3_stmt *st;
	const char *pos, *n, *what, *code;
	char name[96], detail[512];
	int64_t when, feedbacks;
	int rc = -1, feedback, reappeal;

	doc = xmlsafe_parse(body, (size_t)blen, "outcome", cs->limits.max_depth,
	    ERR_PAYLOAD, err);
	if (doc == NULL)
		return core_export_consume_only(
		    cs, id, "document.ignored", NULL, err->text, err);
	root = xmlDocGetRootElement(doc);
	pos = xmlsafe_attr(root, "pos-id");
	n = xmlsafe_attr(root, "n");
	for (c = root->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			break;
	what = c != NULL ? (const char *)c->name : "?";
	feedback = strcmp(what, "feedback") == 0;
	if (pos == NULL || !core_export_known(cs, pos, &when)) {
		snprintf(detail, sizeof detail,
		    "outcome (%s) for appeal %s, which this core never "
		    "exported; "
		    "not exported",
		    what, pos != NULL ? pos : "?");
		log_warnx("%s", detail);
		rc = core_export_consume_only(
		    cs, id, "outcome.orphan", pos, detail, err);
		goto out;
	}
	if (!feedback && n == NULL) {
		snprintf(detail, sizeof detail,
		    "outcome (%s) for appeal %s names no event n; not exported",
		    what, pos);
		log_warnx("%s", detail);
		rc = core_export_consume_only(
		    cs, id, "outcome.malformed", pos, detail, err);
		goto out;
	}
	feedbacks = 0;
	if (feedback) {
		st = db_prepare(cs->db, "SELECT feedbacks FROM core_appeals"
		                        " WHERE pos_id = ?");
		sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			feedbacks = sqlite3_column_int64(st, 0);
		db_finalize(st);
		snprintf(name, sizeof name, "outcome-feedback-%" PRId64 ".xml",
		    feedbacks + 1);
	} else
		snprintf(name, sizeof name, "outcome-%s.xml", n);
	if (core_export_write_outcome(
	        cs, pos, name, sizeof name, body, (size_t)blen, err) == -1)
		goto out;
	code = c != NULL ? (xmlsafe_attr(c, "status-code") != NULL
	                           ? xmlsafe_attr(c, "status-code")
	                           : xmlsafe_attr(c, "code"))
	                 : NULL;
	if (feedback)
		snprintf(detail, sizeof detail,
		    "%s/%s/%s: feedback rating %s%s", cs->e.export_dir, pos,
		    name, xmlsafe_attr(c, "rating"),
		    xmlsafe_attr(c, "re-appeal") != NULL &&
		            strcmp(xmlsafe_attr(c, "re-appeal"), "true") == 0
		        ? ", re-appeal"
		        : "");
	else
		snprintf(detail, sizeof detail, "%s/%s/%s: event n=%s %s%s%s",
		    cs->e.export_dir, pos, name, n, what, code ? " " : "",
		    code ? code : "");
	reappeal = feedback && xmlsafe_attr(c, "re-appeal") != NULL &&
	           strcmp(xmlsafe_attr(c, "re-appeal"), "true") == 0;
	if (db_begin(cs->db, err) == -1)
		goto out;
	if (feedback) {
		st = db_prepare(cs->db,
		    "UPDATE core_appeals SET feedbacks = feedbacks + 1,"
		    " reappeal = MAX(reappeal, ?) WHERE pos_id = ?");
		sqlite3_bind_int(st, 1, reappeal);
		sqlite3_bind_text(st, 2, pos, -1, SQLITE_STATIC);
	} else {
		st = db_prepare(cs->db, "UPDATE core_events SET outcome = ?"
		                        " WHERE pos_id = ? AND n = ?");
		sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, pos, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, strtoll(n, NULL, 10));
	}
	if (db_step_done(cs->db, st, err) == -1 ||
	    core_export_consume(cs, id, err) == -1 ||
	    journal_append(
	        cs->db, "outcome.exported", NULL, pos, detail, err) == -1) {
		db_rollback(cs->db);
		goto out;
	}
	if (db_commit(cs->db, err) == -1)
		goto out;
	log_info("exported outcome %s", detail);
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

/* Export a classifier as <export>/classifier.xml (atomic replace). */
static int
core_export_classifier(
    struct core *cs, int64_t id, const char *body, int blen, struct error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, c;
	char detail[512];
	const char *version;
	long ncat = 0;

	doc = xmlsafe_parse(body, (size_t)blen, "classifier",
	    cs->limits.max_depth, ERR_PAYLOAD, err);
	if (doc == NULL)
		return core_export_consume_only(
		    cs, id, "document.ignored", NULL, err->text, err);
	root = xmlDocGetRootElement(doc);
	for (c = root->children; c != NULL; c = c->next)
		if (xmlsafe_is(c, NS_EXCHANGE, "category"))
			ncat++;
	version = xmlsafe_attr(root, "version");
	snprintf(detail, sizeof detail,
	    "%s/classifier.xml: version %.200s, %ld categories",
	    cs->e.export_dir, version != NULL ? version : "?", ncat);
	xmlFreeDoc(doc);
	if (fs_write_file(cs->e.export_dir, "classifier.xml", body,
	        (size_t)blen, 0660, FS_WRITE_REPLACE | FS_WRITE_SHARE,
	        err) == -1 ||
	    core_export_consume_only(
	        cs, id, "classifier.exported", NULL, detail, err) == -1)
		return -1;
	log_info("exported classifier %s", detail);
	return 0;
}

/*
 * Export pending inbound documents in arrival order. A failure stops the
 * round, so that an outcome never overtakes its appeal.
 */
int
core_export(struct core *cs, int *did)
{
	sqlite3_stmt *st;
	struct error err = {0};
	int64_t ids[CORE_EXPORT_BATCH];
	char kinds[CORE_EXPORT_BATCH][16], detail[128], *body, *pos;
	size_t n = 0, i;
	int blen, rc = 0;

	st = db_prepare(cs->db, "SELECT id, kind FROM documents WHERE"
	                        " direction = 'in' AND consumed IS NULL"
	                        " ORDER BY id LIMIT ?");
	sqlite3_bind_int(st, 1, CORE_EXPORT_BATCH);
	while (n < CORE_EXPORT_BATCH && sqlite3_step(st) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(st, 0);
		snprintf(kinds[n], sizeof kinds[n], "%s",
		    (const char *)sqlite3_column_text(st, 1));
		n++;
	}
	db_finalize(st);
	/*
	 * One transaction for the round, each document in its own savepoint:
	 * the folders are written and renamed first, the export folder is
	 * fsynced once, then the round commits.
	 */
	if (n > 1 && db_begin(cs->db, &err) == 0)
		cs->batch = 1;
	err_clear(&err);
	for (i = 0; i < n && rc == 0; i++) {
		st = db_prepare(
		    cs->db, "SELECT body, pos_id FROM documents WHERE id = ?");
		sqlite3_bind_int64(st, 1, ids[i]);
		if (sqlite3_step(st) != SQLITE_ROW) {
			db_finalize(st);
			continue;
		}
		/* a copy: no statement stays open across the transactions */
		blen = sqlite3_column_bytes(st, 0);
		body = xmalloc((size_t)blen + 1);
		memcpy(body, sqlite3_column_blob(st, 0), (size_t)blen);
		body[blen] = '\0';
		pos = sqlite3_column_type(st, 1) == SQLITE_NULL
		          ? NULL
		          : xstrdup((const char *)sqlite3_column_text(st, 1));
		db_finalize(st);
		if (strcmp(kinds[i], "appeal") == 0)
			rc = core_export_appeal(cs, ids[i], body, blen, &err);
		else if (strcmp(kinds[i], "outcome") == 0)
			rc = core_export_outcome(cs, ids[i], body, blen, &err);
		else if (strcmp(kinds[i], "classifier") == 0)
			rc = core_export_classifier(
			    cs, ids[i], body, blen, &err);
		else {
			snprintf(detail, sizeof detail,
			    "a %.15s document is not for the core; not "
			    "exported",
			    kinds[i]);
			log_warnx("document %" PRId64 ": %s", ids[i], detail);
			rc = core_export_consume_only(
			    cs, ids[i], "document.ignored", pos, detail, &err);
		}
		free(body);
		free(pos);
		if (rc == 0)
			(*did)++;
	}
	if (cs->batch) {
		struct error cerr = {0};

		cs->batch = 0;
		if (core_export_publish(cs, &cerr) == -1 ||
		    db_commit(cs->db, &cerr) == -1) {
			db_rollback(cs->db);
			if (rc == 0)
				err = cerr;
			rc = -1;
		}
	}
	if (rc == -1)
		log_warnx_changed(
		    &cs->last_trouble, "export: %s; will retry", err.text);
	return rc;
}
