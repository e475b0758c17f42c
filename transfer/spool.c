/*
 * spool.c: the durable outbound spool and the packer. Documents and their
 * files wait in the database and the file store until a packer batches them
 * into a package; seq is allocated and the batch bound in one transaction,
 * so a crash can only leave a package "building", which is rebuilt
 * identically (same seq, uuid, time and content, hence same manifest).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "envelope.h"
#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "rollover.h"
#include "schema.h"
#include "xfer-int.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static int64_t spool_insert_doc(struct xfer *x, const char *kind,
    const char *pos_id, const void *xml, size_t len, struct error *err);
static int spool_share(const char *path, const char *outbox);
static int spool_mark_sent(struct xfer *x, int64_t id, const char *name,
    const char *mdigest, int control, struct error *err);
static int spool_check_sealed(
    struct xfer *x, const char *path, struct error *err);
static int spool_seal(
    struct xfer *x, const char *name, time_t created, struct error *err);
static int spool_build(struct xfer *x, int64_t id, struct error *err);
static int spool_ship_checkpoint(struct xfer *x, struct error *err);
static int spool_is_control(const char *kind);
static int64_t spool_batch(struct xfer *x, int force, struct error *err);

/* Insert a document row for sending and name its payload path after its id. */
static int64_t
spool_insert_doc(struct xfer *x, const char *kind, const char *pos_id,
    const void *xml, size_t len, struct error *err)
{
	sqlite3_stmt *st;
	int64_t id;
	char path[96];

	st = db_prepare(x->db,
	    "INSERT INTO documents (direction, kind, path,"
	    " pos_id, body, created) VALUES ('out', ?, '', ?, ?, ?)");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pos_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, xml, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, clock_ms());
	if (db_step_done(x->db, st, err) == -1)
		return -1;
	id = sqlite3_last_insert_rowid(x->db->h);
	snprintf(path, sizeof path, "payload/%s-%" PRId64 ".xml", kind, id);
	st = db_prepare(x->db, "UPDATE documents SET path = ? WHERE id = ?");
	sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, id);
	if (db_step_done(x->db, st, err) == -1)
		return -1;
	return id;
}

/*
 * Queue a document with its attachments for the peer. The XML is validated
 * and its references checked now, so nothing bad ever blocks the queue.
 * Runs inside the caller's transaction.
 */
int
spool_enqueue(struct xfer *x, const char *kind, const char *pos_id,
    const void *xml, size_t len, const struct xfer_file *files, size_t nfiles,
    struct error *err)
{
	struct pkg_entry *pe;
	sqlite3_stmt *st;
	char hex[DIGEST_HEX_LEN + 1];
	uint64_t size;
	int64_t id;
	size_t i;
	int rc = -1;

	pe = xcalloc(nfiles + 1, sizeof *pe);
	pe[0].path = xstrdup("payload/doc.xml");
	pe[0].size = len;
	pe[0].doc = xmlsafe_parse(
	    xml, len, kind, x->c.verify.limits.max_depth, ERR_PAYLOAD, err);
	if (pe[0].doc == NULL)
		goto out;
	for (i = 0; i < nfiles; i++) {
		struct stat sb;
		if (stat(files[i].src, &sb) == -1) {
			err_set(err, ERR_NONE, "cannot read %s: %s",
			    files[i].src, strerror(errno));
			goto out;
		}
		pe[i + 1].path = xstrdup(files[i].path);
		pe[i + 1].size = (uint64_t)sb.st_size;
		pe[i + 1].staged = xstrdup(files[i].src);
	}
	if (payload_check(pe, nfiles + 1, -1, &x->c.verify.limits, err) == -1)
		goto out;
	if ((id = spool_insert_doc(x, kind, pos_id, xml, len, err)) == -1)
		goto out;
	for (i = 0; i < nfiles; i++) {
		if ((files[i].take && files[i].hash != NULL
		            ? store_file_known(x, files[i].src, files[i].hash,
		                  hex, &size, err)
		            : store_file(x, files[i].src, files[i].take, hex,
		                  &size, err)) == -1)
			goto out;
		st = db_prepare(x->db, "INSERT INTO files (document_id, path,"
		                       " size, digest) VALUES (?, ?, ?, ?)");
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, files[i].path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)size);
		sqlite3_bind_text(st, 4, hex, -1, SQLITE_STATIC);
		if (db_step_done(x->db, st, err) == -1)
			goto out;
	}
	rc = journal_append(x->db, "document.queued", NULL, pos_id, kind, err);
