/*
 * benchwatch: time a gateway chain from the outside, with inotify.
 *
 *	benchwatch OUTFILE INBOX EXPORT N
 *
 * Watches INBOX (the receiving gateway's transfer inbox) and EXPORT (the
 * EDMS export folder). For every package renamed into INBOX it notes the
 * time of the rename and the time the gateway removes it, which it does
 * right after committing the import, so the difference is the package's
 * latency from rename to journal commit (plus one unlink). It counts the
 * appeal folders renamed into EXPORT (names starting with a digit) and
 * stops when N have arrived, or on SIGTERM/SIGINT. OUTFILE gets lines
 *
 *	ready <t>                       once the watches are in place
 *	pkg <name> <renamed t> <removed t>
 *	export <count> <t>              for every appeal folder
 *
 * with t in seconds on CLOCK_REALTIME (date +%s.%N compares). Events are
 * stamped when read; the watcher does nothing else, so the stamp trails
 * the event by the scheduling delay only.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCHWATCH_MAX 65536

struct benchwatch_pkg {
	char name[NAME_MAX + 1];
	double renamed;
};

static volatile sig_atomic_t benchwatch_stop;
static struct benchwatch_pkg benchwatch_pkgs[BENCHWATCH_MAX];
static size_t benchwatch_npkgs;

/* Note a stop request. */
static void
benchwatch_signal(int sig)
{
	(void)sig;
	benchwatch_stop = 1;
}

/* Seconds on the real-time clock. */
static double
benchwatch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Find a pending package by name; NULL if not seen. */
static struct benchwatch_pkg *
benchwatch_find(const char *name)
{
	size_t i;

	for (i = benchwatch_npkgs; i > 0; i--)
		if (strcmp(benchwatch_pkgs[i - 1].name, name) == 0)
			return &benchwatch_pkgs[i - 1];
	return NULL;
}

int
main(int argc, char **argv)
{
	char buf[65536] __attribute__((aligned(8)));
	struct benchwatch_pkg *p;
	struct inotify_event *ev;
	struct sigaction sa;
	unsigned long want, got = 0;
	int fd, win, wex;
	ssize_t n;
	char *q;
	double t;
	FILE *out;

	if (argc != 5) {
		fprintf(stderr, "usage: benchwatch OUTFILE INBOX EXPORT N\n");
		return 2;
	}
	want = strtoul(argv[4], NULL, 10);
	if ((out = fopen(argv[1], "w")) == NULL) {
		fprintf(stderr, "benchwatch: cannot create %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = benchwatch_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((fd = inotify_init1(IN_CLOEXEC)) == -1 ||
	    (win = inotify_add_watch(fd, argv[2], IN_MOVED_TO | IN_DELETE)) ==
	        -1 ||
	    (wex = inotify_add_watch(fd, argv[3], IN_MOVED_TO)) == -1) {
		fprintf(stderr, "benchwatch: cannot watch %s and %s: %s\n",
		    argv[2], argv[3], strerror(errno));
		return 1;
	}
	fprintf(out, "ready %.6f\n", benchwatch_now());
	fflush(out);
	while (!benchwatch_stop && got < want) {
		if ((n = read(fd, buf, sizeof buf)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(
			    stderr, "benchwatch: read: %s\n", strerror(errno));
			return 1;
		}
		t = benchwatch_now();
		for (q = buf; q < buf + n; q += sizeof *ev + ev->len) {
			ev = (struct inotify_event *)q;
			if (ev->mask & IN_Q_OVERFLOW) {
				fprintf(stderr,
				    "benchwatch: inotify queue "
				    "overflow; figures incomplete\n");
				continue;
			}
			if (ev->len == 0 || ev->name[0] == '.')
				continue;
			if (ev->wd == wex) {
				if (ev->name[0] >= '0' && ev->name[0] <= '9')
					fprintf(
					    out, "export %lu %.6f\n", ++got, t);
				continue;
			}
			if (ev->mask & IN_MOVED_TO) {
				if (benchwatch_npkgs == BENCHWATCH_MAX)
					continue;
				p = &benchwatch_pkgs[benchwatch_npkgs++];
				snprintf(
				    p->name, sizeof p->name, "%s", ev->name);
				p->renamed = t;
			} else if ((ev->mask & IN_DELETE) &&
			           (p = benchwatch_find(ev->name)) != NULL) {
				fprintf(out, "pkg %s %.6f %.6f\n", p->name,
				    p->renamed, t);
				p->name[0] = '\0';
			}
		}
	}
	if (fclose(out) == EOF) {
		fprintf(stderr, "benchwatch: cannot write %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	return 0;
}
