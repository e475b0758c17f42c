/*
 * core-repeated.c: repeated appeals (59-FZ art. 11). When the core exports
 * an appeal it looks for earlier ones of the same author on the same
 * question that were answered within [edms] repeat_days: the author is the
 * ESIA-verified applicant, known by keyed digests of the normalised full
 * name with the e-mail and with the phone (either matches), so the core keeps no
 * second copy of the personal data to compare; the question is the ПОС
 * category and subcategory. A match marks the appeal a candidate in the
 * EDMS export; the clerk confirms or rejects it (posgw edms repeated).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "core-int.h"
#include "digest.h"
#include "edms.h"
#include "journal.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define CORE_REPEATED_MAX 10 /* earlier appeals named in a mark */

/* Append one code point, lower case for Latin and Cyrillic, ё as е. */
static void
core_repeated_put(char **o, unsigned cp)
{
	if (cp >= 'A' && cp <= 'Z')
		cp += 0x20;
	else if (cp >= 0x410 && cp <= 0x42f)
		cp += 0x20; /* А..Я */
	else if (cp == 0x401 || cp == 0x451)
		cp = 0x435; /* Ё ё -> е */
	if (cp < 0x80)
		*(*o)++ = (char)cp;
	else {
		*(*o)++ = (char)(0xc0 | (cp >> 6));
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	}
}

/*
 * Normalise a name part into out (appending, one space between words):
 * lower case, ё as е, runs of spaces and punctuation other than '-' as one
 * space. Input is valid UTF-8 (the schema saw it); 3- and 4-byte sequences
 * are copied unchanged.
 */
static void
core_repeated_norm(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	char *o = out + strlen(out), *end = out + len - 8;
	int space = o > out;

	while (*p != '\0' && o < end) {
		unsigned cp = *p;
		size_t n = 1;
		if (cp >= 0xc0 && cp < 0xe0 && (p[1] & 0xc0) == 0x80) {
			cp = ((cp & 0x1f) << 6) | (p[1] & 0x3f);
			n = 2;
		} else if (cp >= 0xe0) {
			n = cp >= 0xf0 ? 4 : 3;
			if (space && o > out)
				*o++ = ' ';
			space = 0;
			while (n-- > 0 && *p != '\0' && o < end)
				*o++ = (char)*p++;
			continue;
		}
		if (cp < 0x80 && !isalnum((int)cp) && cp != '-') {
			space = 1;
			p += n;
			continue;
		}
		if (space && o > out)
			*o++ = ' ';
		space = 0;
		core_repeated_put(&o, cp);
		p += n;
	}
	*o = '\0';
}

/* The text of a child element of the applicant, or NULL. */
static xmlChar *
core_repeated_part(xmlNodePtr applicant, const char *name)
{
	xmlNodePtr c = xmlsafe_child(applicant, NS_EXCHANGE, name);

	return c != NULL ? xmlNodeGetContent(c) : NULL;
}

/* Decode 2n hex digits into n bytes; -1 if they are not. */
static int
core_repeated_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/*
 * The gateway's secret for applicant digests (meta applicant_secret, 32
 * random bytes made on first use, inside the caller's transaction): without
 * it a digest cannot be matched against a list of names.
 */
static int
core_repeated_secret(struct core *cs, unsigned char *key, struct error *err)
{
	char *hex = db_meta_get(cs->db, "applicant_secret");
	char buf[65];
	int rc = 0;

	if (hex == NULL || strlen(hex) != 64 ||
	    core_repeated_unhex(hex, key, 32) == -1) {
		if (gnutls_rnd(GNUTLS_RND_KEY, key, 32) < 0)
			fatalx("cannot get random bytes");
		digest_hex_encode(key, 32, buf);
		rc = db_meta_set(cs->db, "applicant_secret", buf, err);
	}
	free(hex);
	return rc;
}

/* HMAC-Streebog-256 of "name\ncontact" under the secret, as 64 hex. */
static void
core_repeated_mac(const unsigned char *secret, const char *name,
    const char *contact, char *key)
{
	char text[1500];
	unsigned char mac[32];

	snprintf(text, sizeof text, "%s\n%s", name, contact);
	if (gnutls_hmac_fast(GNUTLS_MAC_STREEBOG_256, secret, 32, text,
	        strlen(text), mac) < 0)
		fatalx("HMAC Streebog-256 failed");
	digest_hex_encode(mac, sizeof mac, key);
}

/*
 * The author keys of an appeal (64 hex each): one of the normalised full
 * name with the e-mail into keys[0], one with the phone into keys[1] ("" if
 * absent). Returns how many (0: not ESIA-verified, no name or no contact),
 * -1 on database trouble. Inside the caller's transaction.
 */
int
core_repeated_key(
    struct core *cs, xmlNodePtr root, char keys[2][65], struct error *err)
{
	xmlNodePtr ap = xmlsafe_child(root, NS_EXCHANGE, "applicant");
	static const char *const parts[] = {"surname", "name", "patronymic"};
	char name[1400] = "", email[400] = "", phone[64] = "", d[64];
	unsigned char secret[32];
	xmlChar *part;
	const char *v;
	size_t i, n;
	int nkeys = 0;