out:
	if (pe[0].doc != NULL)
		xmlFreeDoc(pe[0].doc);
	for (i = 0; i <= nfiles; i++) {
		free(pe[i].path);
		free(pe[i].staged);
	}
	free(pe);
	return rc;
}

/*
 * Make durable the files stored in a batch (store_sync) and the caller's
 * own set ss of files in dir, before the batch commits: one syncfs covers
 * both when either is a flood and both are on the same file system (the
 * edge's answers in out/ and the store); otherwise each as it would alone.
 * Clears both sets either way.
 */
int
spool_sync_with(
    struct xfer *x, struct fs_syncset *ss, const char *dir, struct error *err)
{
	struct stat a, b;

	if ((x->store_unsynced.many || ss->many) &&
	    stat(x->dir_files, &a) == 0 && stat(dir, &b) == 0 &&
	    a.st_dev == b.st_dev) {
		fs_syncset_clear(&x->store_unsynced);
		fs_syncset_clear(ss);
		return fs_syncfs(dir, err);
	}
	if (store_sync(x, err) == -1) {
		fs_syncset_clear(ss);
		return -1;
	}
	return fs_syncset_sync(ss, dir, err);
}

/*
 * Queue a receipt for a package of the peer (inside the caller's
 * transaction): result accepted, duplicate or rejected with a code.
 */
int
spool_receipt(struct xfer *x, const char *uuid, const char *sender,
    uint64_t seq, const char *result, const char *code, const char *text,
    struct error *err)
{
	xmlChar *esc;
	char *xml, t[32];
	int n, rc;

	pkg_time_format(time(NULL), t, sizeof t);
	esc = xmlEncodeSpecialChars(NULL, (const xmlChar *)(text ? text : ""));
	n = xasprintf(&xml,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<receipt xmlns=\"%s\" package=\"%s\" sender=\"%s\" seq=\"%" PRIu64
	    "\" result=\"%s\"%s%s%s at=\"%s\">%.3900s</receipt>\n",
	    NS_EXCHANGE, uuid, sender, seq, result, code ? " code=\"" : "",
	    code ? code : "", code ? "\"" : "", t, (const char *)esc);
	xmlFree(esc);
	rc = spool_insert_doc(x, "receipt", NULL, xml, (size_t)n, err) == -1
	         ? -1
	         : 0;
	free(xml);
	return rc;
}

/*
 * A package linked into the outbox is read by other accounts (an operator
 * carrying media, the peer daemon on a shared folder): it gets the
 * outbox's group and group read, as a file created there would.
 */
static int
spool_share(const char *path, const char *outbox)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	rc = fs_share_group(fd, outbox, 0640);
	close(fd);
	return rc;
}

/* Put a package from sent/ into the outbox (link or copy, then rename). */
int
spool_offer(struct xfer *x, const char *name, struct error *err)
{
	char *src, *dst, *tmp;
	struct stat sa, sb;
	int rc = -1, linked, saved = 0;

	xasprintf(&src, "%s/%s", x->dir_sent, name);
	xasprintf(&dst, "%s/%s", x->c.outbox, name);
	xasprintf(&tmp, "%s/.%s", x->c.outbox, name);
	if (stat(src, &sa) == -1) {
		err_set(err, ERR_NONE, "kept copy %s is missing: %s", src,
		    strerror(errno));
		goto out;
	}
	if (stat(dst, &sb) == 0 && sb.st_size == sa.st_size) {
		rc = 0;
		goto out;
	}
	unlink(tmp);
	if ((linked = link(src, tmp) == 0) == 0)
		saved = errno;
	else if (spool_share(tmp, x->c.outbox) == -1) {
		/* the operators' group cannot be given to the link: copy */
		log_warn("cannot give %s the group of %s; copying it instead",
		    tmp, x->c.outbox);
		unlink(tmp);
		linked = 0;
		saved = EPERM;
	}
	if (linked) {
		if (rename(tmp, dst) == -1) {
			err_set(err, ERR_NONE, "cannot rename %s: %s", tmp,
			    strerror(errno));
			unlink(tmp);
			goto out;
		}
		rc = fs_fsync_dir(x->c.outbox, err);
		goto out;
	}
	/* another file system or no hard links there is normal: copy */
	errno = saved;
	if (saved != EXDEV && saved != EPERM && saved != EMLINK &&
	    saved != EOPNOTSUPP && saved != EACCES)
		log_warn("cannot link %s as %s; copying it instead", src, tmp);
	rc = fs_copy_file(
	    src, x->c.outbox, name, 0640, UINT64_MAX, FS_COPY_SYNC, err);
out:
	free(src);
	free(dst);
	free(tmp);
	return rc;
}

