/*
 * xfer.c: the transfer engine's life cycle and loop: state directories,
 * keys, the inbox watcher (inotify as a wake-up only, scans decide) and the
 * periodic work (pack, re-offer, checkpoint).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "retention.h"
#include "rollover.h"
#include "schema.h"
#include "token.h"
#include "xfer-int.h"
#include "xmalloc.h"

#define XFER_IDLE_MS 20 /* idle rounds at least this far apart */
#define XFER_EVENTS                                                            \
	(IN_MOVED_TO | IN_CLOSE_WRITE | IN_UNMOUNT | IN_DELETE_SELF |          \
	    IN_MOVE_SELF | IN_ONLYDIR)
#define XFER_GONE (IN_IGNORED | IN_UNMOUNT | IN_DELETE_SELF | IN_MOVE_SELF)

/* Defaults for everything but identities and directories. */
void
xfer_config_default(struct xfer_config *c)
{
	memset(c, 0, sizeof *c);
	c->max_docs = 100;
	c->max_bytes = 64ULL << 20;
	c->backlog_bytes = 2ULL << 20;
	c->max_wait_ms = 200;
	c->receipt_delay = 30;
	c->resend_interval = 600;
	c->scan_interval = 10;
	c->checkpoint_entries = 100;
	c->checkpoint_minutes = 10;
	c->compress = PKG_COMPRESS_ZSTD;
	c->digest = DIGEST_STREEBOG256;
	c->encrypt = 1;
	c->retain_personal = 30 * 86400;
	c->retain_quarantine = 90 * 86400;
	pkg_verify_opts_default(&c->verify);
}

/*
 * Load the envelope keys: ours to open what comes in (unless only plain
 * packages are taken), the peer's to seal what goes out (when encrypting).
 */
static int
xfer_open_kex(struct xfer *x, struct error *err)
{
	const struct xfer_config *c = &x->c;
	const char *key = c->exchange_key ? c->exchange_key : c->key;
	const char *cert = c->exchange_cert ? c->exchange_cert : c->cert;
	const char *peer = c->peer_exchange_cert;

	if (!c->accept_plain || c->exchange_key != NULL) {
		if (c->exchange_key != NULL && token_is_url(key))
			return err_set(err, ERR_NONE,
			    "exchange_key %s is on a token, but GnuTLS cannot "
			    "agree keys (VKO) through PKCS#11: set [gateway] "
			    "exchange_key/exchange_cert to a file-based GOST "
			    "key-agreement pair (posgw keys generate "
			    "--algorithm gost256)",
			    key);
		if (token_is_url(key))
			return err_set(err, ERR_NONE,
			    "cannot open envelopes: the signing key is on a "
			    "token: set [gateway] exchange_key/exchange_cert "
			    "to a file-based GOST key-agreement pair (posgw "
			    "keys generate --algorithm gost256), and the "
			    "peer's peer_exchange_cert to that certificate");
		if ((x->kex = kex_key_load(key, cert, err)) == NULL)
			return err_wrap(err,
			    "cannot open envelopes for this gateway (set "
			    "[gateway] exchange_key and exchange_cert to a "
			    "GOST key-agreement pair, or accept_plain = yes "
			    "in [transfer] while the peer sends plain "
			    "packages)");
	}
	if (c->previous_exchange_key != NULL &&
	    (x->kex_prev = kex_key_load(c->previous_exchange_key,
	         c->previous_exchange_cert, err)) == NULL)
		return err_wrap(err, "[gateway] previous_exchange_key");
	if (!c->encrypt)
		return 0;
	if (peer == NULL && c->ntrust == 1)
		peer = c->trust[0];
	if (peer == NULL)
		return err_set(err, ERR_NONE,
		    "[gateway] peer_exchange_cert is required to encrypt "
		    "packages when trust names a CA or several files: give "
		    "%s's key-agreement certificate (or encrypt = no in "
		    "[transfer])",
		    c->peer_id);
	if ((x->peer_kex = kex_pub_load(peer, c->peer_id, err)) == NULL)
		return err_wrap(err,
		    "cannot encrypt packages for %s (set [gateway] "
		    "peer_exchange_cert to its key-agreement certificate, or "
		    "encrypt = no in [transfer])",
		    c->peer_id);
	return 0;
}

/* Create a private directory (0700) if missing. */
static int
xfer_mkdir(const char *path, struct error *err)
{
	if (fs_mkdir_p(path, 0700) == -1)
		return err_set(err, ERR_NONE, "cannot create %s: %s%s", path,
		    strerror(errno), fs_why(errno));
	return 0;
}

