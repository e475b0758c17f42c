/*
 * gatewayd.c: the common main of posgw-edge and posgw-core: configuration,
 * signals, and the transfer engine's loop. SIGTERM lets the unit of work in
 * hand finish (or roll back) and exits cleanly; SIGHUP reloads what is safe
 * to reload (log level, batching, intervals).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certwatch.h"
#include "conf.h"
#include "fsutil.h"
#include "gatewayd.h"
#include "sandbox.h"
#include "sysfilter.h"
#include "log.h"
#include "sig.h"
#include "xfer.h"
#include "xmalloc.h"
#include "xmlsafe.h"

static volatile sig_atomic_t gatewayd_stop;
static volatile sig_atomic_t gatewayd_reload;

/* What the daemon was asked on its command line. */
/* What each round of the engine runs: see gatewayd_round. */
struct gatewayd_round {
	int (*step)(struct xfer *, void *, int *);
	void *rs;
	struct certwatch cw;
};

struct gatewayd_opts {
	const char *path;  /* the configuration */
	const char *probe; /* --sandbox-check PATH */
	int check, once, verbose, scprobe;
};

static void gatewayd_signal(int sig);
static int gatewayd_round(struct xfer *, void *, int *);
static int gatewayd_owner(const char *, const char *, int, struct error *);
static void gatewayd_usage(FILE *f, const char *role);
static int gatewayd_lock(
    const char *state, const char *progname, struct error *err);
static void gatewayd_reload_config(
    const char *path, struct xfer *x, struct conf *cur);
static int gatewayd_probe(const char *path);
static int gatewayd_opts(const char *role, int argc, char **argv,
    struct gatewayd_opts *o, int *status);
static int gatewayd_serve(const struct gatewayd_opts *o, struct conf *c,
    struct xfer *x, const char *progname, const char *role);

/* Signal handler: only sets flags. */
static void
gatewayd_signal(int sig)
{
	if (sig == SIGHUP)
		gatewayd_reload = 1;
	else
		gatewayd_stop = 1;
}

/* Print usage for role. */
static void
gatewayd_usage(FILE *f, const char *role)
{
	fprintf(f,
	    "usage: posgw-%s [--config FILE] [--foreground] [--check-config]\n"
	    "                  [--once] [--verbose] [--sandbox-check PATH]\n"
	    "                  [--seccomp-check] [--version]\n"
	    "\n"
	    "Run the %s gateway: pack queued documents for the peer, watch "
	    "the\n"
	    "inbox and import the peer's packages, answer with receipts, "
	    "re-offer\n"
	    "unreceipted packages and sign journal checkpoints. Default "
	    "config:\n"
	    "%s/posgw/%s.conf. It never forks: --foreground is accepted for\n"
	    "compatibility. --check-config parses the file, loads keys and "
	    "opens\n"
	    "the database, then exits. --once does one round of work and "
	    "exits.\n"
	    "--sandbox-check PATH starts up, restricts itself as it would to\n"
	    "run, tries to create PATH and exits 0 if that was refused.\n"
	    "--seccomp-check starts up, restricts itself as it would to run "
	    "and\n"
	    "makes a system call off its allow-list (a socket): it must die "
	    "of\n"
	    "SIGSYS (exit 1 if the call was allowed).\n"
	    "See posgw-%s(8) and posgw-gateway.conf(5).\n",
	    role, role, SYSCONFDIR, role, role);
}

/*
 * Refuse to run as another account than the one that owns the state folder
 * (root too): a check, probe or --once started by hand as root would leave
 * folders and a database the gateway's own account cannot use. A state not
 * made yet is made by whoever runs first.
 */
static int
gatewayd_owner(
    const char *state, const char *progname, int check, struct error *err)
{
	struct passwd *pw;
	struct stat st;
	char owner[64], me[64];

	if (stat(state, &st) == -1 || st.st_uid == geteuid())
		return 0;
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(owner, sizeof owner, "%s", pw->pw_name);
	else
		snprintf(
		    owner, sizeof owner, "uid %lu", (unsigned long)st.st_uid);
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(me, sizeof me, "%s", pw->pw_name);
	else
		snprintf(me, sizeof me, "uid %lu", (unsigned long)geteuid());
	return err_set(err, ERR_NONE,
	    "the state %s belongs to %s, so %s runs as that account, not as "
	    "%s: sudo -u %s %s%s --config FILE (run as %s it would leave "
	    "files the gateway cannot use)",
	    state, owner, progname, me, owner, progname,
	    check ? " --check-config" : "", me);
}