/* Mark a package sent: its digest, size and first offer, in one transaction. */
static int
spool_mark_sent(struct xfer *x, int64_t id, const char *name,
    const char *mdigest, int control, struct error *err)
{
	sqlite3_stmt *st;
	struct stat sb;
	char *path, detail[128];
	int64_t ndocs;

	xasprintf(&path, "%s/%s", x->dir_sent, name);
	if (stat(path, &sb) == -1)
		sb.st_size = 0;
	free(path);
	if (db_begin(x->db, err) == -1)
		return -1;
	st = db_prepare(x->db,
	    "UPDATE packages SET state = 'sent',"
	    " manifest_digest = ?, size = ?, sent = ?, offers = 1,"
	    " last_offer = ? WHERE id = ?");
	sqlite3_bind_text(st, 1, mdigest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)sb.st_size);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 5, id);
	if (db_step_done(x->db, st, err) == -1)
		goto fail;
	st = db_prepare(
	    x->db, "SELECT COUNT(*) FROM documents WHERE package_id = ?");
	sqlite3_bind_int64(st, 1, id);
	ndocs =
	    sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	db_finalize(st);
	snprintf(detail, sizeof detail,
	    "%" PRId64 " documents, %lld bytes, "
	    "manifest %.16s...%s",
	    ndocs, (long long)sb.st_size, mdigest, control ? ", control" : "");
	if (journal_append(x->db, "package.sent", name, NULL, detail, err) ==
	    -1)
		goto fail;
	if (db_commit(x->db, err) == -1)
		return -1;
	log_info("sent %s (%s)", name, detail);
	return 0;
fail:
	db_rollback(x->db);
	return -1;
}

/*
 * Check a sealed copy of ours as an outsider can (structure, our own
 * signature, the digest of package.enc); -1 with err if it is unusable.
 */
static int
spool_check_sealed(struct xfer *x, const char *path, struct error *err)
{
	struct env_open_opts eo;
	struct env_info info;

	memset(&eo, 0, sizeof eo);
	eo.own_id = x->c.peer_id;
	eo.trust = x->self;
	eo.sig_algs = SIG_ALLOW_ALL;
	eo.digests = DIGEST_ALLOW_ALL;
	eo.max_file = UINT64_MAX;
	return env_open(path, NULL, &eo, &info, err);
}

/*
 * Seal the plain package staging/<name> into sent/<name> for the peer
 * (formats/envelope.md); the plain file is removed either way.
 */
static int
spool_seal(struct xfer *x, const char *name, time_t created, struct error *err)
{
	struct env_seal_opts so;
	char *plain;
	int rc;

	memset(&so, 0, sizeof so);
	so.signer = rollover_signer(x);
	so.to = x->peer_kex;
	so.recipient = x->c.peer_id;
	so.digest = x->c.digest;
	so.created = created;
	xasprintf(&plain, "%s/%s", x->dir_staging, name);
	rc = env_seal(&so, plain, x->dir_sent, name, err);
	unlink(plain);
	free(plain);
	return rc;
}

