/*
 * faultfs.c: an LD_PRELOAD library for tests/shell/faults.sh. It counts
 * the calls that change files under one directory (write, pwrite, writev,
 * fsync, fdatasync, syncfs, rename, link, and open or mkdir that create a
 * file not there yet)
 * and fails the Nth of them (and, sticky, every later one) with ENOSPC or
 * EIO, the way a full or failing disk does; and it can move the wall
 * clock (time, gettimeofday, clock_gettime REALTIME) by a fixed offset.
 * The calls of posgw, SQLite, libarchive and GnuTLS all go through it.
 *
 *   POSGW_FAULT_PATH    only calls on paths under this prefix count
 *   POSGW_FAULT_AT      the first call that fails (1-based); 0 counts only
 *   POSGW_FAULT_STICKY  1: every call from POSGW_FAULT_AT on fails
 *   POSGW_FAULT_ERRNO   ENOSPC (default) or EIO
 *   POSGW_FAULT_LOG     file that gets "fault N OP PATH" per failed call
 *                       and "calls N" at exit (opened at load, so the
 *                       daemon's sandbox does not matter)
 *   POSGW_FAULT_SKIP    calls on paths containing this string do not count
 *                       (e.g. posgw.db: the database's own files)
 *   POSGW_FAULT_TRACE   1: also log "call N OP PATH" for every counted call
 *   POSGW_FAULT_CLOCK   seconds added to the wall clock (may be negative)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *ff_prefix, *ff_skip;
static int ff_trace;
static size_t ff_prefixlen;
static long ff_at, ff_count;
static int ff_sticky, ff_errno = ENOSPC, ff_logfd = -1;
static long ff_clock;

/* The real function behind name. */
static void *
ff_next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL) {
		static const char m[] = "faultfs: a libc function is missing\n";
		ssize_t r = write(2, m, sizeof m - 1);
		(void)r;
		abort();
	}
	return f;
}

