/*
 * fuzz-edms-event: an event file the EDMS (or anyone who can write the
 * import folder) drops for posgw-core, read and prepared as the core does
 * before it looks at the files the event names.
 */
#include "config.h"

#include <string.h>

#include "edms.h"
#include "error.h"
#include "fuzz.h"
#include "package.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkg_limits l;
	struct edms_event ev;
	struct error why = {0};
	int malformed = 0;

	fuzz_init_xml();
	pkg_limits_default(&l);
	memset(&ev, 0, sizeof ev);
	memset(&why, 0, sizeof why);
	fuzz_write("event-1.xml", data, size);
	/* the core frees the event whatever the outcome (a reject names it) */
	edms_event_read(fuzz_dir(), "event-1.xml", &l, &ev, &why, &malformed);
	edms_event_free(&ev);
	return 0;
}
