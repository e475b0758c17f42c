/*
 * test_retention.c: retention.c in-process: periods, which appeals are
 * emptied (closed, due and settled only), what stays (root element, size,
 * digest, file rows, shared store files), the journal line once, and
 * rejected files by age.
 */
#include "config.h"

#include <inttypes.h>
#include <time.h>

#include "testutil.h"

#include "db.h"
#include "digest.h"
#include "log.h"
#include "retention.h"
#include "schema.h"
#include "xfer.h"

#define BODY                                                                   \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                         \
	"<appeal xmlns=\"urn:posgw:exchange:1\" pos-id=\"%s\" "                \
	"kind=\"message\" created=\"2026-11-24T08:15:00Z\" "                   \
	"due=\"2026-12-08\">\n"                                                \
	"  <applicant><surname>Иванова</surname>"                       \
	"<email>m.ivanova@example.org</email></applicant>\n"                   \
	"  <text>Яма у дома 12.</text>\n"                              \
	"</appeal>\n"
#define DIG_SHARED "aa"
#define DIG_ONLY "bb"

/* Per test: a directory, keys and one engine with a table of closures. */
struct fix {
	char *dir, *state, *in, *out, *key, *cert, *peer_key, *peer_cert;
	struct xfer_config c;
	struct xfer *x;
};

static void sql_ok(struct fix *f, const char *sql);

static const char closed_sql[] =
    "SELECT pos_id FROM t_closed WHERE closed <= ?1";

/* Keys, folders and the engine (quiet logs). */
static int
fix_setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof *f);
	struct error err = {0};

	f->dir = tu_mkdtemp();
	tu_keys(f->dir, "edge-01", KEY_GOST256, &f->key, &f->cert);
	tu_keys(f->dir, "core-01", KEY_GOST256, &f->peer_key, &f->peer_cert);
	f->state = tu_path(f->dir, "state");
	f->in = tu_path(f->dir, "in");
	f->out = tu_path(f->dir, "out");
	assert_int_equal(mkdir(f->in, 0700), 0);
	xfer_config_default(&f->c);
	f->c.own_id = "edge-01";
	f->c.peer_id = "core-01";
	f->c.key = f->key;
	f->c.cert = f->cert;
	f->c.trust[0] = f->peer_cert;
	f->c.ntrust = 1;
	f->c.state_dir = f->state;
	f->c.inbox = f->in;
	f->c.outbox = f->out;
	f->c.accept_plain = 1;
	f->c.encrypt = 0;
	f->c.retain_personal = 60;
	f->c.retain_quarantine = 60;
	if ((f->x = xfer_open(&f->c, 0, &err)) == NULL)
		fail_msg("xfer_open: %s", err.text);
	retention_set_closed(f->x, closed_sql);
	*state = f;
	sql_ok(f, "CREATE TABLE t_closed (pos_id TEXT, closed INTEGER)");
	return 0;
}

