/*
 * conf.c: the INI configuration of posgw-edge and posgw-core, parsed with
 * inih. Every key is documented in posgw-gateway.conf(5); unknown sections
 * or keys are errors naming the line, so typos never pass silently.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include <libxml/xmlstring.h>

#include "conf.h"
#include "log.h"
#include "retention.h"
#include "sysfilter.h"
#include "xmalloc.h"

struct conf_ctx {
	struct conf *c;
	struct error *err;
	FILE *f;
	int line;
};

static char *conf_reader(char *str, int num, void *arg);
static int conf_number(const char *v, uint64_t *out);
static void conf_set(char **dst, const char *v);
static int conf_list(
    const char *v, int (*fn)(const char *, unsigned *), unsigned *out);
static int conf_filter_bit(const char *s, unsigned *bit);
static int conf_digest_bit(const char *s, unsigned *bit);
static const char *conf_num(
    const char *value, uint64_t max, uint64_t *n, char *spec, size_t len);
static const char *conf_yes_no(const char *value, int *flag);
static const char *conf_gateway(struct conf *c, const char *name,
    const char *value, char *spec, size_t len);
static const char *conf_transfer(struct conf *c, const char *name,
    const char *value, char *spec, size_t len);
static const char *conf_limits(struct conf *c, const char *name,
    const char *value, char *spec, size_t len);
static const char *conf_accept(struct conf *c, const char *name,
    const char *value, char *spec, size_t len);
static const char *conf_smev(struct conf *c, const char *name,
    const char *value, char *spec, size_t len);
static const char *conf_edms(struct conf *c, const char *name,
    const char *value, char *spec, size_t len);
static const char *conf_log(struct conf *c, const char *name, const char *value,
    char *spec, size_t len);
static const char *conf_retention(struct conf *c, const char *name,
    const char *value, char *spec, size_t len);
static int conf_handler(
    void *arg, const char *section, const char *name, const char *value);
static int conf_load_checked(
    const char *path, struct conf *c, struct error *err);

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

/* The bit of a compression filter named s, for a mask of allowed ones. */
static int
conf_filter_bit(const char *s, unsigned *bit)
{
	enum pkg_compress c;

	if (pkg_compress_from_name(s, &c) == -1)
		return -1;
	*bit = 1u << c;
	return 0;
}

/* The bit of a digest algorithm named s, for a mask of allowed ones. */
static int
conf_digest_bit(const char *s, unsigned *bit)
{
	enum digest_alg a;

	if (digest_alg_from_name(s, &a) == -1)
		return -1;
	*bit = 1u << a;
	return 0;
}

/* Up to how much a number key may be, as the message says it. */
static const char *
conf_num(const char *value, uint64_t max, uint64_t *n, char *spec, size_t len)
{
	if (conf_number(value, n) == 0 && *n <= max)
		return NULL;
	snprintf(spec, len,
	    "expected a number up to %llu (K, M, G, T suffixes allowed)",
	    (unsigned long long)max);
	return spec;
}

/* yes or no into *flag. */
static const char *
conf_yes_no(const char *value, int *flag)
{
	if (strcmp(value, "yes") == 0)
		*flag = 1;
	else if (strcmp(value, "no") == 0)
		*flag = 0;
	else
		return "expected yes or no";
	return NULL;
}

