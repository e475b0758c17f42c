/*
 * core.c: posgw-core's business side, the EDMS exchange folders (see
 * edms-exchange.md and edms.c for the contract).
 *
 * Export: every inbound appeal, outcome and classifier document is written
 * into the export folder durably (a hidden temp folder or file, fsync,
 * rename, fsync of the folder) and only then marked consumed, with its
 * journal entry, in one transaction; a crash in between writes the same
 * files again. Import: every <import>/NAME.xml is an event the EDMS dropped; it
 * is checked (contract, schema, appeal, order, transition, files, signatures)
 * and either queued for the edge with the appeal's new state and a journal
 * entry in one transaction, then removed from the folder, or moved to
 * <import>/rejected/ with a .reason file. This file has no network code:
 * posgw-core runs without a network.
 */
#include "config.h"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "core-int.h"
#include "core-stats.h"
#include "digest.h"
#include "edms.h"
#include "filename.h"
#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "retention.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* Open the role: the core's tables, the officials' trust list, staging. */
void *
core_open(struct xfer *x, struct conf *c, struct error *err)
{
	const struct xfer_config *xc = xfer_config(x);
	struct core *cs;
	struct stat sb;
	char *rej;

	if (!c->edms.present || c->edms.export_dir == NULL ||
	    c->edms.import_dir == NULL) {
		err_set(err, ERR_NONE,
		    "%s: [edms] export and import are required for posgw-core",
		    c->path);
		return NULL;
	}
	cs = xcalloc(1, sizeof *cs);
	cs->x = x;
	cs->db = xfer_db(x);
	cs->e = c->edms;
	conf_orgs_copy(&cs->orgs, c);
	cs->e.export_dir = xstrdup(c->edms.export_dir);
	cs->e.import_dir = xstrdup(c->edms.import_dir);
	memset(cs->e.signer_trust, 0, sizeof cs->e.signer_trust);
	cs->e.nsigner_trust = 0;
	cs->limits = xc->verify.limits;
	cs->sig_algs = xc->verify.sig_algs;
	if ((cs->signers = edms_sign_trust(&c->edms, &c->x, err)) == NULL ||
	    db_upgrade(cs->db, &edms_db_schema, err) == -1)
		goto fail;
	/* never emptied here: --check-config may run beside the daemon */
	xasprintf(&cs->staging, "%s/edms-staging", xc->state_dir);
	if (fs_mkdir_p(cs->staging, 0700) == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s", cs->staging,
		    strerror(errno));
		goto fail;
	}
	if (stat(cs->e.export_dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
		log_warnx("[edms] export %s is not a directory yet; appeals "
		          "wait until it is there",
		    cs->e.export_dir);
	if (stat(cs->e.import_dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
		log_warnx("[edms] import %s is not a directory yet; events "
		          "wait until it is there",
		    cs->e.import_dir);
	retention_set_closed(x, edms_closed_sql);
	/* refused event files: the quarantine period applies to them too */
	xasprintf(&rej, "%s/rejected", cs->e.import_dir);
	retention_add_dir(x, rej);
	xfer_wake_on(x, cs->e.import_dir); /* an event is taken as it comes */
	free(rej);
	return cs;
fail:
	core_close(cs);
	return NULL;
}

/* Close the role. */
void
core_close(void *arg)
{
	struct core *cs = arg;

	if (cs == NULL)
		return;
	trust_free(cs->signers);
	free(cs->staging);
	free(cs->pending);
	free(cs->e.export_dir);
	free(cs->e.import_dir);
	free(cs->last_trouble);
	conf_free(&cs->orgs);
	free(cs);
}

/* One round: export what the edge sent, import what the EDMS dropped. */
int
core_step(struct xfer *x, void *arg, int *did)
{
	struct core *cs = arg;
	int rc = 0;

	if (core_export(cs, did) == -1)
		rc = -1;
	if (core_import(cs, did) == -1)
		rc = -1;
	if (core_stats_step(x, cs->e.stats_interval, did) == -1)
		rc = -1;
	if (core_repeated_expire(cs, did) == -1)
		rc = -1;
	if (rc == 0 && cs->last_trouble != NULL) {
		log_info("EDMS exchange: the trouble reported before is over");
		free(cs->last_trouble);
		cs->last_trouble = NULL;
	}
	return rc;
}
