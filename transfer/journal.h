/* journal.h: the append-only, hash-chained exchange journal and checkpoints. */
#ifndef POSGW_JOURNAL_H
#define POSGW_JOURNAL_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "db.h"
#include "digest.h"
#include "error.h"
#include "sig.h"

struct checkpoint {
	char gateway[33];
	int64_t entry;
	char head[DIGEST_HEX_LEN + 1];
	time_t at;
};

int journal_append(struct db *, const char *, const char *, const char *,
    const char *, struct error *);
int64_t journal_head(struct db *, char *);
int journal_checkpoint(struct db *, struct signer *, struct error *);
int64_t journal_since_checkpoint(struct db *, time_t *);
int journal_checkpoint_parse(
    const unsigned char *, size_t, struct checkpoint *);
int journal_verify(struct db *, struct trust *, FILE *, struct error *);
void journal_row_hash(const char *, int64_t, int64_t, const char *,
    const char *, const char *, const char *, char *);

#endif
