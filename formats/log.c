/* log.c: logging to stderr with levels, and fatal exits. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_progname = "posgw";
static int log_level = LOG_LEVEL_INFO;

/* Set the program name shown in front of each line and the level. */
void
log_init(const char *progname, int level)
{
	log_progname = progname;
	log_level = level;
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

/* Print one line with a level tag and an optional errno text. */
static void
log_vline(int level, const char *tag, int errnum, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
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
	log_vline(LOG_LEVEL_WARN, "warning: ", saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Warn without errno. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_WARN, "warning: ", 0, fmt, ap);
	va_end(ap);
}

/* Informational message. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_INFO, "", 0, fmt, ap);
	va_end(ap);
}

/* Debug message, printed only at the debug level. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_DEBUG, "debug: ", 0, fmt, ap);
	va_end(ap);
}

/* Print an error with errno text and exit. */
void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, "error: ", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Print an error and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERROR, "error: ", 0, fmt, ap);
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
