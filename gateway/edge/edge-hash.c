/*
 * edge-hash.c: custody hashing on every CPU the edge may run on. At the
 * start of a round the in/ files it will take are read ahead and the
 * attachments their requests name are queued; a worker per CPU computes
 * their Streebog-256 digests (store_hash_known) while the main thread does
 * the XML and SQLite work of each appeal in order. Custody asks for a
 * file's digest when it reaches it (edge_hash_get): done, it is used;
 * being computed, it waits; not started, the main thread computes it
 * itself. Only the digests are computed ahead: what custody records, in
 * which order, in which transaction and savepoint, is unchanged, and the
 * store checks that the file it links is still the one hashed. The workers
 * never outlive the round: edge_hash_finish skips what is left and joins
 * them.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "edge-int.h"
#include "log.h"
#include "smev.h"
#include "xmalloc.h"
#include "xmlsafe.h"

enum edge_hash_state { EDGE_HASH_QUEUED, EDGE_HASH_RUNNING, EDGE_HASH_DONE };

struct edge_hash_job {
	char *path;
	enum edge_hash_state state;
	int ok;
	struct xfer_hash h;
};

struct edge_hash {
	pthread_mutex_t mu;
	pthread_cond_t done;
	struct edge_hash_job *jobs;
	size_t njobs, next;
	uint64_t bytes; /* queued */
	int stop;
	pthread_t *threads;
	size_t nthreads;
};

static void edge_hash_add(
    struct edge_hash *hp, const char *path, uint64_t size);
static void edge_hash_plan_file(
    struct edge *e, struct edge_hash *hp, const char *name);
static void edge_hash_run(struct edge_hash_job *j);
static void *edge_hash_worker(void *arg);

/*
 * How many workers, counted once at start (the sandbox then forbids the
 * question): one per CPU the edge may run on, which its affinity says
 * (systemd's CPUAffinity=, a container's cpuset), not every CPU the
 * machine has; at least one, which on a single CPU hashes while the main
 * thread waits for its syncs.
 */
size_t
edge_hash_workers(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof set, &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 1 ? (size_t)n : 1;
}

/* Queue a file of size bytes once. */
static void
edge_hash_add(struct edge_hash *hp, const char *path, uint64_t size)
{
	size_t i;

	for (i = 0; i < hp->njobs; i++)
		if (strcmp(hp->jobs[i].path, path) == 0)
			return;
	hp->jobs = xreallocarray(hp->jobs, hp->njobs + 1, sizeof *hp->jobs);
	memset(&hp->jobs[hp->njobs], 0, sizeof hp->jobs[hp->njobs]);
	hp->jobs[hp->njobs++].path = xstrdup(path);
	hp->bytes += size;
}

/*
 * Read an in/ file ahead (nothing is changed) and queue the attachments
 * its request names where the adapter keeps them: <attachments-in>/<Id>/
 * <clientId>/<filePath> or <attachments-in>/<clientId>/<filePath>.
 */
static void
edge_hash_plan_file(struct edge *e, struct edge_hash *hp, const char *name)
{
	struct error err = {0};
	struct smev_msg sm;
	struct stat sb;
	xmlNodePtr list, h;
	xmlDocPtr doc;
	char *path, *id, *fp, *src;
	int i;

	xasprintf(&path, "%s/%s", e->in, name);
	if (lstat(path, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		free(path);
		return;
	}
	doc = xmlsafe_parse_file(
	    path, e->max_xml, e->max_depth, ERR_PAYLOAD, &err);
	free(path);
	if (doc == NULL)
		return;
	if (smev_read(doc, &sm, &err) == 0 && sm.kind == SMEV_REQUEST &&
	    smev_id_ok(sm.client_id)) {
		list = smev_path(sm.message, "RequestContent", "content",
		    "AttachmentHeaderList", NULL);
		for (h = list != NULL ? list->children : NULL; h != NULL;
		     h = h->next) {
			if (!xmlsafe_is(h, SMEV_NS, "AttachmentHeader"))
				continue;
			id = smev_text(smev_child(h, "Id"));
			fp = smev_text(smev_child(h, "filePath"));
			for (i = 0; i < 2 && smev_id_ok(id) && fp != NULL &&
			            smev_relpath_ok(fp);
			     i++) {
				if (i == 0)
					xasprintf(&src, "%s/%s/%s/%s", e->ain,
					    id, sm.client_id, fp);
				else
					xasprintf(&src, "%s/%s/%s", e->ain,
					    sm.client_id, fp);
				if (lstat(src, &sb) == 0 &&
				    S_ISREG(sb.st_mode) && sb.st_size > 0) {
					edge_hash_add(
					    hp, src, (uint64_t)sb.st_size);
					free(src);
					break;
				}
				free(src);
			}
			free(id);
			free(fp);
		}
	}
	smev_free(&sm);
	xmlFreeDoc(doc);
}

/*
 * Start a round's hashing: queue the attachments of the in/ files the
 * round will take (names in order; at most budget files and about cap
 * bytes of attachments) and start the workers. Without attachments to
 * hash nothing is started.
 */
void
edge_hash_start(
    struct edge *e, char **names, size_t n, size_t budget, uint64_t cap)
{
	struct edge_hash *hp;
	sigset_t all, old;
	size_t i, taken = 0, want;

	edge_hash_finish(e);
	hp = xcalloc(1, sizeof *hp);
	for (i = 0; i < n && taken < budget && hp->bytes < cap; i++) {
		if (edge_msg_is_stuck(e, names[i]))
			continue;
		edge_hash_plan_file(e, hp, names[i]);
		taken++;
	}
	if (hp->njobs == 0) {
		free(hp);
		return;
	}
	if (pthread_mutex_init(&hp->mu, NULL) != 0 ||
	    pthread_cond_init(&hp->done, NULL) != 0)
		fatalx("cannot make the custody hashing lock");
	want = e->hash_workers;
	if (want > hp->njobs)
		want = hp->njobs;
	hp->threads = xcalloc(want, sizeof *hp->threads);
	/* the workers take no signals: the main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < want; i++) {
		if ((errno = pthread_create(&hp->threads[hp->nthreads], NULL,
		         edge_hash_worker, hp)) != 0) {
			/* the main thread hashes what no worker takes */
			log_warn("cannot start a custody hashing thread");
			break;
		}
		hp->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	e->hash = hp;
}

