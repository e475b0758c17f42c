/* cmd-pack.c: posgw pack create|verify|list|extract. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "envelope.h"
#include "fsutil.h"
#include "log.h"
#include "package.h"
#include "cli.h"
#include "schema.h"
#include "xmalloc.h"

static const char create_usage[] =
    "usage: posgw pack create --id SENDER --to RECIPIENT --seq N --key KEY "
    "--cert CERT\n"
    "                         --out DIR [--compress zstd|gzip|none]\n"
    "                         [--encrypt-for EXCHANGE_CERT]\n"
    "                         [--digest streebog256|sha256] [--limit "
    "NAME=VALUE]... FILE...\n"
    "\n"
    "Build a signed package DIR/SENDER.<seq>.<uuid>.pkg (written as a dot "
    "file,\n"
    "fsynced and renamed into place). Each FILE is either a path, stored as\n"
    "payload/<its base name>, or payload/PATH=FILE to choose where it goes.\n"
    "Documents (payload/*.xml) are validated and every attachment must be\n"
    "referenced by one, exactly as the receiver will check. Prints the file "
    "made.\n"
    "--limit raises or lowers the receiver limits checked (see pack verify).\n"
    "--encrypt-for CERT seals the package for the recipient whose\n"
    "key-agreement certificate CERT is (as pack encrypt does).\n";

static const char verify_usage[] =
    "usage: posgw pack verify --id OWN_ID --trust CERT [--trust CERT]...\n"
    "                         [--filters LIST] [--digests LIST] [--algorithms "
    "LIST]\n"
    "                         [--limit NAME=VALUE]... [--verbose] FILE...\n"
    "\n"
    "Check each package as the gateway OWN_ID would (package.md sections 2-8,\n"
    "except the duplicate and conflict checks that need its journal). Prints\n"
    "'FILE: ok' or 'FILE: CODE: text' per file. Exit 0 if all are ok, 1 if "
    "any\n"
    "was rejected, 2 on a usage error. LISTs are comma-separated allow-lists:\n"
    "filters none,gzip,zstd; digests streebog256,sha256; algorithms\n"
    "gost256,gost512,ecdsa,ed25519 (default: all). --limit changes a limit of\n"
    "package.md section 7: file=1G entries=10000 manifest=8M xml=16M "
    "entry=512M\n"
    "total=2G depth=64 (sizes take K, M, G, T).\n"
    "An envelope (formats/envelope.md) is opened with --exchange-key KEY\n"
    "--exchange-cert CERT and the package inside verified; without them\n"
    "only its structure, the sender's signature and the digest of\n"
    "package.enc are checked, as an auditor outside the zones can.\n";

static const char list_usage[] =
    "usage: posgw pack list FILE\n"
    "\n"
    "Show the manifest and the archive entries of a package without verifying\n"
    "its signature (use pack verify for that). Nothing is written.\n";

static const char extract_usage[] =
    "usage: posgw pack extract --id OWN_ID --trust CERT [--trust CERT]...\n"
    "                          [--limit NAME=VALUE]... FILE DIR\n"
    "\n"
    "Verify FILE as pack verify does; only if it passes, write manifest.xml,\n"
    "manifest.xml.p7s and payload/... under DIR (created if missing). Nothing\n"
    "is written outside DIR and no existing file is replaced.\n";

static char *cmd_pack_staging(void);

/* Parse a comma-separated allow-list with a name-to-bit function. */
static unsigned
cmd_pack_allow_list(
    const char *opt, const char *list, int (*fn)(const char *, unsigned *))
{
	char *copy, *tok, *save = NULL;
	unsigned bits = 0, bit;

	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (fn(tok, &bit) == -1)
			cli_usage_error("--%s: unknown value '%s'", opt, tok);
		bits |= bit;
	}
	free(copy);
	if (bits == 0)
		cli_usage_error("--%s: empty list", opt);
	return bits;
}

/* Allow-list element parsers. */
static int
cmd_pack_filter_bit(const char *s, unsigned *bit)
{
	enum pkg_compress c;

	if (pkg_compress_from_name(s, &c) == -1)
		return -1;
	*bit = 1u << c;
	return 0;
}

static int
cmd_pack_digest_bit(const char *s, unsigned *bit)
{
	enum digest_alg a;

	if (digest_alg_from_name(s, &a) == -1)
		return -1;
	*bit = 1u << a;
	return 0;
}

/* Options shared by verify and extract. */
struct pack_vopts {
	struct pkg_verify_opts o;
	int verbose;
	const char *exchange_key, *exchange_cert; /* to open envelopes */
};

