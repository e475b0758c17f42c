/* error.c: an error with a stable rejection code and a human text. */
#include "config.h"

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
};

/* Record an error; the first error recorded wins. Returns -1 for tail calls. */
int
err_set(struct error *err, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->text[0] != '\0')
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	va_end(ap);
	if (err->text[0] == '\0')
		strcpy(err->text, "unknown error");
	return -1;
}

/* Forget any recorded error. */
void
err_clear(struct error *err)
{
	err->code = ERR_NONE;
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
