/* posgw.h: the operator and auditor tool's commands. */
#ifndef POSGW_TOOL_H
#define POSGW_TOOL_H

#include <stdio.h>

#include "db.h"

#define EXIT_REJECTED 1
#define EXIT_USAGE 2

int cmd_keys(int, char **);
int cmd_pack(int, char **);
int cmd_media(int, char **);
int cmd_transfer(int, char **);
int cmd_journal(int, char **);
int cmd_edms(int, char **);
int cmd_status(int, char **);
int cmd_report(int, char **);
const char *operator_name(void);
void transfer_print_gaps(struct db *, const char *, FILE *);
void usage_error(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
