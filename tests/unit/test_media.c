/*
 * test_media.c: the hand-over inventory as a journaled import relies on it:
 * read back and written again it is the same bytes exactly when it is as
 * media export writes it; a stale signature is removed.
 */
#include "config.h"

#include "testutil.h"

#include "media-int.h"

#define HEAD                                                                   \
	"posgw-inventory 1\nhost gw\noperator Иванов И. И.\n"          \
	"time 2026-12-01T10:00:00Z\n"
#define PKG1                                                                   \
	"package "                                                             \
	"edge-01.000000000001.0b9a1c5e-0f41-4d7a-9a53-1d3c1c1f0a01.pkg"        \
	" 1720 " DIG "\n"
#define PKG2                                                                   \
	"package "                                                             \
	"edge-01.000000000002.0b9a1c5e-0f41-4d7a-9a53-1d3c1c1f0a02.pkg"        \
	" 17 " DIG "\n"
#define DIG "2663ac52a7a7db21c16567f21fc1724135061b33cd92fc821a2ccfa47d9c5cce"

/* Write text as dir's inventory, read it, format it again; 1 if the same. */
static int
roundtrip(const char *dir, const char *text)
{
	struct media_inventory inv;
	struct error err = {0};
	char *path = tu_path(dir, MEDIA_INVENTORY), *buf;
	size_t len;
	int same;

	tu_write_file(path, text, strlen(text));
	free(path);
	if (media_inventory_read(dir, &inv, &err) != 0)
		fail_msg("media_inventory_read: %s", err.text);
	buf = media_inventory_format(&inv, &len);
	same = len == strlen(text) && memcmp(buf, text, len) == 0;
	free(buf);
	media_inventory_free(&inv);
	return same;
}

/* An inventory as export writes it formats to the very same bytes. */
static void
test_format_same(void **state)
{
	assert_true(roundtrip(*state, HEAD PKG1 PKG2));
	assert_true(roundtrip(*state, HEAD PKG1));
	assert_true(roundtrip(*state, HEAD));
}

/* One that parses but is not as export writes it does not. */
static void
test_format_differs(void **state)
{
	assert_false(roundtrip(*state, HEAD PKG2 PKG1));
}

/* A stale signature is removed; none there is no error. */
static void
test_unsign(void **state)
{
	char *path = tu_path(*state, MEDIA_INVENTORY_SIG);

	tu_write_file(path, "x", 1);
	assert_int_equal(media_handover_unsign(*state), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(media_handover_unsign(*state), 0);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)                                                                   \
	cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_format_same),
	    T(test_format_differs),
	    T(test_unsign),
#undef T
	};

	tu_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
