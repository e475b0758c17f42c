/* sim.h: posgw-sim, a simulator of ПОС behind the SMEV adapter's file channel. */
#ifndef POSGW_SIM_H
#define POSGW_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <libxml/tree.h>

#include "error.h"

/* Namespaces of formats/smev/README.md. */
#define SIM_NS_T "urn://x-artefacts-smev-gov-ru/services/service-adapter/types"
#define SIM_NS_P "urn:posgw:pos:1"
#define SIM_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"

#define SIM_POS_BASE 177000000ULL /* pos-id of appeal i is SIM_POS_BASE + i */
#define SIM_MAX_COUNT 1000000u
#define SIM_MAX_TRUST 16
#define SIM_MAX_LKO 8    /* --lko-id ID,... */
#define SIM_MAX_OKTMO 16 /* --oktmo CODE,... */
#define SIM_MAX_ATTACHMENTS 100
#define SIM_UUID_LEN 36
#define SIM_CLASSIFIER_VERSION "2026.11"

/* A growable byte string, always NUL-terminated. */
struct sim_buf {
	char *s;
	size_t len, cap;
};

/* splitmix64: the simulator's own deterministic generator (never rand()). */
struct sim_rng {
	uint64_t s;
};

/* ПОС status codes a StatusUpdate may carry. */
enum sim_status {
	SIM_MODERATION_ACCEPT,
	SIM_MODERATION_DECLINE,
	SIM_TAKE_TO_WORK,
	SIM_SET_EXECUTOR,
	SIM_POSTPONE,
	SIM_FORWARD_TO_PARENT,
	SIM_FORWARD_TO_SUBORDINATE,
	SIM_SEND_RESPONSE,
	SIM_FORWARD_TO_ORGANIZATION,
	SIM_NSTATUS
};

/* Where an appeal stands, from the statuses ПОС accepted. */
enum sim_phase {
	SIM_PHASE_NEW,       /* no status accepted yet */
	SIM_PHASE_WORK,      /* accepted by moderation, not finished */
	SIM_PHASE_ANSWERED,  /* SEND_RESPONSE accepted */
	SIM_PHASE_DECLINED,  /* MODERATION_DECLINE accepted */
	SIM_PHASE_FORWARDED, /* FORWARD_* accepted: our part is over */
};

/* One attachment of a generated appeal; its content is a function of seed. */
struct sim_att {
	char id[SIM_UUID_LEN + 1]; /* AttachmentHeader Id */
	char name[96];             /* original file name, also the filePath */
	const char *mime;
	uint64_t size;
	uint64_t seed;
	unsigned type; /* index into the file type table (magic bytes) */
};

/* What sim_gen_appeal decided besides the XML. */
struct sim_gen_out {
	unsigned natt;        /* attachments used from att[] */
	int race;             /* write the XML before the attachments */
	int fz59;             /* APPEAL_59FZ rather than MESSAGE */
	unsigned lko;         /* index into --lko-id */
	int oktmo;            /* index into --oktmo, -1: none given */
	const char *category; /* the ПОС category code */
	char created[32];     /* P:Appeal/@createdAt */
	char text[2048];
};

/* One appeal the simulator issues, and what the edge did with it. */
struct sim_appeal {
	char
	    client_id[SIM_UUID_LEN + 1]; /* of the RequestMessage carrying it */
	char kind[16];                   /* MESSAGE or APPEAL_59FZ */
	int issued;
	int race;         /* XML written before its attachments */
	unsigned acks;    /* P:Received accepted (at most 1) */
	int edge_refused; /* the edge answered rejects */
	unsigned last_n;  /* last n consumed (accepted or refused) */
	enum sim_phase phase;
	int complete;
	int feedback;         /* rating sent, 0 if none */
	unsigned lko;         /* index into --lko-id */
	int oktmo;            /* index into --oktmo, -1: none given */
	const char *category; /* the ПОС category code */
	char created[11];     /* the day it was filed (UTC), YYYY-MM-DD */
	struct sim_buf hist;  /* "n:STATUS:verdict" words, comma-separated */
	size_t origin;        /* a re-appeal: 1 + the appeal it repeats */
};

/* An attachment created empty after its XML and filled when due. */
struct sim_fill {
	double due;     /* of the next stage */
	double fill_at; /* when the content is written */
	int stage;      /* 0: missing, 1: empty, then filled and dropped */
	size_t appeal;
	char *path;
	struct sim_att att;
};

/* What a clientId known to the simulator stands for. */
enum sim_req_kind {
	SIM_REQ_APPEAL,     /* our request carrying an appeal */
	SIM_REQ_CLASSIFIER, /* our request carrying the classifier */
	SIM_REQ_FEEDBACK,   /* our request carrying citizen feedback */
	SIM_REQ_SEEN,       /* a message of the edge already consumed */
};

struct sim_req {
	char id[SIM_UUID_LEN + 1]; /* lowercase; empty = free slot */
	enum sim_req_kind kind;
	size_t appeal;
	unsigned replies;
};

