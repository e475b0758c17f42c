/*
 * conf.c: the INI configuration of posgw-edge and posgw-core, parsed with
 * inih. Every key is documented in posgw-gateway.conf(5); unknown sections
 * or keys are errors naming the line, so typos never pass silently.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf.h"
#include "log.h"
#include "sysfilter.h"
#include "xmalloc.h"

struct conf_ctx {
	struct conf *c;
	struct error *err;
	FILE *f;
	int line;
};

/*
 * inih line reader that counts lines, so errors can name them. A line longer
 * than inih's buffer is an error: inih would take its rest as another line
 * (a continuation replacing the value, a comment, or a key).
 */
static char *
conf_reader(char *str, int num, void *arg)
{
	struct conf_ctx *ctx = arg;
	char *p = fgets(str, num, ctx->f);
	size_t len;
	int ch;

	if (p == NULL)
		return NULL;
	ctx->line++;
	len = strlen(p);
	if (len > 0 && p[len - 1] != '\n' && (ch = getc(ctx->f)) != EOF &&
	    ch != '\n') {
		err_set(ctx->err, ERR_NONE,
		    "%s line %d: line too long (at most %d bytes)",
		    ctx->c->path, ctx->line, num - 1);
		return NULL;
	}
	return p;
}

/* Parse an unsigned number with an optional K/M/G/T suffix. */
static int
conf_number(const char *v, uint64_t *out)
{
	return pkg_size_parse(v, out);
}

/* Replace an owned string. */
static void
conf_set(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* Parse a comma-separated allow-list through a name-to-bit function. */
static int
conf_list(const char *v, int (*fn)(const char *, unsigned *), unsigned *out)
{
	char *copy = xstrdup(v), *tok, *save = NULL, *p;
	unsigned bits = 0, bit;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		for (p = tok + strlen(tok); p > tok && p[-1] == ' '; p--)
			p[-1] = '\0';
		if (fn(tok, &bit) == -1) {
			free(copy);
			return -1;
		}
		bits |= bit;
	}
	free(copy);
	if (bits == 0)
		return -1;
	*out = bits;
	return 0;
}

static int
conf_filter_bit(const char *s, unsigned *bit)
{
	enum pkg_compress c;

	if (pkg_compress_from_name(s, &c) == -1)
		return -1;
	*bit = 1u << c;
	return 0;
}

static int
conf_digest_bit(const char *s, unsigned *bit)
{
	enum digest_alg a;

	if (digest_alg_from_name(s, &a) == -1)
		return -1;
	*bit = 1u << a;
	return 0;
}

