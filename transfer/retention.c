/*
 * retention.c: personal data leaves the gateway's state a configured time
 * after its appeal is closed here ([retention] personal_data), rejected
 * files a configured time after they were kept ([retention] quarantine).
 *
 * An appeal's documents keep their rows: the body is replaced by its root
 * element with the bookkeeping attributes only (pos-id, n, type, at, ...),
 * and retention_documents keeps the original body's size and Streebog
 * digest. Packages, receipts, file rows (sizes and digests) and the
 * journal are untouched, so journal verify and reconcile still pass. Each
 * appeal is one transaction with its journal line (retention.purged), so a
 * purge killed at any moment is either done and journaled once or not done.
 * Files are removed after the commit through retention_unlink, a to-do list
 * the next run finishes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "digest.h"
#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "retention.h"
#include "xfer-int.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* Seconds between retention runs of a daemon (its first round runs one). */
#define RETENTION_INTERVAL 600
/* Appeals per run: a backlog (the first run after an upgrade) is emptied a
 * batch per round, so that the exchange goes on meanwhile. */
#define RETENTION_BATCH 200

static const char *const retention_steps[] = {
    /* 0 -> 1 */
    "CREATE TABLE retention_documents ("
    " document_id INTEGER PRIMARY KEY REFERENCES documents(id),"
    " size INTEGER NOT NULL,"
    " digest TEXT NOT NULL,"
    " purged INTEGER NOT NULL);"
    "CREATE TABLE retention_unlink ("
    " path TEXT PRIMARY KEY,"
    " digest TEXT);"};

/* The retention tables in the engine's database (meta key retention_schema). */
const struct db_schema retention_db_schema = {"retention", "retention_schema",
    retention_steps, sizeof retention_steps / sizeof retention_steps[0]};

static int retention_purge_appeal(struct xfer *x, const char *pos, time_t now,
    struct retention_counts *rc, struct error *err);
static char *retention_stub(const char *body, size_t len);
static int retention_unlink_pending(struct xfer *x, struct error *err);
static int retention_dir(struct xfer *x, const char *dir, time_t cutoff,
    struct retention_counts *rc, struct error *err);
static char **retention_candidates(
    struct xfer *x, time_t cutoff, const char *after, size_t *n);
static int retention_settled(struct xfer *x, const char *pos);

/* Attributes of a document's root element that carry no personal data. */
static const char *const retention_keep_attrs[] = {
    "pos-id", "n", "type", "at", "kind", "created", "due"};

/*
 * Parse a period: a number with a unit s, m, h, d or w ("30d"), or "never"
 * (and "0"), which is 0 (disabled). At most ten years.
 */
int
retention_duration_parse(const char *s, unsigned *out)
{
	unsigned long long n;
	unsigned mult;
	char *end;

	if (strcmp(s, "never") == 0 || strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	default:
		return -1;
	}
	if (n == 0 || n > 3650ULL * 86400 / mult)
		return -1;
	*out = (unsigned)(n * mult);
	return 0;
}

/*
 * The role's closed appeals: a query returning pos_id of the appeals closed
 * at or before ?1 (seconds since the epoch); NULL keeps every appeal.
 */
void
retention_set_closed(struct xfer *x, const char *sql)
{
	x->closed_sql = sql;
}

/* Another folder of rejected files the quarantine period applies to. */
void
retention_add_dir(struct xfer *x, const char *dir)
{
	if (x->nret_dirs == sizeof x->ret_dirs / sizeof x->ret_dirs[0])
		fatalx("too many retention folders");
	x->ret_dirs[x->nret_dirs++] = xstrdup(dir);
}

/*
 * The closed appeals due, with a document not emptied yet: the next batch
 * after a pos_id (NULL: from the start).
 */
static char **
retention_candidates(
    struct xfer *x, time_t cutoff, const char *after, size_t *n)
{
	sqlite3_stmt *st;
	char *sql, **v = NULL;
	size_t cap = 0;

