/*
 * journalgen: gateway databases for workload 3 of the benchmark, written
 * through transfer/db.c and transfer/journal.c the way the daemons write
 * them, only in big transactions and without the package files.
 *
 *	journalgen entries DB N --keys DIR
 *		the edge-01 database of an exchange with core-01 that has
 *		run until its journal holds at least N entries
 *	journalgen pair EDGE_DB CORE_DB N --keys DIR
 *		both databases of an exchange of N packages (edge-01's
 *		business packages and core-01's receipt packages together)
 *		that reconcile cleanly
 *
 * DIR holds edge-01.key, edge-01.crt, core-01.key and core-01.crt as
 * "posgw keys generate --id ID --out DIR" writes them. The exchange, round
 * by round: edge-01 takes 1 to 3 appeals from SMEV (document.queued,
 * appeal.received, appeal.acknowledged), sends them as one package with its
 * latest unshipped checkpoint (package.sent); core-01 accepts it
 * (document.received, peer.checkpoint, package.accepted), exports the
 * appeals (appeal.exported) and queues a receipt each; every fourth round
 * core-01 sends its receipts as one control package with its own latest
 * checkpoint, which edge-01 accepts (package.delivered per receipt,
 * peer.checkpoint, package.accepted). After each unit of work a side signs
 * a checkpoint when 100 entries are uncovered (xfer_checkpoint with the
 * default checkpoint_entries). The tables the journal tools read --
 * meta, journal, checkpoints, peer_checkpoints, packages -- get the rows
 * and texts real operation gives them; documents and files do not.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "digest.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "sig.h"
#include "xmalloc.h"

#define JOURNALGEN_RECEIPTS 4     /* edge packages per receipt package */
#define JOURNALGEN_CHECKPOINT 100 /* checkpoint_entries default */
#define JOURNALGEN_COMMIT 2000    /* rounds per transaction */
#define JOURNALGEN_EXPORT "/var/lib/posgw/edms/export"

/* One gateway's side of the exchange. */
struct journalgen_side {
	const char *id;
	struct db *db;
	struct signer *signer;
	char fp[DIGEST_HEX_LEN + 1]; /* SHA-256 of its certificate */
	int64_t seq;                 /* last package seq it sent */
	int64_t packages;            /* packages it sent */
	int64_t shipped;             /* last checkpoint id shipped */
};

/* A package between the two sides, as the receiver sees it. */
struct journalgen_pkg {
	char name[PKG_NAME_MAX];
	char uuid[37];
	char digest[DIGEST_HEX_LEN + 1];
	int64_t seq, size, created;
	int ndocs, control;
	char pos[3][16];  /* appeal pos-ids (business packages) */
	int64_t cp_entry; /* carried checkpoint, or 0 */
	char cp_head[DIGEST_HEX_LEN + 1];
	int64_t cp_at;
	void *cp_text, *cp_cms;
	int cp_tlen, cp_clen;
};

/* A receipt core-01 has queued for edge-01. */
struct journalgen_receipt {
	char name[PKG_NAME_MAX];
	char uuid[37];
	int64_t seq;
};

static struct journalgen_receipt journalgen_queue[JOURNALGEN_RECEIPTS];
static int journalgen_nqueue;
static int64_t journalgen_pos = 177073571;
static int64_t journalgen_docid;

static void journalgen_die(const struct error *) __attribute__((noreturn));
static void journalgen_usage(void) __attribute__((noreturn));

/* Fail with the error's text. */
static void
journalgen_die(const struct error *err)
{
	fatalx("%s", err->text);
}

/* Append one journal entry or die. */
static void
journalgen_append(struct journalgen_side *s, const char *kind,
    const char *package, const char *appeal, const char *detail)
{
	struct error err = {0};

	if (journal_append(s->db, kind, package, appeal, detail, &err) == -1)
		journalgen_die(&err);
}

/* Sign a checkpoint when enough entries are uncovered, as xfer_checkpoint. */
static void
journalgen_checkpoint(struct journalgen_side *s, int force)
{
	struct error err = {0};
	time_t last;
	int64_t pending = journal_since_checkpoint(s->db, &last);

	if (pending <= 0 || (!force && pending < JOURNALGEN_CHECKPOINT))
		return;
	if (journal_checkpoint(s->db, s->signer, &err) == -1)
		journalgen_die(&err);
}

