/*
 * fuzz.h: shared by the libFuzzer targets (tests/fuzz/README.md): a
 * private scratch directory per process and the schema directory.
 */
#ifndef POSGW_FUZZ_H
#define POSGW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

const char *fuzz_dir(void);
const char *fuzz_write(const char *, const uint8_t *, size_t);
void fuzz_init_xml(void);

#endif
