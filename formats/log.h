/* log.h: logging to stderr with levels, and fatal exits. */
#ifndef POSGW_LOG_H
#define POSGW_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

void log_init(const char *progname, int level);
void log_set_level(int level);
int log_get_level(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx_changed(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The warnings said lately, so that one a round repeats is said again only
 * after LOG_RECENT_SECONDS, with how often it recurred (log_warnx_recent).
 */
#define LOG_RECENT 16
#define LOG_RECENT_SECONDS 600
struct log_recent {
	uint64_t hash[LOG_RECENT];
	time_t when[LOG_RECENT];   /* monotonic seconds it was said */
	uint64_t seen[LOG_RECENT]; /* tick it was last seen */
	uint64_t tick;             /* counts the warnings seen */
	unsigned held[LOG_RECENT]; /* repeats not said since */
	int used[LOG_RECENT];
};
void log_warnx_recent(struct log_recent *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* A round's failures grouped by cause, said at its end (log_round_say). */
#define LOG_ROUND 8
struct log_round {
	size_t n;                /* groups */
	char *first[LOG_ROUND];  /* the first failure's text */
	char *cause[LOG_ROUND];  /* the text after its last ": " */
	size_t count[LOG_ROUND]; /* failures of that cause */
	size_t other;            /* failures of causes past LOG_ROUND */
};
void log_round_add(struct log_round *, const char *);
void log_round_say(struct log_round *, struct log_recent *, const char *);

void log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_security(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