/* [gateway]: who we are, whom we trust, where the state lives. */
static const char *
conf_gateway(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	struct xfer_config *x = &c->x;
	enum sysfilter_mode mode;

	(void)spec;
	(void)len;
	if (strcmp(name, "id") == 0 || strcmp(name, "peer") == 0) {
		if (!pkg_id_valid(value))
			return "not a gateway id ([a-z0-9][a-z0-9-]{0,31})";
		conf_set(
		    strcmp(name, "id") == 0 ? &c->own_id : &c->peer_id, value);
	} else if (strcmp(name, "key") == 0)
		conf_set(&c->key, value);
	else if (strcmp(name, "cert") == 0)
		conf_set(&c->cert, value);
	else if (strcmp(name, "crl") == 0) {
		if (x->ncrl >= XFER_MAX_TRUST)
			return "too many crl lines (at most 8)";
		c->crl[x->ncrl] = xstrdup(value);
		x->crl[x->ncrl] = c->crl[x->ncrl];
		x->ncrl++;
	} else if (strcmp(name, "crl_strict") == 0)
		return conf_yes_no(value, &x->crl_strict);
	else if (strcmp(name, "expiry_warn_days") == 0) {
		uint64_t n = 0;
		const char *why = conf_num(value, 3650, &n, spec, len);
		if (why != NULL)
			return why;
		c->expiry_warn_days = (int)n;
	} else if (strcmp(name, "previous_key") == 0)
		conf_set(&c->previous_key, value);
	else if (strcmp(name, "previous_cert") == 0)
		conf_set(&c->previous_cert, value);
	else if (strcmp(name, "previous_exchange_key") == 0)
		conf_set(&c->previous_exchange_key, value);
	else if (strcmp(name, "previous_exchange_cert") == 0)
		conf_set(&c->previous_exchange_cert, value);
	else if (strcmp(name, "exchange_key") == 0)
		conf_set(&c->exchange_key, value);
	else if (strcmp(name, "exchange_cert") == 0)
		conf_set(&c->exchange_cert, value);
	else if (strcmp(name, "peer_exchange_cert") == 0)
		conf_set(&c->peer_exchange_cert, value);
	else if (strcmp(name, "trust") == 0) {
		if (x->ntrust >= XFER_MAX_TRUST)
			return "too many trust lines (at most 8)";
		c->trust[x->ntrust] = xstrdup(value);
		x->trust[x->ntrust] = c->trust[x->ntrust];
		x->ntrust++;
	} else if (strcmp(name, "state") == 0)
		conf_set(&c->state, value);
	else if (strcmp(name, "sandbox") == 0)
		return conf_yes_no(value, &c->sandbox);
	else if (strcmp(name, "seccomp") == 0) {
		if (sysfilter_mode_parse(value, &mode) == -1)
			return "expected kill, log or no";
		c->seccomp = (int)mode;
	} else
		return "unknown key";
	return NULL;
}

/* [transfer]: the folders and how packages are made and offered. */
static const char *
conf_transfer(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	static const struct {
		const char *name;
		uint64_t max;
		int min1; /* 0 means 1 */
		size_t off;
	} nums[] = {
	    {"max_wait_ms", 86400000, 0,
	        offsetof(struct xfer_config, max_wait_ms)},
	    {"receipt_delay", 86400, 0,
	        offsetof(struct xfer_config, receipt_delay)},
	    {"resend_interval", 31536000, 0,
	        offsetof(struct xfer_config, resend_interval)},
	    {"scan_interval", 86400, 1,
	        offsetof(struct xfer_config, scan_interval)},
	    {"checkpoint_entries", 10000000, 1,
	        offsetof(struct xfer_config, checkpoint_entries)},
	    {"checkpoint_minutes", 100000, 0,
	        offsetof(struct xfer_config, checkpoint_minutes)},
	    {"max_documents", 100000, 1,
	        offsetof(struct xfer_config, max_docs)},
	};
	struct xfer_config *x = &c->x;
	const char *why;
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		if (strcmp(name, nums[i].name) != 0)
			continue;
		if ((why = conf_num(value, nums[i].max, &n, spec, len)) != NULL)
			return why;
		*(unsigned *)(void *)((char *)x + nums[i].off) =
		    (unsigned)(n == 0 && nums[i].min1 ? 1 : n);
		return NULL;
	}
	if (strcmp(name, "inbox") == 0)
		conf_set(&c->inbox, value);
	else if (strcmp(name, "outbox") == 0)
		conf_set(&c->outbox, value);
	else if (strcmp(name, "quarantine") == 0)
		conf_set(&c->quarantine, value);
	else if (strcmp(name, "max_bytes") == 0) {
		if ((why = conf_num(value, UINT64_MAX, &n, spec, len)) != NULL)
			return why;
		x->max_bytes = n;
	} else if (strcmp(name, "backlog_bytes") == 0) {
		if ((why = conf_num(value, UINT64_MAX, &n, spec, len)) != NULL)
			return why;
		x->backlog_bytes = n;
	} else if (strcmp(name, "compress") == 0) {
		if (pkg_compress_from_name(value, &x->compress) == -1)
			return "expected zstd, gzip or none";
	} else if (strcmp(name, "digest") == 0) {
		if (digest_alg_from_name(value, &x->digest) == -1)
			return "expected streebog256 or sha256";
	} else if (strcmp(name, "encrypt") == 0)
		return conf_yes_no(value, &x->encrypt);
	else if (strcmp(name, "accept_plain") == 0)
		return conf_yes_no(value, &x->accept_plain);
	else
		return "unknown key";
	return NULL;
}