	*n = 0;
	xasprintf(&sql,
	    "SELECT c.pos_id FROM (%s) c WHERE EXISTS (SELECT 1 FROM"
	    " documents d WHERE d.pos_id = c.pos_id AND NOT EXISTS (SELECT"
	    " 1 FROM retention_documents r WHERE r.document_id = d.id))"
	    " AND c.pos_id > ?2 ORDER BY c.pos_id LIMIT %d",
	    x->closed_sql, RETENTION_BATCH);
	st = db_prepare(x->db, sql);
	free(sql);
	sqlite3_bind_int64(st, 1, (int64_t)cutoff);
	sqlite3_bind_text(st, 2, after != NULL ? after : "", -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[(*n)++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	db_finalize(st);
	return v;
}

/*
 * True when every document of the appeal has gone where it goes: ours
 * receipted by the peer, the peer's handed on (consumed).
 */
static int
retention_settled(struct xfer *x, const char *pos)
{
	return !db_exists(x->db,
	    "SELECT 1 FROM documents d LEFT JOIN packages p ON p.id ="
	    " d.package_id WHERE d.pos_id = ? AND NOT EXISTS (SELECT 1 FROM"
	    " retention_documents r WHERE r.document_id = d.id) AND CASE"
	    " d.direction WHEN 'out' THEN p.receipted IS NULL ELSE d.consumed"
	    " IS NULL END",
	    pos);
}

/*
 * The body that stays: the root element with the attributes that carry no
 * personal data, no content; an empty string if the body does not parse.
 */
static char *
retention_stub(const char *body, size_t len)
{
	struct error err = {0};
	xmlDocPtr doc, out;
	xmlNodePtr root, stub;
	xmlChar *buf = NULL;
	char *s;
	size_t i;
	int n = 0;

	if ((doc = xmlsafe_parse(body, len, "document", 0, ERR_NONE, &err)) ==
	        NULL ||
	    (root = xmlDocGetRootElement(doc)) == NULL) {
		xmlFreeDoc(doc);
		return xstrdup("");
	}
	out = xmlNewDoc((const xmlChar *)"1.0");
	stub = xmlNewDocNode(out, NULL, root->name, NULL);
	xmlDocSetRootElement(out, stub);
	if (root->ns != NULL)
		xmlSetNs(stub, xmlNewNs(stub, root->ns->href, NULL));
	for (i = 0;
	     i < sizeof retention_keep_attrs / sizeof *retention_keep_attrs;
	     i++) {
		const char *v = xmlsafe_attr(root, retention_keep_attrs[i]);

		if (v != NULL)
			xmlNewProp(stub,
			    (const xmlChar *)retention_keep_attrs[i],
			    (const xmlChar *)v);
	}
	xmlNewProp(
	    stub, (const xmlChar *)"personal-data", (const xmlChar *)"removed");
	xmlDocDumpMemoryEnc(out, &buf, &n, "UTF-8");
	s = xstrdup(buf != NULL ? (const char *)buf : "");
	xmlFree(buf);
	xmlFreeDoc(out);
	xmlFreeDoc(doc);
	return s;
}

/*
 * Empty one closed appeal's documents in one transaction with its journal
 * line; the store files only they referenced go on the to-do list.
 */
static int
retention_purge_appeal(struct xfer *x, const char *pos, time_t now,
    struct retention_counts *rc, struct error *err)
{
	char hex[DIGEST_HEX_LEN + 1], detail[200], *stub;
	sqlite3_stmt *st, *up, *ins;
	int64_t docs = 0, bytes = 0, files = 0, gone = 0, id;
	const char *body;
	size_t len;

	if (db_begin(x->db, err) == -1)
		return -1;
	if (!retention_settled(x, pos)) {
		db_rollback(x->db);
		rc->waiting++;
		return 0;
	}
	st = db_prepare(x->db,
	    "SELECT id, body FROM documents d WHERE pos_id = ? AND NOT EXISTS"
	    " (SELECT 1 FROM retention_documents r WHERE r.document_id ="
	    " d.id)");
	up = db_prepare(x->db, "UPDATE documents SET body = ? WHERE id = ?");
	ins = db_prepare(x->db,
	    "INSERT INTO retention_documents (document_id, size, digest,"
	    " purged) VALUES (?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		body = (const char *)sqlite3_column_blob(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		digest_mem_hex(
		    DIGEST_STREEBOG256, body != NULL ? body : "", len, hex);
		stub = retention_stub(body != NULL ? body : "", len);
		sqlite3_bind_int64(ins, 1, id);
		sqlite3_bind_int64(ins, 2, (int64_t)len);
		sqlite3_bind_text(ins, 3, hex, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 4, (int64_t)now);
		sqlite3_bind_text(up, 1, stub, -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 2, id);
		if (sqlite3_step(ins) != SQLITE_DONE ||
		    sqlite3_step(up) != SQLITE_DONE) {
			free(stub);
			db_set_err(x->db, err, "emptying a closed appeal");
			goto fail;
		}
		free(stub);
		sqlite3_reset(ins);
		sqlite3_reset(up);
		docs++;
		bytes += (int64_t)len;
	}
	db_finalize(st);
	db_finalize(up);
	db_finalize(ins);
	st = up = ins = NULL;
	/* the store files no document still kept references */
	st = db_prepare(x->db,
	    "SELECT f.digest, COUNT(*), NOT EXISTS (SELECT 1 FROM files f2"
	    " JOIN documents d2 ON d2.id = f2.document_id WHERE f2.digest ="
	    " f.digest AND NOT EXISTS (SELECT 1 FROM retention_documents r"
	    " WHERE r.document_id = d2.id)) FROM files f JOIN documents d ON"
	    " d.id = f.document_id WHERE d.pos_id = ? GROUP BY f.digest");
	ins = db_prepare(x->db,
	    "INSERT OR IGNORE INTO retention_unlink (path, digest) VALUES"
	    " (?, ?)");
	sqlite3_bind_text(st, 1, pos, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 0);

		files += sqlite3_column_int64(st, 1);
		if (!sqlite3_column_int(st, 2))
			continue;
		sqlite3_bind_text(ins, 1, store_path(x, d), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, d, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			db_set_err(x->db, err, "listing store files to remove");
			goto fail;
		}
		sqlite3_reset(ins);
		gone++;
	}
	db_finalize(st);
	db_finalize(ins);
	st = ins = NULL;
	snprintf(detail, sizeof detail,
	    "personal data removed: documents %" PRId64 " (%" PRId64
	    " bytes), attachments %" PRId64 ", store files %" PRId64,
	    docs, bytes, files, gone);
	if (journal_append(x->db, "retention.purged", NULL, pos, detail, err) ==
	    -1)
		goto fail;
	if (db_commit(x->db, err) == -1)
		return -1;
	rc->appeals++;
	rc->documents += docs;
	rc->bytes += bytes;
	log_info("appeal %s: personal data removed (%" PRId64
	         " documents, %" PRId64 " store files)",
	    pos, docs, gone);
	return 0;
fail:
	db_finalize(st);
	db_finalize(up);
	db_finalize(ins);
	db_rollback(x->db);
	return -1;
}

