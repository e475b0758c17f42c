/* token.h: private keys on PKCS#11 tokens, named by RFC 7512 URIs. */
#ifndef POSGW_TOKEN_H
#define POSGW_TOKEN_H

#include <gnutls/abstract.h>

#include "error.h"

/* The systemd credential a PIN is read from when the URI names none. */
#define TOKEN_PIN_CREDENTIAL "pin"

int token_is_url(const char *);
int token_key_load(const char *, gnutls_privkey_t *, struct error *);
char *token_url_display(const char *);

#endif
