/* edms.c: placeholder until the core role lands. */
#include "config.h"

#include "edms.h"

int edms_placeholder;
