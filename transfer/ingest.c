/*
 * ingest.c: one inbound package per spec section 8: copy into private
 * staging, verify, then duplicate / conflict / import, each decided and
 * journaled in ONE transaction together with the receipt to send; the inbox
 * file is removed only after the commit.
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

struct ingest {
	struct xfer *x;
	const char *name;
	char *inpath; /* inbox/<name> */
	char *staged; /* staging/<name> */
	struct stat sb;
	char sender[33];
	char uuid[37];
	uint64_t seq;
	int control;
	char env_key[65]; /* the envelope was sealed for this key ("": plain) */
	struct pkg *p;
	char **delivered; /* our packages receipted by this one */
	size_t ndelivered;
};

/* Record what became of an inbox file (inside the transaction). */
static int
ingest_record(struct ingest *in, const char *outcome, struct error *err)
{
	sqlite3_stmt *st;

	st = db_prepare(in->x->db,
	    "INSERT OR REPLACE INTO inbound_files (name,"
	    " size, mtime, outcome, at, kept) VALUES (?, ?, ?, ?, ?, 0)");
	sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)in->sb.st_size);
	sqlite3_bind_int64(st, 3, (int64_t)in->sb.st_mtime);
	sqlite3_bind_text(st, 4, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	return db_step_done(in->x->db, st, err);
}

/* Remove the inbox file after the commit; a read-only inbox keeps it. */
static void
ingest_remove(struct ingest *in)
{
	struct error err = {0};
	sqlite3_stmt *st;

	if (unlink(in->inpath) == 0) {
		if (fs_fsync_dir(in->x->c.inbox, &err) == -1)
			log_warnx("%s; after a crash %s may be back, and is "
			          "then recognised as consumed",
			    err.text, in->inpath);
		return;
	}
	if (errno == ENOENT)
		return;
	log_warn("cannot remove %s; recorded as consumed", in->inpath);
	st = db_prepare(
	    in->x->db, "UPDATE inbound_files SET kept = 1 WHERE name = ?");
	sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
	db_step_done(in->x->db, st, &err);
}

/* True if this very file was handled before but could not be removed. */
static int
ingest_kept(struct ingest *in)
{
	sqlite3_stmt *st;
	int kept = 0;

	st = db_prepare(in->x->db,
	    "SELECT 1 FROM inbound_files WHERE name = ? AND"
	    " kept = 1 AND size = ? AND mtime = ?");
	sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)in->sb.st_size);
	sqlite3_bind_int64(st, 3, (int64_t)in->sb.st_mtime);
	kept = sqlite3_step(st) == SQLITE_ROW;
	db_finalize(st);
	return kept;
}

/*
 * Keep a rejected package in quarantine beside a <name>.reason file: the
 * oversized one moved out of the inbox is renamed, others are copied.
 */
static void
ingest_quarantine(struct ingest *in, enum err_code code, const char *text)
{
	char *dst = NULL, *reason, t[32];
	struct error err = {0};
	int i, n;

	for (i = 0; i < 1000; i++) {
		free(dst);
		if (i == 0)
			xasprintf(
			    &dst, "%s/%s", in->x->dir_quarantine, in->name);
		else
			xasprintf(&dst, "%s/%s.%d", in->x->dir_quarantine,
			    in->name, i);
		if (access(dst, F_OK) == -1)
			break;
	}
	if (in->staged != NULL && access(in->staged, F_OK) == 0) {
		if (rename(in->staged, dst) == -1)
			log_warn("cannot move %s to %s", in->staged, dst);
	} else if (fs_copy_file(in->inpath, in->x->dir_quarantine,
	               strrchr(dst, '/') + 1, 0640, UINT64_MAX, FS_COPY_SYNC,
	               &err) == -1) {
		log_warnx("cannot keep the rejected package in quarantine: %s",
		    err.text);
		err_clear(&err);
	}
	pkg_time_format(time(NULL), t, sizeof t);
	n = xasprintf(&reason,
	    "%s: %s\npackage: %s\nsize: %lld\nreceived: %s\n",
	    err_code_name(code), text, in->name, (long long)in->sb.st_size, t);
	{
		char *base = strrchr(dst, '/') + 1, *rname;
		xasprintf(&rname, "%s.reason", base);
		if (fs_write_file(in->x->dir_quarantine, rname, reason,
		        (size_t)n, 0640, FS_WRITE_REPLACE, &err) == -1)
			log_warnx("%s", err.text);
		free(rname);
	}
	err_clear(&err);
	if (access(dst, F_OK) == 0 && fs_fsync_file(dst, &err) == -1)
		log_warnx("%s", err.text);
	if (fs_fsync_dir(in->x->dir_quarantine, &err) == -1)
		log_warnx("%s", err.text);
	free(reason);
	free(dst);
}

