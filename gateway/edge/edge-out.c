/*
 * edge-out.c: the crash-safe out/ writer. A ClientMessage is written as
 * out/.<clientId>.xml and fsynced, the transaction recording the request
 * commits, then the file is renamed into place; at start, temporaries whose
 * clientId the database knows are published and the others removed. In a
 * batch, the renames wait for the batch's commit (edge_out_defer).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <libxml/tree.h>

#include "digest.h"
#include "edge-int.h"
#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "posmap.h"
#include "sig.h"
#include "smev.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* Current time as a posgw UTC timestamp. */
void
edge_out_now(char *buf, size_t len)
{
	pkg_time_format(time(NULL), buf, len);
}

/*
 * A ResponseMessage answering reply_to: P:Received (code NULL) or
 * rejects{code, description}.
 */
xmlDocPtr
edge_out_response(struct edge *e, const char *cid, const char *reply_to,
    const char *pos, const char *version, const char *code, const char *desc)
{
	xmlNodePtr root, mpc;
	xmlNsPtr ns;
	xmlDocPtr doc = smev_client_message(e->mnemonic, &root, &ns);
	char *d = NULL;

	if (code != NULL)
		d = posmap_clean_text(desc != NULL ? desc : "", 4000);
	mpc = smev_response_add(root, ns, cid, reply_to, code, d);
	if (mpc != NULL)
		posmap_received(mpc, pos, version);
	free(d);
	return doc;
}

/* Postpone a file-system step until the batch commits (strings copied). */
void
edge_out_defer(struct edge *e, enum edge_defer_kind kind, const char *a,
    const char *b, const char *c, const char *d, const char *f)
{
	struct edge_out_defer *x;
	const char *v[5] = {a, b, c, d, f};
	int i;

	e->defer = xreallocarray(e->defer, e->ndefer + 1, sizeof *e->defer);
	x = &e->defer[e->ndefer++];
	x->kind = kind;
	for (i = 0; i < 5; i++)
		x->s[i] = v[i] != NULL ? xstrdup(v[i]) : NULL;
}

/* Write a ClientMessage durably as out/.<cid>.xml (frees doc). */
int
edge_out_write(
    struct edge *e, const char *cid, xmlDocPtr doc, struct error *err)
{
	xmlChar *buf = NULL;
	char *tmp;
	int n = 0, fd, rc = -1;

	xmlDocDumpFormatMemoryEnc(doc, &buf, &n, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (buf == NULL)
		fatalx("cannot serialise a ClientMessage");
	xasprintf(&tmp, "%s/.%s.xml", e->out, cid);
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd == -1) {
		err_set(err, ERR_NONE, "cannot create %s: %s; %s", tmp,
		    strerror(errno),
		    fs_hint(errno, "check that the adapter's out/ directory "
		                   "exists and is writable"));
		goto out;
	}
	/* in a batch, synced with the others before the commit */
	if (fs_write_all(fd, buf, (size_t)n) == -1 ||
	    (!e->batch && fsync(fd) == -1)) {
		err_set(
		    err, ERR_NONE, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) == -1) {
		err_set(
		    err, ERR_NONE, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (e->batch)
		fs_syncset_add(&e->answers, tmp);
	rc = 0;
out:
	xmlFree(buf);
	free(tmp);
	return rc;
}

/* Remove an unpublished out/.<cid>.xml (its transaction did not commit). */
void
edge_out_discard(struct edge *e, const char *cid)
{
	char *tmp;

	xasprintf(&tmp, "%s/.%s.xml", e->out, cid);
	unlink(tmp);
	free(tmp);
}

/* Rename out/.<cid>.xml into place once its request is committed. */
int
edge_out_publish(struct edge *e, const char *cid)
{
	struct error err = {0};
	char *tmp, *dst;
	int rc = 0;

	if (e->batch) {
		edge_out_defer(
		    e, EDGE_DEFER_PUBLISH, cid, NULL, NULL, NULL, NULL);
		return 0;
	}
	xasprintf(&tmp, "%s/.%s.xml", e->out, cid);
	xasprintf(&dst, "%s/%s.xml", e->out, cid);
	if (rename(tmp, dst) == -1) {
		log_warn("cannot publish %s as %s; will retry", tmp, dst);
		e->recover = 1;
		rc = -1;
	} else if (fs_fsync_dir(e->out, &err) == -1) {
		log_warnx("%s", err.text);
		rc = -1;
	}
	free(tmp);
	free(dst);
	return rc;
}

/*
 * Finish interrupted writes to out/: publish temporaries whose request was
 * committed, remove the others.
 */
void
edge_out_recover(struct edge *e)
{
	char cid[160], *path, **names;
	size_t len, n, i;

	e->recover = 0;
	if (fs_xml_names(e->out, 1, &names, &n) == -1) {
		log_warn("cannot read %s", e->out);
		e->recover = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		len = strlen(names[i]);
		if (len - 5 >= sizeof cid)
			continue;
		memcpy(cid, names[i] + 1, len - 5);
		cid[len - 5] = '\0';
		if (!smev_id_ok(cid))
			continue;
		if (edge_db_request_known(e, cid)) {
			if (edge_out_publish(e, cid) == 0)
				log_info("published %s/%s.xml, interrupted "
				         "before",
				    e->out, cid);
		} else {
			xasprintf(&path, "%s/%s", e->out, names[i]);
			if (unlink(path) == 0)
				log_info("removed %s: its request was never "
				         "recorded",
				    path);
			free(path);
		}
	}
	fs_names_free(names, n);
}
