/*
 * cli.h: posgw, the operator and auditor tool: the command families that
 * posgw.c's table dispatches to, and the helpers they share (cli.c).
 */
#ifndef POSGW_CLI_H
#define POSGW_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "db.h"
#include "kex.h"
#include "package.h"

#define EXIT_REJECTED 1 /* the work failed or a package was rejected */
#define EXIT_USAGE 2    /* the command line was wrong */

/* cli.c */
void cli_usage_error(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
const char *cli_operator(void);
void cli_print_gaps(struct db *, const char *, FILE *);
struct db *cli_db_read(const char *, const char *);
int cli_as_owner(const char *, const char *);
int cli_out_ok(const char *, const char *);
int cli_reconcile_dir(struct db *, const char *, struct db *, const char *,
    int64_t, int *, FILE *);

/* cli-handover.c */
int cli_handover_reconcile(
    struct db *, const char *, struct db *, const char *, int64_t, FILE *);

/* the families, each in cmd-<family>.c */
int cmd_keys(int, char **);
int cmd_keys_crl(int, char **);
int cmd_pack(int, char **);
int cmd_pack_env_encrypt(int, char **);
int cmd_pack_env_decrypt(int, char **);
int cmd_pack_env_seal(struct signer *, const char *, enum digest_alg,
    const char *, const char *, const char *, struct error *);
int cmd_pack_env_verify(const char *, const struct pkg_verify_opts *,
    const struct kex_key *, const char *, int);
int cmd_media(int, char **);
int cmd_transfer(int, char **);
int cmd_transfer_overview(int, char **);
int cmd_journal(int, char **);
int cmd_report(int, char **);
int cmd_edms(int, char **);
int cmd_edms_conf(const char *, struct conf *);
struct db *cmd_edms_db_ro(const struct conf *, int, const char *);
int cmd_edms_map(int, char **);
int cmd_edms_stats(int, char **);
int cmd_edms_list(int, char **);
int cmd_edms_overdue(int, char **);
int cmd_edms_repeated(int, char **);
int cmd_edms_sstu(int, char **);

#endif