/*
 * Take the state directory for this daemon: an exclusive flock on
 * STATE/posgw.lock (never waiting) with our PID written into it, held until
 * exit. A second daemon on the same state is refused and told which PID
 * holds it. Returns the descriptor, or -1 with err set.
 */
static int
gatewayd_lock(const char *state, const char *progname, struct error *err)
{
	char *path, holder[64] = "";
	ssize_t n;
	int fd;

	if (fs_mkdir_p(state, 0700) == -1)
		return err_set(err, ERR_NONE, "cannot create %s: %s", state,
		    strerror(errno));
	xasprintf(&path, "%s/posgw.lock", state);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		err_set(err, ERR_NONE,
		    "cannot open the lock file %s: %s; check that %s belongs "
		    "to this daemon's account",
		    path, strerror(errno), state);
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, holder, sizeof holder - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			holder[strcspn(holder, "\n")] = '\0';
			err_set(err, ERR_NONE,
			    "the state directory %s is in use by %s (per %s): "
			    "two daemons must never share a state; stop the "
			    "running one first (systemctl stop %s) or give "
			    "this one another [gateway] state",
			    state, holder[0] ? holder : "another process", path,
			    progname);
		} else
			err_set(err, ERR_NONE, "cannot lock %s: %s", path,
			    strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	snprintf(
	    holder, sizeof holder, "%s PID %ld\n", progname, (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, holder, strlen(holder), 0) != (ssize_t)strlen(holder))
		log_warn("cannot write our PID into %s", path);
	free(path);
	return fd;
}

/* Apply what may change on SIGHUP. */
static void
gatewayd_reload_config(const char *path, struct xfer *x, struct conf *cur)
{
	struct error err = {0};
	struct conf c;

	if (conf_load(path, &c, &err) == -1) {
		log_warnx(
		    "reload: %s; keeping the running configuration", err.text);
		conf_free(&c);
		return;
	}
	if (strcmp(c.own_id, cur->own_id) != 0 ||
	    strcmp(c.peer_id, cur->peer_id) != 0 ||
	    strcmp(c.state, cur->state) != 0)
		log_warnx("reload: id, peer and state need a restart; "
		          "applying the rest");
	xfer_reconfigure(x, &c.x);
	log_set_level(c.log_level);
	log_info("reloaded %s", path);
	conf_free(&c);
}

/*
 * --sandbox-check: after the restriction, try to create path; 0 if that
 * is refused (what an operator wants to see), 1 if it succeeded.
 */
static int
gatewayd_probe(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		printf("sandbox: creating %s refused: %s\n", path,
		    strerror(errno));
		return 0;
	}
	close(fd);
	unlink(path);
	printf("sandbox: creating %s was allowed\n", path);
	return 1;
}

