/* cmd-keys.c: posgw keys generate|show. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "posgw.h"

static const char keys_generate_usage[] =
    "usage: posgw keys generate --id ID [--algorithm "
    "gost256|gost512|ecdsa|ed25519]\n"
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
    "days.\n";

static const char keys_show_usage[] =
    "usage: posgw keys show CERT\n"
    "\n"
    "Print subject, issuer, validity, algorithm and the SHA-256 and "
    "Streebog-256\n"
    "fingerprints of the certificate's DER; operators compare these between "
    "zones.\n";

/* posgw keys generate */
static int
keys_generate_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"algorithm", required_argument, NULL, 'a'},
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
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			p.id = optarg;
			break;
		case 'a':
			if (keys_alg_from_name(optarg, &p.alg) == -1)
				usage_error("unknown --algorithm %s (gost256, "
				            "gost512, ecdsa, ed25519)",
				    optarg);
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
				usage_error("--days needs a positive number");
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
		usage_error(
		    "keys generate: unexpected argument %s", argv[optind]);
	if (p.id == NULL || p.outdir == NULL)
		usage_error("keys generate needs --id and --out (see --help)");
	if ((p.ca_key == NULL) != (p.ca_cert == NULL))
		usage_error("--ca-key and --ca-cert go together");
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
keys_show_main(int argc, char **argv)
{
	struct error err = {0};
	int i, rc = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(keys_show_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (i = 1; i < argc; i++) {
		err.text[0] = '\0';
		if (keys_show(argv[i], stdout, &err) == -1) {
			fprintf(stderr, "posgw: keys show: %s\n", err.text);
			rc = 1;
		}
	}
	return rc;
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
		return keys_generate_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return keys_show_main(argc - 1, argv + 1);
	usage_error("unknown keys command '%s' (generate, show)", argv[1]);
}
