/* conf.h: the INI configuration of posgw-edge and posgw-core. */
#ifndef POSGW_CONF_H
#define POSGW_CONF_H

#include "error.h"
#include "xfer.h"

/* [smev]: the SMEV 3 adapter's file channel (posgw-edge only). */
struct conf_smev {
	int present;
	char *base;               /* adapter directory holding in/ and out/ */
	char *mnemonic;           /* itSystem */
	char *attachments_in;     /* default <base>/attachments-in */
	char *attachments_out;    /* default <base>/attachments-out */
	unsigned attachment_wait; /* seconds to wait for a late attachment */
	unsigned settle;    /* seconds a file must be unchanged to be judged */
	unsigned retry_min; /* first retry after a transport failure */
	unsigned retry_max; /* longest retry interval */
	int test_message;   /* mark requests testMessage */
};

/* [edms]: the EDMS exchange folders (posgw-core only). */
struct conf_edms {
	int present;
	char *export_dir; /* appeals and outcomes for the EDMS */
	char *import_dir; /* events from the EDMS */
	char *signer_trust[XFER_MAX_TRUST]; /* who may sign answer files */
	size_t nsigner_trust;
	unsigned appeal_days;  /* 59-FZ appeals: days from registration */
	unsigned message_days; /* ПОС messages: days from creation */
	unsigned forward_days; /* 59-FZ art. 8: forwarding within (7) */
	unsigned repeat_days;  /* repeated appeals looked for within (365) */
	unsigned
	    stats_interval; /* s between statistics (86400; 0: on demand) */
};

#define CONF_MAX_LKO 64   /* [lko]: organizations this gateway serves */
#define CONF_MAX_ORGS 256 /* [orgs]: others appeals may be forwarded to */

/* A ПОС organization (ЛКО): its id, territory (OKTMO) and name. */
struct conf_org {
	char *id;
	char *oktmo; /* [lko] only; NULL in [orgs] */
	char *name;
};

struct conf {
	char *path;
	struct xfer_config x;
	int log_level;
	int sandbox;          /* [gateway] sandbox: Landlock after start-up */
	int seccomp;          /* [gateway] seccomp: enum sysfilter_mode */
	int expiry_warn_days; /* [gateway] expiry_warn_days (30; 0 off) */
	/* owned strings behind the const pointers in x */
	char *own_id, *peer_id, *key, *cert, *state, *inbox, *outbox,
	    *quarantine;
	char *exchange_key, *exchange_cert, *peer_exchange_cert;
	char *previous_exchange_key, *previous_exchange_cert;
	char *previous_key, *previous_cert; /* a rollover in progress */
	char *trust[XFER_MAX_TRUST];
	char *crl[XFER_MAX_TRUST];
	struct conf_smev smev;
	struct conf_edms edms;
	struct conf_org lko[CONF_MAX_LKO]; /* none listed: any ЛКО is served */
	size_t nlko;
	struct conf_org orgs[CONF_MAX_ORGS];
	size_t norgs;
};

int conf_load(const char *, struct conf *, struct error *);
void conf_free(struct conf *);
int conf_check_role(struct conf *, const char *, struct error *);
const struct conf_org *conf_lko_find(const struct conf *, const char *);
void conf_orgs_copy(struct conf *, const struct conf *);
const struct conf_org *conf_org_find(const struct conf *, const char *);

#endif
