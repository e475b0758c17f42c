/*
 * edge-int.h: posgw-edge's modules and what they share. The layers, each
 * calling only those below it:
 *   edge.c          open, one round, in/ scan and dispatch
 *   edge-request.c  ПОС's requests: appeal custody, attachments, feedback,
 *                   classifier
 *   edge-reply.c    ПОС's replies to our requests, transport statuses,
 *                   retries
 *   edge-event.c    the core's events out as StatusUpdate requests, and
 *                   outcomes back to the core
 *   edge-stats.c    the core's statistics out as P:Statistics requests
 *   edge-hash.c     custody hashing on a worker per CPU, for a round
 *   edge-msg.c      finishing an in/ file: answered, refused, dropped,
 *                   left over from a crash, a duplicate
 *   edge-out.c      the crash-safe out/ writer (tmp, commit, publish)
 *   edge-db.c       the edge's tables: every SQL statement of the edge
 */
#ifndef POSGW_EDGE_INT_H
#define POSGW_EDGE_INT_H

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <libxml/tree.h>

#include "db.h"
#include "edge.h"
#include "error.h"
#include "fsutil.h"
#include "posmap.h"
#include "smev.h"

#define EDGE_MAX_SIG (1 << 20)        /* largest detached signature we send */
#define EDGE_FAILED_CODE "POSGW_EDGE" /* outcome code: the edge cannot send */
#define EDGE_HANDLED_KEEP (7 * 86400) /* s a handled in/ file is remembered */
#define EDGE_IDLE_SETTLE 2  /* s: an older in/ ctime lets listings be skipped */
#define EDGE_IDLE_RELIST 60 /* s: an unchanged empty in/ is listed anyway */
/* in/ names kept from one listing in a flood (edge_in_names); a build
 * for tests may set smaller ones (tests/shell/edge-flood.sh says how) */
#ifndef EDGE_SCAN_MIN
#define EDGE_SCAN_MIN 4096 /* at least */
#endif
#ifndef EDGE_SCAN_MAX
#define EDGE_SCAN_MAX 65536 /* at most (about 4 MiB of names) */
#endif
#ifndef EDGE_SCAN_SHARE
#define EDGE_SCAN_SHARE 16 /* else this share of the files left */
#endif

struct edge {
	struct xfer *x;
	struct db *db;
	char *mnemonic;
	char *in, *out, *out_error, *rejected, *ain, *aout;
	unsigned attachment_wait, settle, retry_min, retry_max;
	int test_message;
	size_t max_xml;
	int max_depth;
	int recover;    /* publish or drop leftover out/ temporaries */
	int in_missing; /* logged that in/ cannot be read */
	struct timespec errdir_mtime;
	int errdir_seen;
	char **stuck; /* in/ files handled but not removable: skipped */
	size_t nstuck;
	char **scan; /* a flood: the first in/ names, taken round by round */
	size_t nscan, scanpos;
	size_t scan_keep;         /* names to keep from the next listing */
	struct timespec in_ctime; /* in/'s ctime read before the last listing */
	dev_t in_dev;             /* ... and its device and inode */
	ino_t in_ino;
	int in_idle;      /* it was empty and in/ had settled: skip listings */
	time_t in_listed; /* when in/ was last listed (CLOCK_MONOTONIC s) */
	int batch;        /* in a batch: file moves wait for commit */
	struct fs_syncset answers; /* batch: answers written, not yet synced */
	struct edge_out_defer *defer; /* what to do once the batch commits */
	size_t ndefer;
	time_t pruned;    /* when edge_in_handled was last pruned */
	struct conf orgs; /* [lko]: the organizations served (none: any) */
	struct edge_hash *hash; /* a round's custody hashing (edge-hash.c) */
	size_t hash_workers;    /* its threads: one per CPU it may run on */
	uint64_t round_bytes;   /* bytes queued for the core this round */
};

/* A file-system step postponed until its batch transaction commits. */
enum edge_defer_kind {
	EDGE_DEFER_PUBLISH,    /* a: clientId */
	EDGE_DEFER_IN_DONE,    /* a: path, b: name */
	EDGE_DEFER_RMTREE,     /* a: attachment path */
	EDGE_DEFER_QUARANTINE, /* a: path, b: name, c: MessageId, d, e: why */
};

struct edge_out_defer {
	enum edge_defer_kind kind;
	char *s[5];
};

/* An event due to be sent. */
struct edge_due {
	char pos[POSMAP_ID_MAX];
	int64_t n, docid;
};