/* Insert the package row of an inbound package (inside the transaction). */
static int64_t
ingest_package_row(struct ingest *in, const char *state, const char *code,
    const char *reason, struct error *err)
{
	sqlite3_stmt *st;
	struct pkg *p = in->p;

	st = db_prepare(in->x->db, "INSERT INTO packages (direction, name, "
	                           "sender, recipient, seq, uuid,"
	                           " manifest_digest, signer_fp, size, "
	                           "control, created, received, state,"
	                           " code, reason) VALUES ('in', ?, ?, ?, ?, "
	                           "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(
	    st, 3, p ? p->m.recipient : in->x->c.own_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)in->seq);
	sqlite3_bind_text(st, 5, in->uuid, -1, SQLITE_STATIC);
	if (p != NULL) {
		sqlite3_bind_text(st, 6, p->manifest_digest, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, p->sig.fingerprint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, (int64_t)p->m.created);
	} else
		sqlite3_bind_int64(st, 10, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 8, (int64_t)in->sb.st_size);
	sqlite3_bind_int(st, 9, in->control);
	sqlite3_bind_int64(st, 11, (int64_t)time(NULL));
	sqlite3_bind_text(st, 12, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, reason, -1, SQLITE_STATIC);
	if (db_step_done(in->x->db, st, err) == -1)
		return -1;
	return sqlite3_last_insert_rowid(in->x->db->h);
}

/* Reject: quarantine, then journal, package row and receipt in one transaction. */
static int
ingest_reject(
    struct ingest *in, enum err_code code, const char *text, struct error *err)
{
	struct db *db = in->x->db;
	char detail[1200];
	int answer =
	    in->sender[0] != '\0' && strcmp(in->sender, in->x->c.peer_id) == 0;

	if (code == ERR_NONE)
		code = ERR_ARCHIVE;
	ingest_quarantine(in, code, text);
	snprintf(detail, sizeof detail, "%s: %s", err_code_name(code), text);
	if (db_begin(db, err) == -1)
		return -1;
	if (ingest_package_row(in,
	        code == ERR_CONFLICT ? "conflict" : "rejected",
	        err_code_name(code), text, err) == -1 ||
	    journal_append(db,
	        code == ERR_CONFLICT ? "security.conflict" : "package.rejected",
	        in->name, NULL, detail, err) == -1 ||
	    (answer && !in->control &&
	        spool_receipt(in->x, in->uuid, in->sender, in->seq, "rejected",
	            err_code_name(code), text, err) == -1) ||
	    ingest_record(in, "rejected", err) == -1) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db, err) == -1)
		return -1;
	if (code == ERR_CONFLICT)
		log_security("%s conflicts with an accepted package of the "
		             "same sender and seq; quarantined: %s",
		    in->name, text);
	else
		log_warnx("rejected %s: %s", in->name, detail);
	ingest_remove(in);
	return 0;
}

/* An attribute of the root element, or NULL. */
static const char *
ingest_root_attr(xmlDocPtr doc, const char *name)
{
	return xmlsafe_attr(xmlDocGetRootElement(doc), name);
}

