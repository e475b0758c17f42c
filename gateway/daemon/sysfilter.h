/* sysfilter.h: a gateway daemon's system-call allow-list (libseccomp). */
#ifndef POSGW_SYSFILTER_H
#define POSGW_SYSFILTER_H

#include "error.h"

enum sysfilter_mode {
	SYSFILTER_KILL = 0, /* a call off the list stops the daemon (default) */
	SYSFILTER_LOG,      /* the kernel logs it and lets it run */
	SYSFILTER_OFF,      /* no filter */
};

int sysfilter_apply(enum sysfilter_mode, const char *, struct error *);
int sysfilter_mode_parse(const char *, enum sysfilter_mode *);
const char *sysfilter_mode_name(enum sysfilter_mode);
int sysfilter_probe(void);

#endif
