/* test_conf.c: the INI configuration of posgw-edge and posgw-core. */
#include "config.h"

#include "testutil.h"

#include "conf.h"
#include "log.h"
#include "package.h"
#include "xfer.h"

/* The required keys; tests append to or edit this. */
#define REQUIRED                                                               \
	"[gateway]\n"                                                          \
	"id = edge-01\n"                                                       \
	"peer = core-01\n"                                                     \
	"key = /k/edge-01.key\n"                                               \
	"cert = /k/edge-01.crt\n"                                              \
	"trust = /t/core-01.crt\n"                                             \
	"state = /var/lib/posgw-edge\n"                                        \
	"[transfer]\n"                                                         \
	"inbox = /srv/in\n"                                                    \
	"outbox = /srv/out\n"

/* Every key of every section, none at its default. */
static const char complete[] = "; posgw-edge\n"
                               "# both comment styles\n"
                               "[gateway]\n"
                               "id = edge-01\n"
                               "peer = core-01\n"
                               "key = /k/edge-01.key\n"
                               "cert = /k/edge-01.crt\n"
                               "trust = /t/core-01.crt\n"
                               "trust = /t/ca.crt\n"
                               "state = /var/lib/posgw-edge\n"
                               "\n"
                               "[transfer]\n"
                               "inbox = /srv/core-to-edge\n"
                               "outbox = /srv/edge-to-core\n"
                               "quarantine = /srv/quarantine\n"
                               "max_documents = 7\n"
                               "max_bytes = 3M\n"
                               "backlog_bytes = 1M\n"
                               "max_wait_ms = 1500\n"
                               "receipt_delay = 5\n"
                               "resend_interval = 120\n"
                               "scan_interval = 3\n"
                               "checkpoint_entries = 42\n"
                               "checkpoint_minutes = 0\n"
                               "compress = gzip\n"
                               "digest = sha256\n"
                               "\n"
                               "[limits]\n"
                               "file = 2G\n"
                               "entries = 500\n"
                               "manifest = 1M\n"
                               "xml = 2M\n"
                               "entry = 100M\n"
                               "total = 4G\n"
                               "depth = 32\n"
                               "\n"
                               "[accept]\n"
                               "filters = zstd, none\n"
                               "digests = streebog256\n"
                               "algorithms = gost256,gost512\n"
                               "\n"
                               "[log]\n"
                               "level = debug\n";

/* Write text to dir/posgw.conf; returns the path (malloc'd). */
static char *
write_conf(const char *dir, const char *text)
{
	char *path = tu_path(dir, "posgw.conf");

	tu_write_file(path, text, strlen(text));
	return path;
}

/* Load text as a configuration; must succeed. */
static void
load_ok(const char *dir, const char *text, struct conf *c)
{
	char *path = write_conf(dir, text);
	struct error err = {0};

	err_clear(&err);
	if (conf_load(path, c, &err) == -1)
		fail_msg("conf_load: %s\n%s", err.text, text);
	assert_string_equal(c->path, path);
	free(path);
}

/*
 * Load text as a configuration; must fail with "<path><after>" in the error,
 * where after usually is " line N: ...".
 */
