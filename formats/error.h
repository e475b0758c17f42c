/* error.h: an error with a stable rejection code and a human text. */
#ifndef POSGW_ERROR_H
#define POSGW_ERROR_H

/* Stable rejection codes of package.md section 9; ERR_NONE for other failures. */
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
};

struct error {
	enum err_code code;
	char text[1024];
};

int err_set(struct error *, enum err_code, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void err_clear(struct error *);
const char *err_code_name(enum err_code);
int err_code_from_name(const char *, enum err_code *);

#endif