/* Read the command line; returns -1 to exit with *status. */
static int
gatewayd_opts(const char *role, int argc, char **argv, struct gatewayd_opts *o,
    int *status)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"once", no_argument, NULL, '1'},
	    {"sandbox-check", required_argument, NULL, 'S'},
	    {"seccomp-check", no_argument, NULL, 'Y'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static char dflt[256];
	int ch;

	memset(o, 0, sizeof *o);
	while ((ch = getopt_long(argc, argv, "c:fhnv1", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->path = optarg;
			break;
		case 'f':
			break;
		case 'n':
			o->check = 1;
			break;
		case '1':
			o->once = 1;
			break;
		case 'S':
			o->probe = optarg;
			break;
		case 'Y':
			o->scprobe = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'V':
			printf("posgw-%s %s\n", role, PACKAGE_VERSION);
			*status = 0;
			return -1;
		case 'h':
			gatewayd_usage(stdout, role);
			*status = 0;
			return -1;
		default:
			gatewayd_usage(stderr, role);
			*status = 2;
			return -1;
		}
	}
	if (optind != argc) {
		gatewayd_usage(stderr, role);
		*status = 2;
		return -1;
	}
	if (o->path == NULL) {
		snprintf(
		    dflt, sizeof dflt, "%s/posgw/%s.conf", SYSCONFDIR, role);
		o->path = dflt;
	}
	return 0;
}

/*
 * Each round of the engine: the certificates' daily check, then the
 * role's own work (the ПОС side or the EDMS side).
 */
static int
gatewayd_round(struct xfer *x, void *arg, int *did)
{
	struct gatewayd_round *r = arg;

	certwatch_daily(&r->cw, xfer_db(x), time(NULL));
	return r->step != NULL ? r->step(x, r->rs, did) : 0;
}

/* main() of both daemons. */
int
gatewayd_main(const struct gateway_role *gr, int argc, char **argv)
{
	struct gatewayd_opts o;
	char progname[32];
	struct error err = {0};
	struct conf c;
	struct xfer *x;
	struct gatewayd_round round;
	void *rs = NULL;
	const char *role = gr->name;
	int lockfd = -1, tool, status;

	memset(&round, 0, sizeof round);
	snprintf(progname, sizeof progname, "posgw-%s", role);
	log_init(progname, LOG_LEVEL_INFO);
	if (gatewayd_opts(role, argc, argv, &o, &status) == -1)
		return status;
	sig_init();
	xmlsafe_init();
	if (conf_load(o.path, &c, &err) == -1 ||
	    conf_check_role(&c, role, &err) == -1) {
		log_errorx("%s", err.text);
		conf_free(&c);
		return 1;
	}
	log_set_level(o.verbose ? LOG_LEVEL_DEBUG : c.log_level);
	/*
	 * A daemon (also --once) owns its state; the checks and probes only
	 * look, so they may run beside it (they open the engine as a tool:
	 * nothing of the running daemon's is cleaned away).
	 */
	tool = o.check || o.probe != NULL || o.scprobe;
	if (gatewayd_owner(c.state, progname, o.check, &err) == -1 ||
	    (!tool &&
	        (lockfd = gatewayd_lock(c.state, progname, &err)) == -1)) {
		log_errorx("%s", err.text);
		conf_free(&c);
		return 1;
	}
	if ((x = xfer_open(&c.x, tool, &err)) == NULL) {
		log_errorx("%s", err.text);
		status = 1;
		goto out_conf;
	}
	if (gr->open != NULL) {
		if ((rs = gr->open(x, &c, &err)) == NULL) {
			log_errorx("%s", err.text);
			status = 1;
			goto out_xfer;
		}
		round.step = gr->step;
		round.rs = rs;
	}
	round.cw.conf = &c;
	xfer_set_hook(x, gatewayd_round, &round);
	status = gatewayd_serve(&o, &c, x, progname, role);
	if (gr->close != NULL)
		gr->close(rs);
out_xfer:
	xfer_close(x);
out_conf:
	conf_free(&c);
	if (lockfd != -1)
		close(lockfd);
	return status;
}

/*
 * With everything open: print the check, or restrict the process (sandbox,
 * seccomp) and run the probe asked for, one round or until a stop signal.
 * Returns the exit status.
 */
static int
gatewayd_serve(const struct gatewayd_opts *o, struct conf *c, struct xfer *x,
    const char *progname, const char *role)
{
	struct error err = {0};
	struct sigaction sa;
	int did = 0;

	if (o->check) {
		printf("%s: configuration ok (%s <-> %s, state %s)\n", o->path,
		    c->own_id, c->peer_id, c->state);
		return 0;
	}
	if (((c->sandbox || o->probe != NULL) &&
	        sandbox_apply(c, role, &err) == -1) ||
	    sysfilter_apply((enum sysfilter_mode)c->seccomp, progname, &err) ==
	        -1) {
		log_errorx("%s; set [gateway] %s = no to run without it",
		    err.text,
		    strncmp(err.text, "seccomp", 7) == 0 ? "seccomp"
		                                         : "sandbox");
		return 1;
	}
	if (o->scprobe)
		return sysfilter_probe();
	if (o->probe != NULL)
		return gatewayd_probe(o->probe);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = gatewayd_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (o->once) {
		xfer_step(x, &did);
		return 0;
	}
	while (!gatewayd_stop) {
		xfer_run(x, &gatewayd_stop, &gatewayd_reload);
		if (gatewayd_reload) {
			gatewayd_reload = 0;
			gatewayd_reload_config(o->path, x, c);
		}
	}
	log_info("stopping");
	return 0;
}