/* Command-line options. */
struct sim_opts {
	const char *base;
	const char *attachments_in;
	const char *mnemonic;
	const char *summary;
	char lko_ids[SIM_MAX_LKO][21]; /* --lko-id: appeals spread over them */
	size_t nlko;
	char oktmo[SIM_MAX_OKTMO][12]; /* --oktmo: territories of problems */
	size_t noktmo;
	const char *signer_trust[SIM_MAX_TRUST];
	size_t nsigner_trust;
	size_t count;
	uint64_t seed;
	double rate;
	uint64_t attachment_size;
	unsigned attachments;
	int issue_only;            /* write the appeals and exit */
	int attachments_exact;     /* every appeal gets exactly attachments */
	unsigned attachment_share; /* % of appeals with attachments (100) */
	unsigned appeal59_share;
	unsigned
	    reappeal; /* % of answered appeals asked again (59-FZ art. 11) */
	unsigned feedback;
	unsigned refuse;
	double timeout;
	int until_complete;
	size_t expect_stats; /* --expect-stats: wait for this many uploads */
	int verbose;
};

/* Totals of the summary line and the summary file. */
struct sim_counters {
	size_t issued;
	size_t acknowledged;
	size_t answered;
	size_t declined;
	size_t forwarded;
	size_t refused_pos;
	size_t order;
	size_t invalid;
	size_t complete;
	size_t refused_edge;
	size_t transport;
	size_t feedback;
	size_t accepted;
	size_t rejects;
	size_t stats;     /* P:Statistics uploads received */
	size_t stats_bad; /* ... whose totals did not match */
};

struct trust;

/* The whole simulator state, in memory; decisions also go to DIR/sim.log. */
struct sim {
	struct sim_opts o;
	char *in, *out, *sent, *error, *ain;
	FILE *log;
	struct trust *trust;
	struct sim_rng dec; /* decisions while running: refuse, feedback... */
	struct sim_appeal *ap;
	struct sim_req *reqs; /* open-addressing table, power-of-two size */
	size_t nreqs, capreqs;
	struct sim_fill *fills;
	size_t nfills, capfills;
	char classifier_id[SIM_UUID_LEN + 1];
	const char *classifier_state;
	unsigned long seq;                   /* in/ file sequence */
	char (*stats_ids)[SIM_UUID_LEN + 1]; /* statistics uploaded */
	size_t nstats_ids;
	struct sim_counters c;
	size_t nfollow; /* re-appeals scheduled (--reappeal), after count */
	size_t capfollow;
};

/* sim.c */
int sim_run(int, char **);
size_t sim_total(const struct sim *);
void sim_reappeal(struct sim *, size_t);
double sim_now(void);
void sim_timestamp(time_t, char *, size_t);
void sim_log(struct sim *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void sim_buf_add(struct sim_buf *, const char *);
void sim_buf_addn(struct sim_buf *, const char *, size_t);
void sim_buf_addf(struct sim_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void sim_buf_esc(struct sim_buf *, const char *);
void sim_buf_free(struct sim_buf *);
void sim_rng_seed(struct sim_rng *, uint64_t);
uint64_t sim_rng_next(struct sim_rng *);
unsigned sim_rng_below(struct sim_rng *, unsigned);
int sim_rng_percent(struct sim_rng *, unsigned);
void sim_uuid(char[SIM_UUID_LEN + 1]);
int sim_is_uuid(const char *);
struct sim_req *sim_req_find(struct sim *, const char *);
struct sim_req *sim_req_add(
    struct sim *, const char *, enum sim_req_kind, size_t);
const char *sim_status_name(enum sim_status);
int sim_status_from_name(const char *, enum sim_status *);
void sim_mark_complete(struct sim *, size_t);

/* sim-gen.c */
void sim_gen_classifier(struct sim_buf *, const char *);
void sim_gen_appeal(const struct sim_opts *, size_t, size_t, time_t,
    struct sim_buf *, struct sim_att *, struct sim_gen_out *);
void sim_gen_feedback(
    struct sim_rng *, uint64_t, time_t, struct sim_buf *, const char *, int *);
void sim_gen_refusal(struct sim_rng *, const char **, const char **);
int sim_gen_write(int, const struct sim_att *);

/* sim-in.c */
void sim_in_classifier(struct sim *);
void sim_in_appeal(struct sim *, size_t);
void sim_in_accepted(struct sim *, const char *, uint64_t, unsigned long);
void sim_in_refused(struct sim *, const char *, uint64_t, unsigned long,
    const char *, const char *);
void sim_in_reject(struct sim *, const char *, const char *);
void sim_in_stats_verdict(
    struct sim *, const char *, const char *, const char *, const char *);
void sim_in_transport(struct sim *, const char *);
void sim_in_feedback(struct sim *, size_t);
void sim_in_fills(struct sim *, double, int);
double sim_in_next_fill(const struct sim *);

/* sim-out.c */
void sim_out_scan(struct sim *);

/* sim-stats.c */
void sim_stats_upload(struct sim *, const char *, const char *, xmlNodePtr);

/* sim-answer.c */
int sim_answer_check(
    struct sim *, xmlNodePtr, xmlNodePtr, const char *, struct error *);

/* sim-xml.c */
const char *sim_xml_qname(xmlNodePtr, char *, size_t);
int sim_xml_child(
    xmlNodePtr, const char *, const char *, int, xmlNodePtr *, struct error *);
int sim_xml_only(xmlNodePtr, const char *, const char *const *, struct error *);
int sim_xml_value(xmlNodePtr, char *, size_t, struct error *);
int sim_xml_leaf(
    xmlNodePtr, const char *, const char *, char *, size_t, struct error *);
int sim_xml_has_text(xmlNodePtr);
int sim_xml_sole(xmlNodePtr, xmlNodePtr *, struct error *);
int sim_xml_digits(const char *, size_t);
int sim_xml_date(const char *);
int sim_xml_timestamp(const char *);
const char *sim_xml_attr(xmlNodePtr, const char *, struct error *);

#endif
