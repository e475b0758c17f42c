/*
 * rollover.c: a gateway's key rollover without loss (formats/rollover.md).
 *
 * Our side: with [gateway] previous_key/previous_cert set, the daemon
 * announces cert in a <certificate> document, keeps signing with the
 * previous key until the peer receipts that package, then signs with key;
 * it opens envelopes sealed for either key-agreement key until a package of
 * the peer sealed for the new one has arrived with no gap below it.
 *
 * The peer's side: a <certificate> document in a package signed by the
 * certificate it replaces is checked, kept in STATE/certs/ and trusted at
 * once; envelopes are sealed for it from then on; the old certificate is
 * retired (its packages refused untrusted) once a package signed with the
 * new one has arrived with no gap below it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "fsutil.h"
#include "journal.h"
#include "log.h"
#include "package.h"
#include "rollover.h"
#include "schema.h"
#include "token.h"
#include "xfer-int.h"
#include "xmalloc.h"
#include "xmlsafe.h"

/* The SHA-256 fingerprint of the first certificate of a file. */
static int
rollover_fp_file(const char *path, char *fp, struct error *err)
{
	gnutls_x509_crt_t *certs;
	char buf[129];
	unsigned n, i;

	if (cert_load_file(path, &certs, &n, err) == -1)
		return -1;
	cert_fingerprint(certs[0], GNUTLS_DIG_SHA256, buf);
	snprintf(fp, 65, "%.64s", buf);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	return 0;
}

/* The file a learnt certificate is kept in: STATE/certs/<fp>.crt. */
static char *
rollover_cert_path(struct xfer *x, const char *fp)
{
	char *p;

	xasprintf(&p, "%s/certs/%s.crt", x->c.state_dir, fp);
	return p;
}

/*
 * Load the previous pair of a rollover in progress: it signs until the peer
 * knows the new certificate, and (when the signing key is also the
 * key-agreement key) still opens envelopes sealed for it.
 */
int
rollover_open(struct xfer *x, struct error *err)
{
	const struct xfer_config *c = &x->c;

	if (rollover_fp_file(c->cert, x->own_fp, err) == -1)
		return -1;
	if (c->previous_key == NULL)
		return rollover_reload(x, err);
	if ((x->signer_prev = signer_load(
	         c->previous_key, c->previous_cert, err)) == NULL)
		return err_wrap(err, "[gateway] previous_key");
	if (strcmp(signer_id(x->signer_prev), c->own_id) != 0)
		return err_set(err, ERR_NONE,
		    "[gateway] previous_cert %s is for %s, not for this "
		    "gateway %s",
		    c->previous_cert, signer_id(x->signer_prev), c->own_id);
	if (rollover_fp_file(c->previous_cert, x->prev_fp, err) == -1)
		return -1;
	if (strcmp(x->prev_fp, x->own_fp) == 0)
		return err_set(err, ERR_NONE,
		    "[gateway] previous_cert %s is the same certificate as "
		    "cert %s: a rollover needs a new pair (posgw keys "
		    "generate), then cert/key name the new one and "
		    "previous_cert/previous_key the old one",
		    c->previous_cert, c->cert);
	if (trust_add_file(x->self, c->previous_cert, err) == -1)
		return -1;
	if (x->kex_prev == NULL && c->exchange_key == NULL &&
	    !c->accept_plain && !token_is_url(c->previous_key)) {
		if ((x->kex_prev = kex_key_load(
		         c->previous_key, c->previous_cert, err)) == NULL)
			return err_wrap(err,
			    "[gateway] previous_key (it still opens envelopes "
			    "the peer sealed for it)");
		x->kex_prev_implicit = 1;
	}
	return rollover_reload(x, err);
}

