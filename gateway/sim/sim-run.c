/*
 * sim-run.c: posgw-sim, a simulator of ПОС behind the SMEV 3 adapter's file
 * channel: options, the main loop (issue appeals, answer, check what the
 * edge writes), the summary. The modules below it: sim-in.c, sim-out.c,
 * sim-gen.c, sim-answer.c, sim-xml.c and the shared tools of sim.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "package.h"
#include "sig.h"
#include "sim.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static void __attribute__((format(printf, 1, 2), noreturn))
sim_run_usage_error(const char *fmt, ...);
static void sim_run_signal(int sig);
static unsigned long long sim_run_opt_num(const char *opt, const char *arg,
    unsigned long long min, unsigned long long max);
static double sim_run_opt_real(const char *opt, const char *arg, double max);
static void sim_run_options(int argc, char **argv, struct sim_opts *o);
static char *sim_run_dir(const char *base, const char *sub);
static void sim_run_setup(struct sim *s);
static const char *sim_run_appeal_state(const struct sim_appeal *a);
static void sim_run_summary_file(struct sim *s, const char *line);
static int sim_run_summary(struct sim *s);
static void sim_run_sleep(double secs);
static void sim_run_issue_due(struct sim *s, double start, double t);

#define SIM_EXIT_USAGE 2

static volatile sig_atomic_t sim_run_stop;

static const char sim_run_usage_text[] =
    "usage: posgw-sim --base DIR [--attachments-in DIR] [--mnemonic NAME]\n"
    "                 [--count N] [--seed S] [--rate PER_SECOND]\n"
    "                 [--attachment-size BYTES] [--attachments N]\n"
    "                 [--attachments-exact] [--attachment-share PERCENT]\n"
    "                 [--appeal59-share PERCENT] [--feedback PERCENT]\n"
    "                 [--refuse PERCENT] [--signer-trust CERT]...\n"
    "                 [--timeout SECONDS] [--until-complete] [--issue-only]\n"
    "                 [--summary FILE] [--expect-stats N]\n"
    "                 [--lko-id ID[,ID...]] [--oktmo CODE[,CODE...]]\n"
    "                 [--verbose]\n"
    "\n"
    "Play ПОС behind the SMEV 3 adapter's file channel in DIR: send the\n"
    "classifier and N appeals into DIR/in/ (attachments under\n"
    "--attachments-in, default DIR/attachments-in), consume the edge's\n"
    "ClientMessage files from DIR/out/ (moved to out/sent/ or out/error/),\n"
    "check them and answer as ПОС would.\n"
    "\n"
    "  --base DIR              the adapter directory (in/, out/); required\n"
    "  --attachments-in DIR    where incoming attachments go\n"
    "  --mnemonic NAME         the information system (itSystem); default "
    "POSGW_TEST\n"
    "  --count N               appeals to issue (default 10)\n"
    "  --seed S                generation seed (default 1): same seed, same "
    "appeals\n"
    "  --rate PER_SECOND       appeals per second (default 50; 0 = at once)\n"
    "  --attachment-size BYTES size of each attachment, K/M/G suffixes "
    "(default 4096)\n"
    "  --attachments N         at most N attachments per appeal (default 1)\n"
    "  --attachments-exact     exactly N attachments per appeal (benchmarks)\n"
    "  --attachment-share PERCENT  attachments on PERCENT of the appeals\n"
    "                          only, spread evenly (default 100)\n"
    "  --appeal59-share PERCENT  appeals under 59-FZ (default 20)\n"
    "  --feedback PERCENT      citizen feedback after an answer (default 0)\n"
    "  --reappeal PERCENT      answered appeals whose author asks the same\n"
    "                          question again, a new appeal (59-FZ art. 11;\n"
    "                          default 0); the summary counts re-appeals\n"
    "  --refuse PERCENT        refuse valid status updates (default 0)\n"
    "  --signer-trust CERT     verify answer file signatures against CERT\n"
    "                          (repeatable); without it only check the CMS\n"
    "  --timeout SECONDS       stop after this long (default 600)\n"
    "  --issue-only            write the classifier and the N appeals and "
    "exit\n"
    "                          (prepares a workload; nothing is checked)\n"
    "  --until-complete        stop as soon as every appeal is complete\n"
    "  --expect-stats N        with --until-complete, also wait for N "
    "statistics\n"
    "                          uploads (P:Statistics) before stopping\n"
    "  --summary FILE          also write the summary and every appeal's\n"
    "                          history to FILE\n"
    "  --lko-id ID[,ID...]     the organizations' ПОС ids (ЛКО; default "
    "268828):\n"
    "                          appeals are spread over them\n"
    "  --oktmo CODE[,CODE...]  territories (ОКТМО) of the problems, spread "
    "over\n"
    "                          the appeals' locations (default: none given)\n"
    "  --verbose               log every decision to standard error too\n"
    "\n"
    "The last line on standard output is the summary; exit 0 iff every\n"
    "appeal is complete and nothing came out of order or invalid, 1 "
    "otherwise,\n"
    "2 on a usage error. Decisions are appended to DIR/sim.log. See "
    "posgw-sim(1).\n";

static void __attribute__((format(printf, 1, 2), noreturn))
sim_run_usage_error(const char *fmt, ...);

/*
 * Split a comma list of digit strings (each min..max digits; ОКТМО takes
 * 8 or 11) into rows of width w of out, at most cap; exits 2 on a bad one.
 */