static void
load_fails(const char *dir, const char *text, const char *after)
{
	char *path = write_conf(dir, text), *want;
	struct error err = {0};
	struct conf c;

	xasprintf(&want, "%s%s", path, after);
	err_clear(&err);
	if (conf_load(path, &c, &err) != -1)
		fail_msg("accepted:\n%s", text);
	if (strstr(err.text, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err.text, want);
	conf_free(&c);
	free(want);
	free(path);
}

/* Load REQUIRED plus one more section line and key; must fail at line 12. */
static void
extra_fails(
    const char *dir, const char *section, const char *line, const char *why)
{
	char *text, *want;

	xasprintf(&text, "%s[%s]\n%s\n", REQUIRED, section, line);
	xasprintf(&want, " line 12: [%s] %s: %s", section, line, why);
	load_fails(dir, text, want);
	free(text);
	free(want);
}

/* Every value of a complete file lands in struct conf and its xfer_config. */
static void
test_complete(void **state)
{
	const struct xfer_config *x;
	struct conf c;

	load_ok(*state, complete, &c);
	x = &c.x;
	assert_string_equal(c.own_id, "edge-01");
	assert_string_equal(c.peer_id, "core-01");
	assert_string_equal(c.key, "/k/edge-01.key");
	assert_string_equal(c.cert, "/k/edge-01.crt");
	assert_string_equal(c.state, "/var/lib/posgw-edge");
	assert_string_equal(c.inbox, "/srv/core-to-edge");
	assert_string_equal(c.outbox, "/srv/edge-to-core");
	assert_string_equal(c.quarantine, "/srv/quarantine");
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);

	/* the engine's view points at the owned strings */
	assert_ptr_equal(x->own_id, c.own_id);
	assert_ptr_equal(x->peer_id, c.peer_id);
	assert_ptr_equal(x->key, c.key);
	assert_ptr_equal(x->cert, c.cert);
	assert_ptr_equal(x->state_dir, c.state);
	assert_ptr_equal(x->inbox, c.inbox);
	assert_ptr_equal(x->outbox, c.outbox);
	assert_ptr_equal(x->quarantine, c.quarantine);
	assert_int_equal(x->ntrust, 2);
	assert_string_equal(x->trust[0], "/t/core-01.crt");
	assert_string_equal(x->trust[1], "/t/ca.crt");
	assert_ptr_equal(x->trust[0], c.trust[0]);
	assert_null(x->trust[2]);

	assert_int_equal(x->max_docs, 7);
	assert_int_equal(x->max_bytes, 3ULL << 20);
	assert_int_equal(x->backlog_bytes, 1ULL << 20);
	assert_int_equal(x->max_wait_ms, 1500);
	assert_int_equal(x->receipt_delay, 5);
	assert_int_equal(x->resend_interval, 120);
	assert_int_equal(x->scan_interval, 3);
	assert_int_equal(x->checkpoint_entries, 42);
	assert_int_equal(x->checkpoint_minutes, 0);
	assert_int_equal(x->compress, PKG_COMPRESS_GZIP);
	assert_int_equal(x->digest, DIGEST_SHA256);

	assert_int_equal(x->verify.limits.max_file, 2ULL << 30);
	assert_int_equal(x->verify.limits.max_entries, 500);
	assert_int_equal(x->verify.limits.max_manifest, 1ULL << 20);
	assert_int_equal(x->verify.limits.max_xml, 2ULL << 20);
	assert_int_equal(x->verify.limits.max_entry, 100ULL << 20);
	assert_int_equal(x->verify.limits.max_total, 4ULL << 30);
	assert_int_equal(x->verify.limits.max_depth, 32);
	assert_int_equal(x->verify.filters, PKG_FILTER_ZSTD | PKG_FILTER_NONE);
	assert_int_equal(x->verify.digests, DIGEST_ALLOW_STREEBOG256);
	assert_int_equal(
	    x->verify.sig_algs, SIG_ALLOW_GOST256 | SIG_ALLOW_GOST512);
	/* filled in by xfer_open, not by the file */
	assert_null(x->verify.own_id);
	assert_null(x->verify.trust);
	conf_free(&c);
	assert_null(c.path);
	assert_null(c.own_id);
}

