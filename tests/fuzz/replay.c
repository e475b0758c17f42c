/*
 * replay: run one fuzz target's LLVMFuzzerTestOneInput over files, in an
 * ordinary build (no libFuzzer), so every committed crash input under
 * tests/fuzz/regress/ runs in make check, with the sanitizers in CI.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char **argv)
{
	unsigned char *buf;
	size_t len, cap;
	size_t n;
	FILE *f;
	int i;

	for (i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL) {
			fprintf(stderr, "replay: cannot open %s: %s\n", argv[i],
			    strerror(errno));
			return 2;
		}
		len = 0;
		cap = 65536;
		if ((buf = malloc(cap)) == NULL)
			abort();
		while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
			len += n;
			if (len == cap &&
			    (buf = realloc(buf, cap *= 2)) == NULL)
				abort();
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		printf("replayed %s (%zu bytes)\n", argv[i], len);
	}
	return 0;
}
