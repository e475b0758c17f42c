/* fuzz-inventory: the hand-over inventory on a medium (posgw media). */
#include "config.h"

#include "error.h"
#include "fuzz.h"
#include "media.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct media_inventory inv;
	struct error err = {0};

	fuzz_init_xml();
	fuzz_write(MEDIA_INVENTORY, data, size);
	if (media_inventory_read(fuzz_dir(), &inv, &err) == 0)
		media_inventory_free(&inv);
	return 0;
}