/* Write (or rewrite identically) the package of row id into sent/. */
static int
spool_build(struct xfer *x, int64_t id, struct error *err)
{
	sqlite3_stmt *st, *fq;
	struct pkg_writer *w;
	struct pkg *p = NULL;
	char name[PKG_NAME_MAX], built[PKG_NAME_MAX], *path, uuid[37];
	char mdigest[DIGEST_HEX_LEN + 1], *plain;
	int64_t seq, created, control;
	int rc = -1, sealed = 0;

	st = db_prepare(x->db, "SELECT name, seq, uuid, created, control FROM"
	                       " packages WHERE id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_finalize(st);
		return err_set(
		    err, ERR_NONE, "package row %" PRId64 " vanished", id);
	}
	snprintf(
	    name, sizeof name, "%s", (const char *)sqlite3_column_text(st, 0));
	seq = sqlite3_column_int64(st, 1);
	snprintf(
	    uuid, sizeof uuid, "%s", (const char *)sqlite3_column_text(st, 2));
	created = sqlite3_column_int64(st, 3);
	control = sqlite3_column_int64(st, 4);
	db_finalize(st);
	st = NULL;

	xasprintf(&path, "%s/%s", x->dir_sent, name);
	if (access(path, F_OK) == 0 && env_detect(path)) {
		/*
		 * Sealed before a crash: only the peer can open it, so check
		 * what we can (our signature, its digest) and rebuild the
		 * plain package only for its manifest digest, which the
		 * rows give again; the sealed bytes are kept, they may be out.
		 */
		if (spool_check_sealed(x, path, err) == -1) {
			log_warnx(
			    "kept copy %s is unusable (%s); rebuilding it",
			    path, err->text);
			err_clear(err);
			unlink(path);
		} else
			sealed = 1;
	} else if (access(path, F_OK) == 0) {
		/* Written before a crash: keep those bytes, they may be out. */
		struct pkg_verify_opts o = x->c.verify;
		o.own_id = x->c.peer_id;
		o.trust = x->self;
		o.limits.max_file = UINT64_MAX;
		o.discard = 1; /* only its manifest digest is wanted */
		p = pkg_read(path, x->dir_staging, &o, err);
		if (p == NULL) {
			log_warnx(
			    "kept copy %s is unusable (%s); rebuilding it",
			    path, err->text);
			err_clear(err);
			unlink(path);
		} else {
			memcpy(mdigest, p->manifest_digest, sizeof mdigest);
			pkg_free(p);
			goto offer;
		}
	}
	w = pkg_writer_new(rollover_signer(x), x->c.peer_id, (uint64_t)seq,
	    x->c.compress, x->c.digest);
	pkg_writer_set_identity(w, uuid, (time_t)created);
	pkg_writer_set_limits(w, &x->c.verify.limits);
	/* the bodies wait in a file, not in memory, until the package is written */
	if (pkg_writer_set_spill(w, x->dir_staging, err) == -1)
		goto fail;
	/* a package to seal is only read once more, then removed */
	if (x->peer_kex != NULL || sealed)
		pkg_writer_set_scratch(w);
	st = db_prepare(x->db, "SELECT id, path, body FROM documents WHERE"
	                       " package_id = ? ORDER BY id");
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (pkg_writer_add_mem(w,
		        (const char *)sqlite3_column_text(st, 1),
		        sqlite3_column_blob(st, 2),
		        (size_t)sqlite3_column_bytes(st, 2), err) == -1)
			goto fail;
		fq = db_prepare(x->db, "SELECT path, digest FROM files WHERE"
		                       " document_id = ? ORDER BY id");
		sqlite3_bind_int64(fq, 1, sqlite3_column_int64(st, 0));
		while (sqlite3_step(fq) == SQLITE_ROW) {
			/* the store names files by their Streebog digest */
			if (pkg_writer_add_stored(w,
			        (const char *)sqlite3_column_text(fq, 0),
			        store_path(x,
			            (const char *)sqlite3_column_text(fq, 1)),
			        DIGEST_STREEBOG256,
			        (const char *)sqlite3_column_text(fq, 1),
			        err) == -1) {
				db_finalize(fq);
				goto fail;
			}
		}
		db_finalize(fq);
	}
	db_finalize(st);
	st = NULL;
	if (pkg_writer_write(w,
	        x->peer_kex != NULL || sealed ? x->dir_staging : x->dir_sent,
	        built, sizeof built, err) == -1)
		goto fail;
	if (strcmp(built, name) != 0)
		fatalx("packer built %s instead of %s", built, name);
	memcpy(mdigest, pkg_writer_manifest_digest(w), sizeof mdigest);
	pkg_writer_free(w);
	w = NULL;
	if (sealed) {
		xasprintf(&plain, "%s/%s", x->dir_staging, name);
		unlink(plain);
		free(plain);
	} else if (x->peer_kex != NULL &&
	           spool_seal(x, name, (time_t)created, err) == -1)
		goto out;
