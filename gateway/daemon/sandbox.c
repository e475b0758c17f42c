/*
 * sandbox.c: after start-up a gateway daemon gives up writing anywhere
 * but its own directories, with Landlock (Linux 5.13 and later): its state
 * directory and quarantine, the outbox and the folder holding the inbox,
 * the adapter's folders (edge) or the EDMS folders (core). Reading stays
 * allowed everywhere (configuration reloads, certificates, schemas, time
 * zones, GnuTLS's own files). Where the kernel has no Landlock the daemon
 * says so and runs as before.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "xmalloc.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

#define SANDBOX_READ                                                           \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |           \
	    LANDLOCK_ACCESS_FS_READ_DIR)
#define SANDBOX_WRITE_V1                                                       \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |       \
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |    \
	    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |        \
	    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |      \
	    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

/* Add a rule granting access to the hierarchy under path. */
static int
sandbox_rule(int rfd, const char *path, uint64_t access, struct error *err)
{
	struct landlock_path_beneath_attr pb;
	int fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0; /* made later, under a granted parent */
		return err_set(err, ERR_NONE, "sandbox: cannot open %s: %s",
		    path, strerror(errno));
	}
	memset(&pb, 0, sizeof pb);
	pb.allowed_access = access;
	pb.parent_fd = fd;
	rc = (int)syscall(
	    SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(fd);
	if (rc == -1)
		return err_set(err, ERR_NONE, "sandbox: cannot grant %s: %s",
		    path, strerror(errno));
	return 0;
}

/* The directory holding path (for folders that may be replaced). */
static char *
sandbox_parent(const char *path)
{
	char *p = xstrdup(path), *s;

	while ((s = strrchr(p, '/')) != NULL && s[1] == '\0' && s != p)
		*s = '\0';
	if ((s = strrchr(p, '/')) == NULL) {
		free(p);
		return xstrdup(".");
	}
	if (s == p)
		s[1] = '\0';
	else
		*s = '\0';
	return p;
}

/*
 * Where a sanitizer build writes its reports (log_path= in ASAN_OPTIONS or
 * UBSAN_OPTIONS): that directory stays writable, or a restricted daemon's
 * report would be lost. NULL when not set.
 */
static char *
sandbox_report_dir(const char *var)
{
	const char *v = getenv(var), *p;
	char *path, *dir;
	size_t n;

	if (v == NULL || (p = strstr(v, "log_path=")) == NULL)
		return NULL;
	p += 9;
	n = strcspn(p, ": ");
	path = xmalloc(n + 1);
	memcpy(path, p, n);
	path[n] = '\0';
	dir = sandbox_parent(path);
	free(path);
	return dir;
}

/*
 * Restrict the process: writes only under the daemon's directories. role
 * is "edge" or "core". Returns 0 (also when the kernel has no Landlock,
 * which is logged), -1 on a failure to set it up.
 */
int
sandbox_apply(const struct conf *c, const char *role, struct error *err)
{
	struct landlock_ruleset_attr ra;
	const char *own[8];
	uint64_t write;
	char *parent;
	size_t i, n = 0;
	int abi, rfd, rc = 0;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_info("sandbox: this kernel has no Landlock (%s); running "
		         "without the file-system restriction",
		    strerror(errno));
		return 0;
	}
	write = SANDBOX_WRITE_V1;
	if (abi >= 2)
		write |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		write |= LANDLOCK_ACCESS_FS_TRUNCATE;
	memset(&ra, 0, sizeof ra);
	ra.handled_access_fs = SANDBOX_READ | write;
	rfd = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof ra, 0);
	if (rfd == -1)
		return err_set(err, ERR_NONE,
		    "sandbox: cannot create a Landlock ruleset: %s",
		    strerror(errno));
	own[n++] = c->state;
	if (c->quarantine != NULL)
		own[n++] = c->quarantine;
	if (strcmp(role, "edge") == 0) {
		own[n++] = c->smev.base;
		if (c->smev.attachments_in != NULL)
			own[n++] = c->smev.attachments_in;
		if (c->smev.attachments_out != NULL)
			own[n++] = c->smev.attachments_out;
	} else {
		own[n++] = c->edms.export_dir;
		own[n++] = c->edms.import_dir;
	}
	rc = sandbox_rule(rfd, "/", SANDBOX_READ, err);
	for (i = 0; i < n && rc == 0; i++)
		if (own[i] != NULL)
			rc = sandbox_rule(
			    rfd, own[i], SANDBOX_READ | write, err);
	/*
	 * The outbox, and the folder holding the inbox: an inbox may vanish
	 * and come back as a new directory (removable media, NFS), and a rule
	 * follows the directory it was made for, not its name.
	 */
	rc = rc == 0 ? sandbox_rule(rfd, c->outbox, SANDBOX_READ | write, err)
	             : rc;
	parent = sandbox_parent(c->inbox);
	rc =
	    rc == 0 ? sandbox_rule(rfd, parent, SANDBOX_READ | write, err) : rc;
	free(parent);
	for (i = 0; i < 2 && rc == 0; i++) {
		parent = sandbox_report_dir(
		    i == 0 ? "ASAN_OPTIONS" : "UBSAN_OPTIONS");
		if (parent != NULL)
			rc = sandbox_rule(
			    rfd, parent, SANDBOX_READ | write, err);
		free(parent);
	}
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		rc = err_set(err, ERR_NONE, "sandbox: PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
	if (rc == 0 && syscall(SYS_landlock_restrict_self, rfd, 0) == -1)
		rc = err_set(err, ERR_NONE, "sandbox: cannot restrict: %s",
		    strerror(errno));
	close(rfd);
	if (rc == 0)
		log_info("sandbox: Landlock ABI %d: writes only under the "
		         "state, transfer and %s folders",
		    abi, strcmp(role, "edge") == 0 ? "adapter" : "EDMS");
	return rc;
}
