/*
 * media.h: carrying packages between zones on removable media
 * (posgw media export|import), with a hand-over inventory.
 */
#ifndef POSGW_MEDIA_H
#define POSGW_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "digest.h"
#include "error.h"
#include "package.h"
#include "sig.h"

#define MEDIA_INVENTORY "posgw-inventory.txt"
#define MEDIA_INVENTORY_SIG "posgw-inventory.txt.p7s"
#define MEDIA_HANDOVERS "handovers" /* STATE/handovers: kept inventories */
#define MEDIA_EXPORT_LOG ".posgw-exported"
#define MEDIA_BUFSZ (1024 * 1024)
#define MEDIA_LINE_MAX 4096
#define MEDIA_COUNT_MAX 100000
#define MEDIA_TEXT_MAX 256

/* A journaled hand-over (--config): the gateway's state, key and peer. */
struct media_handover {
	struct db *db;         /* the gateway's database, opened as a tool */
	const char *state;     /* STATE; copies are kept in STATE/handovers */
	const char *own_id;    /* this gateway */
	const char *peer_id;   /* the other zone's gateway */
	struct signer *signer; /* export: the gateway's key signs */
	struct trust *own;  /* export: its certificate, to keep a signature */
	struct trust *peer; /* the peer's certificate: import verifies */
};

/* What one command was asked to do. */
struct media_opts {
	const char *from;          /* OUTBOX (export) or MEDIA (import) */
	const char *to;            /* MEDIA (export) or INBOX (import) */
	int resend;                /* export: also packages exported before */
	const char *operator_name; /* export: who hands the medium over */
	const char *for_id;        /* import: skip packages sent by this id */
	struct media_handover *handover; /* NULL: not signed, not journaled */
	int progress;                    /* draw a progress bar on stderr */
};

/* Counts for the summary line. */
struct media_stats {
	int ran; /* got past the checks of its arguments */
	unsigned long exported, skipped, already, before, on_media;
	unsigned long imported, refused, left;
};

/* One package line of the inventory. */
struct media_entry {
	char name[PKG_NAME_MAX];
	uint64_t size;
	char digest[DIGEST_HEX_LEN + 1];
	size_t line;
	int state;
};

/* The hand-over inventory, MEDIA/posgw-inventory.txt. */
struct media_inventory {
	char host[MEDIA_TEXT_MAX + 1];
	char operator_name[MEDIA_TEXT_MAX + 1];
	char time[32];
	struct media_entry *e;
	size_t n, cap;
};

/* How a copy went. */
enum media_copy_result {
	MEDIA_COPY_OK = 0,
	MEDIA_COPY_READ,     /* reading the source failed */
	MEDIA_COPY_WRITE,    /* writing, fsync or rename at the target failed */
	MEDIA_COPY_MISMATCH, /* the source is not what was expected */
	MEDIA_COPY_READBACK  /* the written copy reads back differently */
};

/* Result of media_copy. */
struct media_copied {
	uint64_t size;
	char digest[DIGEST_HEX_LEN + 1];
	int errnum; /* errno of a READ or WRITE failure */
};

int media_export(const struct media_opts *, struct media_stats *);
int media_import(const struct media_opts *, struct media_stats *);
int media_copy(int, const char *, const char *, const struct media_entry *,
    struct media_copied *);
int media_inventory_read(
    const char *, struct media_inventory *, struct error *);
int media_inventory_write(
    const char *, const struct media_inventory *, struct error *);
void media_inventory_free(struct media_inventory *);
int media_text_valid(const char *);
void media_operator(const char *, char *, size_t);

#endif
