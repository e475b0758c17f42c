/*
 * media-int.h: the media modules and what they share: media.c (copies,
 * scans, progress, messages) under media-inventory.c, and media-export.c
 * and media-import.c above both.
 */
#ifndef POSGW_MEDIA_INT_H
#define POSGW_MEDIA_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "media.h"

/* Decisions about one package. */
enum media_action {
	MEDIA_ACT_COPY = 0, /* copy it */
	MEDIA_ACT_ALREADY,  /* the same bytes are already at the target */
	MEDIA_ACT_BEFORE,   /* exported before, no --resend */
	MEDIA_ACT_REFUSE,   /* cannot be handled; reported */
	MEDIA_ACT_SKIP      /* import: sent by --for ID */
};

/* What happens to an inventory entry during an import. */
enum media_state {
	MEDIA_KEEP = 0, /* stays on the media and in the inventory */
	MEDIA_GONE,     /* delivered: removed from media and inventory */
	MEDIA_DROP      /* missing on media: dropped from the inventory */
};

/* A package found in a directory. */
struct media_pkg {
	struct media_entry e; /* first: compared by name */
	int action;
	int logged;   /* listed in the export log */
	int verified; /* e.size and e.digest are those of a verified copy */
	int differs;  /* the target held a different file of that name */
};

/* A line reader with bounded lines over a file descriptor. */
struct media_reader {
	int fd;
	size_t pos, len;
	char buf[65536];
};

/* media.c */
int media_bar_on(void);
int media_name_cmp(const void *, const void *);
void media_bar_clear(void);
void media_bar_start(const char *cmd, int on, uint64_t total);
void __attribute__((format(printf, 1, 2)))
media_bar_label(const char *fmt, ...);
void media_bar_add(uint64_t n);
void __attribute__((format(printf, 1, 2))) media_say(const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) media_warn(const char *fmt, ...);
const char *media_quote(const char *s, char out[64]);
int media_fsync_dir(const char *dir);
int media_digest_path(const char *dir, const char *name,
    char hex[DIGEST_HEX_LEN + 1], uint64_t *sizep);
int media_scan(const char *dir, int warn, struct media_pkg **out, size_t *np);
int media_dirs(
    const char *from, const char *fwhat, const char *to, const char *twhat);

/* media-inventory.c */
int media_inventory_getline(struct media_reader *r, char *line);
int media_inventory_size(const char *s, uint64_t *v);
int media_inventory_hex(const char *s);
int media_inventory_time(const char *s);
char *media_inventory_field(char **sp);
int media_inventory_remove(const char *dir);
char *media_inventory_format(const struct media_inventory *inv, size_t *lenp);

/* media-handover.c */
int media_handover_unsign(const char *dir);
int media_handover_pending(const struct media_opts *o);
void media_handover_export(const struct media_opts *o,
    const struct media_inventory *old, const struct media_inventory *inv,
    int *rc);
int media_handover_check(const struct media_opts *o,
    const struct media_inventory *inv, char hex[DIGEST_HEX_LEN + 1], int *seen);
void media_handover_refused(const struct media_opts *o, const char *reason);
int media_handover_imported(const struct media_opts *o,
    const struct media_inventory *inv, const char *hex, int seen);

#endif