/* [limits]: what a received package may hold (package.md section 7). */
static const char *
conf_limits(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	struct error e2 = {0};

	snprintf(spec, len, "%s=%s", name, value);
	if (pkg_limits_set(&c->x.verify.limits, spec, &e2) == -1)
		return "unknown limit or bad value";
	return NULL;
}

/* [accept]: the filters, digests and signature algorithms we accept. */
static const char *
conf_accept(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	struct pkg_verify_opts *v = &c->x.verify;

	(void)spec;
	(void)len;
	if (strcmp(name, "filters") == 0) {
		if (conf_list(value, conf_filter_bit, &v->filters) == -1)
			return "expected a list of none, gzip, zstd";
	} else if (strcmp(name, "digests") == 0) {
		if (conf_list(value, conf_digest_bit, &v->digests) == -1)
			return "expected a list of streebog256, sha256";
	} else if (strcmp(name, "algorithms") == 0) {
		if (conf_list(value, sig_alg_from_name, &v->sig_algs) == -1)
			return "expected a list of gost256, gost512, ecdsa, "
			       "ed25519";
	} else
		return "unknown key";
	return NULL;
}

/* [smev]: the SMEV adapter's file channel (posgw-edge). */
static const char *
conf_smev(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	static const struct {
		const char *name;
		uint64_t max;
		int min1;
		size_t off;
	} nums[] = {
	    {"attachment_wait", 86400, 0,
	        offsetof(struct conf_smev, attachment_wait)},
	    {"settle", 3600, 0, offsetof(struct conf_smev, settle)},
	    {"retry_min", 86400, 1, offsetof(struct conf_smev, retry_min)},
	    {"retry_max", 604800, 1, offsetof(struct conf_smev, retry_max)},
	};
	struct conf_smev *sm = &c->smev;
	const char *why;
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		if (strcmp(name, nums[i].name) != 0)
			continue;
		if ((why = conf_num(value, nums[i].max, &n, spec, len)) != NULL)
			return why;
		sm->present = 1;
		*(unsigned *)(void *)((char *)sm + nums[i].off) =
		    (unsigned)(n == 0 && nums[i].min1 ? 1 : n);
		return NULL;
	}
	if (strcmp(name, "base") == 0)
		conf_set(&sm->base, value);
	else if (strcmp(name, "mnemonic") == 0)
		conf_set(&sm->mnemonic, value);
	else if (strcmp(name, "attachments_in") == 0)
		conf_set(&sm->attachments_in, value);
	else if (strcmp(name, "attachments_out") == 0)
		conf_set(&sm->attachments_out, value);
	else if (strcmp(name, "test_message") == 0) {
		if ((why = conf_yes_no(value, &sm->test_message)) != NULL)
			return why;
	} else
		return "unknown key";
	sm->present = 1;
	return NULL;
}

/* [edms]: the EDMS exchange folders and deadlines (posgw-core). */
static const char *
conf_edms(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	struct conf_edms *ed = &c->edms;
	const char *why;
	uint64_t n = 0;

	if (strcmp(name, "export") == 0)
		conf_set(&ed->export_dir, value);
	else if (strcmp(name, "import") == 0)
		conf_set(&ed->import_dir, value);
	else if (strcmp(name, "signer_trust") == 0) {
		if (ed->nsigner_trust >= XFER_MAX_TRUST)
			return "too many signer_trust lines (at most 8)";
		ed->signer_trust[ed->nsigner_trust++] = xstrdup(value);
	} else if (strcmp(name, "appeal_days") == 0 ||
	           strcmp(name, "message_days") == 0 ||
	           strcmp(name, "forward_days") == 0) {
		if ((why = conf_num(value, 365, &n, spec, len)) != NULL)
			return why;
		*(strcmp(name, "appeal_days") == 0      ? &ed->appeal_days
		    : strcmp(name, "message_days") == 0 ? &ed->message_days
		                                        : &ed->forward_days) =
		    (unsigned)(n ? n : 1);
	} else if (strcmp(name, "repeat_days") == 0) {
		if ((why = conf_num(value, 3650, &n, spec, len)) != NULL)
			return why;
		ed->repeat_days = (unsigned)n;
	} else if (strcmp(name, "stats_interval") == 0) {
		if ((why = conf_num(value, 31536000, &n, spec, len)) != NULL)
			return why;
		ed->stats_interval = (unsigned)n;
	} else
		return "unknown key";
	ed->present = 1;
	return NULL;
}