/* Apply a receipt from the peer to one of our packages (in the transaction). */
static int
ingest_receipt(struct ingest *in, xmlDocPtr doc, struct error *err)
{
	const char *uuid = ingest_root_attr(doc, "package");
	const char *sender = ingest_root_attr(doc, "sender");
	const char *seq = ingest_root_attr(doc, "seq");
	const char *result = ingest_root_attr(doc, "result");
	const char *code = ingest_root_attr(doc, "code");
	xmlChar *text = xmlNodeGetContent(xmlDocGetRootElement(doc));
	sqlite3_stmt *st;
	char name[PKG_NAME_MAX] = "", state[16] = "", detail[1200];
	int64_t id = 0;
	int rc = -1, ok;

	if (strcmp(sender, in->x->c.own_id) != 0) {
		rc = journal_append(in->x->db, "receipt.foreign", in->name,
		    NULL, "a receipt for another gateway's package", err);
		goto out;
	}
	st = db_prepare(in->x->db,
	    "SELECT id, name, state FROM packages WHERE"
	    " direction = 'out' AND uuid = ? AND seq = ?");
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, seq, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		snprintf(name, sizeof name, "%s",
		    (const char *)sqlite3_column_text(st, 1));
		snprintf(state, sizeof state, "%s",
		    (const char *)sqlite3_column_text(st, 2));
	}
	db_finalize(st);
	if (id == 0) {
		snprintf(detail, sizeof detail,
		    "receipt for unknown package %s seq %s", uuid, seq);
		rc = journal_append(
		    in->x->db, "receipt.unknown", in->name, NULL, detail, err);
		log_warnx("%s: %s", in->name, detail);
		goto out;
	}
	ok = strcmp(result, "rejected") != 0;
	snprintf(detail, sizeof detail, "%s%s%s%s%s", result, code ? " " : "",
	    code ? code : "", text && *text ? ": " : "",
	    text ? (const char *)text : "");
	if (strcmp(state, "sent") != 0) {
		/* already receipted (a duplicate receipt): journal only */
		rc = journal_append(
		    in->x->db, "receipt.again", name, NULL, detail, err);
		goto out;
	}
	st = db_prepare(in->x->db,
	    "UPDATE packages SET state = ?, receipted = ?,"
	    " code = ?, reason = ? WHERE id = ?");
	sqlite3_bind_text(
	    st, 1, ok ? "delivered" : "rejected", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, (const char *)text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	if (db_step_done(in->x->db, st, err) == -1 ||
	    journal_append(in->x->db,
	        ok ? "package.delivered" : "package.rejected_by_peer", name,
	        NULL, detail, err) == -1 ||
	    rollover_receipt(in->x, id, ok, detail, err) == -1)
		goto out;
	if (ok) {
		in->delivered = xreallocarray(
		    in->delivered, in->ndelivered + 1, sizeof *in->delivered);
		in->delivered[in->ndelivered++] = xstrdup(name);
	} else
		log_warnx("the peer REJECTED our package %s: %s; see posgw "
		          "transfer status",
		    name, detail);
	rc = 0;
out:
	xmlFree(text);
	return rc;
}

/* Decode base64 element text into a new buffer. */
static int
ingest_b64(xmlNodePtr node, gnutls_datum_t *out)
{
	xmlChar *t = xmlNodeGetContent(node);
	gnutls_datum_t in;
	int rc;

	if (t == NULL)
		return -1;
	in.data = t;
	in.size = (unsigned)strlen((char *)t);
	rc = gnutls_base64_decode2(&in, out);
	xmlFree(t);
	return rc < 0 ? -1 : 0;
}