/* Rebuild the peer's trust list: the configured files and learnt certificates. */
static int
rollover_trust(struct xfer *x, struct error *err)
{
	struct trust *t = trust_new();
	char cfp[XFER_MAX_TRUST][65], *path;
	gnutls_x509_crt_t *certs;
	sqlite3_stmt *st;
	unsigned n, k;
	size_t i;
	int skip, rc = -1, r;

	for (i = 0; i < x->c.ntrust; i++)
		if (trust_add_file(t, x->c.trust[i], err) == -1 ||
		    rollover_fp_file(x->c.trust[i], cfp[i], err) == -1)
			goto out;
	if (xfer_trust_crls(t, &x->c, "the peer's certificates", err) == -1)
		goto out;
	st = db_prepare(x->db, "SELECT new_fp FROM rollovers WHERE side ="
	                       " 'peer' ORDER BY id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *fp = (const char *)sqlite3_column_text(st, 0);
		struct error e2 = {0};
		skip = 0;
		for (i = 0; i < x->c.ntrust; i++)
			if (strcmp(cfp[i], fp) == 0)
				skip = 1; /* listed in [gateway] trust too */
		if (skip)
			continue;
		path = rollover_cert_path(x, fp);
		if (cert_load_file(path, &certs, &n, &e2) == -1) {
			log_warnx("learnt certificate %s: %s", fp, e2.text);
			free(path);
			continue;
		}
		/* one a trusted CA issued stays under its CRLs: no pin */
		r = trust_check_cert(t, certs[0], time(NULL), &e2);
		for (k = 0; k < n; k++)
			gnutls_x509_crt_deinit(certs[k]);
		gnutls_free(certs);
		if (r == -1)
			log_warnx("learnt certificate %s of %s: %s", fp,
			    x->c.peer_id, e2.text);
		else if (r == 0 && trust_add_file(t, path, &e2) == -1)
			log_warnx("%s", e2.text);
		free(path);
	}
	db_finalize(st);
	trust_free(x->trust);
	x->trust = t;
	x->c.verify.trust = t;
	t = NULL;
	rc = 0;
out:
	trust_free(t);
	return rc;
}

