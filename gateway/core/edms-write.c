/*
 * edms-write.c: writing an event file into the import folder as the EDMS
 * would (posgw edms): checked by the same rules as the core, answer files
 * copied beside it, the event renamed into place last.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/pkcs7.h>
#include <libxml/tree.h>

#include "edms.h"
#include "filename.h"
#include "fsutil.h"
#include "log.h"
#include "package.h"
#include "schema.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static const char *edms_write_media_type(const char *name);
static void edms_write_put(FILE *f, const char *s);
static void edms_write_attr(FILE *f, const char *name, const char *value);
static void edms_write_text(FILE *f, const char *name, const char *text);
static void edms_write_unlink(const char *dir, const char *name);

/* Media types by file extension, for answer files posgw edms writes. */
static const struct {
	const char *ext;
	const char *type;
} edms_media[] = {
    {"pdf", "application/pdf"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument."
             "wordprocessingml.document"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"rtf", "application/rtf"},
    {"txt", "text/plain"},
    {"xml", "application/xml"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"png", "image/png"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"zip", "application/zip"},
    {"sig", "application/pkcs7-signature"},
};

/* The media type of a file by its extension (octet-stream when unknown). */
static const char *
edms_write_media_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot != NULL)
		for (i = 0; i < sizeof edms_media / sizeof edms_media[0]; i++)
			if (strcasecmp(dot + 1, edms_media[i].ext) == 0)
				return edms_media[i].type;
	return "application/octet-stream";
}

/* Print text XML-escaped (for element content and attribute values). */
static void
edms_write_put(FILE *f, const char *s)
{
	xmlChar *esc = xmlEncodeSpecialChars(NULL, (const xmlChar *)s);

	fputs((const char *)esc, f);
	xmlFree(esc);
}

/* Print an optional attribute. */
static void
edms_write_attr(FILE *f, const char *name, const char *value)
{
	if (value == NULL)
		return;
	fprintf(f, " %s=\"", name);
	edms_write_put(f, value);
	fputc('"', f);
}

