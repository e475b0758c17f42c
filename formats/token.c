/*
 * token.c: private keys on PKCS#11 tokens, named by RFC 7512 URIs
 * (pkcs11:token=...;object=...;type=private), reached through GnuTLS and
 * the modules registered with p11-kit. The user PIN comes from the file
 * the URI's pin-source names, or else from the systemd credential "pin"
 * ($CREDENTIALS_DIRECTORY/pin); a PIN in the URI itself (pin-value) is
 * refused, so that it never sits in a configuration. The PIN is never
 * logged, and a wrong one is tried once only: tokens lock after a few.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gnutls/pkcs11.h>

#include "log.h"
#include "sig.h"
#include "token.h"
#include "xmalloc.h"

#define TOKEN_PIN_MAX 256

/* Where one key's PIN comes from; kept for the process (re-login). */
struct token_pin {
	char pin[TOKEN_PIN_MAX];
	char *source; /* the file, for messages; NULL: none given */
	int asked;    /* the token asked for a PIN */
	int wrong;    /* the token refused the PIN given */
	int final;    /* one try left: not tried */
	struct token_pin *next;
};

static struct token_pin *token_pins;

static int token_pin_cb(
    void *, int, const char *, const char *, unsigned, char *, size_t);
static char *token_unescape(const char *, size_t);
static int token_split(const char *, char **, char **, struct error *);
static int token_pin_read(struct token_pin *, const char *, struct error *);
static int token_present(const char *);

/* True if the key argument is a PKCS#11 URI rather than a file. */
int
token_is_url(const char *s)
{
	return s != NULL && strncasecmp(s, "pkcs11:", 7) == 0;
}

/* A copy of the URI fit for messages: any pin-value shown as hidden. */
char *
token_url_display(const char *url)
{
	const char *p, *end;
	char *out;

	if ((p = strstr(url, "pin-value=")) == NULL)
		return xstrdup(url);
	end = p + strcspn(p, "&");
	xasprintf(&out, "%.*spin-value=(hidden)%s", (int)(p - url), url, end);
	return out;
}

/* Percent-decode n bytes of a URI attribute value. */
static char *
token_unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), hex[3] = {0};
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/*
 * Split the URI into the one GnuTLS is given (without pin-source) and the
 * PIN file; a pin-value is refused.
 */
static int
token_split(const char *url, char **bare, char **source, struct error *err)
{
	const char *q, *a, *end;
	char *shown;
	size_t n;

	*source = NULL;
	if ((q = strchr(url, '?')) == NULL) {
		*bare = xstrdup(url);
		return 0;
	}
	*bare = xmalloc(strlen(url) + 1);
	memcpy(*bare, url, (size_t)(q - url));
	(*bare)[q - url] = '\0';
	n = 0;
	for (a = q + 1; *a != '\0'; a = *end == '&' ? end + 1 : end) {
		end = a + strcspn(a, "&");
		if (strncmp(a, "pin-value=", 10) == 0) {
			shown = token_url_display(url);
			err_set(err, ERR_NONE,
			    "%s: a PIN in the URI (pin-value) is refused: put "
			    "it in a file only posgw reads and name it with "
			    "?pin-source=FILE, or give the systemd credential "
			    "'%s' (LoadCredential=%s:FILE)",
			    shown, TOKEN_PIN_CREDENTIAL, TOKEN_PIN_CREDENTIAL);
			free(shown);
			free(*bare);
			free(*source);
			*bare = *source = NULL;
			return -1;
		}
		if (strncmp(a, "pin-source=", 11) == 0) {
			free(*source);
			*source =
			    token_unescape(a + 11, (size_t)(end - a - 11));
			continue;
		}
		if (end == a)
			continue;
		strcat(*bare, n++ == 0 ? "?" : "&");
		strncat(*bare, a, (size_t)(end - a));
	}
	return 0;
}

/*
 * Read a PIN file: its first line, without the line end (a PIN written
 * with echo works). file:PATH and file://PATH are taken as PATH.
 */
static int
token_pin_read(struct token_pin *tp, const char *source, struct error *err)
{
	char buf[TOKEN_PIN_MAX + 2];
	const char *path = source;
	ssize_t n;
	size_t len;
	int fd;

	if (strncmp(path, "file://", 7) == 0)
		path += 7;
	else if (strncmp(path, "file:", 5) == 0)
		path += 5;
	tp->source = xstrdup(path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, ERR_NONE,
		    "cannot read the token PIN file %s: %s", path,
		    strerror(errno));
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return err_set(err, ERR_NONE,
		    "cannot read the token PIN file %s: %s", path,
		    strerror(errno));
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len == 0 || len >= TOKEN_PIN_MAX) {
		explicit_bzero(buf, sizeof buf);
		return err_set(err, ERR_NONE,
		    "the token PIN file %s holds no PIN (one line of at most "
		    "%d characters expected)",
		    path, TOKEN_PIN_MAX - 1);
	}
	memcpy(tp->pin, buf, len + 1);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* GnuTLS asks for the user PIN: give it once; never retry a wrong one. */
