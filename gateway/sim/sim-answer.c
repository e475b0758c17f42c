/*
 * sim-answer.c: posgw-sim's checks of the files an agency sends with
 * SEND_RESPONSE: each P:File names an AttachmentHeader whose absolute
 * filePath exists with the announced size, and whose SignaturePKCS7 (base64
 * DER detached CMS) parses and, with --signer-trust, verifies over the file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/pkcs7.h>
#include <libxml/tree.h>

#include "sig.h"
#include "sim.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#define SIM_ANSWER_MAX_FILE (256ull << 20) /* an answer file to verify */
#define SIM_ANSWER_MAX_HEADERS 1000

/* One AttachmentHeader of a request. */
struct sim_answer_header {
	char *id, *path, *sig;
	int used;
};

/* Decode base64 (white space ignored); NULL if malformed. */
static unsigned char *
sim_answer_base64(const char *in, size_t *outlen)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0, bits = 0, pad = 0;
	unsigned char *out = xmalloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	const char *p;

	for (; *in != '\0'; in++) {
		if (strchr(" \t\r\n", *in) != NULL)
			continue;
		if (*in == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (p = strchr(al, *in)) == NULL)
			goto bad;
		acc = (acc << 6) | (uint32_t)(p - al);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || bits >= 6 || o == 0)
		goto bad;
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* sig_verify's text without its manifest wording, which is not ours here. */
static void
sim_answer_sigtext(const char *text, char *buf, size_t len)
{
	static const char prefix[] = "manifest.xml.p7s: ";
	static const char word[] = " manifest.xml";
	const char *p;

	if (strncmp(text, prefix, sizeof prefix - 1) == 0)
		text += sizeof prefix - 1;
	if ((p = strstr(text, word)) != NULL)
		snprintf(buf, len, "%.*s the file%s", (int)(p - text), text,
		    p + sizeof word - 1);
	else
		snprintf(buf, len, "%s", text);
}

/* Check a detached CMS over data: parse it; with --signer-trust verify it. */
static int
sim_answer_cms(struct sim *s, const unsigned char *data, size_t len,
    const unsigned char *der, size_t derlen, struct error *err)
{
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)der, (unsigned)derlen};
	gnutls_datum_t raw;
	gnutls_x509_crt_t crt;
	struct sig_info info;
	struct error e2 = {0};
	gnutls_pkcs7_t p7;
	char cn[256], why[sizeof e2.text];
	int rc, i, ncrt, ok = -1, tried = 0;

	gnutls_pkcs7_init(&p7);
	if ((rc = gnutls_pkcs7_import(p7, &d, GNUTLS_X509_FMT_DER)) < 0) {
		err_set(err, ERR_NONE, "is not a DER CMS SignedData: %s",
		    gnutls_strerror(rc));
		goto out;
	}
	if (gnutls_pkcs7_get_signature_count(p7) < 1) {
		err_set(err, ERR_NONE, "holds no signature");
		goto out;
	}
	if (s->trust == NULL) {
		ok = 0;
		goto out;
	}
	ncrt = gnutls_pkcs7_get_crt_count(p7);
	for (i = 0; i < ncrt && i < 16 && ok == -1; i++) {
		if (gnutls_pkcs7_get_crt_raw2(p7, (unsigned)i, &raw) < 0)
			continue;
		gnutls_x509_crt_init(&crt);
		if (gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER) >=
		        0 &&
		    cert_cn(crt, cn, sizeof cn) == 0) {
			err_clear(&e2);
			tried = 1;
			if (sig_verify(s->trust, data, len, der, derlen, cn,
			        time(NULL), SIG_ALLOW_ALL, &info, &e2) == 0)
				ok = 0;
		}
		gnutls_x509_crt_deinit(crt);
		gnutls_free(raw.data);
	}
	if (ok == -1 && tried) {
		sim_answer_sigtext(e2.text, why, sizeof why);
		err_set(err, ERR_NONE,
		    "does not verify against --signer-trust: %s", why);
	} else if (ok == -1)
		err_set(
		    err, ERR_NONE, "does not include the signer certificate");
out:
	gnutls_pkcs7_deinit(p7);
	return ok;
}

