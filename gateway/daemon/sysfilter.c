/*
 * sysfilter.c: after start-up a gateway daemon limits the system calls it
 * may make to an allow-list with libseccomp, as chrony does: files and
 * directories, inotify, waiting, time, memory, signals to itself, threads
 * of its own (the edge hashes on a worker per CPU, the package reader
 * hashes and writes big entries on two). No sockets, no new processes, no
 * exec, no ptrace, no mounts: a parser bug in the daemon cannot become a
 * network client or a shell. A thread is a clone with CLONE_THREAD;
 * clone3, whose flags a filter cannot read, answers ENOSYS and the C
 * library falls back to clone. A
 * call off the list is not executed; the daemon names it on standard error
 * and stops with SIGSYS ([gateway] seccomp = kill, the default), or the
 * kernel only logs it (seccomp = log, to find what is missing on a new
 * platform), or there is no filter (seccomp = no).
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "sysfilter.h"
#include "xmalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define SYSFILTER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYSFILTER_SANITIZER 1
#endif
#endif

/* Every system call the daemons make after start-up (strace of the tests). */
static const char *const sysfilter_allow[] = {
    /* files and directories */
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "lseek",
    "_llseek",
    "open",
    "openat",
    "close",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "fstatfs",
    "statfs",
    "fstatfs64",
    "statfs64",
    "access",
    "faccessat",
    "faccessat2",
    "getdents64",
    "readlink",
    "readlinkat",
    "fcntl",
    "fcntl64",
    "flock",
    "ftruncate",
    "fallocate",
    "fadvise64",
    "fadvise64_64",
    "fsync",
    "fdatasync",
    "syncfs",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
    "rmdir",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "utimensat",
    "umask",
    "getcwd",
    "dup",
    "dup2",
    "dup3",
    "copy_file_range",
    "sendfile",
    /* watching and waiting */
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "nanosleep",
    "clock_nanosleep",
    /* time (mostly the vDSO; the calls when it is not there) */
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    /* memory */
    "brk",
    "mmap",
    "mmap2",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    /* the process itself */
    "getpid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "uname",
    "sysinfo",
    "getrandom",
    "prlimit64",
    "getrlimit",
    "ugetrlimit",
    "sched_yield",
    "futex",
    "rseq",
    "set_robust_list",
    "restart_syscall",
    "exit",
    "exit_group",
    /* signals (tgkill to itself only: see sysfilter_apply) */
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigreturn",
    "sigaltstack",
};

#ifdef SYSFILTER_SANITIZER
/*
 * What the AddressSanitizer runtime adds: LeakSanitizer stops the world
 * at exit with a ptrace-ing clone that lists threads with the old
 * getdents, and a report may run the symbolizer.
 */
static const char *const sysfilter_sanitizer[] = {"getdents", "clone", "clone3",
    "wait4", "waitid", "ptrace", "prctl", "sched_getaffinity", "mincore",
    "process_vm_readv", "getppid", "setrlimit", "pipe", "pipe2", "execve",
    "vfork", "fork", "kill", "tgkill", "tkill", "msync"};
#endif

#define SYSFILTER_NAMES 512
static char *sysfilter_names[SYSFILTER_NAMES];
static char sysfilter_role[32] = "posgw";

/* Write a NUL-terminated string to standard error (async-signal-safe). */
static void
sysfilter_say(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));
	(void)r;
}

/*
 * SIGSYS from the filter: name the refused call, then die of SIGSYS so
 * that systemd and the shell see why (the call itself never ran).
 */
static void
sysfilter_trap(int sig, siginfo_t *si, void *uc)
{
	char num[24], *p = num + sizeof num;
	unsigned n = si->si_syscall < 0 ? 0 : (unsigned)si->si_syscall;

	(void)uc;
	*--p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0 && p > num);
	sysfilter_say(sysfilter_role);
	sysfilter_say(": seccomp: system call ");
	if (si->si_syscall >= 0 && si->si_syscall < SYSFILTER_NAMES &&
	    sysfilter_names[si->si_syscall] != NULL) {
		sysfilter_say(sysfilter_names[si->si_syscall]);
		sysfilter_say(" (");
		sysfilter_say(p);
		sysfilter_say(")");
	} else
		sysfilter_say(p);
	sysfilter_say(" is not on the daemon's allow-list; stopping. If "
	              "this is not an attack, report it and run with "
	              "[gateway] seccomp = log meanwhile\n");
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* Parse a [gateway] seccomp value: kill (or yes), log, no; -1 if unknown. */
int
sysfilter_mode_parse(const char *s, enum sysfilter_mode *mode)
{
	if (strcmp(s, "kill") == 0 || strcmp(s, "yes") == 0)
		*mode = SYSFILTER_KILL;
	else if (strcmp(s, "log") == 0)
		*mode = SYSFILTER_LOG;
	else if (strcmp(s, "no") == 0)
		*mode = SYSFILTER_OFF;
	else
		return -1;
	return 0;
}

