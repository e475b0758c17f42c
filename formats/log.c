/*
 * log.c: logging to stderr with levels, and fatal exits. On a terminal or
 * in a file a line reads "prog: warning: text"; when stderr is journald's
 * stream (JOURNAL_STREAM names fd 2's device and inode, as systemd sets it
 * for a unit), each line starts with its sd-daemon priority ("<4>text"),
 * so that journalctl -p warning finds the warnings.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

/* sd-daemon priorities (syslog's) of the levels, and of security events. */
#define LOG_PRIO_CRIT 2
static const int log_prio[] = {
    [LOG_LEVEL_ERROR] = 3,
    [LOG_LEVEL_WARN] = 4,
    [LOG_LEVEL_INFO] = 6,
    [LOG_LEVEL_DEBUG] = 7,
};

static const char *log_progname = "posgw";
static int log_level = LOG_LEVEL_INFO;
static int log_journal; /* stderr is journald's stream */

static void log_vline(int, int, const char *, int, const char *, va_list);

/*
 * True if stderr is the stream journald gave this process: JOURNAL_STREAM
 * is "DEVICE:INODE" of fd 2 (sd_journal_stream_fd(3)).
 */
static int
log_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &sb) == -1)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	       (unsigned long long)sb.st_ino == ino;
}

/* Set the program name shown in front of each line and the level. */
void
log_init(const char *progname, int level)
{
	log_progname = progname;
	log_level = level;
	log_journal = log_is_journal();
}

/* Change the level of messages that are printed. */
void
log_set_level(int level)
{
	log_level = level;
}

/* Return the current level. */
int
log_get_level(void)
{
	return log_level;
}

/*
 * Print one line of a level: with its priority for journald, else with
 * the program name and a tag; errnum's text appended if not 0.
 */
static void
log_vline(int level, int prio, const char *tag, int errnum, const char *fmt,
    va_list ap)
{
	if (level > log_level)
		return;
	if (log_journal)
		fprintf(
		    stderr, "<%d>%s", prio, prio == LOG_PRIO_CRIT ? tag : "");
	else
		fprintf(stderr, "%s: %s", log_progname, tag);
	vfprintf(stderr, fmt, ap);
	if (errnum != 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

/* Warn with the text of errno appended. */
void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_WARN, log_prio[LOG_LEVEL_WARN], "warning: ", saved,
	    fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Warn without errno. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(
	    LOG_LEVEL_WARN, log_prio[LOG_LEVEL_WARN], "warning: ", 0, fmt, ap);
	va_end(ap);
}

/* Informational message. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_INFO, log_prio[LOG_LEVEL_INFO], "", 0, fmt, ap);
	va_end(ap);
}

/* Debug message, printed only at the debug level. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(
	    LOG_LEVEL_DEBUG, log_prio[LOG_LEVEL_DEBUG], "debug: ", 0, fmt, ap);
	va_end(ap);
}

/* An error the program stops on or cannot work around (not exiting here). */
void
log_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(
	    LOG_LEVEL_ERROR, log_prio[LOG_LEVEL_ERROR], "error: ", 0, fmt, ap);
	va_end(ap);
}

/*
 * A security event (a forged or replayed package, a conflict): always
 * logged, "SECURITY: " first, critical for journald.
 */
void
log_security(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, LOG_PRIO_CRIT, "SECURITY: ", 0, fmt, ap);
	va_end(ap);
}

/* Print an error with errno text and exit. */
void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, log_prio[LOG_LEVEL_ERROR], "error: ", saved,
	    fmt, ap);
	va_end(ap);
	exit(1);
}

/* Print an error and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(
	    LOG_LEVEL_ERROR, log_prio[LOG_LEVEL_ERROR], "error: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Log a warning unless it repeats the one kept in *last (a round that runs
 * every second must not repeat the same trouble); *last keeps this one.
 */
void
log_warnx_changed(char **last, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	if (*last == NULL || strcmp(*last, msg) != 0)
		log_warnx("%s", msg);
	free(*last);
	*last = msg;
}

/* FNV-1a of a string: which warning this is. */
static uint64_t
log_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Log a warning unless one of the same key (the message itself when key is
 * NULL) was said less than LOG_RECENT_SECONDS ago: a round that fails the
 * same way every second must not flood the log. Said again, it tells how
 * often it recurred meanwhile. r keeps the LOG_RECENT last seen.
 */
void
log_warnx_recent(struct log_recent *r, const char *key, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;
	uint64_t h;
	size_t i, old = 0;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	h = log_hash(key != NULL ? key : msg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < LOG_RECENT; i++) {
		if (r->used[i] && r->hash[i] == h)
			break;
		/* a free slot, else the one seen least lately */
		if (r->used[old] && (!r->used[i] || r->seen[i] < r->seen[old]))
			old = i;
	}
	r->tick++;
	if (i < LOG_RECENT && ts.tv_sec - r->when[i] < LOG_RECENT_SECONDS) {
		r->held[i]++;
		r->seen[i] = r->tick;
		free(msg);
		return;
	}
	if (i < LOG_RECENT && r->held[i] > 0)
		log_warnx("%s (and %u times more in the %ld minutes before)",
		    msg, r->held[i], (long)(ts.tv_sec - r->when[i] + 59) / 60);
	else
		log_warnx("%s", msg);
	if (i == LOG_RECENT)
		i = old;
	r->hash[i] = h;
	r->when[i] = ts.tv_sec;
	r->seen[i] = r->tick;
	r->held[i] = 0;
	r->used[i] = 1;
	free(msg);
}

/* Count one failure of a round under its cause (the text after ": "). */
void
log_round_add(struct log_round *g, const char *text)
{
	const char *cause = text, *p;
	size_t i;

	while ((p = strstr(cause, ": ")) != NULL)
		cause = p + 2;
	for (i = 0; i < g->n; i++)
		if (strcmp(g->cause[i], cause) == 0) {
			g->count[i]++;
			return;
		}
	if (g->n == LOG_ROUND) {
		g->other++;
		return;
	}
	g->first[g->n] = xstrdup(text);
	g->cause[g->n] = xstrdup(cause);
	g->count[g->n++] = 1;
}

/*
 * Say a round's failures, one line per cause (its first failure, and how
 * many more of what failed the same way), each through r; then forget them.
 */
void
log_round_say(struct log_round *g, struct log_recent *r, const char *what)
{
	char *key;
	size_t i;

	for (i = 0; i < g->n; i++) {
		xasprintf(&key, "%s\n%s", what, g->cause[i]);
		if (g->count[i] == 1)
			log_warnx_recent(r, key, "%s", g->first[i]);
		else
			log_warnx_recent(r, key,
			    "%s; %zu more %s failed the same way, they are "
			    "tried again",
			    g->first[i], g->count[i] - 1, what);
		free(key);
		free(g->first[i]);
		free(g->cause[i]);
	}
	if (g->other > 0) {
		xasprintf(&key, "%s\nother", what);
		log_warnx_recent(r, key,
		    "%zu more %s failed for other reasons, they are tried "
		    "again",
		    g->other, what);
		free(key);
	}
	memset(g, 0, sizeof *g);
}