/* Print <name attrs>text</name> or <name attrs/>. */
static void
edms_write_text(FILE *f, const char *name, const char *text)
{
	if (text == NULL || *text == '\0') {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	edms_write_put(f, text);
	fprintf(f, "</%s>\n", name);
}

/*
 * The XML of a new event as the EDMS would drop it: files[] give the plain
 * names in the import folder, original names and sizes. Allocated in *xml.
 */
int
edms_write_xml(const struct edms_new *s, const struct edms_file *files,
    char **xml, size_t *len)
{
	char at[32];
	size_t i;
	FILE *f;

	pkg_time_format(time(NULL), at, sizeof at);
	if ((f = open_memstream(xml, len)) == NULL)
		fatal("open_memstream");
	fprintf(f,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<event xmlns=\"%s\" pos-id=\"%s\" n=\"%ld\" type=\"%s\"\n"
	    "       at=\"%s\">\n",
	    NS_EXCHANGE, s->pos_id, s->n, s->type, at);
	if (strcmp(s->type, "registered") == 0) {
		fputs("  <registration", f);
		edms_write_attr(f, "number", s->number);
		edms_write_attr(f, "date", s->date);
		fputs("/>\n", f);
	} else if (strcmp(s->type, "take-to-work") == 0) {
		fputs("  <take-to-work", f);
		edms_write_text(f, "take-to-work", s->text);
	} else if (strcmp(s->type, "set-executor") == 0) {
		fputs("  <executor", f);
		edms_write_attr(f, "position", s->position);
		edms_write_attr(f, "department", s->department);
		edms_write_text(f, "executor", s->text);
	} else if (strcmp(s->type, "postpone") == 0) {
		fputs("  <postpone", f);
		edms_write_attr(f, "until", s->until);
		edms_write_text(f, "postpone", s->text);
	} else if (strcmp(s->type, "forward") == 0) {
		fputs("  <forward", f);
		edms_write_attr(f, "direction", s->direction);
		edms_write_attr(f, "lko-id", s->lko_id);
		edms_write_text(f, "forward", s->text);
	} else if (strcmp(s->type, "decline") == 0) {
		fputs("  <decline", f);
		edms_write_text(f, "decline", s->text);
	} else if (strcmp(s->type, "answer") == 0) {
		fputs("  <answer", f);
		edms_write_attr(f, "result", s->result);
		if (s->measures)
			fputs(" measures=\"true\"", f);
		fputs(">\n    <text>", f);
		edms_write_put(f, s->text != NULL ? s->text : "");
		fputs("</text>\n", f);
		for (i = 0; i < s->nfiles; i++) {
			fputs("    <file", f);
			edms_write_attr(f, "path", files[i].rel);
			edms_write_attr(f, "name", files[i].name);
			edms_write_attr(f, "media-type",
			    edms_write_media_type(files[i].name));
			fprintf(f, " size=\"%llu\"\n         ",
			    (unsigned long long)files[i].size);
			edms_write_attr(f, "signature", files[i].sig);
			fputs("/>\n", f);
		}
		fputs("  </answer>\n", f);
	}
	fputs("</event>\n", f);
	if (fclose(f) != 0)
		fatal("open_memstream");
	return 0;
}

/* Remove dir/name, ignoring errors. */
static void
edms_write_unlink(const char *dir, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	unlink(p);
	free(p);
}

/*
 * Write a new event into the import folder exactly as an EDMS would: check
 * it with the core's own code first (contract, schema, the appeal's state
 * when a is given, sizes and signatures), then copy the answer files beside
 * it and write the XML as a dot file renamed into place. The event file's
 * name goes to out.
 */
int
edms_write(const struct conf *c, const struct edms_new *s, struct trust *t,
    const struct edms_appeal *a, char *out, size_t outlen, struct error *err)
{
	const char *dir = c->edms.import_dir, *base;
	struct edms_file *files;
	struct edms_event ev;
	struct edms_appeal next;
	struct error why = {0};
	struct error e = {0};
	struct stat sb;
	char name[64], *xml = NULL, *path;
	xmlDocPtr doc;
	size_t len, i, made = 0;
	int rc = -1;

	files = xcalloc(s->nfiles + 1, sizeof *files);
	memset(&ev, 0, sizeof ev);
	for (i = 0; i < s->nfiles; i++) {
		if (stat(s->file_src[i], &sb) == -1 || !S_ISREG(sb.st_mode)) {
			err_set(err, ERR_NONE, "cannot read %s: %s",
			    s->file_src[i],
			    errno ? strerror(errno) : "not a regular file");
			goto out;
		}
		base = strrchr(s->file_src[i], '/');
		base = base != NULL ? base + 1 : s->file_src[i];
		xasprintf(
		    &files[i].rel, "%s-e%ld-%zu.bin", s->pos_id, s->n, i + 1);
		xasprintf(
		    &files[i].sig, "%s-e%ld-%zu.p7s", s->pos_id, s->n, i + 1);
		files[i].name = xstrdup(base);
		files[i].size = (uint64_t)sb.st_size;
	}
	snprintf(name, sizeof name, "%s-e%ld.xml", s->pos_id, s->n);
	edms_write_xml(s, files, &xml, &len);
	doc = xmlsafe_parse(
	    xml, len, name, XMLSAFE_DEFAULT_DEPTH, ERR_PAYLOAD, &e);
	if (doc == NULL) {
		err_set(err, ERR_NONE, "%s", e.text);
		goto out;
	}
	if (edms_event_prepare(doc, name, &ev, &why) == -1) {
		err_set(err, ERR_NONE,
		    "posgw-core would reject this event: %s: %s", why.what,
		    why.text);
		goto out;
	}
	if (a != NULL) {
		next = *a;
		if (edms_advance(&next, &ev, &c->edms, &why) == -1) {
			err_set(err, ERR_NONE,
			    "posgw-core would reject this event: %s: %s",
			    why.what, why.text);
			goto out;
		}
	}
	for (i = 0; i < s->nfiles; i++)
		if (edms_sign_verify(s->file_src[i], s->file_src[i],
		        s->sig_src[i], s->sig_src[i], files[i].size, t,
		        c->x.verify.sig_algs, &why) == -1) {
			err_set(err, ERR_NONE,
			    "posgw-core would reject this event: %s: %s",
			    why.what, why.text);
			goto out;
		}
	xasprintf(&path, "%s/%s", dir, name);
	if (access(path, F_OK) == 0) {
		err_set(err, ERR_NONE,
		    "%s already exists: an event n=%ld of appeal %s is "
		    "waiting; "
		    "let posgw-core take it first",
		    path, s->n, s->pos_id);
		free(path);
		goto out;
	}
	free(path);
	for (i = 0; i < s->nfiles; i++) {
		if (fs_copy_file(s->file_src[i], dir, files[i].rel, 0660,
		        UINT64_MAX,
		        FS_COPY_SYNC | FS_COPY_NOREPLACE | FS_COPY_SHARE,
		        err) == -1)
			break;
		made++;
		if (fs_copy_file(s->sig_src[i], dir, files[i].sig, 0660,
		        EDMS_SIG_MAX,
		        FS_COPY_SYNC | FS_COPY_NOREPLACE | FS_COPY_SHARE,
		        err) == -1)
			break;
		made++;
	}
	if (i == s->nfiles && fs_write_file(dir, name, xml, len, 0660,
	                          FS_WRITE_SHARE, err) == 0) {
		snprintf(out, outlen, "%s", name);
		rc = 0;
		goto out;
	}
	/* take back our copies: no answer file without its event */
	for (i = 0; i < made; i++)
		edms_write_unlink(
		    dir, i % 2 == 0 ? files[i / 2].rel : files[i / 2].sig);
out:
	edms_event_free(&ev);
	for (i = 0; i < s->nfiles; i++) {
		free(files[i].rel);
		free(files[i].sig);
		free(files[i].name);
	}
	free(files);
	free(xml);
	return rc;
}