/* Verify a peer checkpoint document and store it (in the transaction). */
static int
ingest_checkpoint(
    struct ingest *in, xmlDocPtr doc, int check_only, struct error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), c, signedn = NULL,
	           cmsn = NULL;
	gnutls_datum_t text = {NULL, 0}, cms = {NULL, 0};
	struct checkpoint cp;
	struct sig_info si;
	struct error e2 = {0};
	sqlite3_stmt *st;
	char entry[32];
	int rc = -1;

	for (c = root->children; c != NULL; c = c->next) {
		if (xmlsafe_is(c, NS_EXCHANGE, "signed"))
			signedn = c;
		else if (xmlsafe_is(c, NS_EXCHANGE, "cms"))
			cmsn = c;
	}
	if (signedn == NULL || cmsn == NULL ||
	    ingest_b64(signedn, &text) == -1 || ingest_b64(cmsn, &cms) == -1 ||
	    journal_checkpoint_parse(text.data, text.size, &cp) == -1) {
		err_set(err, ERR_PAYLOAD, "checkpoint: malformed signed text");
		goto out;
	}
	snprintf(entry, sizeof entry, "%" PRId64, cp.entry);
	if (strcmp(cp.gateway, in->x->c.peer_id) != 0 ||
	    strcmp(ingest_root_attr(doc, "gateway"), cp.gateway) != 0 ||
	    strcmp(ingest_root_attr(doc, "entry"), entry) != 0 ||
	    strcmp(ingest_root_attr(doc, "head"), cp.head) != 0) {
		err_set(err, ERR_PAYLOAD,
		    "checkpoint: attributes differ from the signed text");
		goto out;
	}
	if (sig_verify(in->x->trust, text.data, text.size, cms.data, cms.size,
	        in->x->c.peer_id, time(NULL), in->x->c.verify.sig_algs, &si,
	        &e2) == -1) {
		err_set(err, ERR_PAYLOAD, "checkpoint: %s", e2.text);
		goto out;
	}
	if (check_only) {
		rc = 0;
		goto out;
	}
	st = db_prepare(in->x->db,
	    "INSERT OR IGNORE INTO peer_checkpoints (gateway,"
	    " entry, head, at, text, cms, package, received) VALUES"
	    " (?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, cp.gateway, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cp.entry);
	sqlite3_bind_text(st, 3, cp.head, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)cp.at);
	sqlite3_bind_blob(st, 5, text.data, (int)text.size, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, cms.data, (int)cms.size, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
	if (db_step_done(in->x->db, st, err) == -1)
		goto out;
	snprintf(entry, sizeof entry, "entry %" PRId64, cp.entry);
	rc = journal_append(
	    in->x->db, "peer.checkpoint", in->name, NULL, entry, err);
out:
	gnutls_free(text.data);
	gnutls_free(cms.data);
	return rc;
}

struct ingest_refs {
	struct pkg *p;
	int64_t docid;
	struct db *db;
	struct error *err;
	int failed;
	const char *(*key)(const struct pkg_entry *, char *);
};

/* The file-store key of an entry: Streebog hex, or sha256-<hex>. */
static const char *
ingest_key(const struct pkg *p, const struct pkg_entry *e, char *buf)
{
	if (p->m.alg == DIGEST_SHA256)
		snprintf(buf, 80, "sha256-%s", e->digest);
	else
		snprintf(buf, 80, "%s", e->digest);
	return buf;
}

/* Record one referenced file of a document (payload_foreach_ref callback). */
static void
ingest_ref(const char *path, void *arg)
{
	struct ingest_refs *r = arg;
	const struct pkg_entry *e = pkg_entry_find(r->p, path);
	sqlite3_stmt *st;
	char key[80];

	if (r->failed || e == NULL)
		return;
	st = db_prepare(r->db,
	    "INSERT INTO files (document_id, path, size, digest)"
	    " VALUES (?, ?, ?, ?)");
	sqlite3_bind_int64(st, 1, r->docid);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)e->size);
	sqlite3_bind_text(
	    st, 4, ingest_key(r->p, e, key), -1, SQLITE_TRANSIENT);
	if (db_step_done(r->db, st, r->err) == -1)
		r->failed = 1;
}