/* inih callback: one key. Returns 0 (stop) on the first error. */
static int
conf_handler(
    void *arg, const char *section, const char *name, const char *value)
{
	struct conf_ctx *ctx = arg;
	int line = ctx->line;
	struct conf *c = ctx->c;
	struct xfer_config *x = &c->x;
	uint64_t n = 0;
	char spec[256];
	const char *why = "unknown key";

#define IS(s, k) (strcmp(section, s) == 0 && strcmp(name, k) == 0)
#define NUM(max)                                                               \
	do {                                                                   \
		if (conf_number(value, &n) == -1 || n > (max)) {               \
			snprintf(spec, sizeof spec,                            \
			    "expected a number up to %llu (K, M, G, T "        \
			    "suffixes allowed)",                               \
			    (unsigned long long)(max));                        \
			why = spec;                                            \
			goto bad;                                              \
		}                                                              \
	} while (0)
	if (IS("gateway", "id")) {
		if (!pkg_id_valid(value)) {
			why = "not a gateway id ([a-z0-9][a-z0-9-]{0,31})";
			goto bad;
		}
		conf_set(&c->own_id, value);
	} else if (IS("gateway", "peer")) {
		if (!pkg_id_valid(value)) {
			why = "not a gateway id ([a-z0-9][a-z0-9-]{0,31})";
			goto bad;
		}
		conf_set(&c->peer_id, value);
	} else if (IS("gateway", "key"))
		conf_set(&c->key, value);
	else if (IS("gateway", "cert"))
		conf_set(&c->cert, value);
	else if (IS("gateway", "trust")) {
		if (x->ntrust >= XFER_MAX_TRUST) {
			why = "too many trust lines (at most 8)";
			goto bad;
		}
		c->trust[x->ntrust] = xstrdup(value);
		x->trust[x->ntrust] = c->trust[x->ntrust];
		x->ntrust++;
	} else if (IS("gateway", "state"))
		conf_set(&c->state, value);
	else if (IS("gateway", "sandbox")) {
		if (strcmp(value, "yes") == 0)
			c->sandbox = 1;
		else if (strcmp(value, "no") == 0)
			c->sandbox = 0;
		else {
			why = "expected yes or no";
			goto bad;
		}
	} else if (IS("gateway", "seccomp")) {
		enum sysfilter_mode mode;
		if (sysfilter_mode_parse(value, &mode) == -1) {
			why = "expected kill, log or no";
			goto bad;
		}
		c->seccomp = (int)mode;
	} else if (IS("transfer", "inbox"))
		conf_set(&c->inbox, value);
	else if (IS("transfer", "outbox"))
		conf_set(&c->outbox, value);
	else if (IS("transfer", "quarantine"))
		conf_set(&c->quarantine, value);
	else if (IS("transfer", "max_documents")) {
		NUM(100000);
		x->max_docs = (unsigned)(n ? n : 1);
	} else if (IS("transfer", "max_bytes")) {
		NUM(UINT64_MAX);
		x->max_bytes = n;
	} else if (IS("transfer", "max_wait_ms")) {
		NUM(86400000);
		x->max_wait_ms = (unsigned)n;
	} else if (IS("transfer", "receipt_delay")) {
		NUM(86400);
		x->receipt_delay = (unsigned)n;
	} else if (IS("transfer", "resend_interval")) {
		NUM(31536000);
		x->resend_interval = (unsigned)n;
	} else if (IS("transfer", "scan_interval")) {
		NUM(86400);
		x->scan_interval = (unsigned)(n ? n : 1);
	} else if (IS("transfer", "checkpoint_entries")) {
		NUM(10000000);
		x->checkpoint_entries = (unsigned)(n ? n : 1);
	} else if (IS("transfer", "checkpoint_minutes")) {
		NUM(100000);
		x->checkpoint_minutes = (unsigned)n;
	} else if (IS("transfer", "compress")) {
		if (pkg_compress_from_name(value, &x->compress) == -1) {
			why = "expected zstd, gzip or none";
			goto bad;
		}
	} else if (IS("transfer", "digest")) {
		if (digest_alg_from_name(value, &x->digest) == -1) {
			why = "expected streebog256 or sha256";
			goto bad;
		}
	} else if (strcmp(section, "limits") == 0) {
		struct error e2 = {0};
		snprintf(spec, sizeof spec, "%s=%s", name, value);
		if (pkg_limits_set(&x->verify.limits, spec, &e2) == -1) {
			why = "unknown limit or bad value";
			goto bad;
		}
	} else if (IS("accept", "filters")) {
		if (conf_list(value, conf_filter_bit, &x->verify.filters) ==
		    -1) {
			why = "expected a list of none, gzip, zstd";
			goto bad;
		}
	} else if (IS("accept", "digests")) {
		if (conf_list(value, conf_digest_bit, &x->verify.digests) ==
		    -1) {
			why = "expected a list of streebog256, sha256";
			goto bad;
		}
	} else if (IS("accept", "algorithms")) {
		if (conf_list(value, sig_alg_from_name, &x->verify.sig_algs) ==
		    -1) {
			why = "expected a list of gost256, gost512, ecdsa, "
			      "ed25519";
			goto bad;
		}
	} else if (IS("smev", "base")) {
		c->smev.present = 1;
		conf_set(&c->smev.base, value);
	} else if (IS("smev", "mnemonic")) {
		c->smev.present = 1;
		conf_set(&c->smev.mnemonic, value);
	} else if (IS("smev", "attachments_in")) {
		c->smev.present = 1;
		conf_set(&c->smev.attachments_in, value);
	} else if (IS("smev", "attachments_out")) {
		c->smev.present = 1;
		conf_set(&c->smev.attachments_out, value);
	} else if (IS("smev", "attachment_wait")) {
		NUM(86400);
		c->smev.present = 1;
		c->smev.attachment_wait = (unsigned)n;
	} else if (IS("smev", "settle")) {
		NUM(3600);
		c->smev.present = 1;
		c->smev.settle = (unsigned)n;
	} else if (IS("smev", "retry_min")) {
		NUM(86400);
		c->smev.present = 1;
		c->smev.retry_min = (unsigned)(n ? n : 1);
	} else if (IS("smev", "retry_max")) {
		NUM(604800);
		c->smev.present = 1;
		c->smev.retry_max = (unsigned)(n ? n : 1);
	} else if (IS("smev", "test_message")) {
		c->smev.present = 1;
		if (strcmp(value, "yes") == 0)
			c->smev.test_message = 1;
		else if (strcmp(value, "no") == 0)
			c->smev.test_message = 0;
		else {
			why = "expected yes or no";
			goto bad;
		}
	} else if (IS("edms", "export")) {
		c->edms.present = 1;
		conf_set(&c->edms.export_dir, value);
	} else if (IS("edms", "import")) {
		c->edms.present = 1;
		conf_set(&c->edms.import_dir, value);
	} else if (IS("edms", "signer_trust")) {
		c->edms.present = 1;
		if (c->edms.nsigner_trust >= XFER_MAX_TRUST) {
			why = "too many signer_trust lines (at most 8)";
			goto bad;
		}
		c->edms.signer_trust[c->edms.nsigner_trust++] = xstrdup(value);
	} else if (IS("edms", "appeal_days")) {
		NUM(365);
		c->edms.present = 1;
		c->edms.appeal_days = (unsigned)(n ? n : 1);
	} else if (IS("edms", "message_days")) {
		NUM(365);
		c->edms.present = 1;
		c->edms.message_days = (unsigned)(n ? n : 1);
	} else if (IS("log", "level")) {
		if (strcmp(value, "error") == 0)
			c->log_level = LOG_LEVEL_ERROR;
		else if (strcmp(value, "warning") == 0)
			c->log_level = LOG_LEVEL_WARN;
		else if (strcmp(value, "info") == 0)
			c->log_level = LOG_LEVEL_INFO;
		else if (strcmp(value, "debug") == 0)
			c->log_level = LOG_LEVEL_DEBUG;
		else {
			why = "expected error, warning, info or debug";
			goto bad;
		}
	} else
		goto bad;
	return 1;
bad:
	err_set(ctx->err, ERR_NONE, "%s line %d: [%s] %s = %s: %s", c->path,
	    line, section, name, value, why);
	return 0;
#undef IS
#undef NUM
}