/* Take the rollovers' state from the database (after a commit that changed it). */
int
rollover_reload(struct xfer *x, struct error *err)
{
	sqlite3_stmt *st;
	struct kex_pub *kp;
	char *path;
	int peer_rows;

	x->roll_dirty = 0;
	x->roll_announcing = x->signer_prev != NULL;
	x->roll_own_done = 0;
	x->roll_pending = 0;
	if (x->signer_prev != NULL) {
		st = db_prepare(x->db,
		    "SELECT acknowledged, completed FROM rollovers WHERE"
		    " side = 'own' AND new_fp = ?");
		sqlite3_bind_text(st, 1, x->own_fp, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			x->roll_announcing =
			    sqlite3_column_type(st, 0) == SQLITE_NULL;
			x->roll_own_done =
			    sqlite3_column_type(st, 1) != SQLITE_NULL;
		}
		db_finalize(st);
	}
	free(x->retired);
	x->retired = NULL;
	x->nretired = 0;
	st = db_prepare(x->db,
	    "SELECT old_fp, new_fp, completed FROM rollovers WHERE side ="
	    " 'peer' AND completed IS NOT NULL ORDER BY id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct rollover_retired *r;
		char t[32];
		x->retired = xreallocarray(
		    x->retired, x->nretired + 1, sizeof *x->retired);
		r = &x->retired[x->nretired++];
		snprintf(r->fp, sizeof r->fp, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		pkg_time_format(
		    (time_t)sqlite3_column_int64(st, 2), t, sizeof t);
		snprintf(r->why, sizeof r->why,
		    "signed with certificate %.16s... of %s, retired on %s "
		    "after its rollover to %.16s... (formats/rollover.md)",
		    r->fp, x->c.peer_id, t,
		    (const char *)sqlite3_column_text(st, 1));
	}
	db_finalize(st);
	x->roll_pending =
	    db_int(x->db,
	        "SELECT COUNT(*) FROM rollovers WHERE completed IS NULL",
	        0) > 0;
	peer_rows = db_int(
	    x->db, "SELECT COUNT(*) FROM rollovers WHERE side = 'peer'", 0);
	if (peer_rows == 0)
		return 0;
	if (rollover_trust(x, err) == -1)
		return -1;
	if (!x->c.encrypt)
		return 0;
	st = db_prepare(x->db, "SELECT exchange_fp FROM rollovers WHERE side ="
	                       " 'peer' ORDER BY id DESC LIMIT 1");
	path = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		path = rollover_cert_path(
		    x, (const char *)sqlite3_column_text(st, 0));
	db_finalize(st);
	if (path == NULL)
		return 0;
	kp = kex_pub_load(path, x->c.peer_id, err);
	free(path);
	if (kp == NULL)
		return err_wrap(err, "the peer's announced key-agreement "
		                     "certificate");
	kex_pub_free(x->peer_kex);
	x->peer_kex = kp;
	return 0;
}

/* Who signs now: the previous key until the peer has receipted our new cert. */
struct signer *
rollover_signer(struct xfer *x)
{
	if (x->signer_prev != NULL && x->roll_announcing)
		return x->signer_prev;
	return x->signer;
}

/* Base64 of the DER of the first certificate in a file (a new string). */
static char *
rollover_cert_b64(const char *path, struct error *err)
{
	gnutls_x509_crt_t *certs;
	gnutls_datum_t der = {NULL, 0}, b64 = {NULL, 0};
	unsigned n, i;
	char *s = NULL;

	if (cert_load_file(path, &certs, &n, err) == -1)
		return NULL;
	if (gnutls_x509_crt_export2(certs[0], GNUTLS_X509_FMT_DER, &der) < 0 ||
	    gnutls_base64_encode2(&der, &b64) < 0)
		err_set(
		    err, ERR_NONE, "%s: cannot encode the certificate", path);
	else
		s = xstrndup((const char *)b64.data, b64.size);
	gnutls_free(der.data);
	gnutls_free(b64.data);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	return s;
}

/*
 * At the daemon's start: queue the announcement of cert once (again if the
 * peer refused the last one), in one transaction with its row and journal.
 */
int
rollover_announce(struct xfer *x, struct error *err)
{
	const struct xfer_config *c = &x->c;
	sqlite3_stmt *st;
	char *sb64 = NULL, *xb64 = NULL, *xml = NULL, t[32], detail[400];
	char xfp[65] = "", pstate[16] = "";
	int64_t row = 0, docid;
	int n, rc = -1;

	if (x->signer_prev == NULL)
		return 0;
	st = db_prepare(x->db,
	    "SELECT r.id, r.acknowledged, (SELECT p.state FROM documents d"
	    " JOIN packages p ON p.id = d.package_id WHERE d.id ="
	    " r.document_id) FROM rollovers r WHERE r.side = 'own' AND"
	    " r.new_fp = ?");
	sqlite3_bind_text(st, 1, x->own_fp, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		row = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			row = -1; /* acknowledged: nothing to do */
		else if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			snprintf(pstate, sizeof pstate, "%s",
			    (const char *)sqlite3_column_text(st, 2));
	}
	db_finalize(st);
	if (row == -1 || (row > 0 && strcmp(pstate, "rejected") != 0))
		return 0; /* receipted, or on its way */
	if ((sb64 = rollover_cert_b64(c->cert, err)) == NULL)
		goto out;
	if (c->exchange_cert != NULL &&
	    ((xb64 = rollover_cert_b64(c->exchange_cert, err)) == NULL ||
	        rollover_fp_file(c->exchange_cert, xfp, err) == -1))
		goto out;
	if (xfp[0] == '\0')
		snprintf(xfp, sizeof xfp, "%s", x->own_fp);
	pkg_time_format(time(NULL), t, sizeof t);
	n = xasprintf(&xml,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<certificate xmlns=\"%s\" gateway=\"%s\" replaces=\"%s\""
	    " at=\"%s\">\n  <signing>%s</signing>\n%s%s%s</certificate>\n",
	    NS_EXCHANGE, c->own_id, x->prev_fp, t, sb64,
	    xb64 ? "  <exchange>" : "", xb64 ? xb64 : "",
	    xb64 ? "</exchange>\n" : "");
	if (db_begin(x->db, err) == -1)
		goto out;
	if (spool_enqueue(
	        x, "certificate", NULL, xml, (size_t)n, NULL, 0, err) == -1)
		goto fail;
	docid = db_int(x->db,
	    "SELECT MAX(id) FROM documents WHERE direction = 'out' AND"
	    " kind = 'certificate'",
	    0);
	if (row > 0) {
		st = db_prepare(x->db, "UPDATE rollovers SET document_id = ?,"
		                       " started = ? WHERE id = ?");
		sqlite3_bind_int64(st, 1, docid);
		sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		sqlite3_bind_int64(st, 3, row);
	} else {
		st = db_prepare(x->db,
		    "INSERT INTO rollovers (side, new_fp, old_fp,"
		    " exchange_fp, old_exchange_fp, document_id, started)"
		    " VALUES ('own', ?, ?, ?, ?, ?, ?)");
		sqlite3_bind_text(st, 1, x->own_fp, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, x->prev_fp, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, xfp, -1, SQLITE_STATIC);
		if (x->kex_prev != NULL)
			sqlite3_bind_text(st, 4,
			    kex_key_fingerprint(x->kex_prev), -1,
			    SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, docid);
		sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
	}
	if (db_step_done(x->db, st, err) == -1)
		goto fail;
	snprintf(detail, sizeof detail,
	    "certificate %.64s replaces %.64s%s; signing with the previous "
	    "key until %s receipts it",
	    x->own_fp, x->prev_fp,
	    row > 0 ? " (again: the last was refused)" : "", c->peer_id);
	if (journal_append(
	        x->db, "rollover.announced", NULL, NULL, detail, err) == -1 ||
	    db_commit(x->db, err) == -1)
		goto fail;
	log_info("rollover: %s", detail);
	rc = rollover_reload(x, err);
	goto out;
fail:
	db_rollback(x->db);
out:
	free(sb64);
	free(xb64);
	free(xml);
	return rc;
}

/* Decode a base64 child into one DER certificate; NULL with err if it is not. */
static gnutls_x509_crt_t
rollover_child_cert(
    xmlNodePtr root, const char *name, gnutls_datum_t *der, struct error *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t in;
	xmlNodePtr c;
	xmlChar *t;
	int rc;

	der->data = NULL;
	der->size = 0;
	for (c = root->children; c != NULL; c = c->next)
		if (xmlsafe_is(c, NS_EXCHANGE, name))
			break;
	if (c == NULL)
		return NULL; /* absent; err untouched */
	t = xmlNodeGetContent(c);
	in.data = t;
	in.size = t != NULL ? (unsigned)strlen((char *)t) : 0;
	rc = gnutls_base64_decode2(&in, der);
	xmlFree(t);
	if (rc < 0 || gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		if (crt != NULL)
			gnutls_x509_crt_deinit(crt);
		gnutls_free(der->data);
		der->data = NULL;
		err_set(err, ERR_PAYLOAD,
		    "certificate: <%s> is not one DER X.509 certificate", name);
		return NULL;
	}
	return crt;
}

/* Keep a learnt certificate durably as STATE/certs/<fp>.crt (DER). */
static int
rollover_keep(struct xfer *x, const char *fp, const gnutls_datum_t *der,
    struct error *err)
{
	char *dir, name[80];
	int rc;

	xasprintf(&dir, "%s/certs", x->c.state_dir);
	snprintf(name, sizeof name, "%.64s.crt", fp);
	if (fs_mkdir_p(dir, 0700) == -1)
		rc = err_set(err, ERR_NONE, "cannot create %s: %s%s", dir,
		    strerror(errno), fs_why(errno));
	else
		rc = fs_write_file(dir, name, der->data, der->size, 0600,
		    FS_WRITE_REPLACE, err);
	free(dir);
	return rc;
}

/* The receiver's allow-list bit of a certificate's key algorithm. */
static unsigned
rollover_alg_bit(gnutls_x509_crt_t crt)
{
	gnutls_ecc_curve_t curve;

	switch (gnutls_x509_crt_get_pk_algorithm(crt, NULL)) {
	case GNUTLS_PK_GOST_12_256:
		return SIG_ALLOW_GOST256;
	case GNUTLS_PK_GOST_12_512:
		return SIG_ALLOW_GOST512;
	case GNUTLS_PK_ECDSA:
		return gnutls_x509_crt_get_pk_ecc_raw(
		           crt, &curve, NULL, NULL) >= 0 &&
		               curve == GNUTLS_ECC_CURVE_SECP256R1
		           ? SIG_ALLOW_ECDSA
		           : 0;
	case GNUTLS_PK_EDDSA_ED25519:
		return SIG_ALLOW_ED25519;
	default:
		return 0;
	}
}

/*
 * Check a <certificate> document of the peer, signed (the whole package)
 * with signer_fp; unless check_only, keep the certificates in STATE/certs/
 * and record the rollover (inside the transaction). A bad announcement is
 * err with code payload or untrusted.
 */
int
rollover_learn(struct xfer *x, xmlDocPtr doc, const char *pkgname,
    const char *signer_fp, int check_only, struct error *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	const char *gw = xmlsafe_attr(root, "gateway");
	const char *replaces = xmlsafe_attr(root, "replaces");
	gnutls_x509_crt_t crt = NULL, xcrt = NULL;
	gnutls_datum_t der = {NULL, 0}, xder = {NULL, 0};
	char cn[256], fp[129], xfp[129], t[32], detail[512];
	unsigned ku = 0, crit = 0;
	time_t now = time(NULL);
	sqlite3_stmt *st;
	int rc = -1;

	if (strcmp(gw, x->c.peer_id) != 0) {
		err_set(err, ERR_PAYLOAD,
		    "certificate: announced for gateway '%s', not the peer %s",
		    gw, x->c.peer_id);
		goto out;
	}
	if (strcmp(replaces, signer_fp) != 0) {
		err_set(err, ERR_PAYLOAD,
		    "certificate: announced as replacing %.64s, but the "
		    "package is signed with %.64s: only the certificate being "
		    "replaced may announce its successor",
		    replaces, signer_fp);
		goto out;
	}
	if ((crt = rollover_child_cert(root, "signing", &der, err)) == NULL) {
		if (err->code == ERR_NONE)
			err_set(err, ERR_PAYLOAD, "certificate: no <signing>");
		goto out;
	}
	cert_fingerprint(crt, GNUTLS_DIG_SHA256, fp);
	if (cert_cn(crt, cn, sizeof cn) == -1 ||
	    strcmp(cn, x->c.peer_id) != 0) {
		err_set(err, ERR_PAYLOAD,
		    "certificate: the new certificate's CN is not the peer %s",
		    x->c.peer_id);
		goto out;
	}
	if (strcmp(fp, signer_fp) == 0) {
		err_set(err, ERR_PAYLOAD,
		    "certificate: announces the certificate it is signed with");
		goto out;
	}
	if (gnutls_x509_crt_get_expiration_time(crt) < now ||
	    gnutls_x509_crt_get_activation_time(crt) > now + 300) {
		pkg_time_format(
		    gnutls_x509_crt_get_expiration_time(crt), t, sizeof t);
		err_set(err, ERR_UNTRUSTED,
		    "certificate: the new certificate %.16s... is not valid "
		    "now (it expires %s): the peer must generate a current one",
		    fp, t);
		goto out;
	}
	if (gnutls_x509_crt_get_key_usage(crt, &ku, &crit) < 0 ||
	    (ku & GNUTLS_KEY_DIGITAL_SIGNATURE) == 0) {
		err_set(err, ERR_UNTRUSTED,
		    "certificate: the new certificate lacks the "
		    "digitalSignature key usage");
		goto out;
	}
	if ((rollover_alg_bit(crt) & x->c.verify.sig_algs) == 0) {
		err_set(err, ERR_UNTRUSTED,
		    "certificate: the new certificate's key algorithm is not "
		    "allowed here ([transfer] signature algorithms)");
		goto out;
	}
	if (trust_check_cert(x->trust, crt, now, err) == -1) {
		err_wrap(err, "certificate: the new certificate");
		goto out;
	}
	xcrt = rollover_child_cert(root, "exchange", &xder, err);
	if (xcrt == NULL && err->code != ERR_NONE)
		goto out;
	if (xcrt != NULL) {
		int pk = gnutls_x509_crt_get_pk_algorithm(xcrt, NULL);
		if (cert_cn(xcrt, cn, sizeof cn) == -1 ||
		    strcmp(cn, x->c.peer_id) != 0 ||
		    (pk != GNUTLS_PK_GOST_12_256 &&
		        pk != GNUTLS_PK_GOST_12_512)) {
			err_set(err, ERR_PAYLOAD,
			    "certificate: <exchange> must be a GOST R "
			    "34.10-2012 certificate of %s",
			    x->c.peer_id);
			goto out;
		}
		cert_fingerprint(xcrt, GNUTLS_DIG_SHA256, xfp);
	} else {
		if (x->c.encrypt &&
		    gnutls_x509_crt_get_pk_algorithm(crt, NULL) !=
		        GNUTLS_PK_GOST_12_256 &&
		    gnutls_x509_crt_get_pk_algorithm(crt, NULL) !=
		        GNUTLS_PK_GOST_12_512) {
			err_set(err, ERR_PAYLOAD,
			    "certificate: the new signing key is not GOST and "
			    "no <exchange> certificate is given to seal "
			    "envelopes for");
			goto out;
		}
		snprintf(xfp, sizeof xfp, "%s", fp);
	}
	if (check_only) {
		rc = 0;
		goto out;
	}
	if (rollover_keep(x, fp, &der, err) == -1 ||
	    (xcrt != NULL && rollover_keep(x, xfp, &xder, err) == -1))
		goto out;
	st = db_prepare(x->db,
	    "INSERT OR IGNORE INTO rollovers (side, new_fp, old_fp,"
	    " exchange_fp, old_exchange_fp, package, started)"
	    " VALUES ('peer', ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, signer_fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, xfp, -1, SQLITE_STATIC);
	if (x->peer_kex != NULL)
		sqlite3_bind_text(
		    st, 4, kex_pub_fingerprint(x->peer_kex), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, pkgname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)now);
	if (db_step_done(x->db, st, err) == -1)
		goto out;
	if (sqlite3_changes(x->db->h) == 0) {
		rc = 0; /* announced again (it was refused, or resent) */
		goto out;
	}
	snprintf(detail, sizeof detail,
	    "certificate %.64s of %s replaces %.64s: both trusted until a "
	    "package signed with it arrives with no gap below; envelopes "
	    "sealed for %.64s from now on",
	    fp, x->c.peer_id, signer_fp, xfp);
	if (journal_append(
	        x->db, "rollover.learned", pkgname, NULL, detail, err) == -1)
		goto out;
	log_info("rollover: %s", detail);
	x->roll_dirty = 1;
	rc = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (xcrt != NULL)
		gnutls_x509_crt_deinit(xcrt);
	gnutls_free(der.data);
	gnutls_free(xder.data);
	return rc;
}

/*
 * The peer receipted our package pkgid (inside the transaction): if it
 * carried our announcement, the new key signs from now on (accepted), or
 * the operator is told why it was refused.
 */
int
rollover_receipt(
    struct xfer *x, int64_t pkgid, int ok, const char *why, struct error *err)
{
	sqlite3_stmt *st;
	int64_t row = 0;
	char detail[1600], xfp[65] = "", oxfp[65] = "";
	int same;

	if (x->signer_prev == NULL)
		return 0;
	st = db_prepare(x->db,
	    "SELECT id, exchange_fp, COALESCE(old_exchange_fp, '') FROM"
	    " rollovers WHERE side = 'own' AND acknowledged IS NULL AND"
	    " document_id IN (SELECT id FROM documents WHERE package_id = ?)");
	sqlite3_bind_int64(st, 1, pkgid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		row = sqlite3_column_int64(st, 0);
		snprintf(xfp, sizeof xfp, "%s",
		    (const char *)sqlite3_column_text(st, 1));
		snprintf(oxfp, sizeof oxfp, "%s",
		    (const char *)sqlite3_column_text(st, 2));
	}
	db_finalize(st);
	if (row == 0)
		return 0;
	if (!ok) {
		snprintf(detail, sizeof detail,
		    "%s refused the announcement of certificate %.64s "
		    "(%.1200s):"
		    " still signing with the previous key; fix what it says "
		    "and restart the gateway to announce again",
		    x->c.peer_id, x->own_fp, why);
		log_warnx("rollover: %s", detail);
		return journal_append(
		    x->db, "rollover.refused", NULL, NULL, detail, err);
	}
	/* nothing to retire for opening when the key-agreement key stays */
	same = oxfp[0] == '\0' || strcmp(xfp, oxfp) == 0;
	st = db_prepare(x->db, "UPDATE rollovers SET acknowledged = ?1,"
	                       " completed = CASE WHEN ?2 THEN ?1 END"
	                       " WHERE id = ?3");
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	sqlite3_bind_int(st, 2, same);
	sqlite3_bind_int64(st, 3, row);
	if (db_step_done(x->db, st, err) == -1)
		return -1;
	snprintf(detail, sizeof detail,
	    "%s receipted the announcement of certificate %.64s: signing "
	    "with the new key from now on",
	    x->c.peer_id, x->own_fp);
	log_info("rollover: %s", detail);
	x->roll_dirty = 1;
	if (journal_append(
	        x->db, "rollover.acknowledged", NULL, NULL, detail, err) == -1)
		return -1;
	if (!same)
		return 0;
	return journal_append(x->db, "rollover.completed", NULL, NULL,
	    "the previous key is no longer used: remove previous_key and "
	    "previous_cert from [gateway] and destroy the old key",
	    err);
}

/* True if every seq of the peer below seq has been judged. */
static int
rollover_no_gap_below(struct xfer *x, int64_t seq)
{
	sqlite3_stmt *st;
	int64_t n = 0;

	st = db_prepare(x->db,
	    "SELECT COUNT(DISTINCT seq) FROM packages WHERE direction = 'in'"
	    " AND sender = ? AND seq < ? AND state IN ('accepted',"
	    " 'rejected', 'conflict')");
	sqlite3_bind_text(st, 1, x->c.peer_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	db_finalize(st);
	return n >= seq - 1;
}

/*
 * A package of the peer was accepted (inside the transaction), signed with
 * signer_fp, its envelope sealed for env_key (NULL: plain): note the first
 * one on a new certificate or key, and retire the old ones once no gap is
 * left below it.
 */
int
rollover_accepted(struct xfer *x, uint64_t seq, const char *signer_fp,
    const char *env_key, struct error *err)
{
	sqlite3_stmt *st;
	int64_t id, sw;
	char detail[600], side[8], old[65], neu[65];
	int rc = 0;

	if (!x->roll_pending)
		return 0;
	/* the first package on the peer's new certificate */
	st = db_prepare(x->db,
	    "UPDATE rollovers SET switched_seq = ? WHERE side = 'peer' AND"
	    " switched_seq IS NULL AND completed IS NULL AND new_fp = ?");
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	sqlite3_bind_text(st, 2, signer_fp, -1, SQLITE_STATIC);
	if (db_step_done(x->db, st, err) == -1)
		return -1;
	/* ... and the first sealed for our new key-agreement key */
	if (env_key != NULL) {
		st = db_prepare(x->db,
		    "UPDATE rollovers SET switched_seq = ? WHERE side = 'own'"
		    " AND switched_seq IS NULL AND completed IS NULL AND"
		    " acknowledged IS NOT NULL AND exchange_fp = ?");
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		sqlite3_bind_text(st, 2, env_key, -1, SQLITE_STATIC);
		if (db_step_done(x->db, st, err) == -1)
			return -1;
	}
	st = db_prepare(x->db,
	    "SELECT id, side, switched_seq, old_fp, new_fp FROM rollovers"
	    " WHERE completed IS NULL AND switched_seq IS NOT NULL");
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_stmt *up;
		id = sqlite3_column_int64(st, 0);
		snprintf(side, sizeof side, "%s",
		    (const char *)sqlite3_column_text(st, 1));
		sw = sqlite3_column_int64(st, 2);
		snprintf(old, sizeof old, "%s",
		    (const char *)sqlite3_column_text(st, 3));
		snprintf(neu, sizeof neu, "%s",
		    (const char *)sqlite3_column_text(st, 4));
		if (!rollover_no_gap_below(x, sw))
			continue;
		up = db_prepare(
		    x->db, "UPDATE rollovers SET completed = ? WHERE id = ?");
		sqlite3_bind_int64(up, 1, (int64_t)time(NULL));
		sqlite3_bind_int64(up, 2, id);
		if (db_step_done(x->db, up, err) == -1) {
			rc = -1;
			break;
		}
		if (strcmp(side, "peer") == 0)
			snprintf(detail, sizeof detail,
			    "certificate %.64s of %s retired (its packages "
			    "are refused from now on): every package up to seq "
			    "%" PRId64 ", the first signed with %.64s, has "
			    "arrived; remove it from [gateway] trust",
			    old, x->c.peer_id, sw, neu);
		else
			snprintf(detail, sizeof detail,
			    "the previous key-agreement key is retired: %s "
			    "seals for %.64s since its seq %" PRId64 " and "
			    "nothing below is missing; remove previous_key and "
			    "previous_cert from [gateway] and destroy the old "
			    "key",
			    x->c.peer_id, x->own_fp, sw);
		log_info("rollover: %s", detail);
		rc = journal_append(x->db,
		    strcmp(side, "peer") == 0 ? "rollover.retired"
		                              : "rollover.completed",
		    NULL, NULL, detail, err);
		x->roll_dirty = 1;
	}
	db_finalize(st);
	return rc;
}

/* Why a package signed with fp is refused (a retired certificate), or NULL. */
const char *
rollover_retired(struct xfer *x, const char *fp)
{
	size_t i;

	for (i = 0; i < x->nretired; i++)
		if (strcmp(x->retired[i].fp, fp) == 0)
			return x->retired[i].why;
	return NULL;
}

/* Free the rollover state of the engine. */
void
rollover_free(struct xfer *x)
{
	signer_free(x->signer_prev);
	x->signer_prev = NULL;
	free(x->retired);
	x->retired = NULL;
	x->nretired = 0;
}
