/* certwatch.h: certificates that expire within [gateway] expiry_warn_days. */
#ifndef POSGW_CERTWATCH_H
#define POSGW_CERTWATCH_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "db.h"
#include "digest.h"

/* One certificate that expires soon (or has expired). */
struct certwatch_item {
	const char *file;
	char cn[65];
	char fingerprint[DIGEST_HEX_LEN + 1];
	time_t not_after;
	int days_left;
};

/* The daemon's daily check. */
struct certwatch {
	const struct conf *conf;
	time_t last;
};

int certwatch_scan(const struct conf *, time_t, int,
    void (*)(const struct certwatch_item *, void *), void *);
void certwatch_format(const struct certwatch_item *, char *, size_t);
void certwatch_daily(struct certwatch *, struct db *, time_t);

#endif
