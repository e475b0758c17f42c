/*
 * fuzz-posmap-event: an event document as posgw-edge takes it from the
 * core's packages and maps it onto a ПОС status update (gateway/edge/posmap.c).
 */
#include "config.h"

#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "posmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct posmap_event ev;
	struct error err = {0};

	fuzz_init_xml();
	memset(&ev, 0, sizeof ev);
	if (posmap_event_read(data, size, &ev, &err) == 0)
		posmap_event_free(&ev);
	return 0;
}