/* Remove everything left in staging by an earlier run. */
static void
xfer_clean_staging(struct xfer *x)
{
	struct dirent *de;
	char *p;
	DIR *d;

	if ((d = opendir(x->dir_staging)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&p, "%s/%s", x->dir_staging, de->d_name);
		fs_rmtree(p);
		free(p);
	}
	closedir(d);
}

/* Record our identity in the database, refusing a database of another gateway. */
static int
xfer_identity(struct xfer *x, struct error *err)
{
	char *own = db_meta_get(x->db, "own_id");
	char *peer = db_meta_get(x->db, "peer_id");
	char *cert = NULL;
	gnutls_datum_t d = {NULL, 0};
	int rc = -1;

	if (own != NULL && strcmp(own, x->c.own_id) != 0) {
		err_set(err, ERR_NONE,
		    "database %s belongs to gateway %s, not %s; use that "
		    "gateway's state directory",
		    x->db->path, own, x->c.own_id);
		goto out;
	}
	if (peer != NULL && strcmp(peer, x->c.peer_id) != 0) {
		err_set(err, ERR_NONE,
		    "database %s exchanges with %s, not %s; a new peer needs "
		    "a new state directory",
		    x->db->path, peer, x->c.peer_id);
		goto out;
	}
	if (gnutls_load_file(x->c.cert, &d) < 0) {
		err_set(err, ERR_NONE, "cannot read %s", x->c.cert);
		goto out;
	}
	cert = db_meta_get(x->db, "certificate");
	if (db_begin(x->db, err) == -1)
		goto out;
	if ((own == NULL &&
	        (db_meta_set(x->db, "own_id", x->c.own_id, err) == -1 ||
	            db_meta_set(x->db, "peer_id", x->c.peer_id, err) == -1 ||
	            journal_append(x->db, "gateway.created", NULL, NULL,
	                x->c.own_id, err) == -1)) ||
	    ((cert == NULL || strlen(cert) != d.size ||
	         memcmp(cert, d.data, d.size) != 0) &&
	        (db_meta_set(x->db, "certificate", (const char *)d.data, err) ==
	                -1 ||
	            journal_append(x->db, "certificate.installed", NULL, NULL,
	                x->c.cert, err) == -1))) {
		db_rollback(x->db);
		goto out;
	}
	rc = db_commit(x->db, err);
out:
	free(own);
	free(peer);
	free(cert);
	gnutls_free(d.data);
	return rc;
}

/* Watch the inbox (again); a missing inbox is waited for. */
static void
xfer_watch(struct xfer *x)
{
	/*
	 * The role's folder: a missing one quietly (the role says so), any
	 * other failure once. IN_MASK_ADD: were it the inbox, its mask stays.
	 */
	if (x->ifd != -1 && x->wake_dir != NULL && x->wake_wd == -1) {
		x->wake_wd = inotify_add_watch(
		    x->ifd, x->wake_dir, XFER_EVENTS | IN_MASK_ADD);
		if (x->wake_wd == -1 && errno != ENOENT && !x->wake_warned)
			log_warn("cannot watch %s; files there are found by "
			         "the idle rounds (at least once a second)",
			    x->wake_dir);
		x->wake_warned = x->wake_wd == -1 && errno != ENOENT;
	}
	if (x->ifd == -1 || x->iwd != -1)
		return;
	x->iwd = inotify_add_watch(x->ifd, x->c.inbox, XFER_EVENTS);
	if (x->iwd == -1) {
		if (!x->inbox_missing)
			log_warn("inbox %s cannot be watched (removed or "
			         "unmounted?); will keep trying",
			    x->c.inbox);
		x->inbox_missing = 1;
		return;
	}
	if (x->inbox_missing)
		log_info("inbox %s is back", x->c.inbox);
	x->inbox_missing = 0;
	x->want_scan = 1;
}

/*
 * Open the engine: directories, database, keys. A tool open (tool != 0) is
 * for operator commands beside a running daemon: no staging cleanup, no
 * watcher, no checkpoint at close.
 */
