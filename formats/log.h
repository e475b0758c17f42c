/* log.h: logging to stderr with levels, and fatal exits. */
#ifndef POSGW_LOG_H
#define POSGW_LOG_H

#include <stdarg.h>

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
void log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_security(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