/*
 * Remove the files on the to-do list, then the list: a store file only
 * while no kept document references its digest (one may have come again).
 */
static int
retention_unlink_pending(struct xfer *x, struct error *err)
{
	sqlite3_stmt *st;
	char **dirs = NULL, *p, *slash;
	size_t ndirs = 0, i;
	int rc = 0, n = 0;

	st = db_prepare(x->db,
	    "SELECT path, digest IS NOT NULL AND EXISTS (SELECT 1 FROM files f"
	    " JOIN documents d ON d.id = f.document_id WHERE f.digest ="
	    " u.digest AND NOT EXISTS (SELECT 1 FROM retention_documents r"
	    " WHERE r.document_id = d.id)) FROM retention_unlink u");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 0);

		n++;
		if (sqlite3_column_int(st, 1))
			continue; /* referenced again: stays */
		if (unlink(path) == -1 && errno != ENOENT) {
			log_warn(
			    "cannot remove %s (retention); will retry", path);
			rc = -1;
			continue;
		}
		p = xstrdup(path);
		if ((slash = strrchr(p, '/')) != NULL)
			*slash = '\0';
		for (i = 0; i < ndirs; i++)
			if (strcmp(dirs[i], p) == 0)
				break;
		if (i == ndirs) {
			dirs = xreallocarray(dirs, ndirs + 1, sizeof *dirs);
			dirs[ndirs++] = p;
		} else
			free(p);
	}
	db_finalize(st);
	for (i = 0; i < ndirs; i++) {
		if (rc == 0 && fs_fsync_dir(dirs[i], err) == -1)
			rc = -1;
		free(dirs[i]);
	}
	free(dirs);
	if (rc == -1)
		return err->text[0] != '\0'
		           ? -1
		           : err_set(err, ERR_NONE,
		                 "cannot remove every file due (see the "
		                 "warnings above); check the folders' owner "
		                 "and mode");
	if (n == 0)
		return 0;
	return db_exec(x->db, "DELETE FROM retention_unlink", err);
}

/*
 * Rejected files of a folder kept since cutoff or earlier (by the inode's
 * change time: a rename into the folder keeps the writer's mtime): listed,
 * with a journal line, in one transaction; removed by
 * retention_unlink_pending.
 */