offer:
	if (spool_offer(x, name, err) == -1 ||
	    spool_mark_sent(x, id, name, mdigest, (int)control, err) == -1)
		goto out;
	if (control)
		unlink(path); /* control packages are never re-offered */
	rc = 0;
	goto out;
fail:
	if (st != NULL)
		db_finalize(st);
	pkg_writer_free(w);
out:
	free(path);
	return rc;
}

/* Add the latest unshipped checkpoint as a document (inside a transaction). */
static int
spool_ship_checkpoint(struct xfer *x, struct error *err)
{
	sqlite3_stmt *st;
	xmlChar *b64t = NULL, *b64c = NULL;
	struct checkpoint c;
	char *xml, t[32];
	int64_t cid;
	int n, rc = 0;

	st = db_prepare(x->db, "SELECT id, text, cms FROM checkpoints WHERE"
	                       " shipped IS NULL ORDER BY id DESC LIMIT 1");
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_finalize(st);
		return 0;
	}
	cid = sqlite3_column_int64(st, 0);
	if (journal_checkpoint_parse(sqlite3_column_blob(st, 1),
	        (size_t)sqlite3_column_bytes(st, 1), &c) == -1) {
		db_finalize(st);
		return err_set(
		    err, ERR_NONE, "checkpoint %" PRId64 " is malformed", cid);
	}
	{
		/* base64 through GnuTLS's PEM-less encoder */
		gnutls_datum_t in, out;
		in.data =
		    (unsigned char *)(uintptr_t)sqlite3_column_blob(st, 1);
		in.size = (unsigned)sqlite3_column_bytes(st, 1);
		if (gnutls_base64_encode2(&in, &out) < 0)
			fatalx("base64 encoding failed");
		b64t = (xmlChar *)xstrndup((char *)out.data, out.size);
		gnutls_free(out.data);
		in.data =
		    (unsigned char *)(uintptr_t)sqlite3_column_blob(st, 2);
		in.size = (unsigned)sqlite3_column_bytes(st, 2);
		if (gnutls_base64_encode2(&in, &out) < 0)
			fatalx("base64 encoding failed");
		b64c = (xmlChar *)xstrndup((char *)out.data, out.size);
		gnutls_free(out.data);
	}
	db_finalize(st);
	pkg_time_format(c.at, t, sizeof t);
	n = xasprintf(&xml,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<checkpoint xmlns=\"%s\" gateway=\"%s\" entry=\"%" PRId64 "\""
	    " head=\"%s\" at=\"%s\">\n  <signed>%s</signed>\n  <cms>%s</cms>\n"
	    "</checkpoint>\n",
	    NS_EXCHANGE, c.gateway, c.entry, c.head, t, (char *)b64t,
	    (char *)b64c);
	free(b64t);
	free(b64c);
	if (spool_insert_doc(x, "checkpoint", NULL, xml, (size_t)n, err) == -1)
		rc = -1;
	free(xml);
	if (rc == 0) {
		st = db_prepare(x->db,
		    "UPDATE checkpoints SET shipped = ? WHERE id <= ? AND"
		    " shipped IS NULL");
		sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
		sqlite3_bind_int64(st, 2, cid);
		rc = db_step_done(x->db, st, err);
	}
	return rc;
}

/* True for documents that never make a package receipted. */
static int
spool_is_control(const char *kind)
{
	return strcmp(kind, "receipt") == 0 || strcmp(kind, "checkpoint") == 0;
}

/*
 * Payload bytes per package: max_bytes, or backlog_bytes if that is set and
 * smaller. It only cuts a package while more waits than it takes (a
 * backlog draining): each then reaches the peer and is imported sooner.
 */
uint64_t
spool_cap(const struct xfer *x)
{
	if (x->c.backlog_bytes > 0 && x->c.backlog_bytes < x->c.max_bytes)
		return x->c.backlog_bytes;
	return x->c.max_bytes;
}

