/*
 * error.h: an error with a stable rejection code and a human text.
 *
 * One convention across posgw: every struct error is declared with an
 * initialiser (= {0}); err_set records an error, replacing whatever the
 * value held, so a reused value never keeps a stale message; err_keep
 * records one only if none is there (where a library callback already
 * recorded the precise cause); err_wrap puts context before the message
 * and keeps its code. A domain with classes of its own (the EDMS import's
 * "schema", "signature", ...) names the class in what.
 */
#ifndef POSGW_ERROR_H
#define POSGW_ERROR_H

/*
 * Stable rejection codes of package.md section 9 and formats/envelope.md
 * section 7; ERR_NONE for other failures.
 */
enum err_code {
	ERR_NONE = 0,
	ERR_NAME,
	ERR_SIZE,
	ERR_ARCHIVE,
	ERR_ENTRY,
	ERR_MANIFEST,
	ERR_SIGNATURE,
	ERR_UNTRUSTED,
	ERR_RECIPIENT,
	ERR_DIGEST,
	ERR_PAYLOAD,
	ERR_CONFLICT,
	ERR_ENVELOPE,
	ERR_KEY,
	ERR_DECRYPT,
	ERR_PLAIN,
};

struct error {
	enum err_code code;
	const char *what; /* a domain's class of the failure, or NULL */
	char text[1024];
};

int err_set(struct error *, enum err_code, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int err_keep(struct error *, enum err_code, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int err_wrap(struct error *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
int err_what(struct error *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void err_clear(struct error *);
const char *err_code_name(enum err_code);
int err_code_from_name(const char *, enum err_code *);

#endif
