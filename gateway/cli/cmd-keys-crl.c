/*
 * cmd-keys-crl.c: posgw keys crl import|show: certificate revocation lists
 * carried into a zone like certificates, checked against their CA before
 * they are installed for [gateway] crl.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/x509.h>

#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "sig.h"
#include "xmalloc.h"

static const char crl_usage[] =
    "usage: posgw keys crl import CRL --ca CERT --to FILE\n"
    "       posgw keys crl show CRL\n"
    "\n"
    "import checks that CRL (PEM or DER) is signed by the CA certificate\n"
    "CERT (the one in trust = or signer_trust =), prints what it revokes and\n"
    "installs it at FILE (durably) for [gateway] crl = FILE. An existing FILE\n"
    "is replaced only by a newer CRL of the same issuer. show prints a CRL.\n";

static void cmd_keys_crl_print(gnutls_x509_crl_t, const char *);
static int cmd_keys_crl_one(const char *, gnutls_x509_crl_t *);
static int cmd_keys_crl_install(const char *, const char *, gnutls_x509_crl_t);

/* Print a CRL's issuer, dates and revoked serials. */
static void
cmd_keys_crl_print(gnutls_x509_crl_t crl, const char *path)
{
	char dn[512], t1[32], t2[32], t3[32], hex[129];
	unsigned char serial[64];
	size_t dlen = sizeof dn, slen;
	time_t next, rt;
	int i, n;

	if (gnutls_x509_crl_get_issuer_dn(crl, dn, &dlen) < 0)
		snprintf(dn, sizeof dn, "?");
	pkg_time_format(gnutls_x509_crl_get_this_update(crl), t1, sizeof t1);
	next = gnutls_x509_crl_get_next_update(crl);
	if (next == (time_t)-1)
		snprintf(t2, sizeof t2, "none");
	else
		pkg_time_format(next, t2, sizeof t2);
	n = gnutls_x509_crl_get_crt_count(crl);
	printf("file:        %s\nissuer:      %s\nthis update: %s\nnext "
	       "update: %s%s\nrevoked:     %d\n",
	    path, dn, t1, t2,
	    next != (time_t)-1 && next < time(NULL) ? " (PAST: get a fresh one)"
	                                            : "",
	    n < 0 ? 0 : n);
	for (i = 0; i < n; i++) {
		slen = sizeof serial;
		if (gnutls_x509_crl_get_crt_serial(crl, i, serial, &slen, &rt) <
		    0)
			continue;
		digest_hex_encode(serial, slen, hex);
		pkg_time_format(rt, t3, sizeof t3);
		printf("  serial %s revoked %s\n", hex, t3);
	}
}

/* Load the one CRL of a file; -1 after saying why. */
static int
cmd_keys_crl_one(const char *path, gnutls_x509_crl_t *out)
{
	struct error err = {0};
	gnutls_x509_crl_t *crls;
	unsigned n, i;

	if (crl_load_file(path, &crls, &n, &err) == -1) {
		fprintf(stderr, "posgw: keys crl: %s\n", err.text);
		return -1;
	}
	if (n != 1) {
		fprintf(stderr,
		    "posgw: keys crl: %s holds %u CRLs; give one CRL a file\n",
		    path, n);
		for (i = 0; i < n; i++)
			gnutls_x509_crl_deinit(crls[i]);
		gnutls_free(crls);
		return -1;
	}
	*out = crls[0];
	gnutls_free(crls);
	return 0;
}

/*
 * Write crl to `to` (DER) unless a CRL already there is of another issuer
 * or not older; 0 when installed.
 */
