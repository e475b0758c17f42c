/* cmd-keys.c: posgw keys generate|show. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "fsutil.h"
#include "keys.h"
#include "xmalloc.h"
#include "log.h"
#include "cli.h"

static const char keys_generate_usage[] =
    "usage: posgw keys generate --id ID [--algorithm "
    "gost256|gost512|ecdsa|ed25519 | --key KEY]\n"
    "                           [--ca-key KEY --ca-cert CERT] [--days N] "
    "[--ca] --out DIR\n"
    "\n"
    "Make DIR/ID.key (mode 0600) and DIR/ID.crt: a certificate with CN=ID and "
    "the\n"
    "digitalSignature key usage, self-signed or issued by the given CA. --ca "
    "makes\n"
    "a CA certificate instead (keyCertSign), for agencies that issue their "
    "own.\n"
    "Default algorithm gost256 (GOST R 34.10-2012, 256 bit), default 730 "
    "days.\n"
    "--key KEY certifies a key that exists instead (a key file, or a key on "
    "a\n"
    "token: pkcs11:token=...;object=...;type=private?pin-source=FILE) and "
    "makes\n"
    "DIR/ID.crt only. --ca-key also takes a pkcs11: URI.\n";

static const char keys_show_usage[] =
    "usage: posgw keys show CERT\n"
    "\n"
    "Print subject, issuer, validity, algorithm and the SHA-256 and "
    "Streebog-256\n"
    "fingerprints of the certificate's DER; operators compare these between "
    "zones.\n";

/* posgw keys generate */
static int
cmd_keys_generate_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"algorithm", required_argument, NULL, 'a'},
	    {"key", required_argument, NULL, 'K'},
	    {"ca-key", required_argument, NULL, 'k'},
	    {"ca-cert", required_argument, NULL, 'c'},
	    {"days", required_argument, NULL, 'd'},
	    {"ca", no_argument, NULL, 'C'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct keys_params p = {.alg = KEY_GOST256, .days = 730};
	struct error err = {0};
	char *keyp, *certp, *end;
	int ch, alg = 0;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			p.id = optarg;
			break;
		case 'a':
			if (keys_alg_from_name(optarg, &p.alg) == -1)
				cli_usage_error(
				    "unknown --algorithm %s (gost256, "
				    "gost512, ecdsa, ed25519)",
				    optarg);
			alg = 1;
			break;
		case 'K':
			p.key = optarg;
			break;
		case 'k':
			p.ca_key = optarg;
			break;
		case 'c':
			p.ca_cert = optarg;
			break;
		case 'd':
			p.days = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || p.days < 1)
				cli_usage_error(
				    "--days needs a positive number");
			break;
		case 'C':
			p.is_ca = 1;
			break;
		case 'o':
			p.outdir = optarg;
			break;
		case 'h':
			fputs(keys_generate_usage, stdout);
			return 0;
		default:
			fputs(keys_generate_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		cli_usage_error(
		    "keys generate: unexpected argument %s", argv[optind]);
	if (p.id == NULL || p.outdir == NULL)
		cli_usage_error(
		    "keys generate needs --id and --out (see --help)");
	if (alg && p.key != NULL)
		cli_usage_error("--algorithm is for a new key, --key certifies "
		                "an existing one: give one of them");
	if ((p.ca_key == NULL) != (p.ca_cert == NULL))
		cli_usage_error("--ca-key and --ca-cert go together");
	if (keys_generate(&p, &keyp, &certp, &err) == -1) {
		fprintf(stderr, "posgw: keys generate: %s\n", err.text);
		return 1;
	}
	printf("key:         %s\n", keyp);
	free(keyp);
	if (keys_show(certp, stdout, &err) == -1) {
		fprintf(stderr, "posgw: %s\n", err.text);
		free(certp);
		return 1;
	}
	free(certp);
	return 0;
}