/* Open a new database for a side and record its identity, as xfer_open. */
static void
journalgen_open(struct journalgen_side *s, const char *path, const char *id,
    const char *peer, const char *keys)
{
	struct error err = {0};
	gnutls_x509_crt_t *certs;
	gnutls_datum_t d = {NULL, 0};
	unsigned ncerts, i;
	char *key, *cert;

	memset(s, 0, sizeof *s);
	s->id = id;
	if (strcmp(path, ":memory:") != 0 && access(path, F_OK) == 0)
		fatalx("%s exists; journalgen makes new databases", path);
	xasprintf(&key, "%s/%s.key", keys, id);
	xasprintf(&cert, "%s/%s.crt", keys, id);
	if ((s->signer = signer_load(key, cert, &err)) == NULL ||
	    cert_load_file(cert, &certs, &ncerts, &err) == -1)
		journalgen_die(&err);
	if (strcmp(signer_id(s->signer), id) != 0)
		fatalx("%s: the certificate is for %s, not %s", cert,
		    signer_id(s->signer), id);
	cert_fingerprint(certs[0], GNUTLS_DIG_SHA256, s->fp);
	for (i = 0; i < ncerts; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	if (gnutls_load_file(cert, &d) < 0)
		fatalx("cannot read %s", cert);
	if ((s->db = db_open(path, 1, &err)) == NULL ||
	    db_exec(s->db,
	        "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144",
	        &err) == -1 ||
	    db_begin(s->db, &err) == -1 ||
	    db_meta_set(s->db, "own_id", id, &err) == -1 ||
	    db_meta_set(s->db, "peer_id", peer, &err) == -1 ||
	    journal_append(s->db, "gateway.created", NULL, NULL, id, &err) ==
	        -1 ||
	    db_meta_set(s->db, "certificate", (const char *)d.data, &err) ==
	        -1 ||
	    journal_append(
	        s->db, "certificate.installed", NULL, NULL, cert, &err) == -1)
		journalgen_die(&err);
	gnutls_free(d.data);
	free(key);
	free(cert);
}

/* Commit the side's transaction and start the next one. */
static void
journalgen_commit(struct journalgen_side *s, int again)
{
	struct error err = {0};

	if (db_commit(s->db, &err) == -1 ||
	    (again && db_begin(s->db, &err) == -1))
		journalgen_die(&err);
}

/* Close a side: its database checkpointed into the main file. */
static void
journalgen_close(struct journalgen_side *s)
{
	struct error err = {0};

	if (db_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", &err) == -1)
		journalgen_die(&err);
	db_close(s->db);
	signer_free(s->signer);
}

/* edge-01 takes one appeal from SMEV and queues it, as edge.c does. */
static void
journalgen_appeal(struct journalgen_side *s, char *pos)
{
	char mid[37], cid[37], ack[37], detail[256];

	snprintf(pos, 16, "%" PRId64, journalgen_pos++);
	pkg_uuid_new(mid);
	pkg_uuid_new(cid);
	pkg_uuid_new(ack);
	journalgen_docid++;
	/* spool_enqueue's entry, then edge_journal's (pos-id as the appeal) */
	journalgen_append(s, "document.queued", NULL, pos, "appeal");
	snprintf(detail, sizeof detail,
	    "MessageId %s, clientId %s, 1 attachment(s), document %" PRId64,
	    mid, cid, journalgen_docid);
	journalgen_append(s, "appeal.received", NULL, pos, detail);
	snprintf(detail, sizeof detail, "P:Received clientId %s to clientId %s",
	    ack, cid);
	journalgen_append(s, "appeal.acknowledged", NULL, pos, detail);
}

/*
 * A side sends a package: its latest unshipped checkpoint rides along, the
 * row is written as spool_batch and spool_mark_sent leave it, package.sent.
 */
static void
journalgen_send(struct journalgen_side *s, const char *peer,
    struct journalgen_pkg *p, int ndocs, int control)
{
	struct error err = {0};
	sqlite3_stmt *st;
	char detail[160], manifest[256];
	int64_t now = (int64_t)time(NULL);

	memset(p, 0, sizeof *p);
	/*
	 * spool_ship_checkpoint's query, which looks at every row when all are
	 * shipped, and its UPDATE, which sets every older row's shipped
	 * again, kept to the rows after the last one shipped: the same rows
	 * (to the second) without reading the whole table per package
	 */
	st = db_prepare(s->db, "SELECT id, entry, head, at, text, cms FROM"
	                       " checkpoints WHERE id > ? AND shipped IS NULL"
	                       " ORDER BY id DESC LIMIT 1");
	sqlite3_bind_int64(st, 1, s->shipped);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int64_t cid = sqlite3_column_int64(st, 0);
		sqlite3_stmt *up;

		p->cp_entry = sqlite3_column_int64(st, 1);
		snprintf(p->cp_head, sizeof p->cp_head, "%s",
		    (const char *)sqlite3_column_text(st, 2));
		p->cp_at = sqlite3_column_int64(st, 3);
		p->cp_tlen = sqlite3_column_bytes(st, 4);
		p->cp_text = xmalloc((size_t)p->cp_tlen);
		memcpy(
		    p->cp_text, sqlite3_column_blob(st, 4), (size_t)p->cp_tlen);
		p->cp_clen = sqlite3_column_bytes(st, 5);
		p->cp_cms = xmalloc((size_t)p->cp_clen);
		memcpy(
		    p->cp_cms, sqlite3_column_blob(st, 5), (size_t)p->cp_clen);
		up = db_prepare(s->db, "UPDATE checkpoints SET shipped = ?"
		                       " WHERE id > ? AND id <= ?");
		sqlite3_bind_int64(up, 1, now);
		sqlite3_bind_int64(up, 2, s->shipped);
		sqlite3_bind_int64(up, 3, cid);
		if (db_step_done(s->db, up, &err) == -1)
			journalgen_die(&err);
		s->shipped = cid;
	}
	db_finalize(st);

	p->seq = ++s->seq;
	p->ndocs = ndocs;
	p->control = control;
	p->created = now;
	p->size = (control ? 600 + 210 * ndocs : 700 + 1100 * ndocs) +
	          (p->cp_entry ? 1350 : 0);
	pkg_uuid_new(p->uuid);
	pkg_name_format(
	    p->name, sizeof p->name, s->id, (uint64_t)p->seq, p->uuid);
	snprintf(manifest, sizeof manifest, "%s %s %" PRId64 " %s %" PRId64,
	    p->name, peer, p->seq, p->uuid, p->size);
	digest_mem_hex(
	    DIGEST_STREEBOG256, manifest, strlen(manifest), p->digest);
	st = db_prepare(s->db,
	    "INSERT INTO packages (direction, name, sender,"
	    " recipient, seq, uuid, manifest_digest, size, control, created,"
	    " sent, state, offers, last_offer) VALUES ('out', ?, ?, ?, ?, ?,"
	    " ?, ?, ?, ?, ?, 'sent', 1, ?)");
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, p->seq);
	sqlite3_bind_text(st, 5, p->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, p->size);
	sqlite3_bind_int(st, 8, control);
	sqlite3_bind_int64(st, 9, now);
	sqlite3_bind_int64(st, 10, now);
	sqlite3_bind_int64(st, 11, now);
	if (db_step_done(s->db, st, &err) == -1)
		journalgen_die(&err);
	snprintf(detail, sizeof detail,
	    "%d documents, %" PRId64 " bytes, manifest %.16s...%s",
	    ndocs + (p->cp_entry ? 1 : 0), p->size, p->digest,
	    control ? ", control" : "");
	journalgen_append(s, "package.sent", p->name, NULL, detail);
	s->packages++;
}