static int
token_pin_cb(void *arg, int attempt, const char *token_url,
    const char *token_label, unsigned flags, char *pin, size_t pin_max)
{
	struct token_pin *tp = arg;
	size_t len = strlen(tp->pin);

	(void)token_url;
	(void)token_label;
	tp->asked = 1;
	if (attempt > 0 || (flags & GNUTLS_PIN_WRONG)) {
		tp->wrong = 1;
		return -1;
	}
	if (flags & GNUTLS_PIN_SO)
		return -1;
	if (flags & GNUTLS_PIN_FINAL_TRY) {
		tp->final = 1;
		return -1;
	}
	if (len == 0 || len + 1 > pin_max)
		return -1;
	memcpy(pin, tp->pin, len + 1);
	return 0;
}

/*
 * True if a token with the label the URI names (token=), or any token if
 * it names none, is seen through the registered modules.
 */
static int
token_present(const char *url)
{
	const char *p, *path = url + 7;
	char label[128], *want = NULL, *u;
	size_t size, n;
	unsigned seq;
	int found = 0;

	for (p = path; *p != '\0' && *p != '?'; p += n + (p[n] == ';')) {
		n = strcspn(p, ";?");
		if (strncmp(p, "token=", 6) == 0)
			want = token_unescape(p + 6, n - 6);
	}
	for (seq = 0; !found && gnutls_pkcs11_token_get_url(
	                            seq, GNUTLS_PKCS11_URL_GENERIC, &u) >= 0;
	     seq++) {
		size = sizeof label;
		if (gnutls_pkcs11_token_get_info(
		        u, GNUTLS_PKCS11_TOKEN_LABEL, label, &size) >= 0)
			found = want == NULL || strcmp(label, want) == 0;
		gnutls_free(u);
	}
	free(want);
	return found;
}

/*
 * Load the private key a pkcs11: URI names, logging in to its token with
 * the PIN from pin-source or the systemd credential.
 */
int
token_key_load(const char *url, gnutls_privkey_t *key, struct error *err)
{
	struct token_pin *tp;
	const char *cred;
	char *bare, *source, *path = NULL;
	int rc;

	*key = NULL;
	sig_init();
	if (token_split(url, &bare, &source, err) == -1)
		return -1;
	tp = xcalloc(1, sizeof *tp);
	if (source == NULL &&
	    (cred = getenv("CREDENTIALS_DIRECTORY")) != NULL && *cred != '\0') {
		xasprintf(&path, "%s/%s", cred, TOKEN_PIN_CREDENTIAL);
		if (access(path, F_OK) == 0)
			source = path;
		else
			free(path);
		path = NULL;
	}
	if (source != NULL && token_pin_read(tp, source, err) == -1) {
		free(bare);
		free(source);
		free(tp->source);
		free(tp);
		return -1;
	}
	free(source);
	tp->next = token_pins; /* GnuTLS may log in again later */
	token_pins = tp;

	gnutls_privkey_init(key);
	gnutls_privkey_set_pin_function(*key, token_pin_cb, tp);
	rc = gnutls_privkey_import_url(*key, bare, 0);
	if (rc >= 0) {
		free(bare);
		return 0;
	}
	gnutls_privkey_deinit(*key);
	*key = NULL;
	if (tp->final)
		err_set(err, ERR_NONE,
		    "%s: the token allows one more PIN try before it locks; "
		    "posgw did not try. Check the PIN in %s by hand "
		    "(p11tool --login --list-privkeys) and reset the count "
		    "with the token's tools",
		    url, tp->source ? tp->source : "the credential");
	else if (tp->wrong)
		err_set(err, ERR_NONE,
		    "%s: the token refused the PIN from %s (wrong PIN; every "
		    "wrong try counts towards locking the token): fix the "
		    "file",
		    url, tp->source);
	else if (tp->asked && tp->source == NULL)
		err_set(err, ERR_NONE,
		    "%s: the token wants its user PIN and none was given: add "
		    "?pin-source=FILE to the URI or give the systemd "
		    "credential '%s' (LoadCredential=%s:FILE)",
		    url, TOKEN_PIN_CREDENTIAL, TOKEN_PIN_CREDENTIAL);
	else if (!token_present(bare))
		err_set(err, ERR_NONE,
		    "%s: no token matches this URI: plug the token in and "
		    "check that its PKCS#11 module is registered with p11-kit "
		    "(p11tool --list-tokens lists what is seen)",
		    url);
	else
		err_set(err, ERR_NONE,
		    "%s: the token has no private key matching this URI (%s): "
		    "list its keys with p11tool --login --list-privkeys "
		    "'pkcs11:token=LABEL' and give one URL from there",
		    url, gnutls_strerror(rc));
	free(bare);
	return -1;
}