static int
retention_dir(struct xfer *x, const char *dir, time_t cutoff,
    struct retention_counts *rc, struct error *err)
{
	char detail[1100], *path, *line;
	sqlite3_stmt *ins;
	struct dirent *de;
	struct stat sb;
	size_t off = 0;
	int64_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0
		                       : err_set(err, ERR_NONE,
		                             "cannot read %s: %s; check its "
		                             "owner and mode",
		                             dir, strerror(errno));
	if (db_begin(x->db, err) == -1) {
		closedir(d);
		return -1;
	}
	ins = db_prepare(
	    x->db, "INSERT OR IGNORE INTO retention_unlink (path) VALUES (?)");
	detail[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode) ||
		    sb.st_ctime > cutoff) {
			free(path);
			continue;
		}
		sqlite3_bind_text(ins, 1, path, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			db_set_err(x->db, err, "listing files to remove");
			free(path);
			db_finalize(ins);
			db_rollback(x->db);
			closedir(d);
			return -1;
		}
		sqlite3_reset(ins);
		free(path);
		n++;
		if (off < sizeof detail - 1)
			off +=
			    (size_t)snprintf(detail + off, sizeof detail - off,
			        "%s%s", off ? " " : "", de->d_name);
	}
	closedir(d);
	db_finalize(ins);
	if (n == 0) {
		db_rollback(x->db);
		return 0;
	}
	if (off >= sizeof detail - 1)
		memcpy(detail + sizeof detail - 5, " ...", 5);
	xasprintf(&line, "%s: %" PRId64 " file(s) past the period: %s", dir, n,
	    detail);
	if (journal_append(
	        x->db, "retention.rejected", NULL, NULL, line, err) == -1) {
		free(line);
		db_rollback(x->db);
		return -1;
	}
	free(line);
	if (db_commit(x->db, err) == -1)
		return -1;
	rc->rejected += n;
	log_info("%s: %" PRId64 " rejected file(s) past the retention period "
	         "removed",
	    dir, n);
	return 0;
}

/*
 * One retention run: finish an interrupted one, empty the closed appeals
 * due, remove rejected files due, then truncate the write-ahead log so no
 * old page stays in it.
 */
int
retention_run(
    struct xfer *x, time_t now, struct retention_counts *rc, struct error *err)
{
	char **pos;
	size_t n = 0, i;
	int r = 0;

	memset(rc, 0, sizeof *rc);
	if (db_upgrade(x->db, &retention_db_schema, err) == -1 ||
	    retention_unlink_pending(x, err) == -1)
		return -1;
	if (x->c.retain_personal != 0 && x->closed_sql != NULL) {
		pos = retention_candidates(
		    x, now - (time_t)x->c.retain_personal, x->ret_cursor, &n);
		for (i = 0; i < n; i++)
			if (r == 0 && retention_purge_appeal(
			                  x, pos[i], now, rc, err) == -1)
				r = -1;
		free(x->ret_cursor);
		x->ret_cursor = NULL;
		if (r == 0 && n == RETENTION_BATCH) {
			x->ret_cursor = xstrdup(pos[n - 1]);
			rc->more = 1;
		}
		for (i = 0; i < n; i++)
			free(pos[i]);
		free(pos);
	}
	if (r == 0 && x->c.retain_quarantine != 0) {
		time_t cutoff = now - (time_t)x->c.retain_quarantine;

		if (retention_dir(x, x->dir_quarantine, cutoff, rc, err) == -1)
			r = -1;
		for (i = 0; r == 0 && i < x->nret_dirs; i++)
			if (retention_dir(x, x->ret_dirs[i], cutoff, rc, err) ==
			    -1)
				r = -1;
	}
	if (r == 0 && retention_unlink_pending(x, err) == -1)
		r = -1;
	if (rc->appeals > 0 || rc->rejected > 0)
		x->ret_checkpoint = 1;
	if (x->ret_checkpoint && db_truncate_wal(x->db, NULL) == 0)
		x->ret_checkpoint = 0;
	return r;
}

/* The daemon's round: a run on the first round, then every ten minutes. */
int
retention_step(struct xfer *x, int *did)
{
	struct retention_counts rc;
	struct error err = {0};

	if (x->last_retention != 0 &&
	    clock_mono() - x->last_retention < RETENTION_INTERVAL) {
		if (x->ret_checkpoint && db_truncate_wal(x->db, NULL) == 0)
			x->ret_checkpoint = 0;
		return 0;
	}
	x->last_retention = clock_mono();
	if (x->last_retention == 0)
		x->last_retention = 1;
	if (retention_run(x, time(NULL), &rc, &err) == -1) {
		log_warnx("retention: %s", err.text);
		return -1;
	}
	if (rc.more)
		x->last_retention = 0; /* the next batch in the next round */
	if (did != NULL && (rc.appeals > 0 || rc.rejected > 0))
		(*did)++;
	return 0;
}
