/* package.c: package names, ids, paths and limits (package.md sections 1-3, 7). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <gnutls/crypto.h>

#include "package.h"

/*
 * libarchive's message for a, with the system error it carries (EIO,
 * ENOSPC) added when the message does not say it already: "Write error"
 * alone does not tell an operator that the disk is full.
 */
const char *
pkg_archive_error(struct archive *a)
{
	static __thread char buf[640];
	const char *s = archive_error_string(a);
	int e = archive_errno(a);

	if (s == NULL)
		s = "unknown libarchive error";
	if (e > 0 && strstr(s, strerror(e)) == NULL) {
		snprintf(buf, sizeof buf, "%.500s (%s)", s, strerror(e));
		return buf;
	}
	return s;
}

/* The receiver defaults of package.md section 7. */
void
pkg_limits_default(struct pkg_limits *l)
{
	l->max_file = 1ULL << 30;
	l->max_entries = 10000;
	l->max_manifest = 8ULL << 20;
	l->max_xml = 16ULL << 20;
	l->max_entry = 512ULL << 20;
	l->max_total = 2ULL << 30;
	l->max_depth = 64;
}

/* Defaults for a receiver: everything allowed that the spec allows. */
void
pkg_verify_opts_default(struct pkg_verify_opts *o)
{
	memset(o, 0, sizeof *o);
	pkg_limits_default(&o->limits);
	o->filters = PKG_FILTER_ALL;
	o->digests = DIGEST_ALLOW_ALL;
	o->sig_algs = SIG_ALLOW_ALL;
}

/* True for [a-z0-9] */
static bool
pkg_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A gateway id: [a-z0-9][a-z0-9-]{0,31}. */
bool
pkg_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || !pkg_lower_alnum(s[0]))
		return false;
	for (i = 1; s[i] != '\0'; i++)
		if (i > 31 || (!pkg_lower_alnum(s[i]) && s[i] != '-'))
			return false;
	return true;
}

