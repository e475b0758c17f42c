/* posmap.c: placeholder until the edge role lands. */
#include "config.h"

#include "posmap.h"

int posmap_placeholder;
