/* posmap.h: the one replaceable mapping between ПОС content and posgw documents. */
#ifndef POSGW_POSMAP_H
#define POSGW_POSMAP_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "error.h"

/* Namespace of the ПОС content model (formats/smev/README.md, "P"). */
#define POSMAP_NS "urn:posgw:pos:1"

#define POSMAP_ID_MAX 24 /* a ПОС appeal id (20 digits) and its NUL */

/* What a MessagePrimaryContent element is. */
enum posmap_kind {
	POSMAP_UNKNOWN = 0,
	POSMAP_APPEAL,        /* P:Appeal: a new appeal */
	POSMAP_FEEDBACK,      /* P:Feedback: citizen feedback */
	POSMAP_CLASSIFIER,    /* P:Classifier: categories */
	POSMAP_VERDICT,       /* P:StatusAccepted or P:StatusRefused */
	POSMAP_STATS_VERDICT, /* P:StatisticsAccepted or P:StatisticsRefused */
};

/* One attachment of an appeal: which AttachmentHeader carries it. */
struct posmap_attachment {
	const char *header_id; /* AttachmentHeader Id (lives in the doc) */
	uint64_t declared;     /* size ПОС declared, 0 if none */
	uint64_t size;         /* actual size, filled in by the caller */
	char path[64];         /* payload path in the appeal document */
};

/* The facts of a P:Appeal the edge needs before mapping it. */
struct posmap_appeal {
	char pos_id[POSMAP_ID_MAX];
	char lko_id[21]; /* P:Organization/@lkoId, "" if none */
	struct posmap_attachment *att;
	size_t natt;
};

/* One signed file of an answer event (strings live in the event doc). */
struct posmap_file {
	const char *path;      /* payload path of the file */
	const char *signature; /* payload path of its detached .p7s */
	const char *name;
	const char *media_type;
	const char *size;
};

/* A posgw event document, read for sending as a P:StatusUpdate. */
struct posmap_event {
	xmlDocPtr doc;
	char pos_id[POSMAP_ID_MAX];
	int64_t n;
	const char *type;   /* posgw event type */
	const char *status; /* ПОС status code it maps to */
	const char *at;
	xmlNodePtr child; /* the type's child element */
	struct posmap_file *files;
	size_t nfiles;
};

/* ПОС's verdict on one of our StatusUpdates. */
struct posmap_verdict {
	int accepted;
	char pos_id[POSMAP_ID_MAX];
	int64_t n;
	char *code;   /* refusal code if it is a valid code, else NULL */
	char *reason; /* refusal text, cleaned (may be empty) */
};

/* A posgw statistics document, read for uploading as P:Statistics. */
struct posmap_stats {
	xmlDocPtr doc;
	char id[40]; /* statistics/@id */
	const char *from, *to;
	size_t rows;
};

/* ПОС's verdict on one of our P:Statistics uploads. */
struct posmap_stats_verdict {
	int accepted;
	char id[40];
	char *code;   /* refusal code if it is a valid code, else NULL */
	char *reason; /* refusal text, cleaned (may be empty) */
};

enum posmap_kind posmap_kind(xmlNodePtr);
int posmap_appeal_read(xmlNodePtr, struct posmap_appeal *, struct error *);
int posmap_appeal_doc(xmlNodePtr, const struct posmap_appeal *, char **,
    size_t *, struct error *);
void posmap_appeal_free(struct posmap_appeal *);
int posmap_feedback_doc(
    xmlNodePtr, const char *, char *, char **, size_t *, struct error *);
int posmap_classifier_doc(xmlNodePtr, const char *, char *, size_t, char **,
    size_t *, struct error *);
xmlNodePtr posmap_received(xmlNodePtr, const char *, const char *);
int posmap_event_read(
    const void *, size_t, struct posmap_event *, struct error *);
void posmap_event_free(struct posmap_event *);
xmlNodePtr posmap_status_update(
    xmlNodePtr, const struct posmap_event *, char *const *);
int posmap_verdict_read(xmlNodePtr, struct posmap_verdict *, struct error *);
void posmap_verdict_free(struct posmap_verdict *);
int posmap_outcome_doc(const char *, int64_t, const char *, int, const char *,
    const char *, char **, size_t *);
char *posmap_clean_text(const char *, size_t);
int posmap_stats_read(
    const void *, size_t, struct posmap_stats *, struct error *);
void posmap_stats_free(struct posmap_stats *);
xmlNodePtr posmap_statistics(xmlNodePtr, const struct posmap_stats *);
int posmap_stats_verdict_read(
    xmlNodePtr, struct posmap_stats_verdict *, struct error *);
void posmap_stats_verdict_free(struct posmap_stats_verdict *);

#endif