/* Optional keys left out keep xfer_config_default's values. */
static void
test_defaults(void **state)
{
	struct xfer_config d;
	struct conf c;

	xfer_config_default(&d);
	load_ok(*state, REQUIRED, &c);
	assert_int_equal(c.x.max_docs, d.max_docs);
	assert_int_equal(c.x.max_bytes, d.max_bytes);
	assert_int_equal(c.x.max_wait_ms, d.max_wait_ms);
	assert_int_equal(c.x.receipt_delay, d.receipt_delay);
	assert_int_equal(c.x.resend_interval, d.resend_interval);
	assert_int_equal(c.x.scan_interval, d.scan_interval);
	assert_int_equal(c.x.checkpoint_entries, d.checkpoint_entries);
	assert_int_equal(c.x.checkpoint_minutes, d.checkpoint_minutes);
	assert_int_equal(c.x.compress, d.compress);
	assert_int_equal(c.x.digest, d.digest);
	assert_memory_equal(
	    &c.x.verify.limits, &d.verify.limits, sizeof d.verify.limits);
	assert_int_equal(c.x.verify.filters, d.verify.filters);
	assert_int_equal(c.x.verify.digests, d.verify.digests);
	assert_int_equal(c.x.verify.sig_algs, d.verify.sig_algs);
	assert_int_equal(c.x.verify.now, d.verify.now);
	/* and those are the documented defaults */
	assert_int_equal(d.max_docs, 100);
	assert_int_equal(d.max_bytes, 64ULL << 20);
	assert_int_equal(d.backlog_bytes, 2ULL << 20);
	assert_int_equal(d.max_wait_ms, 200);
	assert_int_equal(d.receipt_delay, 30);
	assert_int_equal(d.resend_interval, 600);
	assert_int_equal(d.scan_interval, 10);
	assert_int_equal(d.checkpoint_entries, 100);
	assert_int_equal(d.checkpoint_minutes, 10);
	assert_int_equal(d.compress, PKG_COMPRESS_ZSTD);
	assert_int_equal(d.digest, DIGEST_STREEBOG256);
	assert_int_equal(d.verify.filters, PKG_FILTER_ALL);
	assert_int_equal(d.verify.digests, DIGEST_ALLOW_ALL);
	assert_int_equal(d.verify.sig_algs, SIG_ALLOW_ALL);
	assert_null(c.quarantine);
	assert_null(c.x.quarantine);
	assert_int_equal(c.x.ntrust, 1);
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	conf_free(&c);
}

/* Zero where zero makes no sense is raised to one; sizes take suffixes. */
static void
test_numbers(void **state)
{
	struct conf c;
	char *text;

	xasprintf(&text,
	    "%smax_documents = 0\nscan_interval = 0\ncheckpoint_entries = 0\n"
	    "max_bytes = 64M\nmax_wait_ms = 0\nreceipt_delay = 0\n"
	    "resend_interval = 31536000\n[limits]\nfile = 1T\nentry = 3K\n"
	    "depth = 256\n",
	    REQUIRED);
	load_ok(*state, text, &c);
	free(text);
	assert_int_equal(c.x.max_docs, 1);
	assert_int_equal(c.x.scan_interval, 1);
	assert_int_equal(c.x.checkpoint_entries, 1);
	assert_int_equal(c.x.max_bytes, 64ULL << 20);
	assert_int_equal(c.x.max_wait_ms, 0);
	assert_int_equal(c.x.receipt_delay, 0);
	assert_int_equal(c.x.resend_interval, 31536000);
	assert_int_equal(c.x.verify.limits.max_file, 1ULL << 40);
	assert_int_equal(c.x.verify.limits.max_entry, 3ULL << 10);
	assert_int_equal(c.x.verify.limits.max_depth, 256);
	conf_free(&c);

	xasprintf(&text, "%smax_bytes = 1G\nmax_bytes = 16777215T\n", REQUIRED);
	load_ok(*state, text, &c);
	free(text);
	assert_int_equal(c.x.max_bytes, 16777215ULL << 40);
	conf_free(&c);
}

/* A section nobody knows is an error naming file and line. */
static void
test_unknown_section(void **state)
{
	extra_fails(*state, "gateways", "id = edge-01", "unknown key");
	extra_fails(*state, "Transfer", "inbox = /srv/in", "unknown key");
	load_fails(*state, "[gateway]\nid = edge-01\n[logging]\nlevel = info\n",
	    " line 4: [logging] level = info: unknown key");
}

/* A key nobody knows, or a key in the wrong section, names file and line. */
static void
test_unknown_key(void **state)
{
	extra_fails(*state, "gateway", "bogus = 1", "unknown key");
	extra_fails(*state, "transfer", "max_docs = 5", "unknown key");
	extra_fails(*state, "gateway", "inbox = /srv/in", "unknown key");
	extra_fails(*state, "log", "Level = info", "unknown key");
	extra_fails(
	    *state, "limits", "bogus = 1", "unknown limit or bad value");
	/* the first bad line wins, not the last */
	load_fails(*state, "[gateway]\nid = edge-01\nfoo = 1\nbar = 2\n",
	    " line 3: [gateway] foo = 1: unknown key");
}

