/*
 * edms.h: the EDMS exchange contract shared by posgw-core and posgw edms:
 * the core's tables, deadlines, allowed transitions, reading and checking an
 * event file of the import folder, and writing one.
 */
#ifndef POSGW_EDMS_H
#define POSGW_EDMS_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "conf.h"
#include "db.h"
#include "error.h"
#include "package.h"
#include "sig.h"

#define EDMS_SCHEMA_VERSION 4
#define EDMS_MAX_FILES 1000   /* files of one answer (event.xsd) */
#define EDMS_SIG_MAX 1048576  /* bytes of one detached signature */
#define EDMS_POSTPONE_DAYS 30 /* 59-FZ: one extension of up to 30 days */

/* One answer file of an event, as named in the import folder. */
struct edms_file {
	char *rel;        /* file/@path as given: a plain file name */
	char *sig;        /* file/@signature as given */
	char *name;       /* the original file name (file/@name) */
	uint64_t size;    /* file/@size */
	char path[64];    /* payload path it is sent under */
	char sigpath[64]; /* payload path of its signature */
};

/* An event document checked against the contract and rewritten for sending. */
struct edms_event {
	xmlDocPtr doc; /* with payload paths in file/@path, @signature */
	char pos_id[21];
	long n;
	char type[16];
	char at[21];
	char date[11];     /* registration/@date or postpone/@until */
	char fwd_kind[16]; /* forward/@direction */
	char fwd_to[21];   /* forward/@lko-id */
	char result[16];   /* answer/@result ("" when not given); the
	                      decision of a type "repeated" mark */
	int measures;      /* answer/@measures = true */
	struct edms_file *files;
	size_t nfiles;
};

/* What the core knows of an appeal: the row of core_appeals that matters. */
struct edms_appeal {
	char pos_id[21];
	char kind[16];    /* message, appeal59 */
	char created[21]; /* YYYY-MM-DDThh:mm:ssZ */
	char state[16];   /* new registered in_work postponed forwarded
	                      declined answered */
	char due[11];     /* YYYY-MM-DD or "" */
	char registered[11];
	char pos_due[11];     /* ПОС's deadline, "" if it gave none */
	char forward_due[11]; /* 59-FZ art. 8: forward by then, "" if n/a */
	char closed[11];      /* answered, declined or forwarded on */
	long last_n;
	int postpones;
};

/* A new event for posgw edms to write into the import folder. */
struct edms_new {
	const char *pos_id;
	long n;
	const char *type;
	const char *number, *date;         /* registered */
	const char *text;                  /* comment, reason, answer, name */
	const char *until;                 /* postpone */
	const char *direction, *lko_id;    /* forward */
	const char *position, *department; /* set-executor */
	const char **file_src;             /* answer files ... */
	const char **sig_src;              /* ... and their .p7s */
	size_t nfiles;
	const char *result; /* answer/@result, NULL: not given (explained) */
	int measures;       /* answer/@measures="true" */
};

extern const struct db_schema edms_db_schema;
extern const char edms_closed_sql[];
extern const char edms_overdue_sql[];
int edms_have_schema(struct db *);
char *edms_db_path(const struct conf *);

int edms_date_parse(const char *, long *);
void edms_date_format(long, char *);
long edms_today(void);
void edms_today_str(char *);
int edms_initial_due(
    const char *, const char *, const struct conf_edms *, char *);
int edms_appeal_load(struct db *, const char *, struct edms_appeal *);
int edms_advance(struct edms_appeal *, const struct edms_event *,
    const struct conf_edms *, struct error *);
const char *edms_state_label(const char *);
int edms_state_open(const char *);

int edms_event_plain_name(const char *);
int edms_event_prepare(
    xmlDocPtr, const char *, struct edms_event *, struct error *);
int edms_event_read(const char *, const char *, const struct pkg_limits *,
    struct edms_event *, struct error *, int *);
void edms_event_free(struct edms_event *);
int edms_event_waiting(const char *, const char *, const struct pkg_limits *,
    struct edms_event **, size_t *);

struct trust *edms_sign_trust(
    const struct conf_edms *, const struct xfer_config *, struct error *);
int edms_sign_verify(const char *, const char *, const char *, const char *,
    uint64_t, struct trust *, unsigned, struct error *);

int edms_write_xml(
    const struct edms_new *, const struct edms_file *, char **, size_t *);
int edms_write(const struct conf *, const struct edms_new *, struct trust *,
    const struct edms_appeal *, char *, size_t, struct error *);

#endif