static int conf_load_checked(const char *, struct conf *, struct error *);

/*
 * Load and check a configuration file; on failure nothing stays allocated
 * (a refused reload must not leak). Regression: found by fuzz-conf.
 */
int
conf_load(const char *path, struct conf *c, struct error *err)
{
	if (conf_load_checked(path, c, err) == -1) {
		conf_free(c);
		return -1;
	}
	return 0;
}

/* conf_load's work: parse, fill defaults, check what is required. */
static int
conf_load_checked(const char *path, struct conf *c, struct error *err)
{
	struct conf_ctx ctx = {c, err, NULL, 0};
	FILE *f;
	int rc;

	memset(c, 0, sizeof *c);
	c->path = xstrdup(path);
	c->log_level = LOG_LEVEL_INFO;
	c->sandbox = 1;
	c->seccomp = SYSFILTER_KILL;
	xfer_config_default(&c->x);
	c->smev.attachment_wait = 600;
	c->smev.settle = 5;
	c->smev.retry_min = 10;
	c->smev.retry_max = 3600;
	c->edms.appeal_days = 30;
	c->edms.message_days = 30;
	if ((f = fopen(path, "r")) == NULL)
		return err_set(err, ERR_NONE,
		    "cannot read configuration %s: %s", path, strerror(errno));
	ctx.f = f;
	rc = ini_parse_stream(conf_reader, &ctx, conf_handler, &ctx);
	fclose(f);
	if (err->text[0] != '\0')
		return -1;
	if (rc != 0)
		return err_set(err, ERR_NONE,
		    "%s line %d: not INI syntax ([section] or key = value)",
		    path, rc);
#define REQUIRE(field, what)                                                   \
	if (c->field == NULL)                                                  \
		return err_set(err, ERR_NONE, "%s: %s is required", path, what);
	REQUIRE(own_id, "[gateway] id")
	REQUIRE(peer_id, "[gateway] peer")
	REQUIRE(key, "[gateway] key")
	REQUIRE(cert, "[gateway] cert")
	REQUIRE(state, "[gateway] state")
	REQUIRE(inbox, "[transfer] inbox")
	REQUIRE(outbox, "[transfer] outbox")
#undef REQUIRE
	if (c->x.ntrust == 0)
		return err_set(err, ERR_NONE,
		    "%s: [gateway] trust is required: the peer's certificate "
		    "or the CA that issues it",
		    path);
	if (strcmp(c->own_id, c->peer_id) == 0)
		return err_set(
		    err, ERR_NONE, "%s: id and peer must differ", path);
	c->x.own_id = c->own_id;
	c->x.peer_id = c->peer_id;
	c->x.key = c->key;
	c->x.cert = c->cert;
	c->x.state_dir = c->state;
	c->x.inbox = c->inbox;
	c->x.outbox = c->outbox;
	c->x.quarantine = c->quarantine;
	return 0;
}