/* Gateway ids must match [a-z0-9][a-z0-9-]{0,31}. */
static void
test_bad_id(void **state)
{
	static const char *const bad[] = {"Edge-01", "-edge", "edge_01",
	    "edge 01", "a23456789012345678901234567890123", "эдж"};
	char *text, *want;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xasprintf(&text, "[gateway]\nid = %s\n", bad[i]);
		xasprintf(&want,
		    " line 2: [gateway] id = %s: not a gateway id ([a-z0-9]"
		    "[a-z0-9-]{0,31})",
		    bad[i]);
		load_fails(*state, text, want);
		free(text);
		free(want);
	}
	load_fails(*state, "[gateway]\nid = edge-01\n\npeer = Core\n",
	    " line 4: [gateway] peer = Core: not a gateway id");
	/* 32 characters is the longest id */
	xasprintf(
	    &text, "%s", "[gateway]\nid = a2345678901234567890123456789012\n");
	load_fails(*state, text, ": [gateway] peer is required");
	free(text);
}

/* Numbers: digits only (with a size suffix), and within range. */
static void
test_bad_number(void **state)
{
	static const struct {
		const char *line;
	} bad[] = {
	    {"max_documents = ten"},
	    {"max_documents = -1"},
	    {"max_documents = +5"},
	    {"max_documents = 1.5"},
	    {"max_documents = 0x10"},
	    {"max_documents = "},
	    {"max_documents = 100001"},
	    {"max_wait_ms = 86400001"},
	    {"receipt_delay = 86401"},
	    {"resend_interval = 31536001"},
	    {"scan_interval = 86401"},
	    {"checkpoint_entries = 10000001"},
	    {"checkpoint_minutes = 100001"},
	    {"max_bytes = 18446744073709551616"},
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		extra_fails(
		    *state, "transfer", bad[i].line, "expected a number");
	/* the message says what is expected, legibly */
	extra_fails(*state, "transfer", "max_documents = 100001",
	    "expected a number up to 100000");
	extra_fails(
	    *state, "limits", "depth = 257", "unknown limit or bad value");
	extra_fails(*state, "limits", "file = 0", "unknown limit or bad value");
	extra_fails(
	    *state, "limits", "file = big", "unknown limit or bad value");
}

/* Size suffixes are K, M, G, T exactly; max_bytes = 64M works. */
static void
test_suffix(void **state)
{
	static const char *const bad[] = {"64MB", "64m", "64 M", "M", "64MM",
	    "64KiB", "16777216T", "18014398509481984G"};
	struct conf c;
	char *text, *line;
	size_t i;

	xasprintf(&text, "%smax_bytes = 64M\n", REQUIRED);
	load_ok(*state, text, &c);
	assert_int_equal(c.x.max_bytes, 64ULL << 20);
	conf_free(&c);
	free(text);
	xasprintf(&text, "%smax_bytes = 2K\n[limits]\ntotal = 3G\n", REQUIRED);
	load_ok(*state, text, &c);
	assert_int_equal(c.x.max_bytes, 2048);
	assert_int_equal(c.x.verify.limits.max_total, 3ULL << 30);
	conf_free(&c);
	free(text);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xasprintf(&line, "max_bytes = %s", bad[i]);
		extra_fails(*state, "transfer", line, "expected a number");
		free(line);
	}
	/* a suffix that would overflow the limit is refused as well */
	extra_fails(*state, "limits", "total = 16777216T",
	    "unknown limit or bad value");
}

/* compress and digest take exactly the documented names. */
static void
test_bad_compress_digest(void **state)
{
	extra_fails(
	    *state, "transfer", "compress = xz", "expected zstd, gzip or none");
	extra_fails(*state, "transfer", "compress = ZSTD",
	    "expected zstd, gzip or none");
	extra_fails(
	    *state, "transfer", "compress = ", "expected zstd, gzip or none");
	extra_fails(*state, "transfer", "digest = md5",
	    "expected streebog256 or sha256");
	extra_fails(*state, "transfer", "digest = sha-256",
	    "expected streebog256 or sha256");
	extra_fails(*state, "transfer", "digest = streebog512",
	    "expected streebog256 or sha256");
}

