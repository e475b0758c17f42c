/* fuzz-manifest: manifest.xml bytes from a hostile package. */
#include "config.h"

#include "error.h"
#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct error err = {0};

	fuzz_init_xml();
	if (manifest_parse(data, size, 64, &m, &err) == 0)
		manifest_free(&m);
	return 0;
}
