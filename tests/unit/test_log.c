/* test_log.c: warnings a round repeats, said once a while (log.c). */
#include "config.h"

#include "testutil.h"

#include "log.h"

/* stderr goes to a file while a test logs; the saved descriptor. */
static int saved_fd = -1;

/* Send stderr to dir/log (emptied). */
static void
capture(const char *dir)
{
	char *path = tu_path(dir, "log");
	int fd;

	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	if (saved_fd == -1)
		saved_fd = dup(2);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
	free(path);
}

/* Give stderr back; returns what was logged (malloc'd). */
static char *
captured(const char *dir)
{
	char *path = tu_path(dir, "log"), *s;

	fflush(stderr);
	dup2(saved_fd, 2);
	s = tu_read_file(path, NULL);
	free(path);
	return s;
}

/* Lines of s that contain needle. */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

/* The same warning a round repeats is said once; another one is said. */
static void
test_recent_once(void **state)
{
	struct log_recent r;
	char *out;
	int i;

	memset(&r, 0, sizeof r);
	capture(*state);
	for (i = 0; i < 5; i++)
		log_warnx_recent(&r, NULL, "cannot finish package %d: disk", 7);
	log_warnx_recent(&r, NULL, "cannot finish package %d: disk", 8);
	out = captured(*state);
	assert_int_equal(count(out, "cannot finish package 7: disk"), 1);
	assert_int_equal(count(out, "cannot finish package 8: disk"), 1);
	free(out);
}

/*
 * A round's failures are said by cause, however many and whichever they
 * are: the count in the line changes, the line is not said again.
 */
static void
test_round_by_cause(void **state)
{
	struct log_recent r;
	struct log_round g;
	char *out, text[128];
	int round, i;

	memset(&r, 0, sizeof r);
	memset(&g, 0, sizeof g);
	capture(*state);
	for (round = 0; round < 4; round++) {
		/* a random staging name in the text, fewer packages each round */
		for (i = round; i < 30; i++) {
			snprintf(text, sizeof text,
			    "p%02d.pkg: cannot write /s/.pkg-%d%d/e1: No space",
			    i, round, i);
			log_round_add(&g, text);
		}
		log_round_add(&g, "p99.pkg: cannot read it: Permission denied");
		log_round_say(&g, &r, "packages of the inbox");
	}
	out = captured(*state);
	assert_int_equal(count(out, "No space"), 1);
	assert_int_equal(count(out, "p00.pkg: cannot write /s/.pkg-00/e1: No "
	                            "space; 29 more packages of the inbox "
	                            "failed the same way"),
	    1);
	assert_int_equal(count(out, "Permission denied"), 1);
	free(out);
}

/*
 * More warnings than the table holds: the one seen every round stays
 * remembered (the least lately seen is forgotten, not the least lately
 * said).
 */
static void
test_recent_busy_kept(void **state)
{
	struct log_recent r;
	char *out;
	int round, i;

	memset(&r, 0, sizeof r);
	capture(*state);
	for (round = 0; round < 3; round++) {
		log_warnx_recent(&r, NULL, "busy");
		for (i = 0; round == 0 && i < LOG_RECENT - 1; i++)
			log_warnx_recent(&r, NULL, "other %d", i);
	}
	/* a new one evicts the least lately seen ("other 0"), not "busy" */
	log_warnx_recent(&r, NULL, "new");
	log_warnx_recent(&r, NULL, "busy");
	log_warnx_recent(&r, NULL, "other 1");
	log_warnx_recent(&r, NULL, "other 0");
	out = captured(*state);
	assert_int_equal(count(out, "busy"), 1);
	assert_int_equal(count(out, "other 1\n"), 1);
	assert_int_equal(count(out, "other 0\n"), 2);
	assert_int_equal(count(out, "new"), 1);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)                                                                   \
	cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_recent_once),
	    T(test_round_by_cause),
	    T(test_recent_busy_kept),
#undef T
	};

	log_init("test_log", LOG_LEVEL_INFO);
	return cmocka_run_group_tests_name("test_log", tests, NULL, NULL);
}