/* Free what conf_load allocated. */
void
conf_free(struct conf *c)
{
	size_t i;

	free(c->path);
	free(c->own_id);
	free(c->peer_id);
	free(c->key);
	free(c->cert);
	free(c->state);
	free(c->inbox);
	free(c->outbox);
	free(c->quarantine);
	for (i = 0; i < XFER_MAX_TRUST; i++) {
		free(c->trust[i]);
		free(c->edms.signer_trust[i]);
	}
	free(c->smev.base);
	free(c->smev.mnemonic);
	free(c->smev.attachments_in);
	free(c->smev.attachments_out);
	free(c->edms.export_dir);
	free(c->edms.import_dir);
	memset(c, 0, sizeof *c);
}

/*
 * Check the sections a role needs: [smev] for the edge (base, mnemonic),
 * [edms] for the core (export, import, signer_trust); the other role's
 * section is an error, since it means the wrong file was given.
 */
int
conf_check_role(struct conf *c, const char *role, struct error *err)
{
	char *p;

	if (strcmp(role, "edge") == 0) {
		if (c->edms.present)
			return err_set(err, ERR_NONE,
			    "%s: [edms] is for posgw-core; "
			    "this is posgw-edge",
			    c->path);
		if (c->smev.base == NULL || c->smev.mnemonic == NULL)
			return err_set(err, ERR_NONE,
			    "%s: [smev] base and mnemonic "
			    "are required for posgw-edge",
			    c->path);
		if (c->smev.attachments_in == NULL) {
			xasprintf(&p, "%s/attachments-in", c->smev.base);
			c->smev.attachments_in = p;
		}
		if (c->smev.attachments_out == NULL) {
			xasprintf(&p, "%s/attachments-out", c->smev.base);
			c->smev.attachments_out = p;
		}
		if (c->smev.retry_max < c->smev.retry_min)
			c->smev.retry_max = c->smev.retry_min;
	} else if (strcmp(role, "core") == 0) {
		if (c->smev.present)
			return err_set(err, ERR_NONE,
			    "%s: [smev] is for posgw-edge; "
			    "this is posgw-core (it has no network side)",
			    c->path);
		if (c->edms.export_dir == NULL || c->edms.import_dir == NULL ||
		    c->edms.nsigner_trust == 0)
			return err_set(err, ERR_NONE,
			    "%s: [edms] export, import and "
			    "signer_trust are required for posgw-core",
			    c->path);
	}
	return 0;
}