/* A lowercase RFC 4122 textual UUID. */
bool
pkg_uuid_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		               (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* payload/ then 1..3 components of [A-Za-z0-9._-]{1,100}, not . or .., <= 255. */
bool
pkg_path_valid(const char *s)
{
	const char *p, *c;
	size_t len, ncomp = 0;

	if (s == NULL || strlen(s) > 255 || strncmp(s, "payload/", 8) != 0)
		return false;
	for (p = s + 8;; p = c + 1) {
		c = p + strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                  "abcdefghijklmnopqrstuvwxyz0123456789._-");
		len = (size_t)(c - p);
		if (len == 0 || len > 100 || (*c != '/' && *c != '\0'))
			return false;
		if ((len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (++ncomp > 3)
			return false;
		if (*c == '\0')
			return true;
	}
}

/* A payload document: payload/<name>.xml directly under payload/. */
bool
pkg_doc_path(const char *s)
{
	size_t len = strlen(s);

	return strncmp(s, "payload/", 8) == 0 && strchr(s + 8, '/') == NULL &&
	       len > 12 && strcmp(s + len - 4, ".xml") == 0;
}

/*
 * Split <sender>.<seq>.<uuid>.pkg; sender holds 33 bytes, uuid 37. Returns
 * -1 unless the whole name matches the regex of package.md section 2.
 */
int
pkg_name_parse(const char *name, char *sender, uint64_t *seq, char *uuid)
{
	const char *dot;
	size_t len, slen, i;
	uint64_t v = 0;

	len = strlen(name);
	if (len < 1 + 1 + 12 + 1 + 36 + 4 || len >= PKG_NAME_MAX ||
	    strcmp(name + len - 4, ".pkg") != 0)
		return -1;
	if ((dot = strchr(name, '.')) == NULL)
		return -1;
	slen = (size_t)(dot - name);
	if (slen == 0 || slen > 32 || len != slen + 1 + 12 + 1 + 36 + 4)
		return -1;
	memcpy(sender, name, slen);
	sender[slen] = '\0';
	if (!pkg_id_valid(sender))
		return -1;
	for (i = 0; i < 12; i++) {
		if (dot[1 + i] < '0' || dot[1 + i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(dot[1 + i] - '0');
	}
	if (dot[13] != '.')
		return -1;
	memcpy(uuid, dot + 14, 36);
	uuid[36] = '\0';
	if (!pkg_uuid_valid(uuid))
		return -1;
	*seq = v;
	return 0;
}

/* Format a package file name. */
void
pkg_name_format(
    char *buf, size_t len, const char *sender, uint64_t seq, const char *uuid)
{
	snprintf(buf, len, "%s.%012" PRIu64 ".%s.pkg", sender, seq, uuid);
}

/* A fresh random (version 4) UUID in 37 bytes. */
void
pkg_uuid_new(char *out)
{
	unsigned char b[16];

	gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

/* Parse none, gzip or zstd. */
int
pkg_compress_from_name(const char *s, enum pkg_compress *c)
{
	if (strcmp(s, "none") == 0)
		*c = PKG_COMPRESS_NONE;
	else if (strcmp(s, "gzip") == 0)
		*c = PKG_COMPRESS_GZIP;
	else if (strcmp(s, "zstd") == 0)
		*c = PKG_COMPRESS_ZSTD;
	else
		return -1;
	return 0;
}

/* The name of a compression. */
const char *
pkg_compress_name(enum pkg_compress c)
{
	switch (c) {
	case PKG_COMPRESS_NONE:
		return "none";
	case PKG_COMPRESS_GZIP:
		return "gzip";
	default:
		return "zstd";
	}
}

/* Parse a size with an optional K, M, G or T suffix (powers of 1024). */
int
pkg_size_parse(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'K':
		shift = 10;
		end++;
		break;
	case 'M':
		shift = 20;
		end++;
		break;
	case 'G':
		shift = 30;
		end++;
		break;
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || (shift && n > (UINT64_MAX >> shift)))
		return -1;
	*v = (uint64_t)n << shift;
	return 0;
}

/*
 * Change one limit from NAME=VALUE: file, entries, manifest, xml, entry,
 * total (sizes accept K/M/G/T) or depth.
 */
int
pkg_limits_set(struct pkg_limits *l, const char *spec, struct error *err)
{
	const char *eq = strchr(spec, '=');
	uint64_t v;
	size_t n;

	if (eq == NULL || pkg_size_parse(eq + 1, &v) == -1 || v == 0)
		return err_set(err, ERR_NONE,
		    "limit '%s': expected NAME=VALUE with a positive value",
		    spec);
	n = (size_t)(eq - spec);
#define PKG_LIMIT(name, field)                                                 \
	if (n == strlen(name) && strncmp(spec, name, n) == 0) {                \
		l->field = v;                                                  \
		return 0;                                                      \
	}
	PKG_LIMIT("file", max_file)
	PKG_LIMIT("entries", max_entries)
	PKG_LIMIT("manifest", max_manifest)
	PKG_LIMIT("xml", max_xml)
	PKG_LIMIT("entry", max_entry)
	PKG_LIMIT("total", max_total)
#undef PKG_LIMIT
	if (n == 5 && strncmp(spec, "depth", 5) == 0 && v <= 256) {
		l->max_depth = (int)v;
		return 0;
	}
	return err_set(err, ERR_NONE,
	    "unknown limit '%.*s' (file, entries, manifest, xml, entry, total, "
	    "depth<=256)",
	    (int)n, spec);
}

/* Parse YYYY-MM-DDTHH:MM:SSZ into a time_t. */
int
pkg_time_parse(const char *s, time_t *t)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof tm);
	if (s == NULL || strlen(s) != 20 ||
	    (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

/* Format a time as an ISO 8601 UTC timestamp. */
void
pkg_time_format(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}