/* The event one of our requests carried, and its state. */
struct edge_sent {
	char pos[POSMAP_ID_MAX];
	int64_t n;
	char state[16], type[32], status[64];
};

/* One of our requests as the edge recorded it, with its event if any. */
struct edge_req {
	char kind[16], state[16], pos[POSMAP_ID_MAX];
	int64_t n, attempts;
	char evstate[16], evcid[64]; /* the event's state and request */
	int64_t evattempts;
};

/* Statistics being uploaded, as the edge recorded them. */
struct edge_stats_row {
	int64_t docid, attempts;
	char id[40], state[16], cid[64], from[11], to[11];
};

/* An answer of ours to resend after a transport failure (strings owned). */
struct edge_resend {
	char *cid, *kind, *pos, *reply_to, *code, *detail;
	int64_t attempts;
};

/* One adapter message from in/, as far as it could be read. */
struct edge_msg {
	const char *name;
	char *path;
	struct stat sb;
	xmlDocPtr doc;
	xmlNodePtr message;
	char *message_id;
	char *type; /* local part of Message/@xsi:type */
	enum smev_type kind;
	char *client_id; /* a request's own clientId: whom to answer */
};

/* edge-db.c */
extern const struct db_schema edge_db_schema;
int edge_db_journal(struct edge *e, const char *kind, const char *pos,
    struct error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int edge_db_seen(struct edge *e, struct edge_msg *m, const char *outcome,
    const char *corr, const char *pos, const char *code, const char *reason,
    struct error *err);
int edge_db_request_add(struct edge *e, const char *cid, const char *kind,
    const char *pos, int64_t n, const char *reply_to, const char *code,
    const char *detail, int64_t attempts, struct error *err);
int edge_db_unwait(struct edge *e, struct edge_msg *m, struct error *err);
int edge_db_request_known(struct edge *e, const char *cid);
int edge_db_appeal_known(struct edge *e, const char *pos);
char *edge_db_answered(struct edge *e, const char *cid);
char *edge_db_col(sqlite3_stmt *st, int i);
void edge_db_prune(struct edge *e);
int edge_db_handled(
    struct edge *e, struct edge_msg *m, char **code, char **reason);
int edge_db_message(
    struct edge *e, const char *message_id, char **file, char **outcome);
int edge_db_appeal_add(struct edge *e, const char *pos,
    const struct edge_msg *m, int64_t *docid, struct error *err);
int edge_db_waiting(struct edge *e, const char *message_id, int64_t *first);
int edge_db_wait(struct edge *e, const struct edge_msg *m, const char *pos,
    const char *missing, int64_t first, struct error *err);
int64_t edge_db_stored_size(struct edge *e, const char *pos, const char *path);
int edge_db_classifier_set(
    struct edge *e, const char *version, const char *digest, struct error *err);
char *edge_db_classifier_digest(struct edge *e);
int edge_db_event_next(struct edge *e, int64_t *id, void **body, size_t *len);
int edge_db_document(struct edge *e, int64_t id, void **body, size_t *len);
int edge_db_consume(struct edge *e, int64_t id, struct error *err);
int edge_db_event_add(struct edge *e, const struct posmap_event *ev, int64_t id,
    int *dup, struct error *err);
void edge_db_events_due(struct edge *e, struct edge_due **due, size_t *n);
int edge_db_event_sent(struct edge *e, const char *pos, int64_t n,
    const char *cid, int64_t *attempts, struct error *err);
int edge_db_event_fail(struct edge *e, const char *pos, int64_t n,
    const char *code, const char *why, struct error *err);
char *edge_db_file_digest(struct edge *e, int64_t docid, const char *path);
int edge_db_event_of(struct edge *e, const char *cid, struct edge_sent *ev);
int edge_db_event_final(struct edge *e, const char *cid,
    const struct edge_sent *ev, const char *state, const char *code,
    const char *reason, const char *closes, struct error *err);
void edge_db_event_requests(
    struct edge *e, const char *pos, int64_t n, char ***cids, size_t *ncids);
void edge_db_request_get(struct edge *e, const char *cid, struct edge_req *r);
int edge_db_request_failed(struct edge *e, const char *cid, const char *why,
    int64_t next_try, struct error *err);
int edge_db_event_retry(struct edge *e, const char *pos, int64_t n,
    int64_t next_try, const char *why, struct error *err);
void edge_db_request_kind(
    struct edge *e, const char *cid, char *kind, size_t len);
int edge_db_transport(
    struct edge *e, const char *cid, const char *text, struct error *err);
int edge_db_request_for(
    struct edge *e, const char *cid, const char *pos, int64_t n);
int edge_db_request_sent(
    struct edge *e, const char *cid, char *kind, size_t len);
void edge_db_resend_due(struct edge *e, struct edge_resend **rs, size_t *n);
int edge_db_request_retried(struct edge *e, const char *cid, struct error *err);

int edge_db_stats_next(struct edge *e, int64_t *id, void **body, size_t *len);
int edge_db_stats_add(struct edge *e, int64_t id, const struct posmap_stats *s,
    struct error *err);
void edge_db_stats_due(struct edge *e, int64_t **ids, size_t *n);
int edge_db_stats_sent(struct edge *e, int64_t id, const char *cid,
    int64_t *attempts, struct error *err);
int edge_db_stats_of(struct edge *e, const char *cid, struct edge_stats_row *r);
int edge_db_stats_final(struct edge *e, int64_t id, const char *state,
    const char *code, const char *reason, struct error *err);
int edge_db_stats_retry(struct edge *e, int64_t id, int64_t next_try,
    const char *why, struct error *err);

/* edge-out.c */
void edge_out_now(char *buf, size_t len);
xmlDocPtr edge_out_response(struct edge *e, const char *cid,
    const char *reply_to, const char *pos, const char *version,
    const char *code, const char *desc);
void edge_out_defer(struct edge *e, enum edge_defer_kind kind, const char *a,
    const char *b, const char *c, const char *d, const char *f);
int edge_out_write(
    struct edge *e, const char *cid, xmlDocPtr doc, struct error *err);
void edge_out_discard(struct edge *e, const char *cid);
int edge_out_publish(struct edge *e, const char *cid);
void edge_out_recover(struct edge *e);

/* edge-msg.c */
void edge_msg_stuck(struct edge *e, const char *name);
int edge_msg_is_stuck(struct edge *e, const char *name);
int edge_in_names(struct edge *, char ***, size_t *);
void edge_in_names_done(struct edge *, char **, size_t, size_t, int);
void edge_in_names_clear(struct edge *);
void edge_msg_attachments_remove(struct edge *e, struct edge_msg *m);
int edge_msg_unlink(struct edge *e, const char *path, const char *name);
void edge_msg_done(struct edge *e, struct edge_msg *m);
void edge_msg_move(struct edge *e, const char *path, const char *name,
    const char *message_id, const char *code, const char *text);
int edge_msg_reject(struct edge *e, struct edge_msg *m, const char *code,
    int answer, const char *kind, const char *pos, const char *text, int *did);
int edge_msg_drop(struct edge *e, struct edge_msg *m, const char *kind,
    const char *pos, int *did, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
int edge_msg_ack(struct edge *e, struct edge_msg *m, const char *pos,
    const char *version, const char *kind, const char *why, int *did);
int edge_msg_leftover(struct edge *e, struct edge_msg *m, int *did);
int edge_msg_duplicate(struct edge *e, struct edge_msg *m, int *did, int *rc);

/* edge-hash.c */
void edge_hash_start(
    struct edge *e, char **names, size_t n, size_t budget, uint64_t cap);
const struct xfer_hash *edge_hash_get(struct edge *e, const char *path);
void edge_hash_finish(struct edge *e);
size_t edge_hash_workers(void);

/* edge-request.c */
int edge_request_handle(struct edge *e, struct edge_msg *m, int *did);
int edge_request_settled(const struct edge *e, const struct stat *sb);

/* edge-reply.c */
int edge_reply_response(struct edge *e, struct edge_msg *m, int *did);
int edge_reply_transport(
    struct edge *e, struct edge_msg *m, int error, int *did);
int edge_reply_scan_errors(struct edge *e, int *did);
int edge_reply_resend(struct edge *e, int *did);
unsigned edge_reply_backoff(const struct edge *e, int64_t attempts);

/* edge-event.c */
int edge_event_take(struct edge *e, int *did);
int edge_event_send_due(struct edge *e, int *did);
int edge_event_outcome(struct edge *e, const char *pos, int64_t n, int refused,
    const char *code, const char *reason, struct error *err);

/* edge-stats.c */
int edge_stats_take(struct edge *e, int *did);
int edge_stats_send_due(struct edge *e, int *did);
int edge_stats_verdict(struct edge *e, struct edge_msg *m, const char *cid,
    xmlNodePtr content, int refused, const char *code, const char *reason,
    int *did);
int edge_stats_retry(
    struct edge *e, const char *cid, const char *why, struct error *err);

#endif
