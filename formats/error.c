/* error.c: an error with a stable rejection code and a human text. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const err_names[] = {
    [ERR_NONE] = "error",
    [ERR_NAME] = "name",
    [ERR_SIZE] = "size",
    [ERR_ARCHIVE] = "archive",
    [ERR_ENTRY] = "entry",
    [ERR_MANIFEST] = "manifest",
    [ERR_SIGNATURE] = "signature",
    [ERR_UNTRUSTED] = "untrusted",
    [ERR_RECIPIENT] = "recipient",
    [ERR_DIGEST] = "digest",
    [ERR_PAYLOAD] = "payload",
    [ERR_CONFLICT] = "conflict",
    [ERR_ENVELOPE] = "envelope",
    [ERR_KEY] = "key",
    [ERR_DECRYPT] = "decrypt",
    [ERR_PLAIN] = "plain",
};

/* Format an error into err (code, no class): the one writer of text. */
static void
err_vset(struct error *err, enum err_code code, const char *fmt, va_list ap)
{
	size_t len;

	err->code = code;
	err->what = NULL;
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	len = strlen(err->text);
	while (len > 0 && isspace((unsigned char)err->text[len - 1]))
		err->text[--len] = '\0'; /* libraries end messages in "\n" */
	if (err->text[0] == '\0')
		snprintf(err->text, sizeof err->text, "unknown error");
}

/* Record an error, replacing any recorded before. Returns -1 for tail calls. */
int
err_set(struct error *err, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Record an error only if none is recorded yet: where a library callback
 * recorded the precise cause and the caller's own text would be vaguer.
 */
int
err_keep(struct error *err, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->text[0] != '\0')
		return -1;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Put context before the recorded message ("context: message"), keeping
 * its code and class; with none recorded, the context is the message.
 */
int
err_wrap(struct error *err, const char *fmt, ...)
{
	char ctx[sizeof err->text], was[sizeof err->text];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	if (err->text[0] == '\0') {
		snprintf(err->text, sizeof err->text, "%s", ctx);
		return -1;
	}
	snprintf(was, sizeof was, "%s", err->text);
	snprintf(err->text, sizeof err->text, "%.400s: %.620s", ctx, was);
	return -1;
}

/* Record an error of a domain's class (what is a static string). */
int
err_what(struct error *err, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, ERR_NONE, fmt, ap);
	va_end(ap);
	err->what = what;
	return -1;
}

/* Forget any recorded error. */
void
err_clear(struct error *err)
{
	err->code = ERR_NONE;
	err->what = NULL;
	err->text[0] = '\0';
}

/* The stable name of a code, as written in .reason files and receipts. */
const char *
err_code_name(enum err_code code)
{
	if ((unsigned)code >= sizeof err_names / sizeof err_names[0])
		return "error";
	return err_names[code];
}

/* Look a code up by its stable name; returns -1 if unknown. */
int
err_code_from_name(const char *name, enum err_code *code)
{
	size_t i;

	for (i = 1; i < sizeof err_names / sizeof err_names[0]; i++) {
		if (strcmp(err_names[i], name) == 0) {
			*code = (enum err_code)i;
			return 0;
		}
	}
	return -1;
}