/* Close and remove everything. */
static int
fix_teardown(void **state)
{
	struct fix *f = *state;
	int rc;

	xfer_close(f->x);
	free(f->state);
	free(f->in);
	free(f->out);
	free(f->key);
	free(f->cert);
	free(f->peer_key);
	free(f->peer_cert);
	rc = tu_rmdir(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Run SQL; must succeed. */
static void
sql_ok(struct fix *f, const char *sql)
{
	struct error err = {0};

	if (db_exec(xfer_db(f->x), sql, &err) == -1)
		fail_msg("%s: %s", sql, err.text);
}

/* A text from a query, malloc'd, or NULL. */
static char *
q_text(struct fix *f, const char *sql)
{
	sqlite3_stmt *st = db_prepare(xfer_db(f->x), sql);
	char *v = NULL;

	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	db_finalize(st);
	return v;
}

/* A received, consumed (or not) appeal document with one attachment. */
static void
add_appeal(
    struct fix *f, int id, const char *pos, int consumed, const char *digest)
{
	char body[600], *sql;

	snprintf(body, sizeof body, BODY, pos);
	xasprintf(&sql,
	    "INSERT INTO documents (id, direction, kind, path, pos_id, body,"
	    " created, consumed) VALUES (%d, 'in', 'appeal', 'payload/a.xml',"
	    " '%s', '%s', 1, %s);"
	    "INSERT INTO files (document_id, path, size, digest) VALUES (%d,"
	    " 'payload/att/a.bin', 4, '%s');",
	    id, pos, body, consumed ? "2" : "NULL", id, digest);
	sql_ok(f, sql);
	free(sql);
}

/* Write a store file named by a digest. */
static char *
store(struct fix *f, const char *digest)
{
	char *files = tu_path(f->state, "files"), *p = tu_path(files, digest);

	tu_write_file(p, "JPEG", 4);
	free(files);
	return p;
}

/* Periods: units, never, bounds, garbage. */
static void
test_duration(void **state)
{
	static const struct {
		const char *s;
		int rc;
		unsigned v;
	} cases[] = {
	    {"30d", 0, 30 * 86400},
	    {"45s", 0, 45},
	    {"90m", 0, 5400},
	    {"12h", 0, 43200},
	    {"2w", 0, 14 * 86400},
	    {"3650d", 0, 3650 * 86400},
	    {"never", 0, 0},
	    {"0", 0, 0},
	    {"3651d", -1, 0},
	    {"0d", -1, 0},
	    {"30", -1, 0},
	    {"30x", -1, 0},
	    {"30dd", -1, 0},
	    {"d", -1, 0},
	    {"-1d", -1, 0},
	    {" 1d", -1, 0},
	    {"", -1, 0},
	    {"99999999999999999999d", -1, 0},
	};
	unsigned v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = 12345;
		if (retention_duration_parse(cases[i].s, &v) != cases[i].rc)
			fail_msg("'%s': expected %d", cases[i].s, cases[i].rc);
		if (cases[i].rc == 0 && v != cases[i].v)
			fail_msg(
			    "'%s': %u, expected %u", cases[i].s, v, cases[i].v);
	}
}

/* Closed, due, settled appeals are emptied once; the others are kept. */
static void
test_purge(void **state)
{
	struct fix *f = *state;
	struct retention_counts rc;
	struct error err = {0};
	char body[600], hex[DIGEST_HEX_LEN + 1], *v, *shared, *only, *sql;
	time_t now = time(NULL);

	/* 1: closed long ago, settled; 2: closed, not consumed yet;
	 * 3: open; 4: closed just now; 1 and 3 share an attachment */
	add_appeal(f, 1, "1", 1, DIG_SHARED);
	sql_ok(f, "INSERT INTO files (document_id, path, size, digest) VALUES"
	          " (1, 'payload/att/b.bin', 4, '" DIG_ONLY "')");
	add_appeal(f, 2, "2", 0, "cc");
	add_appeal(f, 3, "3", 1, DIG_SHARED);
	add_appeal(f, 4, "4", 1, "dd");
	shared = store(f, DIG_SHARED);
	only = store(f, DIG_ONLY);
	xasprintf(&sql,
	    "INSERT INTO t_closed VALUES ('1', %lld), ('2', %lld), ('4',"
	    " %lld)",
	    (long long)now - 3600, (long long)now - 3600, (long long)now);
	sql_ok(f, sql);
	free(sql);

	if (retention_run(f->x, now, &rc, &err) == -1)
		fail_msg("retention_run: %s", err.text);
	assert_int_equal(rc.appeals, 1);
	assert_int_equal(rc.documents, 1);
	assert_int_equal(rc.waiting, 1);

	snprintf(body, sizeof body, BODY, "1");
	digest_mem_hex(DIGEST_STREEBOG256, body, strlen(body), hex);
	xasprintf(&sql,
	    "SELECT size || ' ' || digest FROM retention_documents WHERE"
	    " document_id = 1");
	v = q_text(f, sql);
	free(sql);
	xasprintf(&sql, "%zu %s", strlen(body), hex);
	assert_non_null(v);
	assert_string_equal(v, sql);
	free(v);
	free(sql);

	v = q_text(f, "SELECT body FROM documents WHERE id = 1");
	assert_non_null(v);
	assert_null(strstr(v, "Иванова"));
	assert_null(strstr(v, "example.org"));
	assert_non_null(strstr(v, "<appeal xmlns=\"urn:posgw:exchange:1\" "
	                          "pos-id=\"1\" kind=\"message\""));
	assert_non_null(strstr(v, "personal-data=\"removed\"/>"));
	free(v);
	for (int id = 2; id <= 4; id++) {
		xasprintf(&sql, "SELECT body FROM documents WHERE id = %d", id);
		v = q_text(f, sql);
		assert_non_null(strstr(v, "Иванова"));
		free(v);
		free(sql);
	}
	/* the shared attachment stays for appeal 3; the other one goes */
	assert_int_equal(access(shared, F_OK), 0);
	assert_int_equal(access(only, F_OK), -1);
	v = q_text(f, "SELECT COUNT(*) FROM files WHERE document_id = 1");
	assert_string_equal(v, "2");
	free(v);
	v = q_text(f, "SELECT appeal || ': ' || detail FROM journal WHERE"
	              " kind = 'retention.purged'");
	xasprintf(&sql,
	    "1: personal data removed: documents 1 (%zu bytes), attachments "
	    "2, store files 1",
	    strlen(body));
	assert_string_equal(v, sql);
	free(v);
	free(sql);

	/* again, an hour later: 2 (now consumed) and 4 go, 1 is not again */
	sql_ok(f, "UPDATE documents SET consumed = 3 WHERE id = 2");
	if (retention_run(f->x, now + 3600, &rc, &err) == -1)
		fail_msg("retention_run: %s", err.text);
	assert_int_equal(rc.appeals, 2);
	v = q_text(f, "SELECT group_concat(appeal, ' ') FROM (SELECT appeal"
	              " FROM journal WHERE kind = 'retention.purged' ORDER BY"
	              " seq)");
	assert_string_equal(v, "1 2 4");
	free(v);
	v = q_text(f, "SELECT body FROM documents WHERE id = 3");
	assert_non_null(strstr(v, "Иванова"));
	free(v);
	free(shared);
	free(only);
}

/* A backlog is emptied a batch of 200 appeals per run, then the rest. */
static void
test_batch(void **state)
{
	struct fix *f = *state;
	struct retention_counts rc;
	struct error err = {0};
	char pos[16], *v;
	time_t now = time(NULL);
	int i;

	sql_ok(f, "BEGIN");
	for (i = 0; i < 205; i++) {
		snprintf(pos, sizeof pos, "%d", 1000 + i);
		add_appeal(f, i + 1, pos, 1, "ee");
	}
	sql_ok(f, "INSERT INTO t_closed SELECT pos_id, 0 FROM documents;"
	          "COMMIT");
	if (retention_run(f->x, now, &rc, &err) == -1)
		fail_msg("retention_run: %s", err.text);
	assert_int_equal(rc.appeals, 200);
	assert_int_equal(rc.more, 1);
	if (retention_run(f->x, now, &rc, &err) == -1)
		fail_msg("retention_run: %s", err.text);
	assert_int_equal(rc.appeals, 5);
	assert_int_equal(rc.more, 0);
	v = q_text(f, "SELECT COUNT(*) || ' ' || COUNT(DISTINCT appeal) FROM"
	              " journal WHERE kind = 'retention.purged'");
	assert_string_equal(v, "205 205");
	free(v);
}

/* Rejected files older than the period go with a journal line; a file on
 * the to-do list of an interrupted run is removed by the next. */
static void
test_rejected(void **state)
{
	struct fix *f = *state;
	struct retention_counts rc;
	struct error err = {0};
	char *q = tu_path(f->state, "quarantine"), *a = tu_path(q, "x.pkg");
	char *left = tu_path(q, "left.pkg"), *sql, *v;
	time_t now = time(NULL);

	tu_write_file(a, "pkg", 3);
	if (retention_run(f->x, now, &rc, &err) == -1)
		fail_msg("retention_run: %s", err.text);
	assert_int_equal(rc.rejected, 0);
	assert_int_equal(access(a, F_OK), 0);
	if (retention_run(f->x, now + 61, &rc, &err) == -1)
		fail_msg("retention_run: %s", err.text);
	assert_int_equal(rc.rejected, 1);
	assert_int_equal(access(a, F_OK), -1);
	v = q_text(f, "SELECT COUNT(*) FROM journal WHERE kind ="
	              " 'retention.rejected' AND detail LIKE '%: 1 file(s)"
	              " past the period: x.pkg'");
	assert_string_equal(v, "1");
	free(v);

	tu_write_file(left, "pkg", 3);
	xasprintf(
	    &sql, "INSERT INTO retention_unlink (path) VALUES ('%s')", left);
	sql_ok(f, sql);
	free(sql);
	if (retention_run(f->x, now, &rc, &err) == -1)
		fail_msg("retention_run: %s", err.text);
	assert_int_equal(access(left, F_OK), -1);
	v = q_text(f, "SELECT COUNT(*) FROM retention_unlink");
	assert_string_equal(v, "0");
	free(v);
	free(q);
	free(a);
	free(left);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test_setup_teardown(
	        test_purge, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_batch, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_rejected, fix_setup, fix_teardown),
	};
	int rc;

	tu_init();
	log_set_level(LOG_LEVEL_ERROR);
	rc = cmocka_run_group_tests_name("test_retention", tests, NULL, NULL);
	schema_free();
	return rc;
}