/* Allow-lists must name at least one known item, and only known ones. */
static void
test_bad_allow_list(void **state)
{
	extra_fails(*state, "accept",
	    "filters = ", "expected a list of none, gzip, zstd");
	extra_fails(*state, "accept", "filters = ,",
	    "expected a list of none, gzip, zstd");
	extra_fails(*state, "accept", "filters = zstd,xz",
	    "expected a list of none, gzip, zstd");
	extra_fails(*state, "accept", "digests = , ,",
	    "expected a list of streebog256, sha256");
	extra_fails(*state, "accept", "digests = sha1",
	    "expected a list of streebog256, sha256");
	extra_fails(*state, "accept", "algorithms = ",
	    "expected a list of gost256, gost512, ecdsa, ed25519");
	extra_fails(*state, "accept", "algorithms = rsa",
	    "expected a list of gost256, gost512, ecdsa, ed25519");
	extra_fails(*state, "accept", "algorithms = gost256 gost512",
	    "expected a list of gost256, gost512, ecdsa, ed25519");
}

/* Allow-lists take spaces around items and repeat items harmlessly. */
static void
test_allow_list_spacing(void **state)
{
	struct conf c;
	char *text;

	xasprintf(&text,
	    "%s[accept]\nfilters =  gzip ,zstd,gzip\ndigests = sha256,\n"
	    "algorithms = ecdsa , ed25519\n",
	    REQUIRED);
	load_ok(*state, text, &c);
	free(text);
	assert_int_equal(c.x.verify.filters, PKG_FILTER_GZIP | PKG_FILTER_ZSTD);
	assert_int_equal(c.x.verify.digests, DIGEST_ALLOW_SHA256);
	assert_int_equal(
	    c.x.verify.sig_algs, SIG_ALLOW_ECDSA | SIG_ALLOW_ED25519);
	conf_free(&c);
}

/* Log levels are error, warning, info and debug. */
static void
test_log_level(void **state)
{
	static const struct {
		const char *name;
		int level;
	} ok[] = {{"error", LOG_LEVEL_ERROR}, {"warning", LOG_LEVEL_WARN},
	    {"info", LOG_LEVEL_INFO}, {"debug", LOG_LEVEL_DEBUG}};
	struct conf c;
	char *text;
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		xasprintf(&text, "%s[log]\nlevel = %s\n", REQUIRED, ok[i].name);
		load_ok(*state, text, &c);
		assert_int_equal(c.log_level, ok[i].level);
		conf_free(&c);
		free(text);
	}
	extra_fails(*state, "log", "level = warn",
	    "expected error, warning, info or debug");
	extra_fails(*state, "log", "level = DEBUG",
	    "expected error, warning, info or debug");
}

/* Up to eight trust lines are taken; a ninth names its line. */
static void
test_trust_lines(void **state)
{
	struct conf c;
	char *text, *p;
	int i;

	text = xstrdup(REQUIRED "[gateway]\n");
	for (i = 2; i <= 8; i++) {
		xasprintf(&p, "%strust = /t/%d.crt\n", text, i);
		free(text);
		text = p;
	}
	load_ok(*state, text, &c);
	assert_int_equal(c.x.ntrust, 8);
	assert_string_equal(c.x.trust[0], "/t/core-01.crt");
	assert_string_equal(c.x.trust[7], "/t/8.crt");
	conf_free(&c);
	/* REQUIRED is 10 lines, the section 1, the trust lines 7: line 19 */
	xasprintf(&p, "%strust = /t/9.crt\n", text);
	load_fails(*state, p,
	    " line 19: [gateway] trust = /t/9.crt: too many trust lines (at "
	    "most 8)");
	free(p);
	free(text);
}

/* Each required key missing is named. */
static void
test_missing_required(void **state)
{
	static const struct {
		const char *line, *name;
	} req[] = {
	    {"id = edge-01\n", "[gateway] id"},
	    {"peer = core-01\n", "[gateway] peer"},
	    {"key = /k/edge-01.key\n", "[gateway] key"},
	    {"cert = /k/edge-01.crt\n", "[gateway] cert"},
	    {"trust = /t/core-01.crt\n", "[gateway] trust"},
	    {"state = /var/lib/posgw-edge\n", "[gateway] state"},
	    {"inbox = /srv/in\n", "[transfer] inbox"},
	    {"outbox = /srv/out\n", "[transfer] outbox"},
	};
	char *text, *want;
	size_t i;

	for (i = 0; i < sizeof req / sizeof req[0]; i++) {
		text = tu_replace(REQUIRED, req[i].line, "");
		xasprintf(&want, ": %s is required", req[i].name);
		load_fails(*state, text, want);
		free(text);
		free(want);
	}
	load_fails(*state, "", ": [gateway] id is required");
	load_fails(*state, "; only a comment\n", ": [gateway] id is required");
	/* trust explains what it wants */
	text = tu_replace(REQUIRED, "trust = /t/core-01.crt\n", "");
	load_fails(*state, text,
	    ": [gateway] trust is required: the peer's certificate or the CA "
	    "that issues it");
	free(text);
}