static int
cmd_keys_crl_install(const char *to, const char *path, gnutls_x509_crl_t crl)
{
	gnutls_x509_crl_t old;
	gnutls_datum_t der = {NULL, 0}, a, b;
	struct error err = {0};
	char *dir, *base, *slash;
	int same, rc;

	if (access(to, F_OK) == 0) {
		if (cmd_keys_crl_one(to, &old) == -1)
			return -1;
		a.data = b.data = NULL;
		same = gnutls_x509_crl_get_raw_issuer_dn(old, &a) >= 0 &&
		       gnutls_x509_crl_get_raw_issuer_dn(crl, &b) >= 0 &&
		       a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
		gnutls_free(a.data);
		gnutls_free(b.data);
		rc = same && gnutls_x509_crl_get_this_update(crl) >
		                 gnutls_x509_crl_get_this_update(old);
		gnutls_x509_crl_deinit(old);
		if (!rc) {
			fprintf(stderr,
			    "posgw: keys crl import: %s already holds %s CRL; "
			    "only a newer CRL of the same issuer replaces it "
			    "(choose another --to for another CA)\n",
			    to, same ? "a CRL as new as" : "another issuer's");
			return -1;
		}
	}
	if (gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, &der) < 0) {
		fprintf(
		    stderr, "posgw: keys crl import: cannot encode %s\n", path);
		return -1;
	}
	dir = xstrdup(to);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		base = slash + 1;
		if (*dir == '\0')
			strcpy(dir, "/");
	} else {
		free(dir);
		dir = xstrdup(".");
		base = (char *)(uintptr_t)to;
	}
	if (fs_mkdir_p(dir, 0755) == -1)
		rc = err_set(&err, ERR_NONE, "cannot create the folder %s: %s",
		    dir, strerror(errno));
	else
		rc = fs_write_file(dir, base, der.data, der.size, 0644,
		    FS_WRITE_REPLACE, &err);
	gnutls_free(der.data);
	free(dir);
	if (rc == -1)
		fprintf(stderr, "posgw: keys crl import: %s\n", err.text);
	return rc;
}

/* posgw keys crl import|show */
int
cmd_keys_crl(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ca", required_argument, NULL, 'c'},
	    {"to", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *to = NULL;
	struct trust *t = NULL;
	gnutls_x509_crl_t crl;
	struct error err = {0};
	int ch, show, rc = 1;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(crl_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "import") != 0 && strcmp(argv[1], "show") != 0)
		cli_usage_error(
		    "unknown keys crl command '%s' (import, show)", argv[1]);
	show = strcmp(argv[1], "show") == 0;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ca = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'h':
			fputs(crl_usage, stdout);
			return 0;
		default:
			fputs(crl_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || (!show && (ca == NULL || to == NULL)))
		cli_usage_error(show ? "keys crl show needs CRL"
		                     : "keys crl import needs CRL, --ca CERT "
		                       "and --to FILE (see --help)");
	if (cmd_keys_crl_one(argv[optind], &crl) == -1)
		return 1;
	cmd_keys_crl_print(crl, argv[optind]);
	if (show) {
		gnutls_x509_crl_deinit(crl);
		return 0;
	}
	t = trust_new();
	if (trust_add_file(t, ca, &err) == -1) {
		fprintf(stderr, "posgw: keys crl import: %s\n", err.text);
		goto out;
	}
	if (!trust_crl_signed(t, crl)) {
		fprintf(stderr,
		    "posgw: keys crl import: %s is not signed by the CA %s; "
		    "nothing was installed. Get the CRL that CA issued\n",
		    argv[optind], ca);
		goto out;
	}
	if (gnutls_x509_crl_get_next_update(crl) != (time_t)-1 &&
	    gnutls_x509_crl_get_next_update(crl) < time(NULL)) {
		fprintf(stderr,
		    "posgw: keys crl import: %s is past its next update; "
		    "nothing was installed. Get a fresh CRL from the CA\n",
		    argv[optind]);
		goto out;
	}
	if (cmd_keys_crl_install(to, argv[optind], crl) == 0) {
		printf("signature by %s checked; %s installed (use it in "
		       "[gateway] crl = %s; the daemons read it at start)\n",
		    ca, to, to);
		rc = 0;
	}
out:
	trust_free(t);
	gnutls_x509_crl_deinit(crl);
	return rc;
}
