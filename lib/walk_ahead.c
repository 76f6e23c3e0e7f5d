/*
 * walk_ahead.c: a framework's executors read ahead on worker threads
 * and handed to the visitor in order (walker.h).
 */
#include "walker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "at.h"
#include "paths.h"
#include "proc.h"
#include "record.h"
#include "taskstate.h"

/* ---- reading executors ahead ----
 *
 * A framework's executors are read by worker threads (four per CPU the
 * process may use, at most AHEAD_THREADS: a read whose page the kernel
 * has let go waits for the disk, and the other threads keep the CPU busy
 * meanwhile; `recover --json` over 10,000 executors after drop_caches on
 * 2 CPUs: 2 threads 10-12 s, 4 threads 7.3-18 s, 8 threads 5.2-6.9 s; a
 * warm cache, the same with 2, 4 or 8), at most AHEAD beyond the one
 * being handed over, and handed to the visitor in order on the calling
 * thread.  What the walk gives, and in what order, is what one thread
 * reading them one by one gives; only the reading (system calls, mostly:
 * at 10,000 executors, a restart's second core was idle) is shared.  A
 * worker has its own walker (its paths for errors, its error); what it
 * would note on the framework waits in its slot until the visitor's
 * thread gets there.  With one CPU, or no thread to be had, the calling
 * thread reads each executor when it gets to it.
 */
#define AHEAD		64
#define AHEAD_THREADS	8


struct ahead {
	pthread_mutex_t mu;
	pthread_cond_t done, room;
	struct walker w;	/* at the executors directory */
	int xs;
	struct names *l;
	size_t next, taken;	/* next to read; first not yet handed over */
	bool stop;
	int n_threads;
	pthread_t t[AHEAD_THREADS];
	struct slot s[AHEAD];
};

/* Read executor name (ours now) below xs into sl; w is the reader's own
 * walker, at the executors directory. */
static void
slot_fill(struct walker *w, int xs, char *name, struct slot *sl)
{
	size_t old = w->len;
	int xfd;

	w->e = &sl->e;
	sl->x.id = name;
	if (!walk_filter_executor(w->f, name)) {
		sl->none = true;
		return;
	}
	if ((xfd = wk_sub_open(w, xs, name, &sl->errors)) < 0) {
		sl->none = xfd == -ENOENT;
		sl->rc = xfd;
		return;
	}
	wk_push(w, name);
	sl->rc = wk_read_executor(w, xfd, &sl->x);
	wk_pop(w, old);
	close(xfd);
}

static void *
ahead_worker(void *arg)
{
	struct ahead *ah = arg;
	struct walker w = ah->w;

	pthread_mutex_lock(&ah->mu);
	for (;;) {
		while (!ah->stop && ah->next < ah->l->n &&
		    ah->next >= ah->taken + AHEAD)
			pthread_cond_wait(&ah->room, &ah->mu);
		if (ah->stop || ah->next >= ah->l->n)
			break;
		size_t i = ah->next++;
		char *name = ah->l->v[i];
		ah->l->v[i] = NULL;
		pthread_mutex_unlock(&ah->mu);
		slot_fill(&w, ah->xs, name, &ah->s[i % AHEAD]);
		pthread_mutex_lock(&ah->mu);
		ah->s[i % AHEAD].done = true;
		pthread_cond_broadcast(&ah->done);
	}
	pthread_mutex_unlock(&ah->mu);
	return NULL;
}

static int
cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
}

/* A worker holds this many descriptors at most (executor, runs, run,
 * tasks, task directories and a file, and one to spare). */
#define FDS_PER_WORKER	8

/* How many workers the descriptors free now allow (checked by taking
 * them; the reading thread keeps a worker's worth): at most max. */
static int
workers_fds_allow(int max)
{
	int fds[(AHEAD_THREADS + 1) * FDS_PER_WORKER], k = 0;
	int want = (max + 1) * FDS_PER_WORKER;

	while (k < want && (fds[k] = fcntl(2, F_DUPFD_CLOEXEC, 3)) >= 0)
		k++;
	for (int i = 0; i < k; i++)
		close(fds[i]);
	return k / FDS_PER_WORKER - 1;
}