/* A gateway cannot exchange with itself. */
static void
test_id_equals_peer(void **state)
{
	char *text = tu_replace(REQUIRED, "peer = core-01", "peer = edge-01");

	load_fails(*state, text, ": id and peer must differ");
	free(text);
}

/* A line that is neither a section, a key nor a comment names its line. */
static void
test_not_ini(void **state)
{
	char *text;

	xasprintf(&text, "%sthis is not a key\n", REQUIRED);
	load_fails(*state, text,
	    " line 11: not INI syntax ([section] or key = value)");
	free(text);
	load_fails(*state, "[gateway\n", " line 1: not INI syntax");
	/* keys after a broken section header belong to no section */
	load_fails(*state, "[gateway\nid = edge-01\n",
	    " line 2: [] id = edge-01: unknown key");
	load_fails(*state, "\n\n[gateway]\n= edge-01\n",
	    " line 4: [gateway]  = edge-01: unknown key");
	/* a bad key after the syntax error still wins: it names its line */
	load_fails(*state, "junk\n[gateway]\nbogus = 1\n",
	    " line 3: [gateway] bogus = 1: unknown key");
}

/* A line too long for the parser is refused, not silently cut. */
static void
test_long_line(void **state)
{
	static const char *const tails[] = {
	    "aaaa", " /elsewhere", " ; note", " # note", "x = 1"};
	struct conf c;
	char *text, *value, *line;
	size_t i;

	/* 199 bytes, with or without the newline, are fine */
	value = xmalloc(200);
	memset(value, 'a', 199);
	value[0] = '/';
	value[199 - 8] = '\0';
	xasprintf(&line, "state = %s", value);
	assert_int_equal(strlen(line), 199);
	text = tu_replace(REQUIRED, "state = /var/lib/posgw-edge", line);
	load_ok(*state, text, &c);
	assert_string_equal(c.state, value);
	conf_free(&c);
	free(text);
	xasprintf(&text, "%s[gateway]\n%s", REQUIRED, line);
	load_ok(*state, text, &c); /* the last line, without a newline */
	assert_string_equal(c.state, value);
	conf_free(&c);
	free(text);
	free(line);

	/* longer: whatever follows must not become a value, comment or key */
	for (i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		xasprintf(&line, "state = %s%s", value, tails[i]);
		text =
		    tu_replace(REQUIRED, "state = /var/lib/posgw-edge", line);
		load_fails(*state, text, " line 7: line too long");
		free(text);
		free(line);
	}
	free(value);
}

/* A missing file is an error naming it. */
static void
test_missing_file(void **state)
{
	char *path = tu_path(*state, "none.conf"), *want;
	struct error err = {0};
	struct conf c;

	err_clear(&err);
	assert_int_equal(conf_load(path, &c, &err), -1);
	xasprintf(&want, "cannot read configuration %s: No such file", path);
	if (strstr(err.text, want) == NULL)
		fail_msg("'%s' does not contain '%s'", err.text, want);
	conf_free(&c);
	free(want);
	free(path);
}

