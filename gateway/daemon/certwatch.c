/*
 * certwatch.c: certificates that expire soon. Every certificate a gateway
 * relies on (its own, its key-agreement one, the peer's anchors, the
 * officials' anchors) is checked against [gateway] expiry_warn_days; the
 * daemon logs and journals each once (cert.expiring), posgw status lists
 * them, the auditors' report shows the journal's entries.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/x509.h>

#include "certwatch.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "sig.h"
#include "xmalloc.h"

static void certwatch_file(const char *, time_t, int,
    void (*)(const struct certwatch_item *, void *), void *, int *);
static void certwatch_note(const struct certwatch_item *, void *);

/* Check the certificates of one file; each expiring one goes to fn. */
static void
certwatch_file(const char *path, time_t now, int days,
    void (*fn)(const struct certwatch_item *, void *), void *arg, int *n)
{
	struct certwatch_item it;
	struct error err = {0};
	gnutls_x509_crt_t *certs;
	unsigned nc, i;
	time_t end;

	if (path == NULL || cert_load_file(path, &certs, &nc, &err) == -1)
		return; /* loading it is the engine's check, with its message */
	for (i = 0; i < nc; i++) {
		end = gnutls_x509_crt_get_expiration_time(certs[i]);
		if (end != (time_t)-1 && end - now <= (time_t)days * 86400) {
			memset(&it, 0, sizeof it);
			it.file = path;
			if (cert_cn(certs[i], it.cn, sizeof it.cn) == -1)
				snprintf(it.cn, sizeof it.cn, "?");
			cert_fingerprint(
			    certs[i], GNUTLS_DIG_SHA256, it.fingerprint);
			it.not_after = end;
			it.days_left = (int)((end - now) / 86400);
			fn(&it, arg);
			(*n)++;
		}
		gnutls_x509_crt_deinit(certs[i]);
	}
	gnutls_free(certs);
}

/*
 * Call fn for every certificate of the configuration that expires within
 * days of now (or has expired); returns how many.
 */
int
certwatch_scan(const struct conf *c, time_t now, int days,
    void (*fn)(const struct certwatch_item *, void *), void *arg)
{
	size_t i;
	int n = 0;

	if (days <= 0)
		return 0;
	certwatch_file(c->cert, now, days, fn, arg, &n);
	certwatch_file(c->exchange_cert, now, days, fn, arg, &n);
	certwatch_file(c->peer_exchange_cert, now, days, fn, arg, &n);
	for (i = 0; i < c->x.ntrust; i++)
		certwatch_file(c->trust[i], now, days, fn, arg, &n);
	for (i = 0; i < c->edms.nsigner_trust; i++)
		certwatch_file(c->edms.signer_trust[i], now, days, fn, arg, &n);
	return n;
}

/* One line saying what expires when, and what to do. */
void
certwatch_format(const struct certwatch_item *it, char *buf, size_t len)
{
	char t[32];

	pkg_time_format(it->not_after, t, sizeof t);
	if (it->days_left < 0 || it->not_after < time(NULL))
		snprintf(buf, len,
		    "certificate CN=%s in %s (sha256 %.16s...) EXPIRED %s: "
		    "renew it now",
		    it->cn, it->file, it->fingerprint, t);
	else
		snprintf(buf, len,
		    "certificate CN=%s in %s (sha256 %.16s...) expires %s, in "
		    "%d days: renew it and hand the new one over in time",
		    it->cn, it->file, it->fingerprint, t, it->days_left);
}

/* Log and journal one expiring certificate, once per fingerprint. */
static void
certwatch_note(const struct certwatch_item *it, void *arg)
{
	struct db *db = arg;
	struct error err = {0};
	sqlite3_stmt *st;
	char line[600], like[80];
	int seen;

	snprintf(like, sizeof like, "%%(sha256 %.16s...)%%", it->fingerprint);
	st = db_prepare(db, "SELECT COUNT(*) FROM journal WHERE kind ="
	                    " 'cert.expiring' AND detail LIKE ?");
	sqlite3_bind_text(st, 1, like, -1, SQLITE_TRANSIENT);
	seen = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	db_finalize(st);
	certwatch_format(it, line, sizeof line);
	log_warnx("%s", line);
	if (seen)
		return;
	if (db_begin(db, &err) == -1 ||
	    journal_append(db, "cert.expiring", NULL, NULL, line, &err) == -1 ||
	    db_commit(db, &err) == -1) {
		db_rollback(db);
		log_warnx(
		    "cannot journal an expiring certificate: %s", err.text);
	}
}

/*
 * The daemon's check, at most once a day: log every expiring certificate
 * and journal each once.
 */
void
certwatch_daily(struct certwatch *w, struct db *db, time_t now)
{
	if (w->last != 0 && now - w->last < 86400)
		return;
	w->last = now;
	certwatch_scan(
	    w->conf, now, w->conf->expiry_warn_days, certwatch_note, db);
}