/* posgw keys show */
static int
cmd_keys_show_main(int argc, char **argv)
{
	struct error err = {0};
	int i, rc = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(keys_show_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (i = 1; i < argc; i++) {
		err_clear(&err);
		if (keys_show(argv[i], stdout, &err) == -1) {
			fprintf(stderr, "posgw: keys show: %s\n", err.text);
			rc = 1;
		}
	}
	return rc;
}

static const char keys_import_usage[] =
    "usage: posgw keys import CERT --to FILE [--fingerprint HEX]\n"
    "\n"
    "Install the peer's certificate (or the CA that issues it) as a trust\n"
    "anchor only after the operator confirmed its fingerprint: the other zone\n"
    "reads the SHA-256 or Streebog-256 fingerprint printed by 'posgw keys "
    "show'\n"
    "(by phone or on paper), and it is typed here when asked, or given with\n"
    "--fingerprint. Any case and separators are fine; all 64 digits are\n"
    "compared. Nothing is written unless they match: there is no trust on\n"
    "first use. FILE is written durably and never replaced.\n";

/* posgw keys import: a certificate becomes trusted only after confirmation. */
static int
cmd_keys_import_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"fingerprint", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *to = NULL, *fp = NULL;
	char line[512], *dir, *base, *slash;
	struct error err = {0};
	gnutls_datum_t d = {NULL, 0};
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			to = optarg;
			break;
		case 'f':
			fp = optarg;
			break;
		case 'h':
			fputs(keys_import_usage, stdout);
			return 0;
		default:
			fputs(keys_import_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || to == NULL)
		cli_usage_error(
		    "keys import needs CERT and --to FILE (see --help)");
	if (keys_show(argv[optind], stdout, &err) == -1) {
		fprintf(stderr, "posgw: keys import: %s\n", err.text);
		return 1;
	}
	if (fp == NULL) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr,
			    "posgw: keys import: no --fingerprint and no "
			    "terminal to ask on; nothing was imported\n");
			return 1;
		}
		printf("\nRead the fingerprint aloud with the operator of the "
		       "other "
		       "zone.\nType the sha256 or streebog256 fingerprint THEY "
		       "read "
		       "from 'posgw keys show':\n> ");
		fflush(stdout);
		if (fgets(line, sizeof line, stdin) == NULL)
			return 1;
		fp = line;
	}
	if ((rc = keys_fingerprint_matches(argv[optind], fp, &err)) != 1) {
		if (rc == -1)
			fprintf(stderr, "posgw: keys import: %s\n", err.text);
		else
			fprintf(stderr,
			    "posgw: keys import: the fingerprint does NOT "
			    "match %s; "
			    "nothing was imported. Do not trust this file: get "
			    "the "
			    "certificate again and compare once more\n",
			    argv[optind]);
		return 1;
	}
	if (gnutls_load_file(argv[optind], &d) < 0) {
		fprintf(stderr, "posgw: keys import: cannot read %s\n",
		    argv[optind]);
		return 1;
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
	/* the folder of trusted certificates (/etc/posgw/peer) is made
	 * here, readable by the daemons */
	if (fs_mkdir_p(dir, 0755) == -1)
		rc = err_set(&err, ERR_NONE, "cannot create the folder %s: %s",
		    dir, strerror(errno));
	else
		rc = fs_write_file(dir, base, d.data, d.size, 0644, 0, &err);
	gnutls_free(d.data);
	free(dir);
	if (rc == -1) {
		fprintf(stderr, "posgw: keys import: %s\n", err.text);
		return 1;
	}
	printf("fingerprint confirmed; %s is now a trusted certificate (use it "
	       "in trust = )\n",
	    to);
	return 0;
}

/* posgw keys SUBCOMMAND */
int
cmd_keys(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(keys_generate_usage, argc < 2 ? stderr : stdout);
		fputs("\n", argc < 2 ? stderr : stdout);
		fputs(keys_show_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "generate") == 0)
		return cmd_keys_generate_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_keys_show_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cmd_keys_import_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "crl") == 0)
		return cmd_keys_crl(argc - 1, argv + 1);
	cli_usage_error(
	    "unknown keys command '%s' (generate, show, import, crl)", argv[1]);
}
