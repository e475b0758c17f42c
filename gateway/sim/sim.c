/*
 * sim.c: the small tools posgw-sim's modules share: the clock, its log,
 * buffers, the generator's random numbers, uuids, the clientId table,
 * status names. sim-run.c runs the simulator; sim-gen.c invents appeals,
 * sim-in.c writes what ПОС sends into in/, sim-out.c consumes and checks
 * what the edge writes into out/.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "package.h"
#include "sig.h"
#include "sim.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static void sim_buf_grow(struct sim_buf *b, size_t n);
static size_t sim_req_hash(const char *id);
static struct sim_req *sim_req_slot(
    struct sim_req *tab, size_t cap, const char *id);

/* Seconds on the monotonic clock. */
double
sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Format a time as YYYY-MM-DDThh:mm:ssZ. */
void
sim_timestamp(time_t t, char *buf, size_t len)
{
	pkg_time_format(t, buf, len);
}

/* Append one decision to DIR/sim.log (and to stderr with --verbose). */
void
sim_log(struct sim *s, const char *fmt, ...)
{
	char ts[32];
	va_list ap;

	sim_timestamp(time(NULL), ts, sizeof ts);
	if (s->log != NULL) {
		fprintf(s->log, "%s ", ts);
		va_start(ap, fmt);
		vfprintf(s->log, fmt, ap);
		va_end(ap);
		fputc('\n', s->log);
		fflush(s->log);
	}
	if (s->o.verbose) {
		fprintf(stderr, "posgw-sim: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

/* Make room for n more bytes and the terminating NUL. */
static void
sim_buf_grow(struct sim_buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	while (b->len + n + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 256;
	b->s = xreallocarray(b->s, b->cap, 1);
}

/* Append n bytes. */
void
sim_buf_addn(struct sim_buf *b, const char *p, size_t n)
{
	sim_buf_grow(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Append a string. */
void
sim_buf_add(struct sim_buf *b, const char *p)
{
	sim_buf_addn(b, p, strlen(p));
}

/* Append formatted text. */
void
sim_buf_addf(struct sim_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("cannot format a message");
	sim_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append text escaped for XML content and attribute values. */
void
sim_buf_esc(struct sim_buf *b, const char *p)
{
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			sim_buf_add(b, "&amp;");
			break;
		case '<':
			sim_buf_add(b, "&lt;");
			break;
		case '>':
			sim_buf_add(b, "&gt;");
			break;
		case '"':
			sim_buf_add(b, "&quot;");
			break;
		case '\'':
			sim_buf_add(b, "&apos;");
			break;
		case '\t':
		case '\n':
		case '\r':
			sim_buf_addf(b, "&#%d;", *p);
			break;
		default:
			if ((unsigned char)*p < 0x20)
				sim_buf_add(b, "?");
			else
				sim_buf_addn(b, p, 1);
		}
	}
}

/* Release a buffer's memory. */
void
sim_buf_free(struct sim_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

/* Seed the generator; distinct seeds give unrelated streams. */
void
sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	r->s = seed;
	sim_rng_next(r);
}

/* The next 64 bits of splitmix64. */
uint64_t
sim_rng_next(struct sim_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [0, n); 0 when n is 0. */
unsigned
sim_rng_below(struct sim_rng *r, unsigned n)
{
	return (unsigned)(((sim_rng_next(r) >> 32) * n) >> 32);
}

/* True with probability pct percent. */
int
sim_rng_percent(struct sim_rng *r, unsigned pct)
{
	return sim_rng_below(r, 100) < pct;
}

/* A random (version 4) lowercase UUID; unique across runs, not seeded. */
void
sim_uuid(char out[SIM_UUID_LEN + 1])
{
	unsigned char b[16];

	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		fatal("cannot read random bytes for a UUID");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, SIM_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

/* True if s is a UUID in 8-4-4-4-12 hex form (either case). */
int
sim_is_uuid(const char *s)
{
	size_t i;

	for (i = 0; i < SIM_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdefABCDEF", s[i]) == NULL ||
		           s[i] == '\0')
			return 0;
	}
	return s[i] == '\0';
}

/* FNV-1a of a lowercase clientId, for the table. */
static size_t
sim_req_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)(*id >= 'A' && *id <= 'Z' ? *id + 32 : *id);
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

/* The table slot holding id, or the free slot where it would go. */
static struct sim_req *
sim_req_slot(struct sim_req *tab, size_t cap, const char *id)
{
	size_t i = sim_req_hash(id) & (cap - 1);

	while (tab[i].id[0] != '\0' && strcasecmp(tab[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* Look a clientId up (case-insensitively); NULL if unknown. */
struct sim_req *
sim_req_find(struct sim *s, const char *id)
{
	struct sim_req *r;

	if (s->capreqs == 0 || !sim_is_uuid(id))
		return NULL;
	r = sim_req_slot(s->reqs, s->capreqs, id);
	return r->id[0] != '\0' ? r : NULL;
}

/* Record a clientId (stored lowercase); returns its entry. */
struct sim_req *
sim_req_add(struct sim *s, const char *id, enum sim_req_kind kind, size_t ap)
{
	struct sim_req *old = s->reqs, *r;
	size_t oldcap = s->capreqs, i;

	if ((s->nreqs + 1) * 2 > s->capreqs) {
		s->capreqs = oldcap ? oldcap * 2 : 1024;
		s->reqs = xcalloc(s->capreqs, sizeof *s->reqs);
		for (i = 0; i < oldcap; i++)
			if (old[i].id[0] != '\0')
				*sim_req_slot(s->reqs, s->capreqs, old[i].id) =
				    old[i];
		free(old);
	}
	r = sim_req_slot(s->reqs, s->capreqs, id);
	if (r->id[0] == '\0') {
		for (i = 0; i < SIM_UUID_LEN && id[i] != '\0'; i++)
			r->id[i] =
			    (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] + 32
			                                        : id[i]);
		r->id[i] = '\0';
		s->nreqs++;
	}
	r->kind = kind;
	r->appeal = ap;
	r->replies = 0;
	return r;
}

static const char *const sim_status_names[SIM_NSTATUS] = {
    "MODERATION_ACCEPT",
    "MODERATION_DECLINE",
    "TAKE_TO_WORK",
    "SET_EXECUTOR",
    "POSTPONE",
    "FORWARD_TO_PARENT",
    "FORWARD_TO_SUBORDINATE",
    "SEND_RESPONSE",
    "FORWARD_TO_ORGANIZATION",
};

/* Appeals known so far: the --count issued ones and the re-appeals. */
size_t
sim_total(const struct sim *s)
{
	return s->o.count + s->nfollow;
}

/*
 * Appeal i was answered: with --reappeal PERCENT (decided from the seed
 * and i alone) its author asks the same question again, a new appeal
 * issued on the next round (59-FZ art. 11: a repeated appeal).
 */
void
sim_reappeal(struct sim *s, size_t i)
{
	struct sim_rng r;
	size_t j;

	if (s->o.reappeal == 0 || i >= s->o.count || s->nfollow >= s->capfollow)
		return;
	sim_rng_seed(&r, s->o.seed ^ (0x2545f4914f6cdd1dULL * (i + 3)));
	if (!sim_rng_percent(&r, s->o.reappeal))
		return;
	j = s->o.count + s->nfollow++;
	s->ap[j].origin = i + 1;
	sim_log(s, "re-appeal %llu: the author of %llu asks again",
	    (unsigned long long)(SIM_POS_BASE + j),
	    (unsigned long long)(SIM_POS_BASE + i));
}

/* The ПОС name of a status. */
const char *
sim_status_name(enum sim_status st)
{
	return sim_status_names[st];
}

/* Parse a ПОС status name; -1 if unknown. */
int
sim_status_from_name(const char *name, enum sim_status *st)
{
	int i;

	for (i = 0; i < SIM_NSTATUS; i++)
		if (strcmp(name, sim_status_names[i]) == 0) {
			*st = (enum sim_status)i;
			return 0;
		}
	return -1;
}

/* Mark an appeal complete once it is acknowledged and its history ended. */
void
sim_mark_complete(struct sim *s, size_t i)
{
	struct sim_appeal *a = &s->ap[i];

	if (a->complete || a->acks != 1 || a->edge_refused)
		return;
	if (a->phase != SIM_PHASE_ANSWERED && a->phase != SIM_PHASE_DECLINED &&
	    a->phase != SIM_PHASE_FORWARDED)
		return;
	a->complete = 1;
	s->c.complete++;
	sim_log(s, "complete %llu", (unsigned long long)(SIM_POS_BASE + i));
}