/* True for 1 to 20 digits (a ПОС organization id). */
static int
conf_org_id_valid(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n >= 1 && n <= 20 && s[n] == '\0';
}

/* A name: 1 to 200 bytes of UTF-8 without control characters. */
static int
conf_org_name_valid(const char *s)
{
	size_t n = strlen(s);
	const unsigned char *p;

	if (n == 0 || n > 200 || xmlCheckUTF8((const xmlChar *)s) == 0)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/*
 * [lko] ID = OKTMO NAME: an organization (ЛКО) this gateway serves, with
 * its territory; [orgs] ID = NAME: another organization appeals may be
 * forwarded to (posgw edms forward --to-org).
 */
static const char *
conf_org_line(struct conf *c, int lko, const char *name, const char *value)
{
	struct conf_org *o;
	size_t i, n = lko ? c->nlko : c->norgs;
	const char *sp = value;

	if (!conf_org_id_valid(name))
		return "the key is the organization's ПОС id: 1 to 20 digits";
	for (i = 0; i < n; i++)
		if (strcmp((lko ? c->lko : c->orgs)[i].id, name) == 0)
			return "listed twice";
	if (n >= (lko ? CONF_MAX_LKO : CONF_MAX_ORGS))
		return lko ? "too many organizations (at most 64)"
		           : "too many organizations (at most 256)";
	if (lko) {
		size_t d = strspn(value, "0123456789");
		if ((d != 8 && d != 11) || value[d] != ' ')
			return "expected OKTMO (8 or 11 digits), a space, then "
			       "the name";
		sp = value + d + 1;
	}
	if (!conf_org_name_valid(sp))
		return "the name must be 1 to 200 bytes of text";
	o = lko ? &c->lko[c->nlko++] : &c->orgs[c->norgs++];
	o->id = xstrdup(name);
	o->oktmo = lko ? xstrndup(value, (size_t)(sp - 1 - value)) : NULL;
	o->name = xstrdup(sp);
	return NULL;
}

/* [lko]: see conf_org_line. */
static const char *
conf_lko(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	(void)spec;
	(void)len;
	return conf_org_line(c, 1, name, value);
}

/* [orgs]: see conf_org_line. */
static const char *
conf_orgs(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	(void)spec;
	(void)len;
	return conf_org_line(c, 0, name, value);
}

/* Copy [lko] and [orgs] into an empty conf (freed with conf_free). */
void
conf_orgs_copy(struct conf *dst, const struct conf *src)
{
	size_t i;

	memset(dst, 0, sizeof *dst);
	for (i = 0; i < src->nlko; i++) {
		dst->lko[i].id = xstrdup(src->lko[i].id);
		dst->lko[i].oktmo = xstrdup(src->lko[i].oktmo);
		dst->lko[i].name = xstrdup(src->lko[i].name);
	}
	dst->nlko = src->nlko;
	for (i = 0; i < src->norgs; i++) {
		dst->orgs[i].id = xstrdup(src->orgs[i].id);
		dst->orgs[i].name = xstrdup(src->orgs[i].name);
	}
	dst->norgs = src->norgs;
}

/* The ЛКО of [lko] with this id, or NULL. */
const struct conf_org *
conf_lko_find(const struct conf *c, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < c->nlko; i++)
		if (strcmp(c->lko[i].id, id) == 0)
			return &c->lko[i];
	return NULL;
}

/* The organization of [orgs] (or [lko]) with this id, or NULL. */
const struct conf_org *
conf_org_find(const struct conf *c, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < c->norgs; i++)
		if (strcmp(c->orgs[i].id, id) == 0)
			return &c->orgs[i];
	return conf_lko_find(c, id);
}

/* [log]: the level. */
static const char *
conf_log(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	static const char *const levels[] = {
	    [LOG_LEVEL_ERROR] = "error",
	    [LOG_LEVEL_WARN] = "warning",
	    [LOG_LEVEL_INFO] = "info",
	    [LOG_LEVEL_DEBUG] = "debug",
	};
	size_t i;

	(void)spec;
	(void)len;
	if (strcmp(name, "level") != 0)
		return "unknown key";
	for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (strcmp(value, levels[i]) == 0) {
			c->log_level = (int)i;
			return NULL;
		}
	return "expected error, warning, info or debug";
}