/* Workers for the executors of l below xs, or NULL: read in place. */
struct ahead *
wk_ahead_start(const struct walker *w, int xs, struct names *l)
{
	int n = cpus();
	struct ahead *ah;

	if (n > AHEAD_THREADS / 4)
		n = AHEAD_THREADS / 4;
	/* Never more than the process's descriptors allow: a walk needs a
	 * bounded number of them, whatever the number of executors. */
	n = workers_fds_allow(4 * n);
	if (n < 1 || cpus() < 2 || l->n < 2 ||
	    (ah = calloc(1, sizeof(*ah))) == NULL)
		return NULL;
	pthread_mutex_init(&ah->mu, NULL);
	pthread_cond_init(&ah->done, NULL);
	pthread_cond_init(&ah->room, NULL);
	ah->w = *w;
	ah->xs = xs;
	ah->l = l;
	for (int i = 0; i < n && i < AHEAD_THREADS; i++)
		if (pthread_create(&ah->t[ah->n_threads], NULL, ahead_worker,
		    ah) == 0)
			ah->n_threads++;
	if (ah->n_threads == 0) {
		free(ah);
		return NULL;
	}
	return ah;
}

/* Executor i of l, read (into here when there are no workers). */
struct slot *
wk_ahead_get(struct ahead *ah, struct walker *w, int xs, struct names *l,
    size_t i, struct slot *here)
{
	struct slot *sl;

	if (ah == NULL) {
		struct ckpt_error *e = w->e;
		memset(here, 0, sizeof(*here));
		slot_fill(w, xs, l->v[i], here);
		l->v[i] = NULL;
		w->e = e;
		return here;
	}
	sl = &ah->s[i % AHEAD];
	pthread_mutex_lock(&ah->mu);
	while (!sl->done)
		pthread_cond_wait(&ah->done, &ah->mu);
	pthread_mutex_unlock(&ah->mu);
	return sl;
}

/* Append the errors of from to l (from is left empty). */
int
wk_errors_move(struct state_errors *l, struct state_errors *from)
{
	struct state_error *v;

	if (from->n == 0)
		return 0;
	if ((v = reallocarray(l->v, l->n + from->n, sizeof(*v))) == NULL)
		return -ENOMEM;
	memcpy(v + l->n, from->v, from->n * sizeof(*v));
	l->v = v;
	l->n += from->n;
	free(from->v);
	memset(from, 0, sizeof(*from));
	return 0;
}

static void
slot_clear(struct slot *sl)
{
	state_executor_clear(&sl->x);
	state_errors_clear(&sl->errors);
	memset(sl, 0, sizeof(*sl));
}

/* Done with sl: its room is for one more ahead. */
void
wk_ahead_put(struct ahead *ah, struct slot *sl)
{
	slot_clear(sl);
	if (ah == NULL)
		return;
	pthread_mutex_lock(&ah->mu);
	ah->taken++;
	pthread_cond_broadcast(&ah->room);
	pthread_mutex_unlock(&ah->mu);
}

/* No more: the workers stop, what they read and was not handed over is
 * freed. */
void
wk_ahead_stop(struct ahead *ah)
{
	if (ah == NULL)
		return;
	pthread_mutex_lock(&ah->mu);
	ah->stop = true;
	pthread_cond_broadcast(&ah->room);
	pthread_mutex_unlock(&ah->mu);
	for (int i = 0; i < ah->n_threads; i++)
		pthread_join(ah->t[i], NULL);
	for (size_t i = ah->taken; i < ah->next; i++)
		slot_clear(&ah->s[i % AHEAD]);
	pthread_mutex_destroy(&ah->mu);
	pthread_cond_destroy(&ah->done);
	pthread_cond_destroy(&ah->room);
	free(ah);
}