/* Check one answer file: it exists, has the announced size, and its signature holds. */
static int
sim_answer_file(struct sim *s, const struct sim_answer_header *h,
    const char *size, struct error *err)
{
	unsigned char *data = NULL, *der = NULL;
	size_t derlen, off = 0;
	struct stat sb;
	ssize_t n;
	int fd = -1, rc = -1;

	if (h->path[0] != '/')
		return err_set(err, ERR_NONE,
		    "filePath '%s' of AttachmentHeader %s is not an absolute "
		    "path",
		    h->path, h->id);
	if ((fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_set(err, ERR_NONE,
		    "answer file %s (AttachmentHeader %s) cannot be opened: %s",
		    h->path, h->id, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		err_set(err, ERR_NONE, "answer file %s is not a regular file",
		    h->path);
		goto out;
	}
	if (!sim_xml_digits(size, 18) ||
	    strtoull(size, NULL, 10) != (unsigned long long)sb.st_size) {
		err_set(err, ERR_NONE,
		    "answer file %s has %lld bytes, its P:File says size '%s'",
		    h->path, (long long)sb.st_size, size);
		goto out;
	}
	if ((unsigned long long)sb.st_size > SIM_ANSWER_MAX_FILE) {
		err_set(err, ERR_NONE,
		    "answer file %s is larger than %llu bytes", h->path,
		    SIM_ANSWER_MAX_FILE);
		goto out;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = read(fd, data + off, (size_t)sb.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, ERR_NONE, "cannot read answer file %s: %s",
			    h->path, n == 0 ? "it shrank" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (h->sig == NULL) {
		err_set(err, ERR_NONE,
		    "AttachmentHeader %s has no SignaturePKCS7; answer files "
		    "must be signed",
		    h->id);
		goto out;
	}
	if ((der = sim_answer_base64(h->sig, &derlen)) == NULL) {
		err_set(err, ERR_NONE,
		    "SignaturePKCS7 of AttachmentHeader %s is not base64",
		    h->id);
		goto out;
	}
	if (sim_answer_cms(s, data, off, der, derlen, err) == -1) {
		struct error e2 = *err;

		err_clear(err);
		err_set(err, ERR_NONE,
		    "the signature of answer file %s (AttachmentHeader %s) %s",
		    h->path, h->id, e2.text);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(data);
	free(der);
	return rc;
}

/* Read the AttachmentHeaderList of a request; returns how many, -1 if wrong. */
static int
sim_answer_headers(
    xmlNodePtr list, struct sim_answer_header *h, struct error *err)
{
	static const char *const ahl[] = {"AttachmentHeader", NULL};
	static const char *const ah[] = {
	    "Id", "filePath", "SignaturePKCS7", "TransferMethod", NULL};
	char v[4096];
	xmlNodePtr c, x;
	xmlChar *sig;
	int n = 0, i;

	if (list == NULL)
		return 0;
	if (sim_xml_only(list, SIM_NS_T, ahl, err) == -1)
		return -1;
	for (c = list->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, SIM_NS_T, "AttachmentHeader"))
			continue;
		if (n == SIM_ANSWER_MAX_HEADERS)
			return err_set(err, ERR_NONE,
			    "more than %d AttachmentHeader elements",
			    SIM_ANSWER_MAX_HEADERS);
		memset(&h[n], 0, sizeof h[n]);
		n++;
		if (sim_xml_only(c, SIM_NS_T, ah, err) == -1 ||
		    sim_xml_leaf(c, SIM_NS_T, "Id", v, 256, err) == -1)
			return -1;
		if (*v == '\0')
			return err_set(err, ERR_NONE,
			    "an AttachmentHeader has an empty Id");
		for (i = 0; i < n - 1; i++)
			if (strcmp(h[i].id, v) == 0)
				return err_set(err, ERR_NONE,
				    "two AttachmentHeader elements have Id %s",
				    v);
		h[n - 1].id = xstrdup(v);
		if (sim_xml_leaf(c, SIM_NS_T, "filePath", v, sizeof v, err) ==
		    -1)
			return -1;
		h[n - 1].path = xstrdup(v);
		if (sim_xml_child(c, SIM_NS_T, "TransferMethod", 0, &x, err) ==
		        -1 ||
		    (x != NULL && sim_xml_value(x, v, sizeof v, err) == -1))
			return -1;
		if (x != NULL && strcmp(v, "REFERENCE") != 0)
			return err_set(err, ERR_NONE,
			    "TransferMethod of AttachmentHeader %s is '%s', "
			    "expected REFERENCE",
			    h[n - 1].id, v);
		if (sim_xml_child(c, SIM_NS_T, "SignaturePKCS7", 0, &x, err) ==
		    -1)
			return -1;
		if (x != NULL && (sig = xmlNodeGetContent(x)) != NULL) {
			h[n - 1].sig = xstrdup((const char *)sig);
			xmlFree(sig);
		}
	}
	return n;
}

/*
 * True if an answer file's name is unfit to show a citizen or save: a
 * path separator, a control character, a leading dot, over 255 bytes.
 */
static int
sim_answer_name_bad(const char *name)
{
	const unsigned char *p;

	if (strlen(name) > 255 || name[0] == '.')
		return 1;
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
			return 1;
	return 0;
}

/* Check P:Answer: text, and every P:File against its header and signature. */
static int
sim_answer_answer(struct sim *s, xmlNodePtr ans, struct sim_answer_header *h,
    int nh, struct error *err)
{
	static const char *const names[] = {"Text", "File", NULL};
	const char *hid, *size;
	xmlNodePtr c, text;
	int i, files = 0;

	if (sim_xml_only(ans, SIM_NS_P, names, err) == -1 ||
	    sim_xml_child(ans, SIM_NS_P, "Text", 1, &text, err) == -1)
		return -1;
	if (!sim_xml_has_text(text))
		return err_set(err, ERR_NONE, "P:Answer has an empty P:Text");
	for (c = ans->children; c != NULL; c = c->next) {
		if (!xmlsafe_is(c, SIM_NS_P, "File"))
			continue;
		files++;
		if ((hid = sim_xml_attr(c, "headerId", err)) == NULL ||
		    sim_xml_attr(c, "name", err) == NULL ||
		    sim_xml_attr(c, "mimeType", err) == NULL ||
		    (size = sim_xml_attr(c, "size", err)) == NULL)
			return -1;
		if (*xmlsafe_attr(c, "name") == '\0')
			return err_set(
			    err, ERR_NONE, "P:File %s has an empty name", hid);
		if (sim_answer_name_bad(xmlsafe_attr(c, "name")))
			return err_set(err, ERR_NONE,
			    "P:File %s name \"%.100s\" is not a plain file "
			    "name "
			    "(a path separator, a control character, a "
			    "leading dot or over 255 bytes)",
			    hid, xmlsafe_attr(c, "name"));
		for (i = 0; i < nh; i++)
			if (strcmp(h[i].id, hid) == 0)
				break;
		if (i == nh)
			return err_set(err, ERR_NONE,
			    "P:File headerId %s has no AttachmentHeader with "
			    "that Id",
			    hid);
		if (h[i].used++)
			return err_set(err, ERR_NONE,
			    "two P:File elements name AttachmentHeader %s",
			    hid);
		if (sim_answer_file(s, &h[i], size, err) == -1)
			return -1;
	}
	for (i = 0; i < nh; i++)
		if (!h[i].used)
			return err_set(err, ERR_NONE,
			    "AttachmentHeader %s is not a P:File of the answer",
			    h[i].id);
	(void)files;
	return 0;
}

/*
 * Check a StatusUpdate's attachments: with answer (SEND_RESPONSE's P:Answer)
 * its text and every file; without, there must be no AttachmentHeader.
 */
int
sim_answer_check(struct sim *s, xmlNodePtr list, xmlNodePtr answer,
    const char *status, struct error *err)
{
	struct sim_answer_header *h;
	int nh, i, rc = -1;

	h = xcalloc(SIM_ANSWER_MAX_HEADERS, sizeof *h);
	if ((nh = sim_answer_headers(list, h, err)) == -1) {
		nh = SIM_ANSWER_MAX_HEADERS;
		goto out;
	}
	if (answer != NULL) {
		if (sim_answer_answer(s, answer, h, nh, err) == -1)
			goto out;
	} else if (nh > 0) {
		err_set(err, ERR_NONE,
		    "%s carries attachments; only SEND_RESPONSE's P:Answer "
		    "has files",
		    status);
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < nh; i++) {
		free(h[i].id);
		free(h[i].path);
		free(h[i].sig);
	}
	free(h);
	return rc;
}
