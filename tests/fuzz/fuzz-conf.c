/* fuzz-conf: a gateway configuration file (inih and our checks). */
#include "config.h"

#include "conf.h"
#include "error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	struct error err = {0};

	fuzz_init_xml();
	if (conf_load(fuzz_write("gateway.conf", data, size), &c, &err) == 0)
		conf_free(&c);
	return 0;
}
