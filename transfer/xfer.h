/*
 * xfer.h: the transfer engine both gateways run: outbound spool and packer,
 * inbox watcher and ingest, receipts, re-offers, checkpoints.
 */
#ifndef POSGW_XFER_H
#define POSGW_XFER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "error.h"
#include "package.h"
#include "sig.h"

#define XFER_MAX_TRUST 8

struct xfer;
struct fs_syncset;

struct xfer_config {
	const char *own_id;
	const char *peer_id;
	const char *key;
	const char *cert;
	const char *trust[XFER_MAX_TRUST];
	size_t ntrust;
	/*
	 * Envelopes (formats/envelope.md): our key-agreement key and its
	 * certificate (default: key and cert), the peer's key-agreement
	 * certificate (default: the one trust file), whether packages leave
	 * encrypted (default yes) and whether plain ones are still taken in
	 * (default no).
	 */
	/* CRLs (PEM or DER) for the peer's and the officials' issuers */
	const char *crl[XFER_MAX_TRUST];
	size_t ncrl;
	int crl_strict; /* a CRL past its nextUpdate refuses, not warns */
	/*
	 * Rollover (formats/rollover.md): the pair we signed with before
	 * key/cert; cert is announced in a package signed with it.
	 */
	const char *previous_key;
	const char *previous_cert;
	const char *previous_exchange_key; /* still opened during a rollover */
	const char *previous_exchange_cert;
	const char *exchange_key;
	const char *exchange_cert;
	const char *peer_exchange_cert;
	int encrypt;
	int accept_plain;
	const char
	    *state_dir; /* db, spool files, staging, sent copies, quarantine */
	const char *inbox;
	const char *outbox;
	const char *quarantine; /* default <state>/quarantine */
	/* batching */
	unsigned max_docs;  /* documents per package (default 100) */
	uint64_t max_bytes; /* payload bytes per package (default 64 MiB) */
	uint64_t
	    backlog_bytes;    /* ... while more waits (default 2 MiB; 0: off) */
	unsigned max_wait_ms; /* oldest document waits at most this (200) */
	unsigned receipt_delay; /* seconds before receipts go alone (30) */
	unsigned
	    resend_interval; /* seconds before an unreceipted re-offer (600) */
	unsigned scan_interval; /* seconds between full inbox scans (10) */
	unsigned
	    checkpoint_entries; /* checkpoint every N journal entries (100) */
	unsigned checkpoint_minutes; /* ... or every M minutes (10) */
	enum pkg_compress compress;
	enum digest_alg digest;
	/* [retention]: seconds after closure / in quarantine; 0: kept */
	unsigned retain_personal;      /* personal data (30 days) */
	unsigned retain_quarantine;    /* rejected files (90 days) */
	struct pkg_verify_opts verify; /* own_id and trust are filled in */
	/*
	 * The gateway's business side (ПОС adapter on the edge, EDMS exchange
	 * on the core): called once per round, before packing, so what it
	 * queues leaves in the same round. It counts its work in *did and
	 * returns -1 on trouble it has logged.
	 */
	int (*hook)(struct xfer *, void *, int *);
	void *hook_arg;
};

/* One attachment of a document to send: its payload path and local file. */
/*
 * A file's Streebog-256 digest computed ahead (a custody worker), with the
 * identity of the file it was computed over: the store uses it only if the
 * file it links is still that file (device, inode, size, modification time).
 */
struct xfer_hash {
	char hex[DIGEST_HEX_LEN + 1];
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

struct xfer_file {
	const char *path;
	const char *src;
	int take; /* the caller removes src once queued: the store may link it */
	const struct xfer_hash *hash; /* src's digest if known, or NULL */
};

struct xfer;

/* xfer.c */
void xfer_config_default(struct xfer_config *);
struct xfer *xfer_open(const struct xfer_config *, int, struct error *);
struct db *xfer_db(struct xfer *);
void xfer_set_hook(
    struct xfer *, int (*)(struct xfer *, void *, int *), void *);
const struct xfer_config *xfer_config(struct xfer *);
void xfer_wake_on(struct xfer *, const char *);
struct signer *xfer_signer(struct xfer *);
struct trust *xfer_self_trust(struct xfer *);
struct trust *xfer_peer_trust(struct xfer *);
int xfer_step(struct xfer *, int *);
int xfer_run(struct xfer *, volatile sig_atomic_t *, volatile sig_atomic_t *);
void xfer_reconfigure(struct xfer *, const struct xfer_config *);
int xfer_scan(struct xfer *, int *);
int xfer_checkpoint(struct xfer *, int);
void xfer_close(struct xfer *);
int xfer_trust_crls(
    struct trust *, const struct xfer_config *, const char *, struct error *);

/* spool.c */
int spool_enqueue(struct xfer *, const char *, const char *, const void *,
    size_t, const struct xfer_file *, size_t, struct error *);
int spool_pack(struct xfer *, int, int *);
uint64_t spool_cap(const struct xfer *);
int spool_sync_with(
    struct xfer *, struct fs_syncset *, const char *, struct error *);
int spool_reoffer(struct xfer *, int, int *);

/* store.c */
int store_sync(struct xfer *, struct error *);
int store_hash_known(const char *, struct xfer_hash *, struct error *);
const char *store_path(struct xfer *, const char *);

/* ingest.c */
int ingest_file(struct xfer *, const char *, struct error *);
int64_t ingest_gaps(
    struct db *, const char *, void (*)(int64_t, int64_t, void *), void *);

/* clock.c: seconds of the monotonic clock */
time_t clock_mono(void);

#endif