#define REAL(ret, name, ...)                                                   \
	static ret (*real_##name)(__VA_ARGS__);                                \
	if (real_##name == NULL)                                               \
	real_##name = (ret(*)(__VA_ARGS__))ff_next(#name)

/* Read the settings once, when the library is loaded. */
__attribute__((constructor)) static void
ff_init(void)
{
	const char *s;

	ff_prefix = getenv("POSGW_FAULT_PATH");
	ff_prefixlen = ff_prefix != NULL ? strlen(ff_prefix) : 0;
	ff_skip = getenv("POSGW_FAULT_SKIP");
	if (ff_skip != NULL && *ff_skip == '\0')
		ff_skip = NULL;
	ff_trace =
	    (s = getenv("POSGW_FAULT_TRACE")) != NULL && strcmp(s, "1") == 0;
	if ((s = getenv("POSGW_FAULT_AT")) != NULL)
		ff_at = strtol(s, NULL, 10);
	if ((s = getenv("POSGW_FAULT_STICKY")) != NULL)
		ff_sticky = strcmp(s, "1") == 0;
	if ((s = getenv("POSGW_FAULT_ERRNO")) != NULL && strcmp(s, "EIO") == 0)
		ff_errno = EIO;
	if ((s = getenv("POSGW_FAULT_CLOCK")) != NULL)
		ff_clock = strtol(s, NULL, 10);
	if ((s = getenv("POSGW_FAULT_LOG")) != NULL)
		ff_logfd =
		    open(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* Append a line to the fault log (through the real write). */
static void
ff_log(const char *fmt, ...)
{
	REAL(ssize_t, write, int, const void *, size_t);
	char line[PATH_MAX + 64];
	va_list ap;
	int n;

	if (ff_logfd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!real_write(ff_logfd, line,
		    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Report the number of counted calls at exit. */
__attribute__((destructor)) static void
ff_fini(void)
{
	ff_log("calls %ld\n", ff_count);
}

/* True if path (absolute, or relative to dirfd) lies under the prefix. */
static int
ff_under(int dirfd, const char *path)
{
	char base[PATH_MAX], full[PATH_MAX * 2];
	ssize_t n;

	if (ff_prefix == NULL || path == NULL)
		return 0;
	if (path[0] == '/')
		return strncmp(path, ff_prefix, ff_prefixlen) == 0;
	if (dirfd == AT_FDCWD) {
		if (getcwd(base, sizeof base) == NULL)
			return 0;
	} else {
		snprintf(full, sizeof full, "/proc/self/fd/%d", dirfd);
		if ((n = readlink(full, base, sizeof base - 1)) <= 0)
			return 0;
		base[n] = '\0';
	}
	snprintf(full, sizeof full, "%s/%s", base, path);
	return strncmp(full, ff_prefix, ff_prefixlen) == 0;
}

/* True if the open file fd lies under the prefix. */
static int
ff_fd_under(int fd, char *path, size_t len)
{
	char proc[64];
	ssize_t n;

	if (ff_prefix == NULL || fd < 0)
		return 0;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, path, len - 1)) <= 0)
		return 0;
	path[n] = '\0';
	return strncmp(path, ff_prefix, ff_prefixlen) == 0;
}

/* Count a call on path; 1 if it is to fail (errno is set). */
static int
ff_hit(const char *op, const char *path)
{
	long n;

	if (ff_skip != NULL && strstr(path, ff_skip) != NULL)
		return 0;
	n = __atomic_add_fetch(&ff_count, 1, __ATOMIC_SEQ_CST);
	if (ff_trace)
		ff_log("call %ld %s %s\n", n, op, path);
	if (ff_at <= 0 || n < ff_at || (n > ff_at && !ff_sticky))
		return 0;
	ff_log("fault %ld %s %s %s\n", n, op, path,
	    ff_errno == EIO ? "EIO" : "ENOSPC");
	errno = ff_errno;
	return 1;
}

/* A call on an open file descriptor: counted if under the prefix. */
static int
ff_fd(const char *op, int fd)
{
	char path[PATH_MAX];

	return ff_fd_under(fd, path, sizeof path) && ff_hit(op, path);
}

/* A call on a path name: counted if under the prefix. */
static int
ff_path(const char *op, int dirfd, const char *path)
{
	return ff_under(dirfd, path) && ff_hit(op, path);
}

/*
 * A call that creates path: counted only if path does not exist yet (a
 * full disk cannot fail an open or mkdir of what is already there).
 */
static int
ff_create(const char *op, int dirfd, const char *path)
{
	struct stat sb;

	if (fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return ff_path(op, dirfd, path);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);
	if (ff_fd("write", fd))
		return -1;
	return real_write(fd, buf, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	if (ff_fd("pwrite", fd))
		return -1;
	return real_pwrite(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite64, int, const void *, size_t, off_t);
	if (ff_fd("pwrite", fd))
		return -1;
	return real_pwrite64(fd, buf, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(ssize_t, writev, int, const struct iovec *, int);
	if (ff_fd("writev", fd))
		return -1;
	return real_writev(fd, iov, cnt);
}

int
fsync(int fd)
{
	REAL(int, fsync, int);
	if (ff_fd("fsync", fd))
		return -1;
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	if (ff_fd("fdatasync", fd))
		return -1;
	return real_fdatasync(fd);
}

int
syncfs(int fd)
{
	REAL(int, syncfs, int);
	if (ff_fd("syncfs", fd))
		return -1;
	return real_syncfs(fd);
}

int
rename(const char *from, const char *to)
{
	REAL(int, rename, const char *, const char *);
	if (ff_path("rename", AT_FDCWD, to))
		return -1;
	return real_rename(from, to);
}

int
renameat(int fd1, const char *from, int fd2, const char *to)
{
	REAL(int, renameat, int, const char *, int, const char *);
	if (ff_path("renameat", fd2, to))
		return -1;
	return real_renameat(fd1, from, fd2, to);
}

int
renameat2(int fd1, const char *from, int fd2, const char *to, unsigned fl)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	if (ff_path("renameat2", fd2, to))
		return -1;
	return real_renameat2(fd1, from, fd2, to, fl);
}

int
link(const char *from, const char *to)
{
	REAL(int, link, const char *, const char *);
	if (ff_path("link", AT_FDCWD, to))
		return -1;
	return real_link(from, to);
}

int
linkat(int fd1, const char *from, int fd2, const char *to, int fl)
{
	REAL(int, linkat, int, const char *, int, const char *, int);
	if (ff_path("linkat", fd2, to))
		return -1;
	return real_linkat(fd1, from, fd2, to, fl);
}

int
mkdir(const char *path, mode_t mode)
{
	REAL(int, mkdir, const char *, mode_t);
	if (ff_create("mkdir", AT_FDCWD, path))
		return -1;
	return real_mkdir(path, mode);
}

int
mkdirat(int fd, const char *path, mode_t mode)
{
	REAL(int, mkdirat, int, const char *, mode_t);
	if (ff_create("mkdirat", fd, path))
		return -1;
	return real_mkdirat(fd, path, mode);
}

/* The mode argument of an open that creates. */
#define FF_MODE(flags, mode)                                                   \
	do {                                                                   \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                       \
			va_list ap;                                            \
			va_start(ap, flags);                                   \
			mode = va_arg(ap, mode_t);                             \
			va_end(ap);                                            \
		}                                                              \
	} while (0)

int
open(const char *path, int flags, ...)
{
	REAL(int, open, const char *, int, ...);
	mode_t mode = 0;

	FF_MODE(flags, mode);
	if ((flags & O_CREAT) && ff_create("open", AT_FDCWD, path))
		return -1;
	return real_open(path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	REAL(int, open64, const char *, int, ...);
	mode_t mode = 0;

	FF_MODE(flags, mode);
	if ((flags & O_CREAT) && ff_create("open", AT_FDCWD, path))
		return -1;
	return real_open64(path, flags, mode);
}

int
openat(int fd, const char *path, int flags, ...)
{
	REAL(int, openat, int, const char *, int, ...);
	mode_t mode = 0;

	FF_MODE(flags, mode);
	if ((flags & O_CREAT) && ff_create("openat", fd, path))
		return -1;
	return real_openat(fd, path, flags, mode);
}

int
openat64(int fd, const char *path, int flags, ...)
{
	REAL(int, openat64, int, const char *, int, ...);
	mode_t mode = 0;

	FF_MODE(flags, mode);
	if ((flags & O_CREAT) && ff_create("openat", fd, path))
		return -1;
	return real_openat64(fd, path, flags, mode);
}

time_t
time(time_t *t)
{
	REAL(int, clock_gettime, clockid_t, struct timespec *);
	struct timespec ts;

	real_clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ff_clock;
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	REAL(int, gettimeofday, struct timeval *, void *);
	int r = real_gettimeofday(tv, tz);

	if (r == 0)
		tv->tv_sec += ff_clock;
	return r;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	REAL(int, clock_gettime, clockid_t, struct timespec *);
	int r = real_clock_gettime(id, ts);

	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += ff_clock;
	return r;
}
