/* fuzz-common.c: scratch files and one-time set-up for the fuzz targets. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"
#include "fuzz.h"
#include "log.h"
#include "schema.h"
#include "xmlsafe.h"

static char fuzz_tmpl[] = "/tmp/posgw-fuzz.XXXXXX";
static int fuzz_made;

/* Remove the scratch directory when the fuzzer exits. */
static void
fuzz_cleanup(void)
{
	if (fuzz_made)
		fs_rmtree(fuzz_tmpl);
}

/* A private scratch directory, made on first use. */
const char *
fuzz_dir(void)
{
	if (!fuzz_made) {
		if (mkdtemp(fuzz_tmpl) == NULL) {
			perror("fuzz: mkdtemp");
			abort();
		}
		fuzz_made = 1;
		atexit(fuzz_cleanup);
	}
	return fuzz_tmpl;
}

/* Replace dir/name with the input; returns the path (static buffer). */
const char *
fuzz_write(const char *name, const uint8_t *data, size_t size)
{
	static char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    fs_write_all(fd, data, size) == -1) {
		perror(path);
		abort();
	}
	close(fd);
	return path;
}

/* libxml2 the safe way, the schemas loaded, logging quiet. */
void
fuzz_init_xml(void)
{
	static int done;
	struct error err = {0};

	if (done)
		return;
	done = 1;
	log_init("fuzz", LOG_LEVEL_ERROR);
	xmlsafe_init();
	if (schema_load(&err) == -1) {
		fprintf(stderr, "fuzz: %s\n", err.text);
		abort();
	}
}