/* Store the checkpoint a package carries, as ingest_checkpoint does. */
static void
journalgen_peer_checkpoint(
    struct journalgen_side *s, const char *peer, const struct journalgen_pkg *p)
{
	struct error err = {0};
	sqlite3_stmt *st;
	char entry[40];

	st = db_prepare(s->db,
	    "INSERT OR IGNORE INTO peer_checkpoints (gateway,"
	    " entry, head, at, text, cms, package, received) VALUES"
	    " (?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->cp_entry);
	sqlite3_bind_text(st, 3, p->cp_head, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, p->cp_at);
	sqlite3_bind_blob(st, 5, p->cp_text, p->cp_tlen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, p->cp_cms, p->cp_clen, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
	if (db_step_done(s->db, st, &err) == -1)
		journalgen_die(&err);
	snprintf(entry, sizeof entry, "entry %" PRId64, p->cp_entry);
	journalgen_append(s, "peer.checkpoint", p->name, NULL, entry);
}

/* Mark one of our packages delivered by a receipt, as ingest_receipt. */
static void
journalgen_delivered(
    struct journalgen_side *s, const struct journalgen_receipt *r)
{
	struct error err = {0};
	sqlite3_stmt *st;

	st = db_prepare(s->db,
	    "UPDATE packages SET state = 'delivered', receipted = ?,"
	    " code = NULL, reason = '' WHERE direction = 'out' AND uuid = ?"
	    " AND seq = ?");
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_text(st, 2, r->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->seq);
	if (db_step_done(s->db, st, &err) == -1)
		journalgen_die(&err);
	journalgen_append(s, "package.delivered", r->name, NULL, "accepted");
}

/*
 * A side accepts a package of its peer, as ingest_accept: the package row,
 * each document in order (appeals or receipts, then the checkpoint), and
 * package.accepted.
 */
static void
journalgen_accept(struct journalgen_side *s, const struct journalgen_side *from,
    const struct journalgen_pkg *p, const struct journalgen_receipt *rs)
{
	struct error err = {0};
	sqlite3_stmt *st;
	char detail[256];
	int64_t now = (int64_t)time(NULL);
	size_t nentries;
	int i;

	st = db_prepare(s->db, "INSERT INTO packages (direction, name, "
	                       "sender, recipient, seq, uuid,"
	                       " manifest_digest, signer_fp, size, "
	                       "control, created, received, state)"
	                       " VALUES ('in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	                       " ?, 'accepted')");
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, p->seq);
	sqlite3_bind_text(st, 5, p->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, from->fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, p->size);
	sqlite3_bind_int(st, 9, p->control);
	sqlite3_bind_int64(st, 10, p->created);
	sqlite3_bind_int64(st, 11, now);
	if (db_step_done(s->db, st, &err) == -1)
		journalgen_die(&err);
	for (i = 0; i < p->ndocs; i++) {
		if (p->control)
			journalgen_delivered(s, &rs[i]);
		else
			journalgen_append(s, "document.received", p->name,
			    p->pos[i], "appeal");
	}
	if (p->cp_entry != 0)
		journalgen_peer_checkpoint(s, from->id, p);
	/* appeals travel with one attachment each */
	nentries =
	    (size_t)p->ndocs * (p->control ? 1 : 2) + (p->cp_entry ? 1 : 0);
	snprintf(detail, sizeof detail,
	    "seq %" PRId64 ", %zu entries, manifest %.16s..., signer "
	    "%.16s...%s",
	    p->seq, nentries, p->digest, from->fp,
	    p->control ? ", control" : "");
	journalgen_append(s, "package.accepted", p->name, NULL, detail);
}

/* core-01 exports the appeals of an accepted package, as core.c does. */
static void
journalgen_export(struct journalgen_side *s, const struct journalgen_pkg *p)
{
	char detail[512];
	int i;

	for (i = 0; i < p->ndocs; i++) {
		snprintf(detail, sizeof detail,
		    "%s/%s: message, 1 attachment(s), no ССТУ topic, due "
		    "2026-12-24",
		    JOURNALGEN_EXPORT, p->pos[i]);
		journalgen_append(
		    s, "appeal.exported", NULL, p->pos[i], detail);
	}
}

/* Free what a package holds. */
static void
journalgen_pkg_free(struct journalgen_pkg *p)
{
	free(p->cp_text);
	free(p->cp_cms);
	p->cp_text = p->cp_cms = NULL;
}

/* core-01 sends its queued receipts as one control package to edge-01. */
static void
journalgen_receipts(struct journalgen_side *edge, struct journalgen_side *core)
{
	struct journalgen_pkg p;

	if (journalgen_nqueue == 0)
		return;
	journalgen_send(core, edge->id, &p, journalgen_nqueue, 1);
	journalgen_checkpoint(core, 0);
	journalgen_accept(edge, core, &p, journalgen_queue);
	journalgen_checkpoint(edge, 0);
	journalgen_pkg_free(&p);
	journalgen_nqueue = 0;
}

/* One round: edge-01 sends a package of appeals, core-01 takes it. */
static void
journalgen_round(
    struct journalgen_side *edge, struct journalgen_side *core, int64_t k)
{
	struct journalgen_receipt *r;
	struct journalgen_pkg p;
	char pos[3][16];
	int i, ndocs = 1 + (int)(k % 3);