/*
 * Decide whether a package is due and bind its documents to a new seq in one
 * transaction; returns the package row id, 0 when nothing is due, -1.
 */
static int64_t
spool_batch(struct xfer *x, int force, struct error *err)
{
	sqlite3_stmt *st;
	int64_t now = clock_ms(), oldest_b = -1, oldest_r = -1, id, seq;
	uint64_t bytes = 0, size;
	size_t nb = 0, nbatch = 0, i;
	uint64_t cap = spool_cap(x);
	int64_t *ids = NULL;
	int control = 1, due, full = 0;
	char uuid[37], name[PKG_NAME_MAX];

	if (db_begin(x->db, err) == -1)
		return -1;
	st =
	    db_prepare(x->db, "SELECT d.id, d.kind, d.created, length(d.body) +"
	                      " COALESCE((SELECT SUM(size) FROM files f WHERE "
	                      "f.document_id = d.id), 0)"
	                      " FROM documents d WHERE d.direction = 'out' AND "
	                      "d.package_id IS NULL"
	                      " ORDER BY d.id");
	ids = xcalloc(x->c.max_docs + 1, sizeof *ids);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		int64_t created = sqlite3_column_int64(st, 2);

		size = (uint64_t)sqlite3_column_int64(st, 3);
		if (spool_is_control(kind)) {
			if (oldest_r == -1)
				oldest_r = created;
		} else {
			if (oldest_b == -1)
				oldest_b = created;
			nb++;
		}
		if (nbatch < x->c.max_docs &&
		    (nbatch == 0 || bytes + size <= cap)) {
			ids[nbatch++] = sqlite3_column_int64(st, 0);
			bytes += size;
			if (!spool_is_control(kind))
				control = 0;
		} else
			full = 1; /* more waits than one package takes */
	}
	db_finalize(st);
	/* a document "from the future" means the clock went back: due now */
	due = nbatch > 0 &&
	      (force || full ||
	          (nb > 0 && (nb >= x->c.max_docs || bytes >= cap ||
	                         now - oldest_b >= (int64_t)x->c.max_wait_ms ||
	                         oldest_b > now)) ||
	          (oldest_r != -1 &&
	              (now - oldest_r >= (int64_t)x->c.receipt_delay * 1000 ||
	                  oldest_r > now)));
	if (!due) {
		db_rollback(x->db);
		free(ids);
		return 0;
	}
	if (spool_ship_checkpoint(x, err) == -1)
		goto fail;
	seq = db_int(x->db,
	          "SELECT MAX(seq) FROM packages WHERE direction = 'out'", 0) +
	      1;
	pkg_uuid_new(uuid);
	pkg_name_format(name, sizeof name, x->c.own_id, (uint64_t)seq, uuid);
	st = db_prepare(x->db,
	    "INSERT INTO packages (direction, name, sender,"
	    " recipient, seq, uuid, control, created, state) VALUES"
	    " ('out', ?, ?, ?, ?, ?, ?, ?, 'building')");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, x->c.own_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, x->c.peer_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, seq);
	sqlite3_bind_text(st, 5, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, control);
	sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
	if (db_step_done(x->db, st, err) == -1)
		goto fail;
	id = sqlite3_last_insert_rowid(x->db->h);
	for (i = 0; i < nbatch; i++) {
		st = db_prepare(
		    x->db, "UPDATE documents SET package_id = ? WHERE id = ?");
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, ids[i]);
		if (db_step_done(x->db, st, err) == -1)
			goto fail;
	}
	/* the checkpoint document, if one was added, rides along */
	st = db_prepare(x->db, "UPDATE documents SET package_id = ? WHERE"
	                       " direction = 'out' AND package_id IS NULL AND "
	                       "kind = 'checkpoint'");
	sqlite3_bind_int64(st, 1, id);
	if (db_step_done(x->db, st, err) == -1)
		goto fail;
	if (db_commit(x->db, err) == -1)
		goto fail2;
	free(ids);
	return id;
fail:
	db_rollback(x->db);
fail2:
	free(ids);
	return -1;
}

