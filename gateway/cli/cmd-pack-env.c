/*
 * cmd-pack-env.c: posgw pack encrypt|decrypt, and what pack verify and
 * pack create do with envelopes (formats/envelope.md).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "envelope.h"
#include "fsutil.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"

static const char encrypt_usage[] =
    "usage: posgw pack encrypt --key KEY --cert CERT --to EXCHANGE_CERT\n"
    "                          [--digest streebog256|sha256] PACKAGE DIR\n"
    "\n"
    "Seal a signed package for its recipient (formats/envelope.md): a fresh\n"
    "content key agreed with the recipient's key-agreement certificate\n"
    "(VKO GOST R 34.10-2012), Kuznyechik CTR-ACPKM with OMAC, the head\n"
    "signed with KEY/CERT (the sender's package key). Writes DIR/<the same\n"
    "name> and prints it. The recipient's id is the certificate's CN.\n";

static const char decrypt_usage[] =
    "usage: posgw pack decrypt --id OWN_ID --trust CERT [--trust CERT]...\n"
    "                          --exchange-key KEY --exchange-cert CERT\n"
    "                          [--algorithms LIST] ENVELOPE DIR\n"
    "\n"
    "Check an envelope as the gateway OWN_ID would (structure, names, the\n"
    "sender's signature, the key, the tag), and only then write the plain\n"
    "package inside to DIR/<its name>, where pack verify, pack extract and\n"
    "the stock-tools recipes of package.md take it. Prints 'ENVELOPE: ok,\n"
    "...' or 'ENVELOPE: CODE: text'; exit 0, 1 if refused, 2 on usage.\n";

/* Load a key-agreement pair for the command cmd, or exit 1 saying why. */
static struct kex_key *
cmd_pack_env_key(const char *cmd, const char *key, const char *cert)
{
	struct error err = {0};
	struct kex_key *kk;

	if ((kk = kex_key_load(key, cert, &err)) == NULL) {
		fprintf(stderr, "posgw: pack %s: %s\n", cmd, err.text);
		exit(EXIT_REJECTED);
	}
	return kk;
}

/*
 * Seal the plain package at plain (named name) for the recipient whose
 * key-agreement certificate is to, into dir; 0 or -1 with err.
 */
int
cmd_pack_env_seal(struct signer *s, const char *to, enum digest_alg alg,
    const char *plain, const char *dir, const char *name, struct error *err)
{
	struct env_seal_opts so;
	struct kex_pub *kp;
	int rc;

	if ((kp = kex_pub_load(to, NULL, err)) == NULL)
		return -1;
	if (!pkg_id_valid(kex_pub_cn(kp))) {
		err_set(err, ERR_NONE,
		    "%s: its CN \"%s\" is not a gateway id; give the "
		    "recipient gateway's key-agreement certificate",
		    to, kex_pub_cn(kp));
		kex_pub_free(kp);
		return -1;
	}
	memset(&so, 0, sizeof so);
	so.signer = s;
	so.to = kp;
	so.recipient = kex_pub_cn(kp);
	so.digest = alg;
	rc = env_seal(&so, plain, dir, name, err);
	kex_pub_free(kp);
	return rc;
}

/* posgw pack encrypt */
int
cmd_pack_env_encrypt(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"cert", required_argument, NULL, 'c'},
	    {"to", required_argument, NULL, 't'},
	    {"digest", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key = NULL, *cert = NULL, *to = NULL;
	enum digest_alg alg = DIGEST_STREEBOG256;
	struct error err = {0};
	struct signer *s;
	char *copy, name[PKG_NAME_MAX], sender[33], uuid[37];
	uint64_t seq;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'd':
			if (digest_alg_from_name(optarg, &alg) == -1)
				cli_usage_error(
				    "--digest: streebog256 or sha256");
			break;
		case 'h':
			fputs(encrypt_usage, stdout);
			return 0;
		default:
			fputs(encrypt_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!key || !cert || !to || argc - optind != 2)
		cli_usage_error("pack encrypt needs --key --cert --to, PACKAGE "
		                "and DIR (see --help)");
	copy = xstrdup(argv[optind]);
	snprintf(name, sizeof name, "%s", basename(copy));
	free(copy);
	if (pkg_name_parse(name, sender, &seq, uuid) == -1)
		cli_usage_error(
		    "%s is not named <sender>.<seq>.<uuid>.pkg", argv[optind]);
	if ((s = signer_load(key, cert, &err)) == NULL) {
		fprintf(stderr, "posgw: pack encrypt: %s\n", err.text);
		return EXIT_REJECTED;
	}
	if (strcmp(signer_id(s), sender) != 0) {
		fprintf(stderr,
		    "posgw: pack encrypt: %s is from %s, but the signing "
		    "certificate %s is %s's: seal with the sender's key\n",
		    name, sender, cert, signer_id(s));
		signer_free(s);
		return EXIT_REJECTED;
	}
	if (schema_load(&err) == -1 ||
	    cmd_pack_env_seal(
	        s, to, alg, argv[optind], argv[optind + 1], name, &err) == -1) {
		fprintf(stderr, "posgw: pack encrypt: %s\n", err.text);
		rc = EXIT_REJECTED;
	} else {
		printf("%s/%s\n", argv[optind + 1], name);
		rc = 0;
	}
	signer_free(s);
	return rc;
}