static size_t
sim_run_list(const char *arg, const char *opt, size_t min, size_t max,
    char *out, size_t w, size_t cap)
{
	const char *p = arg, *q;
	size_t n = 0, len;

	for (;;) {
		q = p + strspn(p, "0123456789");
		len = (size_t)(q - p);
		if (len < min || len > max || (*q != ',' && *q != '\0') ||
		    (min == 8 && len != 8 && len != 11))
			sim_run_usage_error("%s: '%s' is not a list of %s", opt,
			    arg,
			    min == 8 ? "ОКТМО codes (8 or 11 digits)"
			             : "ids of 1 to 20 digits");
		if (n == cap)
			sim_run_usage_error("%s: at most %zu values", opt, cap);
		snprintf(out + n * w, w, "%.*s", (int)len, p);
		n++;
		if (*q == '\0')
			return n;
		p = q + 1;
	}
}

/* Report a usage error and exit with status 2. */
static void
sim_run_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posgw-sim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see posgw-sim --help\n");
	exit(SIM_EXIT_USAGE);
}

/* Signal handler: only sets the stop flag. */
static void
sim_run_signal(int sig)
{
	sim_run_stop = 1;
}

/* Parse an unsigned decimal option within [min, max]. */
static unsigned long long
sim_run_opt_num(const char *opt, const char *arg, unsigned long long min,
    unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*arg < '0' || *arg > '9')
		sim_run_usage_error("%s needs a number, not '%s'", opt, arg);
	v = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		sim_run_usage_error(
		    "%s needs a number from %llu to %llu, not '%s'", opt, min,
		    max, arg);
	return v;
}

/* Parse a non-negative decimal option (fractions allowed) up to max. */
static double
sim_run_opt_real(const char *opt, const char *arg, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !(v >= 0) || v > max)
		sim_run_usage_error(
		    "%s needs a number from 0 to %g, not '%s'", opt, max, arg);
	return v;
}

