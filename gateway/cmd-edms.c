/* cmd-edms.c: placeholder until posgw edms lands. */
#include "config.h"

#include <stdio.h>

#include "posgw.h"

/* posgw edms: not built yet. */
int
cmd_edms(int argc, char **argv)
{
	fprintf(stderr, "posgw: edms: not built yet\n");
	return 1;
}