/*
 * Finish packages left "building" by a crash: offered perhaps, but not yet
 * marked sent (their receipts must find them sent).
 */
int
spool_finish(struct xfer *x)
{
	struct error err = {0};
	sqlite3_stmt *st;
	int64_t *todo = NULL;
	size_t n = 0, i;

	st = db_prepare(x->db, "SELECT id FROM packages WHERE direction = 'out'"
	                       " AND state = 'building' ORDER BY seq");
	while (sqlite3_step(st) == SQLITE_ROW) {
		todo = xreallocarray(todo, n + 1, sizeof *todo);
		todo[n++] = sqlite3_column_int64(st, 0);
	}
	db_finalize(st);
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (spool_build(x, todo[i], &err) == -1) {
			log_warnx_recent(&x->recent, NULL,
			    "cannot finish package %" PRId64 ": %s", todo[i],
			    err.text);
			free(todo);
			return -1;
		}
	}
	free(todo);
	return 0;
}

/* Finish packages left "building" by a crash, then pack what is due. */
int
spool_pack(struct xfer *x, int force, int *did)
{
	if (spool_finish(x) == -1)
		return -1;
	return spool_pack_due(x, force, did);
}

/* Pack what is due (none is left building: spool_finish came first). */
int
spool_pack_due(struct xfer *x, int force, int *did)
{
	struct error err = {0};
	int64_t id;

	for (;;) {
		err_clear(&err);
		if ((id = spool_batch(x, force, &err)) == -1) {
			log_warnx_recent(
			    &x->recent, NULL, "packing: %s", err.text);
			return -1;
		}
		if (id == 0)
			return 0;
		if (spool_build(x, id, &err) == -1) {
			log_warnx_recent(
			    &x->recent, NULL, "packing: %s", err.text);
			return -1;
		}
		if (did != NULL)
			(*did)++;
	}
}

/* Count a failure of the round under its cause: "what name: text". */
static void
spool_round_fail(struct log_round *round, const char *what, const char *name,
    const struct error *err)
{
	char *text;

	xasprintf(&text, "%s %s: %s", what, name, err->text);
	log_round_add(round, text);
	free(text);
}

/*
 * Offer again every unreceipted package whose last offer is older than the
 * interval (or all of them when forced): the same file, the same bytes.
 */
int
spool_reoffer(struct xfer *x, int force, int *did)
{
	struct log_round round = {0};
	struct error err = {0};
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL), *ids = NULL;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	/* an offer "in the future" means the clock went back: due now */
	st = db_prepare(x->db,
	    "SELECT id, name FROM packages WHERE direction = 'out'"
	    " AND state = 'sent' AND control = 0 AND (? OR last_offer <= ?"
	    " OR last_offer > ?) ORDER BY seq");
	sqlite3_bind_int(st, 1, force);
	sqlite3_bind_int64(st, 2, now - (int64_t)x->c.resend_interval);
	sqlite3_bind_int64(st, 3, now);
	while (sqlite3_step(st) == SQLITE_ROW) {
		ids = xreallocarray(ids, n + 1, sizeof *ids);
		names = xreallocarray(names, n + 1, sizeof *names);
		ids[n] = sqlite3_column_int64(st, 0);
		names[n++] = xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	db_finalize(st);
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (spool_offer(x, names[i], &err) == -1) {
			spool_round_fail(&round, "re-offering", names[i], &err);
			rc = -1;
			continue;
		}
		if (db_begin(x->db, &err) == -1) {
			rc = -1;
			break;
		}
		st =
		    db_prepare(x->db, "UPDATE packages SET offers = offers + 1,"
		                      " last_offer = ? WHERE id = ?");
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, ids[i]);
		if (db_step_done(x->db, st, &err) == -1 ||
		    journal_append(x->db, "package.reoffered", names[i], NULL,
		        "no receipt yet", &err) == -1 ||
		    db_commit(x->db, &err) == -1) {
			db_rollback(x->db);
			spool_round_fail(&round, "re-offering", names[i], &err);
			rc = -1;
			continue;
		}
		log_info("re-offered %s (no receipt yet)", names[i]);
		if (did != NULL)
			(*did)++;
	}
	log_round_say(&round, &x->recent, "packages to re-offer");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ids);
	return rc;
}