	for (i = 0; i < ndocs; i++)
		journalgen_appeal(edge, pos[i]);
	journalgen_send(edge, core->id, &p, ndocs, 0);
	memcpy(p.pos, pos, sizeof pos);
	journalgen_checkpoint(edge, 0);
	journalgen_accept(core, edge, &p, NULL);
	journalgen_export(core, &p);
	r = &journalgen_queue[journalgen_nqueue++];
	snprintf(r->name, sizeof r->name, "%s", p.name);
	memcpy(r->uuid, p.uuid, sizeof r->uuid);
	r->seq = p.seq;
	journalgen_checkpoint(core, 0);
	journalgen_pkg_free(&p);
	if (journalgen_nqueue == JOURNALGEN_RECEIPTS)
		journalgen_receipts(edge, core);
}

/* Run the exchange until done() says so; commits in big transactions. */
static void
journalgen_run(struct journalgen_side *edge, struct journalgen_side *core,
    int (*done)(struct journalgen_side *, struct journalgen_side *, int64_t),
    int64_t n)
{
	int64_t k;

	for (k = 1; !done(edge, core, n); k++) {
		journalgen_round(edge, core, k);
		if (k % JOURNALGEN_COMMIT == 0) {
			journalgen_commit(edge, 1);
			journalgen_commit(core, 1);
		}
	}
	journalgen_receipts(edge, core);
	/* the daemons checkpoint what is left when they stop */
	journalgen_checkpoint(edge, 1);
	journalgen_checkpoint(core, 1);
	journalgen_commit(edge, 0);
	journalgen_commit(core, 0);
}

/* Done when edge-01's journal holds n entries. */
static int
journalgen_done_entries(
    struct journalgen_side *edge, struct journalgen_side *core, int64_t n)
{
	char head[DIGEST_HEX_LEN + 1];

