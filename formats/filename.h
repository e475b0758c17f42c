/* filename.h: original file names made safe to leave posgw. */
#ifndef POSGW_FILENAME_H
#define POSGW_FILENAME_H

#include <stddef.h>

#define FILENAME_MAX_BYTES 200 /* bytes of a name leaving posgw */

void filename_sanitize(const char *, char *, size_t);
void filename_unique(char *, size_t, char **, size_t);

#endif
