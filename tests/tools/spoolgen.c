/*
 * spoolgen.c: queue N distinct appeals (each with a small attachment) in a
 * gateway's outbound spool in one transaction, then optionally pack them
 * all at once. For transfer tests; not installed.
 * usage: spoolgen CONFIG N [--pack] [--first K] [--size BYTES]
 * (--size: random attachments of that many bytes instead of a short text)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "sig.h"
#include "xfer.h"
#include "xmalloc.h"
#include "xmlsafe.h"

#include <gnutls/crypto.h>

static const char tmpl[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<appeal xmlns=\"urn:posgw:exchange:1\" pos-id=\"%ld\" kind=\"message\"\n"
    "        created=\"2026-11-24T08:15:00Z\" due=\"2026-12-08\">\n"
    "  <organization lko-id=\"268828\" "
    "oktmo=\"29701000\">Министерство</organization>\n"
    "  <category code=\"21\">Дороги</category>\n"
    "  <applicant esia-verified=\"true\">\n"
    "    <surname>Иванова</surname>\n"
    "    <name>Мария</name>\n"
    "  </applicant>\n"
    "  <text>Обращение номер %ld.</text>\n"
    "  <attachment path=\"payload/att/%ld-1.bin\" name=\"photo.jpg\" "
    "media-type=\"image/jpeg\" size=\"%zu\"/>\n"
    "</appeal>\n";

int
main(int argc, char **argv)
{
	struct error err = {0};
	struct xfer_file f;
	struct conf c;
	struct xfer *x;
	char xml[4096], path[64], att[4096], body[64];
	long n, i, first = 1;
	int pack = 0, did = 0;
	long size = 0;
	unsigned char *rnd = NULL;
	FILE *fp;

	if (argc < 3) {
		fprintf(
		    stderr, "usage: spoolgen CONFIG N [--pack] [--first K]\n");
		return 2;
	}
	n = atol(argv[2]);
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--pack") == 0)
			pack = 1;
		else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
			first = atol(argv[++i]);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size = atol(argv[++i]);
	}
	log_init("spoolgen", LOG_LEVEL_WARN);
	sig_init();
	xmlsafe_init();
	if (conf_load(argv[1], &c, &err) == -1 ||
	    (x = xfer_open(&c.x, 1, &err)) == NULL) {
		fprintf(stderr, "spoolgen: %s\n", err.text);
		return 1;
	}
	snprintf(att, sizeof att, "%s/.spoolgen-att", c.state);
	if (db_begin(xfer_db(x), &err) == -1)
		goto fail;
	for (i = first; i < first + n; i++) {
		int blen = snprintf(body, sizeof body, "attachment of %ld", i);
		if ((fp = fopen(att, "w")) == NULL)
			goto fail;
		if (size > 0) {
			rnd = xreallocarray(rnd, (size_t)size, 1);
			gnutls_rnd(GNUTLS_RND_NONCE, rnd, (size_t)size);
			fwrite(rnd, 1, (size_t)size, fp);
			blen = (int)size;
		} else
			fwrite(body, 1, (size_t)blen, fp);
		fclose(fp);
		snprintf(xml, sizeof xml, tmpl, i, i, i, (size_t)blen);
		snprintf(path, sizeof path, "payload/att/%ld-1.bin", i);
		f.take = 0; /* the attachment file is rewritten next */
		f.path = path;
		f.src = att;
		snprintf(body, sizeof body, "%ld", i);
		if (spool_enqueue(
		        x, "appeal", body, xml, strlen(xml), &f, 1, &err) == -1)
			goto fail;
	}
	if (db_commit(xfer_db(x), &err) == -1)
		goto fail;
	unlink(att);
	if (pack && spool_pack(x, 1, &did) == -1)
		goto fail;
	printf("queued %ld, packed %d package(s)\n", n, did);
	free(rnd);
	xfer_close(x);
	conf_free(&c);
	return 0;
fail:
	fprintf(stderr, "spoolgen: %s\n", err.text[0] ? err.text : "failed");
	return 1;
}
