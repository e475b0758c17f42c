/* cmd-report.c: placeholder until posgw journal report lands. */
#include "config.h"

#include <stdio.h>

#include "posgw.h"

/* posgw journal report: not built yet. */
int
cmd_report(int argc, char **argv)
{
	fprintf(stderr, "posgw: journal report: not built yet\n");
	return 1;
}