/* posgw pack decrypt */
int
cmd_pack_env_decrypt(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"trust", required_argument, NULL, 't'},
	    {"exchange-key", required_argument, NULL, 'k'},
	    {"exchange-cert", required_argument, NULL, 'c'},
	    {"algorithms", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key = NULL, *cert = NULL;
	struct env_open_opts eo;
	struct env_info info;
	struct error err = {0};
	struct kex_key *kk;
	char *copy, *out, t[32];
	int ch, rc = EXIT_REJECTED;

	memset(&eo, 0, sizeof eo);
	eo.trust = trust_new();
	eo.sig_algs = SIG_ALLOW_ALL;
	eo.digests = DIGEST_ALLOW_ALL;
	eo.max_file = UINT64_MAX;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (!pkg_id_valid(optarg))
				cli_usage_error(
				    "--id %s is not a gateway id", optarg);
			eo.own_id = optarg;
			break;
		case 't':
			if (trust_add_file(eo.trust, optarg, &err) == -1)
				cli_usage_error("--trust: %s", err.text);
			break;
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'a':
			if (sig_alg_from_name(optarg, &eo.sig_algs) == -1)
				cli_usage_error("--algorithms: gost256, "
				                "gost512, ecdsa or ed25519");
			break;
		case 'h':
			fputs(decrypt_usage, stdout);
			exit(0);
		default:
			fputs(decrypt_usage, stderr);
			exit(EXIT_USAGE);
		}
	}
	if (!eo.own_id || !key || !cert || trust_count(eo.trust) == 0 ||
	    argc - optind != 2)
		cli_usage_error(
		    "pack decrypt needs --id --trust --exchange-key "
		    "--exchange-cert, ENVELOPE and DIR (see --help)");
	kk = cmd_pack_env_key("decrypt", key, cert);
	eo.keys[eo.nkeys++] = kk;
	if (fs_mkdir_p(argv[optind + 1], 0700) == -1) {
		fprintf(stderr, "posgw: pack decrypt: cannot create %s: %s\n",
		    argv[optind + 1], strerror(errno));
		goto out;
	}
	copy = xstrdup(argv[optind]);
	xasprintf(&out, "%s/%s", argv[optind + 1], basename(copy));
	free(copy);
	if (schema_load(&err) == -1)
		fprintf(stderr, "posgw: pack decrypt: %s\n", err.text);
	else if (env_open(argv[optind], out, &eo, &info, &err) == -1)
		printf("%s: %s: %s\n", argv[optind], err_code_name(err.code),
		    err.text);
	else {
		pkg_time_format(info.sig.signing_time, t, sizeof t);
		printf("%s: ok, %s from %s signed %s (%s, certificate sha256 "
		       "%s); the package is %s\n",
		    argv[optind], info.name, info.sender, t, info.sig.algorithm,
		    info.sig.fingerprint, out);
		rc = 0;
	}
	free(out);
out:
	kex_key_free(kk);
	trust_free(eo.trust);
	return rc;
}

/*
 * pack verify of one envelope: with a key-agreement pair, open it into
 * stage and verify the package inside as o says; without, the outsider's
 * checks (structure, signature, digest). Prints the verdict line; returns 0
 * if ok.
 */
int
cmd_pack_env_verify(const char *path, const struct pkg_verify_opts *o,
    const struct kex_key *kk, const char *stage, int verbose)
{
	struct env_open_opts eo;
	struct env_info info;
	struct error err = {0};
	struct pkg *p = NULL;
	char *copy, *out = NULL, t[32];

	memset(&eo, 0, sizeof eo);
	eo.own_id = o->own_id;
	eo.trust = o->trust;
	eo.sig_algs = o->sig_algs;
	eo.digests = o->digests;
	eo.max_file = o->limits.max_file;
	if (kk != NULL) {
		eo.keys[eo.nkeys++] = kk;
		copy = xstrdup(path);
		xasprintf(&out, "%s/%s", stage, basename(copy));
		free(copy);
	}
	if (env_open(path, out, &eo, &info, &err) == 0 && out != NULL) {
		p = pkg_read(out, stage, o, &err);
		unlink(out);
		if (p == NULL)
			err_wrap(&err, "inside the envelope");
	}
	free(out);
	if (err.text[0] != '\0') {
		printf("%s: %s: %s\n", path, err_code_name(err.code), err.text);
		return -1;
	}
	pkg_time_format(info.sig.signing_time, t, sizeof t);
	if (verbose)
		printf("%s: envelope from %s to %s, signed %s by %s (%s), "
		       "certificate sha256 %s; for key-agreement certificate "
		       "sha256 %s; package.enc %llu bytes, %s %s\n",
		    path, info.sender, info.recipient, t, info.sig.signer,
		    info.sig.algorithm, info.sig.fingerprint, info.key,
		    (unsigned long long)info.size,
		    digest_alg_name(info.digest_alg), info.digest);
	if (p == NULL) {
		printf("%s: ok (envelope from %s to %s, signed %s by %s; "
		       "content not opened: give --exchange-key and "
		       "--exchange-cert to check the package inside)\n",
		    path, info.sender, info.recipient, t, info.sig.signer);
		return 0;
	}
	printf("%s: ok\n", path);
	if (verbose)
		printf("  the package inside: %zu entries, manifest "
		       "streebog256 %s\n",
		    p->nentries, p->manifest_digest);
	pkg_free(p);
	return 0;
}