/* Parse verify/extract options; returns the index of the first operand. */
static int
cmd_pack_parse_verify(
    int argc, char **argv, struct pack_vopts *v, const char *usage)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"trust", required_argument, NULL, 't'},
	    {"filters", required_argument, NULL, 'f'},
	    {"digests", required_argument, NULL, 'd'},
	    {"algorithms", required_argument, NULL, 'a'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"limit", required_argument, NULL, 'l'},
	    {"exchange-key", required_argument, NULL, 'K'},
	    {"exchange-cert", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct error err = {0};
	int ch;

	pkg_verify_opts_default(&v->o);
	v->o.trust = trust_new();
	while ((ch = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			if (!pkg_id_valid(optarg))
				cli_usage_error(
				    "--id %s is not a gateway id", optarg);
			v->o.own_id = optarg;
			break;
		case 't':
			if (trust_add_file(v->o.trust, optarg, &err) == -1)
				cli_usage_error("--trust: %s", err.text);
			break;
		case 'f':
			v->o.filters = cmd_pack_allow_list(
			    "filters", optarg, cmd_pack_filter_bit);
			break;
		case 'd':
			v->o.digests = cmd_pack_allow_list(
			    "digests", optarg, cmd_pack_digest_bit);
			break;
		case 'a':
			v->o.sig_algs = cmd_pack_allow_list(
			    "algorithms", optarg, sig_alg_from_name);
			break;
		case 'v':
			v->verbose = 1;
			break;
		case 'l':
			if (pkg_limits_set(&v->o.limits, optarg, &err) == -1)
				cli_usage_error("--limit: %s", err.text);
			break;
		case 'K':
			v->exchange_key = optarg;
			break;
		case 'C':
			v->exchange_cert = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(EXIT_USAGE);
		}
	}
	if (v->o.own_id == NULL)
		cli_usage_error("--id OWN_ID is required (see --help)");
	if (trust_count(v->o.trust) == 0)
		cli_usage_error(
		    "at least one --trust CERT is required (see --help)");
	if ((v->exchange_key == NULL) != (v->exchange_cert == NULL))
		cli_usage_error(
		    "--exchange-key and --exchange-cert go together");
	return optind;
}

/* posgw pack create */
static int
cmd_pack_create(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"to", required_argument, NULL, 't'},
	    {"seq", required_argument, NULL, 's'},
	    {"key", required_argument, NULL, 'k'},
	    {"cert", required_argument, NULL, 'c'},
	    {"out", required_argument, NULL, 'o'},
	    {"compress", required_argument, NULL, 'z'},
	    {"digest", required_argument, NULL, 'd'},
	    {"limit", required_argument, NULL, 'l'},
	    {"encrypt-for", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *id = NULL, *to = NULL, *key = NULL, *cert = NULL,
	           *out = NULL, *encfor = NULL;
	enum pkg_compress comp = PKG_COMPRESS_ZSTD;
	enum digest_alg alg = DIGEST_STREEBOG256;
	struct error err = {0};
	struct pkg_limits limits;
	struct pkg_writer *w;
	struct signer *s;
	char name[PKG_NAME_MAX], *end, *copy, *eq, *ppath, *plaindir = NULL;
	uint64_t seq = 0;
	int ch, i, rc;

	pkg_limits_default(&limits);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			id = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 's':
			errno = 0;
			seq = strtoull(optarg, &end, 10);
			if (errno || *end != '\0' || *optarg == '-' ||
			    seq == 0 || seq > PKG_SEQ_MAX)
				cli_usage_error(
				    "--seq must be 1..999999999999");
			break;
		case 'k':
			key = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'z':
			if (pkg_compress_from_name(optarg, &comp) == -1)
				cli_usage_error(
				    "--compress: zstd, gzip or none");
			break;
		case 'd':
			if (digest_alg_from_name(optarg, &alg) == -1)
				cli_usage_error(
				    "--digest: streebog256 or sha256");
			break;
		case 'l':
			if (pkg_limits_set(&limits, optarg, &err) == -1)
				cli_usage_error("--limit: %s", err.text);
			break;
		case 'e':
			encfor = optarg;
			break;
		case 'h':
			fputs(create_usage, stdout);
			return 0;
		default:
			fputs(create_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (!id || !to || !seq || !key || !cert || !out || optind == argc)
		cli_usage_error(
		    "pack create needs --id --to --seq --key --cert "
		    "--out and at least one FILE (see --help)");
	if (!pkg_id_valid(id) || !pkg_id_valid(to))
		cli_usage_error("--id and --to must be gateway ids "
		                "([a-z0-9][a-z0-9-]{0,31})");
	if ((s = signer_load(key, cert, &err)) == NULL) {
		fprintf(stderr, "posgw: pack create: %s\n", err.text);
		return 1;
	}
	if (strcmp(signer_id(s), id) != 0) {
		fprintf(stderr,
		    "posgw: pack create: certificate %s is for '%s', not "
		    "--id %s; use the key pair of this gateway\n",
		    cert, signer_id(s), id);
		signer_free(s);
		return 1;
	}
	w = pkg_writer_new(s, to, seq, comp, alg);
	pkg_writer_set_limits(w, &limits);
	for (i = optind; i < argc; i++) {
		copy = xstrdup(argv[i]);
		if (strncmp(copy, "payload/", 8) == 0 &&
		    (eq = strchr(copy, '=')) != NULL) {
			*eq = '\0';
			rc = pkg_writer_add_file(w, copy, eq + 1, &err);
		} else {
			xasprintf(&ppath, "payload/%s", basename(copy));
			rc = pkg_writer_add_file(w, ppath, argv[i], &err);
			free(ppath);
		}
		free(copy);
		if (rc == -1)
			goto fail;
	}
	if (encfor != NULL) {
		plaindir = cmd_pack_staging();
		pkg_writer_set_scratch(w); /* sealed, then removed */
	}
	if (pkg_writer_write(w, plaindir != NULL ? plaindir : out, name,
	        sizeof name, &err) == -1)
		goto fail;
	if (plaindir != NULL) {
		xasprintf(&ppath, "%s/%s", plaindir, name);
		rc = cmd_pack_env_seal(s, encfor, alg, ppath, out, name, &err);
		free(ppath);
		if (rc == -1)
			goto fail;
	}
	printf("%s/%s\n", out, name);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "posgw: pack create: %s\n", err.text);
	rc = 1;
out:
	if (plaindir != NULL) {
		fs_rmtree(plaindir);
		free(plaindir);
	}
	pkg_writer_free(w);
	signer_free(s);
	return rc;
}