/* Parse the command line into o. */
static void
sim_run_options(int argc, char **argv, struct sim_opts *o)
{
	static const struct option opts[] = {
	    {"base", required_argument, NULL, 'b'},
	    {"attachments-in", required_argument, NULL, 'I'},
	    {"mnemonic", required_argument, NULL, 'm'},
	    {"count", required_argument, NULL, 'n'},
	    {"seed", required_argument, NULL, 's'},
	    {"rate", required_argument, NULL, 'r'},
	    {"attachment-size", required_argument, NULL, 'z'},
	    {"attachments", required_argument, NULL, 'a'},
	    {"attachments-exact", no_argument, NULL, 'x'},
	    {"attachment-share", required_argument, NULL, 'P'},
	    {"appeal59-share", required_argument, NULL, '5'},
	    {"reappeal", required_argument, NULL, 'A'},
	    {"feedback", required_argument, NULL, 'f'},
	    {"refuse", required_argument, NULL, 'R'},
	    {"signer-trust", required_argument, NULL, 't'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"until-complete", no_argument, NULL, 'u'},
	    {"expect-stats", required_argument, NULL, 'E'},
	    {"issue-only", no_argument, NULL, 'O'},
	    {"summary", required_argument, NULL, 'S'},
	    {"lko-id", required_argument, NULL, 'l'},
	    {"oktmo", required_argument, NULL, 'K'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof *o);
	o->mnemonic = "POSGW_TEST";
	snprintf(o->lko_ids[0], sizeof o->lko_ids[0], "268828");
	o->nlko = 1;
	o->count = 10;
	o->seed = 1;
	o->rate = 50;
	o->attachment_size = 4096;
	o->attachments = 1;
	o->attachment_share = 100;
	o->appeal59_share = 20;
	o->timeout = 600;
	while ((ch = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o->base = optarg;
			break;
		case 'I':
			o->attachments_in = optarg;
			break;
		case 'm':
			o->mnemonic = optarg;
			if (*optarg == '\0' || strpbrk(optarg, "<>&\"' \t\n"))
				sim_run_usage_error("--mnemonic '%s' is not a "
				                    "plain name",
				    optarg);
			break;
		case 'n':
			o->count = (size_t)sim_run_opt_num(
			    "--count", optarg, 0, SIM_MAX_COUNT);
			break;
		case 's':
			o->seed =
			    sim_run_opt_num("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'r':
			o->rate = sim_run_opt_real("--rate", optarg, 1e6);
			break;
		case 'z':
			if (pkg_size_parse(optarg, &o->attachment_size) == -1 ||
			    o->attachment_size < 1 ||
			    o->attachment_size > (1ULL << 32))
				sim_run_usage_error(
				    "--attachment-size needs 1 to "
				    "4G bytes (K, M, G suffixes), "
				    "not '%s'",
				    optarg);
			break;
		case 'a':
			o->attachments = (unsigned)sim_run_opt_num(
			    "--attachments", optarg, 0, SIM_MAX_ATTACHMENTS);
			break;
		case 'x':
			o->attachments_exact = 1;
			break;
		case 'P':
			o->attachment_share = (unsigned)sim_run_opt_num(
			    "--attachment-share", optarg, 0, 100);
			break;
		case '5':
			o->appeal59_share = (unsigned)sim_run_opt_num(
			    "--appeal59-share", optarg, 0, 100);
			break;
		case 'A':
			o->reappeal = (unsigned)sim_run_opt_num(
			    "--reappeal", optarg, 0, 100);
			break;
		case 'f':
			o->feedback = (unsigned)sim_run_opt_num(
			    "--feedback", optarg, 0, 100);
			break;
		case 'R':
			o->refuse = (unsigned)sim_run_opt_num(
			    "--refuse", optarg, 0, 100);
			break;
		case 't':
			if (o->nsigner_trust == SIM_MAX_TRUST)
				sim_run_usage_error(
				    "at most %d --signer-trust", SIM_MAX_TRUST);
			o->signer_trust[o->nsigner_trust++] = optarg;
			break;
		case 'T':
			o->timeout = sim_run_opt_real("--timeout", optarg, 1e7);
			if (o->timeout <= 0)
				sim_run_usage_error(
				    "--timeout needs a positive "
				    "number of seconds");
			break;
		case 'u':
			o->until_complete = 1;
			break;
		case 'E':
			o->expect_stats = (size_t)sim_run_opt_num(
			    "--expect-stats", optarg, 0, 1000);
			break;
		case 'O':
			o->issue_only = 1;
			break;
		case 'S':
			o->summary = optarg;
			break;
		case 'l':
			o->nlko = sim_run_list(optarg, "--lko-id", 1, 20,
			    o->lko_ids[0], sizeof o->lko_ids[0], SIM_MAX_LKO);
			break;
		case 'K':
			o->noktmo = sim_run_list(optarg, "--oktmo", 8, 11,
			    o->oktmo[0], sizeof o->oktmo[0], SIM_MAX_OKTMO);
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			fputs(sim_run_usage_text, stdout);
			exit(0);
		case 'V':
			printf("posgw-sim %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			fputs(sim_run_usage_text, stderr);
			exit(SIM_EXIT_USAGE);
		}
	}
	if (optind < argc)
		sim_run_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->base == NULL)
		sim_run_usage_error("--base DIR is required");
}

/* Create one directory (and parents) or exit naming it. */
static char *
sim_run_dir(const char *base, const char *sub)
{
	char *path;

	if (sub != NULL)
		xasprintf(&path, "%s/%s", base, sub);
	else
		path = xstrdup(base);
	if (fs_mkdir_p(path, 0755) == -1)
		fatal("cannot create directory %s; check the permissions of "
		      "--base",
		    path);
	return path;
}

/* Prepare directories, the log and the trust list. */
static void
sim_run_setup(struct sim *s)
{
	struct error err = {0};
	char *path;
	size_t i;

	s->in = sim_run_dir(s->o.base, "in");
	s->out = sim_run_dir(s->o.base, "out");
	s->sent = sim_run_dir(s->o.base, "out/sent");
	s->error = sim_run_dir(s->o.base, "out/error");
	if (s->o.attachments_in != NULL)
		s->ain = sim_run_dir(s->o.attachments_in, NULL);
	else
		s->ain = sim_run_dir(s->o.base, "attachments-in");
	xasprintf(&path, "%s/sim.log", s->o.base);
	if ((s->log = fopen(path, "ae")) == NULL)
		fatal("cannot open %s for appending; check the permissions of "
		      "--base",
		    path);
	free(path);
	if (s->o.nsigner_trust > 0) {
		s->trust = trust_new();
		for (i = 0; i < s->o.nsigner_trust; i++)
			if (trust_add_file(
			        s->trust, s->o.signer_trust[i], &err) == -1)
				fatalx("--signer-trust: %s", err.text);
	}
	/* room for one re-appeal per appeal when --reappeal asks for them */
	s->capfollow = s->o.reappeal > 0 ? s->o.count : 0;
	s->ap =
	    xcalloc(s->o.count + s->capfollow ? s->o.count + s->capfollow : 1,
	        sizeof *s->ap);
	sim_rng_seed(&s->dec, s->o.seed ^ 0x5eed0fd5c1510e5ULL);
	s->classifier_state = "unanswered";
}

/* The one-word state of an appeal for the summary file. */
static const char *
sim_run_appeal_state(const struct sim_appeal *a)
{
	switch (a->phase) {
	case SIM_PHASE_ANSWERED:
		return "answered";
	case SIM_PHASE_DECLINED:
		return "declined";
	case SIM_PHASE_FORWARDED:
		return "forwarded";
	case SIM_PHASE_WORK:
		return "in-work";
	case SIM_PHASE_NEW:
		break;
	}
	if (!a->issued)
		return "not-issued";
	if (a->edge_refused)
		return "refused-by-edge";
	return a->acks ? "acknowledged" : "unacknowledged";
}

/* Write the summary line and every appeal's history to --summary FILE. */
static void
sim_run_summary_file(struct sim *s, const char *line)
{
	struct error err = {0};
	struct sim_buf b = {0};
	struct sim_appeal *a;
	char *d, *f;
	size_t i;

	sim_buf_addf(&b, "%s\n", line);
	sim_buf_addf(&b,
	    "# also: refused-by-edge %zu, transport-statuses %zu, "
	    "feedback %zu, rejects-sent %zu, classifier %s\n",
	    s->c.refused_edge, s->c.transport, s->c.feedback, s->c.rejects,
	    s->classifier_state);
	sim_buf_add(&b, "# pos-id kind acknowledged state complete history "
	                "(n:STATUS:verdict) feedback\n");
	for (i = 0; i < sim_total(s); i++) {
		a = &s->ap[i];
		sim_buf_addf(&b, "%llu %s %u %s %s %s %d\n",
		    (unsigned long long)(SIM_POS_BASE + i),
		    a->kind[0] ? a->kind : "-", a->acks,
		    sim_run_appeal_state(a),
		    a->complete ? "complete" : "incomplete",
		    a->hist.len ? a->hist.s : "-", a->feedback);
	}
	d = xstrdup(s->o.summary);
	f = xstrdup(s->o.summary);
	if (fs_write_file(dirname(d), basename(f), b.s, b.len, 0644,
	        FS_WRITE_REPLACE, &err) == -1)
		log_warnx("--summary: %s; the summary is only on standard "
		          "output",
		    err.text);
	free(d);
	free(f);
	sim_buf_free(&b);
}

/* Print (last line of stdout) and save the summary; returns the exit code. */
static int
sim_run_summary(struct sim *s)
{
	char line[600], re[40] = "";
	size_t i, len, acked = 0;

	for (i = 0; i < sim_total(s); i++)
		if (s->ap[i].acks > 0)
			acked++;
	s->c.acknowledged = acked;
	if (s->o.reappeal > 0)
		snprintf(re, sizeof re, "re-appeals %zu, ", s->nfollow);
	snprintf(line, sizeof line,
	    "sim: issued %zu, acknowledged %zu, answered %zu, declined %zu, "
	    "forwarded %zu, refused-by-pos %zu, out-of-order %zu, invalid %zu, "
	    "missing %zu, %scomplete %zu/%zu",
	    s->c.issued, s->c.acknowledged, s->c.answered, s->c.declined,
	    s->c.forwarded, s->c.refused_pos, s->c.order, s->c.invalid,
	    sim_total(s) - s->c.complete, re, s->c.complete, sim_total(s));
	if (s->c.stats > 0) {
		len = strlen(line);
		if (s->c.stats_bad == 0)
			snprintf(line + len, sizeof line - len,
			    ", stats %zu (totals match)", s->c.stats);
		else
			snprintf(line + len, sizeof line - len,
			    ", stats %zu (totals differ in %zu)", s->c.stats,
			    s->c.stats_bad);
	}
	sim_log(s, "%s", line);
	if (s->o.summary != NULL)
		sim_run_summary_file(s, line);
	printf("%s\n", line);
	fflush(stdout);
	return s->c.complete == sim_total(s) && s->c.order == 0 &&
	               s->c.invalid == 0 && s->c.stats_bad == 0 &&
	               s->c.stats >= s->o.expect_stats
	           ? 0
	           : 1;
}

/* Sleep for up to secs seconds (interrupted by signals). */
static void
sim_run_sleep(double secs)
{
	struct timespec ts;

	if (secs < 0.001)
		secs = 0.001;
	if (secs > 0.05)
		secs = 0.05;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Issue the appeals that are due at time t (at most a batch at once). */
static void
sim_run_issue_due(struct sim *s, double start, double t)
{
	unsigned batch = 0;
	size_t i;

	while (s->c.issued < s->o.count && batch < 200) {
		if (s->o.rate > 0 &&
		    t < start + (double)s->c.issued / s->o.rate)
			break;
		sim_in_appeal(s, s->c.issued);
		s->c.issued++;
		batch++;
	}
	/* re-appeals as soon as they are asked (not counted in issued) */
	for (i = s->o.count; i < sim_total(s); i++)
		if (!s->ap[i].issued)
			sim_in_appeal(s, i);
}

/* Run the simulator; returns the exit status. */
int
sim_run(int argc, char **argv)
{
	struct sigaction sa;
	double start, t, wake, next;
	struct sim s;
	int timed_out = 0, rc;
	size_t i;

	log_init("posgw-sim", LOG_LEVEL_INFO);
	memset(&s, 0, sizeof s);
	sim_run_options(argc, argv, &s.o);
	if (s.o.verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	sig_init();
	xmlsafe_init();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sim_run_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sim_run_setup(&s);
	sim_log(&s,
	    "start base=%s count=%zu seed=%llu rate=%g attachments=%u "
	    "size=%llu appeal59=%u%% feedback=%u%% refuse=%u%% trust=%zu "
	    "timeout=%g%s",
	    s.o.base, s.o.count, (unsigned long long)s.o.seed, s.o.rate,
	    s.o.attachments, (unsigned long long)s.o.attachment_size,
	    s.o.appeal59_share, s.o.feedback, s.o.refuse, s.o.nsigner_trust,
	    s.o.timeout, s.o.until_complete ? " until-complete" : "");

	start = sim_now();
	sim_in_classifier(&s);
	while (!sim_run_stop) {
		t = sim_now();
		sim_run_issue_due(&s, start, t);
		sim_in_fills(&s, t, 0);
		if (s.o.issue_only && s.c.issued == s.o.count)
			break;
		sim_out_scan(&s);
		if (s.o.until_complete && s.c.issued == s.o.count &&
		    s.c.complete == sim_total(&s) &&
		    s.c.stats >= s.o.expect_stats)
			break;
		t = sim_now();
		if (t - start >= s.o.timeout) {
			timed_out = 1;
			break;
		}
		wake = t + 0.05;
		if (s.c.issued < s.o.count && s.o.rate > 0) {
			next = start + (double)s.c.issued / s.o.rate;
			if (next < wake)
				wake = next;
		}
		if ((next = sim_in_next_fill(&s)) < wake)
			wake = next;
		sim_run_sleep(wake - t);
	}
	if (sim_run_stop)
		sim_log(&s, "stopped by a signal");
	if (timed_out)
		sim_log(&s, "timeout after %g s", s.o.timeout);
	sim_in_fills(&s, sim_now(), 1);
	if (s.o.issue_only) {
		printf("issued %zu appeals\n", s.c.issued);
		rc = s.c.issued == s.o.count ? 0 : 1;
	} else
		rc = sim_run_summary(&s);
	if (timed_out && s.o.until_complete)
		rc = 1;

	for (i = 0; i < sim_total(&s); i++)
		sim_buf_free(&s.ap[i].hist);
	free(s.ap);
	free(s.reqs);
	free(s.fills);
	free(s.stats_ids);
	trust_free(s.trust);
	if (s.log != NULL)
		fclose(s.log);
	free(s.in);
	free(s.out);
	free(s.sent);
	free(s.error);
	free(s.ain);
	return rc;
}