/* [retention]: how long personal data and rejected files are kept. */
static const char *
conf_retention(
    struct conf *c, const char *name, const char *value, char *spec, size_t len)
{
	unsigned *dst;

	(void)spec;
	(void)len;
	if (strcmp(name, "personal_data") == 0)
		dst = &c->x.retain_personal;
	else if (strcmp(name, "quarantine") == 0)
		dst = &c->x.retain_quarantine;
	else
		return "unknown key";
	if (retention_duration_parse(value, dst) == -1)
		return "expected a period such as 30d, 12h, 90m or 45s (at "
		       "most 3650d), or never";
	return NULL;
}

/* inih's callback: one name = value of a section; 0 stops at an error. */
static int
conf_handler(
    void *arg, const char *section, const char *name, const char *value)
{
	static const struct {
		const char *name;
		const char *(*fn)(
		    struct conf *, const char *, const char *, char *, size_t);
	} sections[] = {
	    {"gateway", conf_gateway},
	    {"transfer", conf_transfer},
	    {"limits", conf_limits},
	    {"accept", conf_accept},
	    {"smev", conf_smev},
	    {"edms", conf_edms},
	    {"log", conf_log},
	    {"retention", conf_retention},
	    {"lko", conf_lko},
	    {"orgs", conf_orgs},
	};
	struct conf_ctx *ctx = arg;
	const char *why = "unknown key";
	char spec[256];
	size_t i;

	for (i = 0; i < sizeof sections / sizeof sections[0]; i++)
		if (strcmp(section, sections[i].name) == 0) {
			why = sections[i].fn(
			    ctx->c, name, value, spec, sizeof spec);
			break;
		}
	if (why == NULL)
		return 1;
	/* the first bad line is the one to fix first */
	err_keep(ctx->err, ERR_NONE, "%s line %d: [%s] %s = %s: %s",
	    ctx->c->path, ctx->line, section, name, value, why);
	return 0;
}

static int conf_load_checked(const char *, struct conf *, struct error *);

/*
 * Load and check a configuration file; on failure nothing stays allocated
 * (a refused reload must not leak). Regression: found by fuzz-conf.
 */
int
conf_load(const char *path, struct conf *c, struct error *err)
{
	err_clear(err);
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
	c->expiry_warn_days = 30;
	xfer_config_default(&c->x);
	c->smev.attachment_wait = 600;
	c->smev.settle = 5;
	c->smev.retry_min = 10;
	c->smev.retry_max = 3600;
	c->edms.appeal_days = 30;
	c->edms.message_days = 30;
	c->edms.forward_days = 7;
	c->edms.repeat_days = 365;
	c->edms.stats_interval = 86400;
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
	if ((c->exchange_key == NULL) != (c->exchange_cert == NULL))
		return err_set(err, ERR_NONE,
		    "%s: [gateway] exchange_key and exchange_cert go together "
		    "(the key-agreement key and its certificate)",
		    path);
	if ((c->previous_exchange_key == NULL) !=
	    (c->previous_exchange_cert == NULL))
		return err_set(err, ERR_NONE,
		    "%s: [gateway] previous_exchange_key and "
		    "previous_exchange_cert go together",
		    path);
	if ((c->previous_key == NULL) != (c->previous_cert == NULL))
		return err_set(err, ERR_NONE,
		    "%s: [gateway] previous_key and previous_cert go together "
		    "(the pair this gateway signed with before its rollover)",
		    path);
	c->x.previous_key = c->previous_key;
	c->x.previous_cert = c->previous_cert;
	c->x.previous_exchange_key = c->previous_exchange_key;
	c->x.previous_exchange_cert = c->previous_exchange_cert;
	c->x.exchange_key = c->exchange_key;
	c->x.exchange_cert = c->exchange_cert;
	c->x.peer_exchange_cert = c->peer_exchange_cert;
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
	free(c->exchange_key);
	free(c->previous_key);
	free(c->previous_cert);
	free(c->previous_exchange_key);
	free(c->previous_exchange_cert);
	free(c->exchange_cert);
	free(c->peer_exchange_cert);
	free(c->state);
	free(c->inbox);
	free(c->outbox);
	free(c->quarantine);
	for (i = 0; i < XFER_MAX_TRUST; i++) {
		free(c->trust[i]);
		free(c->crl[i]);
		free(c->edms.signer_trust[i]);
	}
	free(c->smev.base);
	free(c->smev.mnemonic);
	free(c->smev.attachments_in);
	free(c->smev.attachments_out);
	free(c->edms.export_dir);
	free(c->edms.import_dir);
	for (i = 0; i < c->nlko; i++) {
		free(c->lko[i].id);
		free(c->lko[i].oktmo);
		free(c->lko[i].name);
	}
	for (i = 0; i < c->norgs; i++) {
		free(c->orgs[i].id);
		free(c->orgs[i].name);
	}
	memset(c, 0, sizeof *c);
}