struct xfer *
xfer_open(const struct xfer_config *c, int tool, struct error *err)
{
	struct xfer *x;
	char *dbpath;
	size_t i;

	x = xcalloc(1, sizeof *x);
	x->c = *c;
	x->ifd = -1;
	x->iwd = -1;
	x->wake_wd = -1;
	if (!pkg_id_valid(c->own_id) || !pkg_id_valid(c->peer_id) ||
	    strcmp(c->own_id, c->peer_id) == 0) {
		err_set(err, ERR_NONE,
		    "own id and peer id must be two different "
		    "gateway ids");
		goto fail;
	}
	xasprintf(&x->dir_files, "%s/files", c->state_dir);
	xasprintf(&x->dir_staging, "%s/staging", c->state_dir);
	xasprintf(&x->dir_sent, "%s/sent", c->state_dir);
	if (c->quarantine != NULL)
		x->dir_quarantine = xstrdup(c->quarantine);
	else
		xasprintf(&x->dir_quarantine, "%s/quarantine", c->state_dir);
	if (xfer_mkdir(c->state_dir, err) == -1 ||
	    xfer_mkdir(x->dir_files, err) == -1 ||
	    xfer_mkdir(x->dir_staging, err) == -1 ||
	    xfer_mkdir(x->dir_sent, err) == -1 ||
	    xfer_mkdir(x->dir_quarantine, err) == -1 ||
	    xfer_mkdir(c->outbox, err) == -1)
		goto fail;
	if (schema_load(err) == -1)
		goto fail;
	if ((x->signer = signer_load(c->key, c->cert, err)) == NULL)
		goto fail;
	if (strcmp(signer_id(x->signer), c->own_id) != 0) {
		err_set(err, ERR_NONE,
		    "certificate %s is for %s, not for this "
		    "gateway %s",
		    c->cert, signer_id(x->signer), c->own_id);
		goto fail;
	}
	x->trust = trust_new();
	for (i = 0; i < c->ntrust; i++)
		if (trust_add_file(x->trust, c->trust[i], err) == -1)
			goto fail;
	if (c->ntrust == 0) {
		err_set(
		    err, ERR_NONE, "no trusted peer certificate configured");
		goto fail;
	}
	if (xfer_trust_crls(x->trust, c, "the peer's certificates", err) == -1)
		goto fail;
	x->self = trust_new();
	if (trust_add_file(x->self, c->cert, err) == -1)
		goto fail;
	x->c.verify.own_id = x->c.own_id;
	x->c.verify.trust = x->trust;

	xasprintf(&dbpath, "%s/posgw.db", c->state_dir);
	x->db = db_open(dbpath, 1, err);
	free(dbpath);
	if (x->db == NULL || xfer_identity(x, err) == -1 ||
	    xfer_open_kex(x, err) == -1 || rollover_open(x, err) == -1)
		goto fail;
	x->tool = tool;
	if (tool)
		return x; /* an operator's tool beside the running daemon */
	xfer_clean_staging(x);
	if (rollover_announce(x, err) == -1)
		goto fail;

	if ((x->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_warn("inotify unavailable; scanning %s every %u s only",
		    c->inbox, c->scan_interval);
	xfer_watch(x);
	x->want_scan = 1;
	return x;
fail:
	xfer_close(x);
	return NULL;
}

/* Install the business side's per-round hook. */
void
xfer_set_hook(
    struct xfer *x, int (*hook)(struct xfer *, void *, int *), void *arg)
{
	x->c.hook = hook;
	x->c.hook_arg = arg;
}

/*
 * Wake the loop as soon as a file is moved or written into dir (the edge's
 * in/ from the adapter) instead of at the next idle round (max_wait_ms):
 * the round's hook then decides what to do. Without inotify, or on a file
 * system whose other writers it does not see (NFS), the idle rounds still
 * find the file.
 */
void
xfer_wake_on(struct xfer *x, const char *dir)
{
	free(x->wake_dir);
	x->wake_dir = xstrdup(dir);
	if (x->wake_wd != -1 && x->ifd != -1 && x->wake_wd != x->iwd)
		inotify_rm_watch(x->ifd, x->wake_wd);
	x->wake_wd = -1;
	xfer_watch(x);
}

/* The engine's configuration (ids, directories, limits). */
const struct xfer_config *
xfer_config(struct xfer *x)
{
	return &x->c;
}

/* The key that signs now (the previous one while a rollover is announced). */
struct signer *
xfer_signer(struct xfer *x)
{
	return rollover_signer(x);
}

/* Our own certificates (both during a rollover), to re-read what we signed. */
struct trust *
xfer_self_trust(struct xfer *x)
{
	return x->self;
}

/* The peer's anchors: configured and learnt from its rollovers. */
struct trust *
xfer_peer_trust(struct xfer *x)
{
	return x->trust;
}

/* The engine's database (the business side shares its transactions). */
struct db *
xfer_db(struct xfer *x)
{
	return x->db;
}

/* Compare names for processing in order (sender, then seq). */
static int
xfer_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Scan the inbox: every name that matches the package pattern is ingested,
 * in name order; others are logged once and left alone.
 */
int
xfer_scan(struct xfer *x, int *did)
{
	char sender[33], uuid[37], **names = NULL;
	struct log_round round = {0};
	struct error err = {0};
	struct dirent *de;
	size_t n = 0, cap = 0, i;
	uint64_t seq;
	DIR *d;
	int rc = 0;

	x->last_scan = clock_mono();
	x->want_scan = 0;
	if ((d = opendir(x->c.inbox)) == NULL) {
		if (!x->inbox_missing)
			log_warn(
			    "cannot read inbox %s; waiting for it", x->c.inbox);
		x->inbox_missing = 1;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (pkg_name_parse(de->d_name, sender, &seq, uuid) == -1) {
			ingest_warn_once(
			    x, de->d_name, "not a package name; ignored");
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xreallocarray(names, cap, sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, xfer_name_cmp);
	for (i = 0; i < n; i++) {
		err_clear(&err);
		if (ingest_file(x, names[i], &err) == -1) {
			/* said by cause: a full disk fails them all */
			log_round_add(&round, err.text);
			rc = -1;
		} else if (did != NULL)
			(*did)++;
	}
	log_round_say(&round, &x->recent, "packages of the inbox");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Sign a checkpoint when enough entries or minutes have passed (or forced). */
int
xfer_checkpoint(struct xfer *x, int force)
{
	struct error err = {0};
	time_t last;
	int64_t pending = journal_since_checkpoint(x->db, &last);

	if (pending <= 0)
		return 0;
	if (!force && pending < (int64_t)x->c.checkpoint_entries &&
	    time(NULL) - last < (time_t)x->c.checkpoint_minutes * 60 &&
	    last <= time(NULL))
		return 0;
	if (db_begin(x->db, &err) == -1 ||
	    journal_checkpoint(x->db, rollover_signer(x), &err) == -1 ||
	    db_commit(x->db, &err) == -1) {
		db_rollback(x->db);
		log_warnx_recent(&x->recent, NULL, "checkpoint: %s", err.text);
		return -1;
	}
	return 0;
}

/* One round of work; did counts what was done. */
int
xfer_step(struct xfer *x, int *did)
{
	int rc = 0, finished;

	xfer_watch(x);
	/*
	 * A package offered just before a crash may be receipted already:
	 * mark it sent before the scan takes its receipt (regression
	 * receipt-before-marked-sent). Until it is, no new one is packed:
	 * packages go out in order.
	 */
	if ((finished = spool_finish(x)) == -1)
		rc = -1;
	if (x->want_scan ||
	    clock_mono() - x->last_scan >= (time_t)x->c.scan_interval)
		if (xfer_scan(x, did) == -1)
			rc = -1;
	if (x->c.hook != NULL && x->c.hook(x, x->c.hook_arg, did) == -1)
		rc = -1;
	if (finished == -1 || spool_pack_due(x, 0, did) == -1)
		rc = -1;
	if (spool_reoffer(x, 0, did) == -1)
		rc = -1;
	if (retention_step(x, did) == -1)
		rc = -1;
	xfer_checkpoint(x, 0);
	return rc;
}

/*
 * A watched folder is gone, moved away or mounted over: drop its watch
 * (the kernel has on IN_IGNORED) so that the path is watched again next
 * round.
 */
static void
xfer_watch_gone(struct xfer *x, int *wd, uint32_t mask)
{
	if (!(mask & XFER_GONE))
		return;
	if (!(mask & IN_IGNORED))
		inotify_rm_watch(x->ifd, *wd);
	*wd = -1;
}

/* Drain inotify events; any event about the inbox asks for a scan. */
static void
xfer_events(struct xfer *x)
{
	char buf[8192]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	while ((n = read(x->ifd, buf, sizeof buf)) > 0) {
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_debug("inotify queue overflow: full scan");
				x->want_scan = 1;
			}
			if (ev->wd == x->wake_wd && ev->wd != -1 &&
			    ev->wd != x->iwd) {
				/* the role's folder: the wake-up is all */
				xfer_watch_gone(x, &x->wake_wd, ev->mask);
				continue;
			}
			if (ev->mask & XFER_GONE) {
				if (ev->wd == x->iwd) {
					/* the role's folder, were it the inbox,
					 * goes with it */
					if (x->wake_wd == x->iwd)
						x->wake_wd = -1;
					xfer_watch_gone(x, &x->iwd, ev->mask);
				}
				x->want_scan = 1;
			}
			if (ev->mask & (IN_MOVED_TO | IN_CLOSE_WRITE))
				x->want_scan = 1;
		}
	}
}

/* Take new batching, interval and log settings (SIGHUP). */
void
xfer_reconfigure(struct xfer *x, const struct xfer_config *c)
{
	x->c.max_docs = c->max_docs;
	x->c.max_bytes = c->max_bytes;
	x->c.backlog_bytes = c->backlog_bytes;
	x->c.max_wait_ms = c->max_wait_ms;
	x->c.receipt_delay = c->receipt_delay;
	x->c.resend_interval = c->resend_interval;
	x->c.scan_interval = c->scan_interval;
	x->c.checkpoint_entries = c->checkpoint_entries;
	x->c.checkpoint_minutes = c->checkpoint_minutes;
	x->c.compress = c->compress;
	x->c.digest = c->digest;
	x->c.retain_personal = c->retain_personal;
	x->c.retain_quarantine = c->retain_quarantine;
	x->want_scan = 1;
}

/*
 * Run until *stop or *reload is set; the unit of work in hand always
 * completes.
 */
int
xfer_run(
    struct xfer *x, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
	struct pollfd pfd;
	int did, timeout;

	log_info("%s: exchanging with %s; inbox %s, outbox %s", x->c.own_id,
	    x->c.peer_id, x->c.inbox, x->c.outbox);
	while (!*stop && !*reload) {
		did = 0;
		xfer_step(x, &did);
		if (*stop)
			break;
		/*
		 * Idle: wake for the oldest queued document's deadline, the
		 * timers and what inotify cannot see (a network file system's
		 * other writers; inotify itself missing), at most once a
		 * second and at least XFER_IDLE_MS apart (max_wait_ms = 0
		 * spun a CPU while idle); inotify wakes us for the inbox and
		 * the role's folder (xfer_wake_on) at once.
		 */
		timeout = did ? 0
		              : (int)(x->c.max_wait_ms < 1000 ? x->c.max_wait_ms
		                                              : 1000);
		if (!did && timeout < XFER_IDLE_MS)
			timeout = XFER_IDLE_MS;
		if (x->iwd == -1 && timeout > 1000)
			timeout = 1000;
		pfd.fd = x->ifd;
		pfd.events = POLLIN;
		if (poll(&pfd, x->ifd == -1 ? 0 : 1, timeout) > 0)
			xfer_events(x);
	}
	return 0;
}

/*
 * Add the configured CRLs ([gateway] crl) to a trust list: those its anchors
 * issued; the others are for another list (what names it for the log).
 */
int
xfer_trust_crls(struct trust *t, const struct xfer_config *c, const char *what,
    struct error *err)
{
	size_t i;
	int rc;

	trust_set_crl_strict(t, c->crl_strict);
	for (i = 0; i < c->ncrl; i++) {
		if ((rc = trust_add_crl_file(t, c->crl[i], err)) == -1)
			return err_wrap(err, "[gateway] crl");
		if (rc == 0)
			log_debug("CRL %s is not issued by an anchor of %s",
			    c->crl[i], what);
	}
	return 0;
}

/* Close the engine, signing a last checkpoint. */
void
xfer_close(struct xfer *x)
{
	size_t i;

	if (x == NULL)
		return;
	if (x->db != NULL && x->signer != NULL && !x->tool)
		xfer_checkpoint(x, 1);
	db_close(x->db);
	rollover_free(x);
	signer_free(x->signer);
	trust_free(x->trust);
	trust_free(x->self);
	kex_key_free(x->kex);
	kex_key_free(x->kex_prev);
	kex_pub_free(x->peer_kex);
	fs_syncset_clear(&x->store_unsynced);
	if (x->ifd != -1)
		close(x->ifd);
	for (i = 0; i < x->nignored; i++)
		free(x->ignored[i]);
	free(x->ignored);
	free(x->wake_dir);
	free(x->dir_files);
	free(x->dir_staging);
	free(x->dir_sent);
	free(x->dir_quarantine);
	for (i = 0; i < x->nret_dirs; i++)
		free(x->ret_dirs[i]);
	free(x->ret_cursor);
	free(x->pathbuf);
	free(x);
}