/* The configuration word for a mode. */
const char *
sysfilter_mode_name(enum sysfilter_mode mode)
{
	return mode == SYSFILTER_KILL  ? "kill"
	       : mode == SYSFILTER_LOG ? "log"
	                               : "no";
}

/*
 * Allow the calls named in list that this architecture has (libseccomp
 * names the others with negative numbers); counts them in *added.
 */
static int
sysfilter_add(scmp_filter_ctx ctx, const char *const *list, size_t n,
    size_t *added, struct error *err)
{
	size_t i;
	int nr, r;

	for (i = 0; i < n; i++) {
		if ((nr = seccomp_syscall_resolve_name(list[i])) < 0)
			continue;
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
			return err_set(err, ERR_NONE,
			    "seccomp: cannot allow %s: %s", list[i],
			    strerror(-r));
		(*added)++;
	}
	return 0;
}

/*
 * Load the allow-list for the rest of the process's life. role names the
 * daemon in the message of a refused call. Returns 0 (also for mode no),
 * -1 if the filter cannot be made or loaded.
 */
int
sysfilter_apply(enum sysfilter_mode mode, const char *role, struct error *err)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	size_t added = 0;
	int i, r;

	if (mode == SYSFILTER_OFF) {
		log_info("seccomp: off ([gateway] seccomp = no)");
		return 0;
	}
	snprintf(sysfilter_role, sizeof sysfilter_role, "%s", role);
	for (i = 0; i < SYSFILTER_NAMES; i++)
		if (sysfilter_names[i] == NULL)
			sysfilter_names[i] = seccomp_syscall_resolve_num_arch(
			    SCMP_ARCH_NATIVE, i);
	ctx =
	    seccomp_init(mode == SYSFILTER_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (ctx == NULL)
		return err_set(err, ERR_NONE, "seccomp: cannot make a filter");
	r = sysfilter_add(ctx, sysfilter_allow,
	    sizeof sysfilter_allow / sizeof sysfilter_allow[0], &added, err);
#ifdef SYSFILTER_SANITIZER
	if (r == 0)
		r = sysfilter_add(ctx, sysfilter_sanitizer,
		    sizeof sysfilter_sanitizer / sizeof sysfilter_sanitizer[0],
		    &added, err);
#else
	/* threads (CLONE_THREAD set), never a new process */
	if (r == 0 &&
	    (i = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	         SCMP_A0(SCMP_CMP_MASKED_EQ, (scmp_datum_t)CLONE_THREAD,
	             (scmp_datum_t)CLONE_THREAD))) < 0)
		r = err_set(err, ERR_NONE, "seccomp: cannot allow clone: %s",
		    strerror(-i));
	added++;
	if (r == 0 && (i = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	                   SCMP_SYS(clone3), 0)) < 0)
		r = err_set(err, ERR_NONE, "seccomp: cannot refuse clone3: %s",
		    strerror(-i));
	/* raise() and abort(): a signal to this process only */
	if (r == 0 &&
	    (i = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	         SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()))) < 0)
		r = err_set(err, ERR_NONE, "seccomp: cannot allow tgkill: %s",
		    strerror(-i));
	added++;
#endif
	if (r == 0) {
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = sysfilter_trap;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			r = err_set(err, ERR_NONE, "seccomp: SIGSYS: %s",
			    strerror(errno));
	}
	if (r == 0 && (i = seccomp_load(ctx)) < 0)
		r = err_set(err, ERR_NONE,
		    "seccomp: cannot load the filter: %s", strerror(-i));
	seccomp_release(ctx);
	if (r == 0)
		log_info("seccomp: %zu system calls allowed, others %s", added,
		    mode == SYSFILTER_LOG ? "logged by the kernel"
		                          : "stop the daemon");
	return r;
}

/*
 * --seccomp-check: make a call the daemons never make (a network socket,
 * as a raw system call: the daemons link no network functions). Under the
 * filter this does not return; 1 if the call was allowed.
 */
int
sysfilter_probe(void)
{
	int fd =
	    (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	printf("seccomp: socket() was allowed (%s)\n",
	    fd == -1 ? strerror(errno) : "a socket was made");
	if (fd != -1)
		close(fd);
	return 1;
}