/* One of the folders a role works in, by the setting that names it. */
struct conf_folder {
	const char *setting;
	char *path;     /* as written, trailing and doubled slashes removed */
	struct stat sb; /* when it exists */
	int exists;
	int shares; /* nonzero: may be the folder of another of its value */
};

/* Fill f for setting's path: a lexical form, and what it is if it exists. */
static void
conf_folder_set(
    struct conf_folder *f, const char *setting, const char *path, int shares)
{
	char *p = xstrdup(path), *r, *w;
	size_t n;

	/* "a//b/./c/" and "a/b/c" name one folder */
	for (r = w = p; *r != '\0'; r++) {
		if (*r == '/' && w > p && w[-1] == '/')
			continue;
		if (*r == '.' && w > p && w[-1] == '/' &&
		    (r[1] == '/' || r[1] == '\0')) {
			r += r[1] == '/';
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	while ((n = strlen(p)) > 1 && p[n - 1] == '/')
		p[n - 1] = '\0';
	f->setting = setting;
	f->shares = shares;
	f->path = p;
	f->exists = stat(p, &f->sb) == 0 && S_ISDIR(f->sb.st_mode);
}

/*
 * Each folder of the role is a folder of its own: an inbox that is the
 * outbox would take our own packages, an EDMS import that is the export
 * would read the appeals as the EDMS's events, an outbox in the adapter's
 * out/ would hand packages to ПОС. Compared by name and, when both
 * exist, by device and inode (a symbolic link, a bind mount). The
 * adapter's two attachment folders may be one: each side uses
 * subfolders of its own ids.
 */
static int
conf_check_folders(struct conf *c, const char *role, struct error *err)
{
	struct conf_folder f[10];
	char *in = NULL, *out = NULL;
	size_t n = 0, i, j;
	int rc = 0;

	conf_folder_set(&f[n++], "[gateway] state", c->state, 0);
	conf_folder_set(&f[n++], "[transfer] inbox", c->inbox, 0);
	conf_folder_set(&f[n++], "[transfer] outbox", c->outbox, 0);
	if (c->quarantine != NULL)
		conf_folder_set(
		    &f[n++], "[transfer] quarantine", c->quarantine, 0);
	if (strcmp(role, "edge") == 0) {
		xasprintf(&in, "%s/in", c->smev.base);
		xasprintf(&out, "%s/out", c->smev.base);
		conf_folder_set(&f[n++], "[smev] base", c->smev.base, 0);
		conf_folder_set(
		    &f[n++], "the adapter's in/ ([smev] base)", in, 0);
		conf_folder_set(
		    &f[n++], "the adapter's out/ ([smev] base)", out, 0);
		conf_folder_set(&f[n++], "[smev] attachments_in",
		    c->smev.attachments_in, 1);
		conf_folder_set(&f[n++], "[smev] attachments_out",
		    c->smev.attachments_out, 1);
	} else if (strcmp(role, "core") == 0) {
		conf_folder_set(
		    &f[n++], "[edms] export", c->edms.export_dir, 0);
		conf_folder_set(
		    &f[n++], "[edms] import", c->edms.import_dir, 0);
	}
	for (i = 0; i < n && rc == 0; i++)
		for (j = i + 1; j < n && rc == 0; j++)
			if ((f[i].shares == 0 || f[i].shares != f[j].shares) &&
			    (strcmp(f[i].path, f[j].path) == 0 ||
			        (f[i].exists && f[j].exists &&
			            f[i].sb.st_dev == f[j].sb.st_dev &&
			            f[i].sb.st_ino == f[j].sb.st_ino)))
				rc = err_set(err, ERR_NONE,
				    "%s: %s (%s) and %s (%s) are the same "
				    "folder; give each a folder of its own",
				    c->path, f[i].setting, f[i].path,
				    f[j].setting, f[j].path);
	for (i = 0; i < n; i++)
		free(f[i].path);
	free(in);
	free(out);
	return rc;
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
	return conf_check_folders(c, role, err);
}
