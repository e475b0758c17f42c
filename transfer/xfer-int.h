/* xfer-int.h: the transfer engine's private state, shared by its modules. */
#ifndef POSGW_XFER_INT_H
#define POSGW_XFER_INT_H

#include "xfer.h"

#include "fsutil.h"
#include "kex.h"
#include "log.h"

struct rollover_retired {
	char fp[65];   /* a peer certificate retired by its rollover */
	char why[300]; /* the reason a package signed with it is refused */
};

struct xfer {
	struct xfer_config c;
	struct db *db;
	struct signer *signer;
	struct trust *trust; /* the peer's anchors */
	struct trust *self;  /* our own certificate, to re-read our packages */
	struct kex_key *kex; /* ours, to open envelopes for us */
	struct kex_key *kex_prev; /* our previous one, during a rollover */
	struct kex_pub *peer_kex; /* the peer's, to seal for it */
	char *dir_files;
	char *dir_staging;
	char *dir_sent;
	char *dir_quarantine;
	char *pathbuf;
	int ifd;           /* inotify */
	int iwd;           /* watch on the inbox, -1 when it is gone */
	int inbox_missing; /* logged that the inbox is gone */
	char *wake_dir;    /* a folder of the role's whose changes wake us */
	int wake_wd;       /* its watch, -1 when not (yet) watched */
	int wake_warned;   /* logged that it cannot be watched */
	int want_scan;
	struct fs_syncset store_unsynced; /* await store_sync */
	int tool;                         /* opened by an operator command */
	time_t last_scan;
	char **ignored; /* names logged once as left alone */
	size_t nignored;
	struct log_recent recent; /* warnings a round repeats, said lately */
	/* retention.c */
	const char *closed_sql; /* the role's closed appeals (?1: cutoff) */
	char *ret_dirs[4];      /* more folders of rejected files */
	size_t nret_dirs;
	time_t last_retention; /* clock_mono of the last run, 0: none yet */
	int ret_checkpoint;    /* a purge awaits the truncation of the WAL */
	char *ret_cursor;      /* the last pos_id of an unfinished run */
	/* rollover.c */
	struct signer *signer_prev; /* previous_key: signs while announcing */
	char own_fp[65];            /* SHA-256 of cert */
	char prev_fp[65];           /* SHA-256 of previous_cert */
	int roll_announcing;   /* the peer has not receipted our new cert */
	int roll_own_done;     /* our rollover completed: kex_prev retired */
	int kex_prev_implicit; /* kex_prev is previous_key's own */
	int roll_pending;      /* some rollover is not completed */
	int roll_dirty;        /* the database changed: reload */
	struct rollover_retired *retired;
	size_t nretired;
};

/*
 * The engine's modules, each calling only those below it:
 *   xfer.c    open, the loop, scans, checkpoints (the public entry)
 *   ingest.c  one inbox package: verify, import, receipt, quarantine
 *   spool.c   the outbound spool: queue documents, build and offer packages
 *   store.c   the file store (STATE/files/)
 *   retention.c  personal data and rejected files past their periods
 *   rollover.c   key rollovers: announce, learn, switch, retire
 *   clock.c   wall and monotonic time
 *   db.c, journal.c  the database and its hash-chained journal
 */

/* ingest.c */
void ingest_warn_once(struct xfer *, const char *, const char *);

/* spool.c */
int spool_offer(struct xfer *, const char *, struct error *);
int spool_finish(struct xfer *);
int spool_pack_due(struct xfer *, int, int *);
int spool_receipt(struct xfer *, const char *, const char *, uint64_t,
    const char *, const char *, const char *, struct error *);

/* store.c */
int store_file(
    struct xfer *, const char *, int, char *, uint64_t *, struct error *);
int store_file_known(struct xfer *, const char *, const struct xfer_hash *,
    char *, uint64_t *, struct error *);

/* clock.c */
int64_t clock_ms(void);

#endif