	(void)core;
	return journal_head(edge->db, head) >= n;
}

/* Done when the two sides have sent n packages (with the receipts due). */
static int
journalgen_done_packages(
    struct journalgen_side *edge, struct journalgen_side *core, int64_t n)
{
	/* the receipt package for the queue still goes out at the end */
	return edge->packages + core->packages + (journalgen_nqueue > 0) >= n;
}

/* Print usage and exit 2. */
static void
journalgen_usage(void)
{
	fprintf(stderr,
	    "usage: journalgen entries DB N --keys DIR\n"
	    "       journalgen pair EDGE_DB CORE_DB N --keys DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct journalgen_side edge, core;
	const char *keys, *edgedb, *coredb;
	char head[DIGEST_HEX_LEN + 1];
	int64_t n;
	int pair;

	log_init("journalgen", LOG_LEVEL_WARN);
	if (argc < 2)
		journalgen_usage();
	pair = strcmp(argv[1], "pair") == 0;
	if ((!pair && strcmp(argv[1], "entries") != 0) ||
	    argc != (pair ? 7 : 6) || strcmp(argv[argc - 2], "--keys") != 0)
		journalgen_usage();
	keys = argv[argc - 1];
	edgedb = argv[2];
	coredb = pair ? argv[3] : ":memory:";
	if ((n = strtoll(argv[pair ? 4 : 3], NULL, 10)) < 1)
		journalgen_usage();
	sig_init();
	journalgen_open(&edge, edgedb, "edge-01", "core-01", keys);
	journalgen_open(&core, coredb, "core-01", "edge-01", keys);
	journalgen_run(&edge, &core,
	    pair ? journalgen_done_packages : journalgen_done_entries, n);
	printf("%s: %" PRId64 " entries, %" PRId64 " checkpoints, %" PRId64
	       " packages sent\n",
	    edgedb, journal_head(edge.db, head),
	    db_int(edge.db, "SELECT COUNT(*) FROM checkpoints", 0),
	    edge.packages);
	if (pair)
		printf("%s: %" PRId64 " entries, %" PRId64
		       " checkpoints, %" PRId64 " packages sent\n",
		    coredb, journal_head(core.db, head),
		    db_int(core.db, "SELECT COUNT(*) FROM checkpoints", 0),
		    core.packages);
	journalgen_close(&edge);
	journalgen_close(&core);
	return 0;
}