/* [smev]: the adapter's channel, its waits and the settle time. */
static void
test_smev(void **state)
{
	struct conf c;
	char *text;

	xasprintf(
	    &text, "%s[smev]\nbase = /srv/smev\nmnemonic = POSGW\n", REQUIRED);
	load_ok(*state, text, &c);
	free(text);
	assert_true(c.smev.present);
	assert_int_equal(c.smev.attachment_wait, 600);
	assert_int_equal(c.smev.settle, 5);
	conf_free(&c);
	xasprintf(&text,
	    "%s[smev]\nbase = /srv/smev\nmnemonic = POSGW\n"
	    "attachment_wait = 60\nsettle = 0\n",
	    REQUIRED);
	load_ok(*state, text, &c);
	free(text);
	assert_int_equal(c.smev.attachment_wait, 60);
	assert_int_equal(c.smev.settle, 0);
	conf_free(&c);
	extra_fails(
	    *state, "smev", "settle = 3601", "expected a number up to 3600");
	extra_fails(*state, "smev", "settle = soon", "expected a number");
}

/* Load text and check it for role: must pass, or fail naming want. */
static void
role_check(
    const char *dir, const char *text, const char *role, const char *want)
{
	struct error err = {0};
	struct conf c;
	int rc;

	load_ok(dir, text, &c);
	err_clear(&err);
	rc = conf_check_role(&c, role, &err);
	if (want == NULL && rc != 0)
		fail_msg("refused for %s: %s\n%s", role, err.text, text);
	if (want != NULL && rc != -1)
		fail_msg("accepted for %s:\n%s", role, text);
	if (want != NULL && strstr(err.text, want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err.text, want);
	conf_free(&c);
}

/*
 * Each folder of a role is its own: the EDMS import that is the export,
 * an inbox that is the outbox (however the name is written, or through a
 * symbolic link), an outbox in the adapter's out/ are refused, naming
 * both settings.
 */
static void
test_same_folder(void **state)
{
	const char *dir = *state;
	char *text, *a, *b;

	xasprintf(&text,
	    "%s[edms]\nexport = /srv/edms/x\nimport = /srv/edms/y\n"
	    "signer_trust = /t/official.crt\n",
	    REQUIRED);
	role_check(dir, text, "core", NULL);
	free(text);
	xasprintf(&text,
	    "%s[edms]\nexport = /srv/edms/x\nimport = /srv//edms/./x/\n"
	    "signer_trust = /t/official.crt\n",
	    REQUIRED);
	role_check(dir, text, "core",
	    "[edms] export (/srv/edms/x) and [edms] import (/srv/edms/x) are "
	    "the same folder; give each a folder of its own");
	free(text);
	xasprintf(&text,
	    "[gateway]\nid = edge-01\npeer = core-01\nkey = /k/e.key\n"
	    "cert = /k/e.crt\ntrust = /t/c.crt\nstate = /var/lib/e\n"
	    "[transfer]\ninbox = /srv/x\noutbox = /srv/x/\n"
	    "[smev]\nbase = /srv/smev\nmnemonic = POSGW\n");
	role_check(dir, text, "edge",
	    "[transfer] inbox (/srv/x) and [transfer] outbox (/srv/x) are "
	    "the same folder");
	free(text);
	xasprintf(&text,
	    "[gateway]\nid = edge-01\npeer = core-01\nkey = /k/e.key\n"
	    "cert = /k/e.crt\ntrust = /t/c.crt\nstate = /var/lib/e\n"
	    "[transfer]\ninbox = /srv/c2e\noutbox = /srv/smev/out\n"
	    "[smev]\nbase = /srv/smev/\nmnemonic = POSGW\n");
	role_check(dir, text, "edge",
	    "[transfer] outbox (/srv/smev/out) and the adapter's out/ "
	    "([smev] base) (/srv/smev/out) are the same folder");
	free(text);
	xasprintf(&text,
	    "%s[smev]\nbase = /srv/smev\nmnemonic = POSGW\n"
	    "attachments_in = /srv/in\n",
	    REQUIRED);
	role_check(dir, text, "edge",
	    "[transfer] inbox (/srv/in) and [smev] attachments_in (/srv/in)");
	free(text);
	xasprintf(
	    &text, "%s[smev]\nbase = /srv/smev\nmnemonic = POSGW\n", REQUIRED);
	role_check(dir, text, "edge", NULL);
	free(text);

	/* two names, one folder: a symbolic link */
	a = tu_path(dir, "export");
	b = tu_path(dir, "import");
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(symlink(a, b), 0);
	xasprintf(&text,
	    "%s[edms]\nexport = %s\nimport = %s\n"
	    "signer_trust = /t/official.crt\n",
	    REQUIRED, a, b);
	role_check(dir, text, "core", "are the same folder");
	free(text);
	free(a);
	free(b);
}

/* Whitespace, comments and inline comments are allowed around values. */
static void
test_syntax_tolerance(void **state)
{
	struct conf c;
	char *text;

	xasprintf(&text, "  ; indented comment\n"
	                 "[gateway]  \n"
	                 "id=edge-01\n"
	                 "peer   =   core-01   \n"
	                 "key = /k/edge-01.key ; the key\n"
	                 "cert = /k/edge-01.crt\n"
	                 "trust = /t/core-01.crt\n"
	                 "state = /var/lib/posgw-edge\n"
	                 "[transfer]\n"
	                 "inbox = /srv/in\n"
	                 "outbox = /srv/out\n"
	                 "max_documents = 5 ; five\n");
	load_ok(*state, text, &c);
	free(text);
	assert_string_equal(c.own_id, "edge-01");
	assert_string_equal(c.peer_id, "core-01");
	assert_string_equal(c.key, "/k/edge-01.key");
	assert_int_equal(c.x.max_docs, 5);
	conf_free(&c);
}

/* [lko] ID = OKTMO NAME and [orgs] ID = NAME: parsed, looked up, refused. */
static void
test_organizations(void **state)
{
	struct conf c;
	char *text;

	xasprintf(&text,
	    "%s[lko]\n1000001 = 29701000 Правительство Калужской области\n"
	    "1000002 = 29701000000 Администрация г. Калуги\n"
	    "[orgs]\n2000001 = Министерство здравоохранения\n",
	    REQUIRED);
	load_ok(*state, text, &c);
	free(text);
	assert_int_equal(c.nlko, 2);
	assert_int_equal(c.norgs, 1);
	assert_string_equal(conf_lko_find(&c, "1000002")->oktmo, "29701000000");
	assert_string_equal(conf_lko_find(&c, "1000001")->name,
	    "Правительство Калужской области");
	assert_null(conf_lko_find(&c, "2000001"));
	assert_string_equal(
	    conf_org_find(&c, "2000001")->name, "Министерство здравоохранения");
	assert_non_null(conf_org_find(&c, "1000001")); /* our own ЛКО too */
	assert_null(conf_org_find(&c, "3"));
	assert_null(conf_org_find(&c, NULL));
	conf_free(&c);
	extra_fails(*state, "lko", "10x = 29701000 Имя",
	    "the key is the organization's ПОС id: 1 to 20 digits");
	extra_fails(*state, "lko", "123456789012345678901 = 29701000 Имя",
	    "the key is the organization's ПОС id: 1 to 20 digits");
	extra_fails(*state, "lko", "1 = 2970100 Имя",
	    "expected OKTMO (8 or 11 digits), a space, then the name");
	extra_fails(*state, "lko", "1 = 29701000",
	    "expected OKTMO (8 or 11 digits), a space, then the name");
	extra_fails(*state, "lko", "1 = 29701000 \x01",
	    "the name must be 1 to 200 bytes of text");
	extra_fails(*state, "orgs", "1 = \xff\xfe",
	    "the name must be 1 to 200 bytes of text");
	load_fails(*state, "[lko]\n1 = 29701000 A\n1 = 29701000 B\n",
	    " line 3: [lko] 1 = 29701000 B: listed twice");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)                                                                   \
	cmocka_unit_test_setup_teardown(f, tu_setup_tmpdir, tu_teardown_tmpdir)
	    T(test_complete),
	    T(test_defaults),
	    T(test_numbers),
	    T(test_unknown_section),
	    T(test_unknown_key),
	    T(test_bad_id),
	    T(test_bad_number),
	    T(test_suffix),
	    T(test_bad_compress_digest),
	    T(test_bad_allow_list),
	    T(test_allow_list_spacing),
	    T(test_log_level),
	    T(test_trust_lines),
	    T(test_missing_required),
	    T(test_id_equals_peer),
	    T(test_not_ini),
	    T(test_long_line),
	    T(test_missing_file),
	    T(test_syntax_tolerance),
	    T(test_smev),
	    T(test_same_folder),
	    T(test_organizations),
#undef T
	};

	tu_init();
	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests_name("test_conf", tests, NULL, NULL);
}