/* Store one parsed document of an accepted package (in the transaction). */
static int
ingest_document_tree(struct ingest *in, int64_t pkgid,
    const struct pkg_entry *e, xmlDocPtr doc, struct error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	const char *kind = (const char *)root->name;
	const char *pos = xmlsafe_attr(root, "pos-id");
	const char *n = xmlsafe_attr(root, "n");
	struct ingest_refs r;
	sqlite3_stmt *st;
	xmlChar *body;
	int len, control = strcmp(kind, "receipt") == 0 ||
	                   strcmp(kind, "checkpoint") == 0;
	int engine = control || strcmp(kind, "certificate") == 0;

	if (strcmp(kind, "receipt") == 0 && ingest_receipt(in, doc, err) == -1)
		return -1;
	if (strcmp(kind, "checkpoint") == 0 &&
	    ingest_checkpoint(in, doc, 0, err) == -1)
		return -1;
	if (strcmp(kind, "certificate") == 0 &&
	    rollover_learn(
	        in->x, doc, in->name, in->p->sig.fingerprint, 0, err) == -1)
		return -1;
	xmlDocDumpMemoryEnc(doc, &body, &len, "UTF-8");
	st = db_prepare(in->x->db,
	    "INSERT INTO documents (package_id, direction,"
	    " kind, path, pos_id, n, body, created, consumed)"
	    " VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_int64(st, 1, pkgid);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, pos, -1, SQLITE_STATIC);
	if (n != NULL)
		sqlite3_bind_int64(st, 5, strtoll(n, NULL, 10));
	sqlite3_bind_text(st, 6, (const char *)body, len, xmlFree);
	sqlite3_bind_int64(st, 7, clock_ms());
	if (engine) /* the engine's own, no business side takes it */
		sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
	if (db_step_done(in->x->db, st, err) == -1)
		return -1;
	memset(&r, 0, sizeof r);
	r.p = in->p;
	r.docid = sqlite3_last_insert_rowid(in->x->db->h);
	r.db = in->x->db;
	r.err = err;
	payload_foreach_ref(root, ingest_ref, &r);
	if (r.failed)
		return -1;
	if (!control)
		return journal_append(
		    in->x->db, "document.received", in->name, pos, kind, err);
	return 0;
}

/*
 * Store one document of an accepted package (in the transaction): parsed
 * again from the staged bytes and freed at once, so an import holds one
 * tree at a time whatever the number of documents.
 */
static int
ingest_document(struct ingest *in, int64_t pkgid, const struct pkg_entry *e,
    struct error *err)
{
	xmlDocPtr doc;
	int rc;

	if ((doc = pkg_entry_parse(in->p, e, err)) == NULL)
		return -1;
	rc = ingest_document_tree(in, pkgid, e, doc, err);
	xmlFreeDoc(doc);
	return rc;
}

/* Move verified attachments into the file store, durably, before the commit. */
static int
ingest_store(struct ingest *in, struct error *err)
{
	struct pkg *p = in->p;
	char key[80], *dst;
	size_t i, nfiles = 0;

	/*
	 * Read-only for everyone after us (the core links exports to these
	 * files); then durable: one syncfs for a package of many files, an
	 * fsync each for a few.
	 */
	for (i = 0; i < p->nentries; i++) {
		if (p->entries[i].staged == NULL)
			continue;
		if (chmod(p->entries[i].staged, 0440) == -1)
			return err_set(err, ERR_NONE, "cannot chmod %s: %s",
			    p->entries[i].staged, strerror(errno));
		nfiles++;
	}
	if (nfiles > FS_SYNCSET_MAX && fs_syncfs(in->x->dir_staging, err) == -1)
		return -1;
	for (i = 0; i < p->nentries; i++) {
		if (p->entries[i].staged == NULL)
			continue;
		if (nfiles <= FS_SYNCSET_MAX &&
		    fs_fsync_file(p->entries[i].staged, err) == -1)
			return -1;
		xasprintf(&dst, "%s/%s", in->x->dir_files,
		    ingest_key(p, &p->entries[i], key));
		if (rename(p->entries[i].staged, dst) == -1) {
			err_set(err, ERR_NONE, "cannot move %s to %s: %s",
			    p->entries[i].staged, dst, strerror(errno));
			free(dst);
			return -1;
		}
		free(dst);
	}
	return fs_fsync_dir(in->x->dir_files, err);
}

/* All documents of the package are receipts or checkpoints. */
static int
ingest_is_control(const struct pkg *p)
{
	const char *k;
	size_t i;
	int any = 0;

	for (i = 0; i < p->nentries; i++) {
		if ((k = p->entries[i].kind) == NULL)
			continue;
		if (strcmp(k, "receipt") != 0 && strcmp(k, "checkpoint") != 0)
			return 0;
		any = 1;
	}
	return any;
}

/* Accept a verified package: duplicate, conflict or import. */
static int
ingest_accept(struct ingest *in, struct error *err)
{
	struct db *db = in->x->db;
	struct pkg *p = in->p;
	sqlite3_stmt *st;
	char old[DIGEST_HEX_LEN + 1] = "", detail[256], *path;
	const char *why;
	int64_t pkgid;
	size_t i;

	in->control = ingest_is_control(p);
	if (strcmp(p->m.sender, in->x->c.peer_id) != 0)
		return ingest_reject(in, ERR_UNTRUSTED,
		    "the sender is not the configured peer", err);
	for (i = 0; i < p->nentries; i++) {
		const char *k = p->entries[i].kind;
		struct error e2 = {0};
		xmlDocPtr d;
		int rc = 0, bad = 0;

		/* only the engine's documents are looked at before the import */
		if (k == NULL || (strcmp(k, "checkpoint") != 0 &&
		                     strcmp(k, "certificate") != 0))
			continue;
		if ((d = pkg_entry_parse(p, &p->entries[i], err)) == NULL)
			return -1;
		if (strcmp(k, "checkpoint") == 0 &&
		    ingest_checkpoint(in, d, 1, &e2) == -1) {
			bad = 1;
			rc = ingest_reject(in, ERR_PAYLOAD, e2.text, err);
		}
		if (!bad && strcmp(k, "certificate") == 0 &&
		    rollover_learn(
		        in->x, d, in->name, p->sig.fingerprint, 1, &e2) == -1) {
			bad = 1;
			rc = ingest_reject(in,
			    e2.code == ERR_NONE ? ERR_PAYLOAD : e2.code,
			    e2.text, err);
		}
		xmlFreeDoc(d);
		if (bad)
			return rc;
	}
	st = db_prepare(db,
	    "SELECT manifest_digest FROM packages WHERE direction ="
	    " 'in' AND state = 'accepted' AND sender = ? AND seq = ?");
	sqlite3_bind_text(st, 1, in->sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)in->seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(old, sizeof old, "%s",
		    (const char *)sqlite3_column_text(st, 0));
	db_finalize(st);

	if (old[0] != '\0' && strcmp(old, p->manifest_digest) != 0) {
		snprintf(detail, sizeof detail,
		    "seq %" PRIu64 " was accepted with manifest %s, this one "
		    "has %s",
		    in->seq, old, p->manifest_digest);
		return ingest_reject(in, ERR_CONFLICT, detail, err);
	}
	if (old[0] != '\0') {
		if (db_begin(db, err) == -1)
			return -1;
		if (journal_append(db, "package.duplicate", in->name, NULL,
		        "same sender, seq and manifest as an accepted package",
		        err) == -1 ||
		    (!in->control &&
		        spool_receipt(in->x, in->uuid, in->sender, in->seq,
		            "duplicate", NULL, NULL, err) == -1) ||
		    ingest_record(in, "duplicate", err) == -1) {
			db_rollback(db);
			return -1;
		}
		if (db_commit(db, err) == -1)
			return -1;
		log_info("duplicate %s (already accepted)", in->name);
		ingest_remove(in);
		return 0;
	}

	if ((why = rollover_retired(in->x, p->sig.fingerprint)) != NULL)
		return ingest_reject(in, ERR_UNTRUSTED, why, err);
	if (ingest_store(in, err) == -1)
		return -1;
	if (db_begin(db, err) == -1)
		return -1;
	if ((pkgid = ingest_package_row(in, "accepted", NULL, NULL, err)) == -1)
		goto fail;
	for (i = 0; i < p->nentries; i++)
		if (p->entries[i].kind != NULL &&
		    ingest_document(in, pkgid, &p->entries[i], err) == -1)
			goto fail;
	snprintf(detail, sizeof detail,
	    "seq %" PRIu64 ", %zu entries, manifest "
	    "%.16s..., signer %.16s...%s",
	    in->seq, p->nentries, p->manifest_digest, p->sig.fingerprint,
	    in->control ? ", control" : "");
	if (journal_append(
	        db, "package.accepted", in->name, NULL, detail, err) == -1 ||
	    rollover_accepted(in->x, in->seq, p->sig.fingerprint,
	        in->env_key[0] != '\0' ? in->env_key : NULL, err) == -1 ||
	    (!in->control && spool_receipt(in->x, in->uuid, in->sender, in->seq,
	                         "accepted", NULL, NULL, err) == -1) ||
	    ingest_record(in, "accepted", err) == -1)
		goto fail;
	if (db_commit(db, err) == -1)
		return -1;
	log_info("accepted %s (%s)", in->name, detail);
	ingest_remove(in);
	for (i = 0; i < in->ndelivered; i++) {
		xasprintf(&path, "%s/%s", in->x->dir_sent, in->delivered[i]);
		unlink(path);
		free(path);
		xasprintf(&path, "%s/%s", in->x->c.outbox, in->delivered[i]);
		unlink(path);
		free(path);
	}
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/*
 * Open an envelope into a private directory in staging and read the plain
 * package inside; the plain file is gone when this returns (what pkg_read
 * keeps is staged on its own). Codes as for a package.
 */
static int
ingest_open_envelope(struct ingest *in, struct error *err)
{
	struct xfer *x = in->x;
	struct env_open_opts eo;
	struct env_info info;
	char *dir, *plain;
	int rc = -1;

	memset(&eo, 0, sizeof eo);
	eo.own_id = x->c.own_id;
	eo.trust = x->trust;
	eo.sig_algs = x->c.verify.sig_algs;
	eo.digests = x->c.verify.digests;
	eo.max_file = x->c.verify.limits.max_file;
	eo.now = x->c.verify.now;
	if (x->kex != NULL)
		eo.keys[eo.nkeys++] = x->kex;
	if (x->kex_prev != NULL && !(x->roll_own_done && x->kex_prev_implicit))
		eo.keys[eo.nkeys++] = x->kex_prev;
	/* named after the package, so that a failure reads the same each round */
	xasprintf(&dir, "%s/.env-%s", x->dir_staging, in->name);
	fs_rmtree(dir);
	if (mkdir(dir, 0700) == -1) {
		err_set(err, ERR_NONE, "cannot create staging in %s: %s; %s",
		    x->dir_staging, strerror(errno),
		    fs_hint(errno, "check that posgw may write there"));
		free(dir);
		return -1;
	}
	xasprintf(&plain, "%s/%s", dir, in->name);
	if (env_open(in->inpath, plain, &eo, &info, err) == 0) {
		snprintf(in->env_key, sizeof in->env_key, "%s", info.key);
		in->p = pkg_read(plain, x->dir_staging, &x->c.verify, err);
		if (in->p != NULL)
			rc = 0;
		else if (err->code != ERR_NONE)
			err_wrap(err, "inside the envelope");
		unlink(plain);
	}
	rmdir(dir);
	free(plain);
	free(dir);
	return rc;
}

/*
 * Handle one inbox file by name. Returns -1 only when the work could not be
 * done (I/O or database trouble): the file stays for the next scan.
 */
int
ingest_file(struct xfer *x, const char *name, struct error *err)
{
	struct ingest in;
	struct error perr = {0};
	size_t i;
	int rc = -1;

	memset(&in, 0, sizeof in);
	in.x = x;
	in.name = name;
	xasprintf(&in.inpath, "%s/%s", x->c.inbox, name);
	if (lstat(in.inpath, &in.sb) == -1) {
		rc = 0; /* gone meanwhile */
		goto out;
	}
	if (!S_ISREG(in.sb.st_mode)) {
		ingest_warn_once(x, name,
		    "not a regular file (a folder, link or device under a "
		    "package name); left alone, remove it by hand");
		rc = 0;
		goto out;
	}
	pkg_name_parse(name, in.sender, &in.seq, in.uuid);
	if (ingest_kept(&in)) {
		rc = 0;
		goto out;
	}
	xasprintf(&in.staged, "%s/%s", x->dir_staging, name);
	if ((uint64_t)in.sb.st_size > x->c.verify.limits.max_file) {
		char t[128];
		snprintf(t, sizeof t, "file has %lld bytes, limit %llu",
		    (long long)in.sb.st_size,
		    (unsigned long long)x->c.verify.limits.max_file);
		/* too large to copy: quarantine by rename when possible */
		if (rename(in.inpath, in.staged) == -1)
			log_warn("cannot move oversized %s out of the inbox",
			    in.inpath);
		rc = ingest_reject(&in, ERR_SIZE, t, err);
		goto out;
	}
	/*
	 * Read the inbox file in place (opened once, O_NOFOLLOW): every entry
	 * is staged and checked as it is read, so what is imported is what
	 * was verified even if someone rewrites the file meanwhile; copying
	 * the package first would only write every byte once more. A
	 * rejected package is copied into quarantine.
	 */
	free(in.staged);
	in.staged = NULL;
	if (env_detect(in.inpath)) {
		if (ingest_open_envelope(&in, &perr) == -1) {
			if (perr.code == ERR_NONE) {
				err_set(
				    err, ERR_NONE, "%s: %s", name, perr.text);
				goto out;
			}
			rc = ingest_reject(&in, perr.code, perr.text, err);
			goto out;
		}
	} else if (!x->c.accept_plain) {
		rc = env_plain_like(in.inpath)
		         ? ingest_reject(&in, ERR_PLAIN,
		               "a plain package, not encrypted for this "
		               "gateway; it takes only envelopes "
		               "(formats/envelope.md) while [transfer] "
		               "accept_plain = no",
		               err)
		         : ingest_reject(&in, ERR_ENVELOPE,
		               "neither an envelope (a tar starting with "
		               "envelope.xml) nor a package",
		               err);
		goto out;
	} else
		in.p = pkg_read(in.inpath, x->dir_staging, &x->c.verify, &perr);
	if (in.p == NULL) {
		if (perr.code == ERR_NONE) {
			/* our own trouble (disk, staging), not the package's */
			err_set(err, ERR_NONE, "%s: %s", name, perr.text);
			goto out;
		}
		rc = ingest_reject(&in, perr.code, perr.text, err);
		goto out;
	}
	rc = ingest_accept(&in, err);
out:
	if (x->roll_dirty) {
		struct error e2 = {0};
		if (rollover_reload(x, &e2) == -1)
			log_warnx("rollover: %s", e2.text);
	}
	if (in.p != NULL)
		pkg_free(in.p);
	if (in.staged != NULL)
		unlink(in.staged);
	for (i = 0; i < in.ndelivered; i++)
		free(in.delivered[i]);
	free(in.delivered);
	free(in.staged);
	free(in.inpath);
	return rc;
}

/*
 * Call fn(from, to, arg) for every run of seqs of the peer never seen
 * (accepted, rejected or in conflict) below its highest accepted seq, in
 * order; returns the number of missing packages.
 */
int64_t
ingest_gaps(struct db *db, const char *peer,
    void (*fn)(int64_t, int64_t, void *), void *arg)
{
	sqlite3_stmt *st;
	int64_t expect = 1, seq, missing = 0;

	st = db_prepare(db,
	    "SELECT DISTINCT seq FROM packages WHERE direction = 'in'"
	    " AND sender = ?1 AND state IN ('accepted', 'rejected',"
	    " 'conflict') AND seq <= (SELECT MAX(seq) FROM packages WHERE"
	    " direction = 'in' AND sender = ?1 AND state = 'accepted')"
	    " ORDER BY seq");
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if (seq > expect) {
			fn(expect, seq - 1, arg);
			missing += seq - expect;
		}
		expect = seq + 1;
	}
	db_finalize(st);
	return missing;
}

/*
 * Log once per name (and at most for 1024 names) why an inbox entry is
 * left alone; a scan each second must not repeat it.
 */
void
ingest_warn_once(struct xfer *x, const char *name, const char *why)
{
	size_t i;

	for (i = 0; i < x->nignored; i++)
		if (strcmp(x->ignored[i], name) == 0)
			return;
	if (x->nignored >= 1024)
		return;
	log_warnx("inbox %s: %s: %s", x->c.inbox, name, why);
	x->ignored =
	    xreallocarray(x->ignored, x->nignored + 1, sizeof *x->ignored);
	x->ignored[x->nignored++] = xstrdup(name);
}
