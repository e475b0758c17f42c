/* posgw.h: the operator and auditor tool's commands. */
#ifndef POSGW_TOOL_H
#define POSGW_TOOL_H

#define EXIT_REJECTED 1
#define EXIT_USAGE 2

int cmd_keys(int, char **);
int cmd_pack(int, char **);
void usage_error(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