	keys[0][0] = keys[1][0] = '\0';
	if (ap == NULL || (v = xmlsafe_attr(ap, "esia-verified")) == NULL ||
	    (strcmp(v, "true") != 0 && strcmp(v, "1") != 0))
		return 0;
	for (i = 0; i < 3; i++) {
		if ((part = core_repeated_part(ap, parts[i])) == NULL)
			continue;
		core_repeated_norm((const char *)part, name, 1000);
		xmlFree(part);
	}
	if (name[0] == '\0')
		return 0;
	if ((part = core_repeated_part(ap, "email")) != NULL) {
		/* an address keeps its '@' and '.': lower case, no spaces */
		snprintf(email, sizeof email, "e:");
		for (n = 2, v = (const char *)part; *v != '\0' && n < 390; v++)
			if (!isspace((unsigned char)*v))
				email[n++] = (char)tolower((unsigned char)*v);
		email[n] = '\0';
		xmlFree(part);
	}
	if ((part = core_repeated_part(ap, "phone")) != NULL) {
		/* the last ten digits: +7, 8 and spacing do not matter */
		for (n = 0, v = (const char *)part; *v != '\0' && n < 60; v++)
			if (isdigit((unsigned char)*v))
				d[n++] = *v;
		d[n] = '\0';
		if (n >= 10)
			snprintf(phone, sizeof phone, "p:%s", d + n - 10);
		xmlFree(part);
	}
	if (strlen(email) <= 2 && phone[0] == '\0')
		return 0;
	if (core_repeated_secret(cs, secret, err) == -1)
		return -1;
	if (strlen(email) > 2) {
		core_repeated_mac(secret, name, email, keys[0]);
		nkeys++;
	}
	if (phone[0] != '\0') {
		core_repeated_mac(secret, name, phone, keys[1]);
		nkeys++;
	}
	return nkeys;
}

/* Record an appeal's author keys (inside the caller's transaction). */
int
core_repeated_keep(
    struct core *cs, const char *pos, char keys[2][65], struct error *err)
{
	sqlite3_stmt *st;
	int i;

	for (i = 0; i < 2; i++) {
		if (keys[i][0] == '\0')
			continue;
		st = db_prepare(cs->db, "INSERT OR IGNORE INTO"
		                        " core_applicant_keys (key, pos_id)"
		                        " VALUES (?, ?)");
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, pos, -1, SQLITE_STATIC);
		if (db_step_done(cs->db, st, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * The earlier answered appeals of the same author on the same question
 * within repeat_days before created, newest first, as a space-separated
 * list into of; returns how many (at most CORE_REPEATED_MAX).
 */
int
core_repeated_find(struct core *cs, char keys[2][65], const char *pos,
    const char *created, const char *cat, const char *sub, char *of, size_t len)
{
	sqlite3_stmt *st;
	int n = 0;

	of[0] = '\0';
	if (cs->e.repeat_days == 0 || cat == NULL)
		return 0;
	st = db_prepare(cs->db,
	    "SELECT DISTINCT a.pos_id, a.created FROM core_applicant_keys k"
	    " JOIN core_appeals a ON a.pos_id = k.pos_id WHERE k.key IN (?1,"
	    " ?8) AND a.pos_id != ?2 AND a.state = 'answered' AND a.category"
	    " = ?3 AND (?4 IS NULL OR a.subcategory IS NULL OR a.subcategory"
	    " = ?4) AND julianday(a.created) >= julianday(?5) - ?6 AND"
	    " julianday(a.created) <= julianday(?5) ORDER BY a.created DESC,"
	    " a.pos_id LIMIT ?7");
	sqlite3_bind_text(st, 1, keys[0], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, keys[1], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pos, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cat, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sub, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, created, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, (int)cs->e.repeat_days);
	sqlite3_bind_int(st, 7, CORE_REPEATED_MAX);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ > 0)
			strncat(of, " ", len - strlen(of) - 1);
		strncat(of, (const char *)sqlite3_column_text(st, 0),
		    len - strlen(of) - 1);
	}
	db_finalize(st);
	return n;
}

/*
 * Forget the author digests of appeals filed more than repeat_days ago
 * (at most hourly): no later appeal can be compared with them any more,
 * so keeping even a pseudonym would serve nothing. One transaction,
 * journaled when something went.
 */
int
core_repeated_expire(struct core *cs, int *did)
{
	struct error err = {0};
	sqlite3_stmt *st;
	char detail[128];
	time_t now = time(NULL);
	int n;

	if (cs->last_expire != 0 && now - cs->last_expire < 3600)
		return 0;
	cs->last_expire = now;
	if (db_begin(cs->db, &err) == -1)
		goto fail;
	st = db_prepare(cs->db,
	    "DELETE FROM core_applicant_keys WHERE pos_id IN (SELECT pos_id"
	    " FROM core_appeals WHERE applicant_key IS NOT NULL AND"
	    " julianday('now') - julianday(created) > ?1)");
	sqlite3_bind_int(st, 1, (int)cs->e.repeat_days);
	if (db_step_done(cs->db, st, &err) == -1)
		goto rollback;
	st = db_prepare(cs->db,
	    "UPDATE core_appeals SET applicant_key = NULL WHERE"
	    " applicant_key IS NOT NULL AND julianday('now') -"
	    " julianday(created) > ?1");
	sqlite3_bind_int(st, 1, (int)cs->e.repeat_days);
	if (db_step_done(cs->db, st, &err) == -1)
		goto rollback;
	if ((n = sqlite3_changes(cs->db->h)) > 0) {
		snprintf(detail, sizeof detail,
		    "author digests of %d appeal(s) filed more than %u days "
		    "ago forgotten",
		    n, cs->e.repeat_days);
		if (journal_append(cs->db, "retention.authors", NULL, NULL,
		        detail, &err) == -1)
			goto rollback;
		(*did)++;
	}
	return db_commit(cs->db, &err) == -1 ? (log_warnx("%s", err.text), -1)
	                                     : 0;
rollback:
	db_rollback(cs->db);
fail:
	log_warnx("repeated appeals: %s", err.text);
	return -1;
}