/* Compute one job's digest (on any thread, without the lock). */
static void
edge_hash_run(struct edge_hash_job *j)
{
	struct error err = {0};

	j->ok = store_hash_known(j->path, &j->h, &err) == 0;
}

/* A worker: take queued jobs in order until none is left or the round ends. */
static void *
edge_hash_worker(void *arg)
{
	struct edge_hash *hp = arg;
	struct edge_hash_job *j;

	pthread_mutex_lock(&hp->mu);
	while (!hp->stop && hp->next < hp->njobs) {
		j = &hp->jobs[hp->next++];
		if (j->state != EDGE_HASH_QUEUED)
			continue;
		j->state = EDGE_HASH_RUNNING;
		pthread_mutex_unlock(&hp->mu);
		edge_hash_run(j);
		pthread_mutex_lock(&hp->mu);
		j->state = EDGE_HASH_DONE;
		pthread_cond_broadcast(&hp->done);
	}
	pthread_mutex_unlock(&hp->mu);
	return NULL;
}

/*
 * The digest computed ahead for a file about to be taken, or NULL (not
 * queued, or unreadable then: the store hashes it itself). Waits for a
 * worker computing it; computes it here if no worker has started it.
 */
const struct xfer_hash *
edge_hash_get(struct edge *e, const char *path)
{
	struct edge_hash *hp = e->hash;
	struct edge_hash_job *j = NULL;
	size_t i;

	if (hp == NULL)
		return NULL;
	for (i = 0; i < hp->njobs && j == NULL; i++)
		if (strcmp(hp->jobs[i].path, path) == 0)
			j = &hp->jobs[i];
	if (j == NULL)
		return NULL;
	pthread_mutex_lock(&hp->mu);
	if (j->state == EDGE_HASH_QUEUED) {
		j->state = EDGE_HASH_RUNNING;
		pthread_mutex_unlock(&hp->mu);
		edge_hash_run(j);
		pthread_mutex_lock(&hp->mu);
		j->state = EDGE_HASH_DONE;
	}
	while (j->state != EDGE_HASH_DONE)
		pthread_cond_wait(&hp->done, &hp->mu);
	pthread_mutex_unlock(&hp->mu);
	return j->ok ? &j->h : NULL;
}

/* End a round's hashing: skip what is left, join the workers, free. */
void
edge_hash_finish(struct edge *e)
{
	struct edge_hash *hp = e->hash;
	size_t i;

	if (hp == NULL)
		return;
	pthread_mutex_lock(&hp->mu);
	hp->stop = 1;
	pthread_mutex_unlock(&hp->mu);
	for (i = 0; i < hp->nthreads; i++)
		if (pthread_join(hp->threads[i], NULL) != 0)
			fatalx("cannot join a custody hashing thread");
	pthread_cond_destroy(&hp->done);
	pthread_mutex_destroy(&hp->mu);
	for (i = 0; i < hp->njobs; i++)
		free(hp->jobs[i].path);
	free(hp->jobs);
	free(hp->threads);
	free(hp);
	e->hash = NULL;
}