/* A private staging directory for verification. */
static char *
cmd_pack_staging(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	xasprintf(&dir, "%s/posgw-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("cannot create a staging directory %s (set TMPDIR)", dir);
	return dir;
}

/* posgw pack verify */
static int
cmd_pack_verify(int argc, char **argv)
{
	struct pack_vopts v = {0};
	struct error err = {0};
	struct kex_key *kk = NULL;
	struct pkg *p;
	char *stage, t[32];
	int i, first, rc = 0;

	first = cmd_pack_parse_verify(argc, argv, &v, verify_usage);
	if (first == argc)
		cli_usage_error("pack verify: no FILE given (see --help)");
	if (schema_load(&err) == -1) {
		fprintf(stderr, "posgw: %s\n", err.text);
		trust_free(v.o.trust);
		return 1;
	}
	if (v.exchange_key != NULL && (kk = kex_key_load(v.exchange_key,
	                                   v.exchange_cert, &err)) == NULL) {
		fprintf(stderr, "posgw: pack verify: %s\n", err.text);
		trust_free(v.o.trust);
		return 1;
	}
	stage = cmd_pack_staging();
	v.o.discard = 1; /* verify keeps nothing: attachments are only hashed */
	for (i = first; i < argc; i++) {
		err_clear(&err);
		if (env_detect(argv[i])) {
			if (cmd_pack_env_verify(
			        argv[i], &v.o, kk, stage, v.verbose) == -1)
				rc = 1;
			continue;
		}
		p = pkg_read(argv[i], stage, &v.o, &err);
		if (p == NULL) {
			printf("%s: %s: %s\n", argv[i], err_code_name(err.code),
			    err.text);
			rc = 1;
			continue;
		}
		printf("%s: ok\n", argv[i]);
		if (v.verbose) {
			pkg_time_format(p->sig.signing_time, t, sizeof t);
			printf("  sender %s, recipient %s, seq %" PRIu64
			       ", %zu entries, %s, %s\n"
			       "  signed %s by %s (%s), certificate sha256 %s\n"
			       "  manifest streebog256 %s\n",
			    p->m.sender, p->m.recipient, p->m.seq, p->nentries,
			    pkg_compress_name(p->compress),
			    digest_alg_name(p->m.alg), t, p->sig.signer,
			    p->sig.algorithm, p->sig.fingerprint,
			    p->manifest_digest);
		}
		pkg_free(p);
	}
	fs_rmtree(stage);
	free(stage);
	kex_key_free(kk);
	trust_free(v.o.trust);
	return rc;
}

/* posgw pack extract */
static int
cmd_pack_extract(int argc, char **argv)
{
	struct pack_vopts v = {0};
	struct error err = {0};
	struct pkg *p;
	int first, rc = 1;

	first = cmd_pack_parse_verify(argc, argv, &v, extract_usage);
	if (argc - first != 2)
		cli_usage_error("pack extract needs FILE and DIR (see --help)");
	if (fs_mkdir_p(argv[first + 1], 0755) == -1) {
		fprintf(stderr, "posgw: pack extract: cannot create %s: %s\n",
		    argv[first + 1], strerror(errno));
		trust_free(v.o.trust);
		return 1;
	}
	p = pkg_read(argv[first], argv[first + 1], &v.o, &err);
	if (p == NULL) {
		printf("%s: %s: %s\n", argv[first], err_code_name(err.code),
		    err.text);
	} else if (pkg_extract(p, argv[first + 1], &err) == -1) {
		fprintf(stderr, "posgw: pack extract: %s\n", err.text);
	} else {
		printf("%s: ok, %zu entries extracted into %s\n", argv[first],
		    p->nentries, argv[first + 1]);
		rc = 0;
	}
	pkg_free(p);
	trust_free(v.o.trust);
	return rc;
}

/* posgw pack list: manifest summary and tar listing, bounded, no verification. */
static int
cmd_pack_list(int argc, char **argv)
{
	struct archive_entry *ae;
	struct manifest m;
	struct error err = {0};
	struct pkg_limits l;
	struct archive *a;
	unsigned char *mbuf = NULL;
	size_t mlen = 0, cap = 0, n = 0, i;
	la_ssize_t got;
	char t[32];
	int rc = 0, have_m = 0;

	if (argc != 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(list_usage, argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : EXIT_USAGE;
	}
	pkg_limits_default(&l);
	a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_filename(a, argv[1], 65536) != ARCHIVE_OK) {
		fprintf(stderr, "posgw: pack list: cannot read %s: %s\n",
		    argv[1], pkg_archive_error(a));
		archive_read_free(a);
		return 1;
	}
	printf("%s\n", argv[1]);
	while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		if (++n > l.max_entries + 2) {
			fprintf(stderr,
			    "posgw: pack list: more than %llu entries\n",
			    (unsigned long long)l.max_entries);
			rc = ARCHIVE_FATAL;
			break;
		}
		const char *path = archive_entry_pathname(ae);
		printf("  %-8s %12lld  %s\n",
		    archive_entry_filetype(ae) == AE_IFREG ? "file" : "OTHER",
		    (long long)archive_entry_size(ae), path ? path : "?");
		if (n == 1 && path && strcmp(path, "manifest.xml") == 0) {
			cap = (size_t)l.max_manifest + 1;
			mbuf = xmalloc(cap);
			while (mlen < cap && (got = archive_read_data(a,
			                          mbuf + mlen, cap - mlen)) > 0)
				mlen += (size_t)got;
		}
	}
	if (rc != ARCHIVE_EOF) {
		fprintf(stderr, "posgw: pack list: %s: %s\n", argv[1],
		    archive_error_string(a) ? pkg_archive_error(a)
		                            : "too many entries");
		rc = 1;
	} else
		rc = 0;
	archive_read_free(a);
	if (mbuf != NULL && mlen < cap &&
	    manifest_parse(mbuf, mlen, l.max_depth, &m, &err) == 0) {
		have_m = 1;
		pkg_time_format(m.created, t, sizeof t);
		printf("manifest: package %s from %s to %s, seq %" PRIu64
		       ", created %s, digest %s\n",
		    m.uuid, m.sender, m.recipient, m.seq, t,
		    digest_alg_name(m.alg));
		for (i = 0; i < m.nentries; i++)
			printf("  %12" PRIu64 "  %s  %s\n", m.entries[i].size,
			    m.entries[i].digest, m.entries[i].path);
		manifest_free(&m);
	} else if (mbuf != NULL)
		printf("manifest: unusable: %s\n",
		    err.text[0] ? err.text : "too large");
	else
		printf("manifest: missing (first entry is not manifest.xml)\n");
	printf("(signature not verified: use posgw pack verify)\n");
	free(mbuf);
	return rc || !have_m;
}

/* posgw pack SUBCOMMAND */
int
cmd_pack(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "%s\n%s\n%s\n%s", create_usage, verify_usage,
		    list_usage, extract_usage);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "create") == 0)
		return cmd_pack_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_pack_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_pack_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "extract") == 0)
		return cmd_pack_extract(argc - 1, argv + 1);
	if (strcmp(argv[1], "encrypt") == 0)
		return cmd_pack_env_encrypt(argc - 1, argv + 1);
	if (strcmp(argv[1], "decrypt") == 0)
		return cmd_pack_env_decrypt(argc - 1, argv + 1);
	cli_usage_error("unknown pack command '%s' (create, verify, list, "
	                "extract, encrypt, decrypt)",
	    argv[1]);
}
