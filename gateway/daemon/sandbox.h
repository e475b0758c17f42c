/* sandbox.h: a gateway daemon restricts itself after start-up (Landlock). */
#ifndef POSGW_SANDBOX_H
#define POSGW_SANDBOX_H

#include "conf.h"
#include "error.h"

int sandbox_apply(const struct conf *, const char *, struct error *);

#endif
