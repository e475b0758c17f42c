/*
 * benchrun: run a command and report its wall time and peak resident set.
 *
 *	benchrun OUTFILE -- COMMAND [ARG]...
 *
 * Appends one line "<wall seconds> <peak RSS KiB> <exit status>" to OUTFILE
 * (getrusage of the waited child, so the figure is the command's own
 * high-water mark, not a sample) and exits with the command's status.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static double
benchrun_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	double t0, t1;
	int status, code;
	pid_t pid;
	FILE *f;

	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(
		    stderr, "usage: benchrun OUTFILE -- COMMAND [ARG]...\n");
		return 2;
	}
	t0 = benchrun_now();
	pid = fork();
	if (pid == -1) {
		fprintf(stderr, "benchrun: cannot fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "benchrun: cannot run %s: %s\n", argv[3],
		    strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) == -1) {
		fprintf(stderr, "benchrun: wait: %s\n", strerror(errno));
		return 2;
	}
	t1 = benchrun_now();
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if ((f = fopen(argv[1], "a")) == NULL) {
		fprintf(stderr, "benchrun: cannot open %s: %s\n", argv[1],
		    strerror(errno));
		return 2;
	}
	fprintf(f, "%.3f %ld %d\n", t1 - t0, ru.ru_maxrss, code);
	if (fclose(f) == EOF) {
		fprintf(stderr, "benchrun: cannot write %s: %s\n", argv[1],
		    strerror(errno));
		return 2;
	}
	return code;
}
