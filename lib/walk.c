#include "walk.h"

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

/* ---- errors and paths ---- */

struct walker {
	const struct state_options *o;
	const struct walk_filter *f;
	const struct walk_visitor *v;
	struct ckpt_error *e;
	char dir[PATH_MAX];	/* the directory being read, for errors */
	size_t len;
	char file[PATH_MAX];	/* dir/name, for errors */
};

/* A recovery error: fatal when strict, else noted on the node. */
static int
problem(struct walker *w, struct state_errors *l)
{
	struct ckpt_error *e = w->e;

	if (w->o->strict || e->code == -ENOMEM)
		return e->code ? e->code : -EBADMSG;
	return state_error_add(l, e);
}

/* Enter subdirectory name (for error paths): the old length. */
static size_t
push(struct walker *w, const char *name)
{
	size_t old = w->len;
	int n = snprintf(w->dir + w->len, sizeof(w->dir) - w->len, "/%s", name);

	if (n > 0 && (size_t)n < sizeof(w->dir) - w->len)
		w->len += (size_t)n;
	return old;
}

static void
pop(struct walker *w, size_t old)
{
	w->len = old;
	w->dir[old] = '\0';
}

static const char *
file(struct walker *w, const char *name)
{
	if (snprintf(w->file, sizeof(w->file), "%s/%s", w->dir, name) >=
	    (int)sizeof(w->file))
		w->file[sizeof(w->file) - 1] = '\0';
	return w->file;
}

/* ---- listing a directory ---- */

struct names {
	char **v;
	size_t n;
};

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static pthread_mutex_t skipped_mu = PTHREAD_MUTEX_INITIALIZER;

/* An entry passed over: the visitor hears of it. */
static void
skipped(struct walker *w, const char *name, const char *why)
{
	char path[PATH_MAX + 256];

	if (w->v == NULL || w->v->skipped == NULL)
		return;
	snprintf(path, sizeof(path), "%.*s/%s", (int)w->len, w->dir, name);
	pthread_mutex_lock(&skipped_mu);
	w->v->skipped(w->v->ctx, path, why);
	pthread_mutex_unlock(&skipped_mu);
}

/* The subdirectories of fd that are ids (not '.'-names, not `latest`, no
 * links), sorted.  Read with getdents64 on fd itself: no second
 * descriptor, no DIR (fd is fresh, at offset 0, and is closed by the
 * caller). */
static int
names_list(struct walker *w, int fd, struct names *l)
{
	char buf[32768];
	size_t cap = 0;
	long n;

	memset(l, 0, sizeof(*l));
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n; ) {
			struct linux_dirent64 {
				uint64_t d_ino;
				int64_t d_off;
				unsigned short d_reclen;
				unsigned char d_type;
				char d_name[];
			} *d = (void *)(buf + off);
			struct stat st;
			off += d->d_reclen;
			/* (A temporary name: a write a crash cut short,
			 * never state, and no stray to report.) */
			if (d->d_name[0] == '.' || strcmp(d->d_name, "latest") == 0 ||
			    strstr(d->d_name, ".tmp.") != NULL)
				continue;
			if (d->d_type != DT_DIR && (d->d_type != DT_UNKNOWN ||
			    fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))) {
				skipped(w, d->d_name, d->d_type == DT_LNK ?
				    "a symbolic link, not a directory: skipped" :
				    "not a directory: skipped");
				continue;
			}
			if (id_validate(d->d_name, "entry", NULL) < 0) {
				skipped(w, d->d_name, "not a valid id: skipped");
				continue;
			}
			if (l->n == cap) {
				char **nv = reallocarray(l->v, cap ? 2 * cap : 16,
				    sizeof(*nv));
				if (nv == NULL)
					goto nomem;
				l->v = nv;
				cap = cap ? 2 * cap : 16;
			}
			if ((l->v[l->n] = strdup(d->d_name)) == NULL)
				goto nomem;
			l->n++;
		}
	}
	if (n < 0) {
		int err = errno;
		names_free(l);
		return error_set(w->e, -err, w->dir, -1, "list: %s",
		    strerror(err));
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_names);
	return 0;
nomem:
	names_free(l);
	return error_set(w->e, -ENOMEM, w->dir, -1, "out of memory");
}

/* Open subdirectory name of fd: its fd, -ENOENT when absent (fine),
 * or an error noted on l (fatal when strict). */
static int
sub_open(struct walker *w, int fd, const char *name, struct state_errors *l)
{
	int rc = at_open_dir(fd, name, file(w, name), w->e);

	if (rc >= 0 || rc == -ENOENT)
		return rc;
	if ((rc = problem(w, l)) < 0)
		return rc;
	return -ENOENT;
}

/* ---- reading the small files ---- */

/* A text file into a new string (NULL when absent); errors on l. */
static int
text_dup_at(struct walker *w, int fd, const char *name, char **out,
    struct state_errors *l)
{
	char buf[4096];
	int rc = fd < 0 ? -ENOENT :
	    at_read_text(fd, name, buf, sizeof(buf), file(w, name), w->e);

	*out = NULL;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return problem(w, l);
	return (*out = strdup(buf)) ? 0 : -ENOMEM;
}

/* Read an .info file: absent and empty are fine (NULL). */
static int
info_read(struct walker *w, int fd, const char *name,
    const ProtobufCMessageDescriptor *d, void *out, struct state_errors *l)
{
	int rc = record_read_fileat(fd, name, file(w, name), d,
	    (ProtobufCMessage **)out, w->e);

	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? problem(w, l) : 0;
}

/* Target of a `latest` link when it is a valid id, else NULL. */
static int
latest_read(struct walker *w, int fd, char **out, struct state_errors *l)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(fd, "latest", buf, sizeof(buf) - 1);

	*out = NULL;
	if (n < 0) {
		int err = errno;
		if (err == ENOENT)
			return 0;
		error_set(w->e, -EBADMSG, file(w, "latest"), -1, "%s",
		    err == EINVAL ? "not a symbolic link" : strerror(err));
		return problem(w, l);
	}
	buf[n] = '\0';
	if (id_validate(buf, "latest link target", NULL) < 0) {
		error_set(w->e, -EBADMSG, file(w, "latest"), -1,
		    "latest link names '%s', not an id", buf);
		return problem(w, l);
	}
	return (*out = strdup(buf)) ? 0 : -ENOMEM;
}

/* ---- the nodes ---- */

static int
read_task(struct walker *w, int fd, struct state_task *t)
{
	int rc;

	t->latest_state = -1;
	if ((rc = info_read(w, fd, "task.info", &mesos__task__descriptor,
	    &t->info, &t->errors)) < 0)
		return rc;
	rc = state_replay_updates(fd, "task.updates", file(w, "task.updates"),
	    (w->o->repair ? REPLAY_REPAIR : 0) |
	    (w->o->messages ? REPLAY_MESSAGES : 0), t, NULL, NULL, w->e);
	return rc < 0 ? problem(w, &t->errors) : 0;
}

static int
read_pids(struct walker *w, int run, struct state_run *r)
{
	char *text = NULL;
	struct stat st;
	int fd = sub_open(w, run, "pids", &r->errors), rc;
	size_t old;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	old = push(w, "pids");
	if ((rc = text_dup_at(w, fd, "forked.pid", &text, &r->errors)) < 0)
		goto out;
	if (text && text[0]) {
		const char *err = NULL;
		r->pid = (pid_t)strtonum(text, 1, 1 << 30, &err);
		if (err != NULL) {
			r->pid = 0;
			error_set(w->e, -EBADMSG, file(w, "forked.pid"), -1,
			    "pid '%s' is %s", text, err);
			if ((rc = problem(w, &r->errors)) < 0)
				goto out;
		}
		if (fstatat(fd, "forked.pid", &st, AT_SYMLINK_NOFOLLOW) == 0)
			r->pid_mtime = st.st_mtime;
	}
	free(text);
	text = NULL;
	if ((rc = text_dup_at(w, fd, "forked.start", &text, &r->errors)) < 0)
		goto out;
	if (text)
		r->start_time = strtoull(text, NULL, 10);
	if ((rc = text_dup_at(w, fd, "libprocess.pid", &r->libprocess_pid,
	    &r->errors)) < 0)
		goto out;
	rc = text_dup_at(w, fd, "executor.socket", &r->socket, &r->errors);
	if (rc == 0 && w->o->secrets) {
		char buf[128];
		struct ckpt_error ignored;
		if (at_read_text(fd, "executor.secret", buf, sizeof(buf),
		    "executor.secret", &ignored) == 0 &&
		    (r->secret = strdup(buf)) == NULL)
			rc = -ENOMEM;
	}
out:
	free(text);
	pop(w, old);
	close(fd);
	return rc;
}

static int
read_run(struct walker *w, int fd, struct state_run *r)
{
	struct names l;
	char *text = NULL;
	int rc, tasks;

	r->completed = faccessat(fd, "executor.sentinel", F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
	if ((rc = read_pids(w, fd, r)) < 0 ||
	    (rc = text_dup_at(w, fd, "executor.exit", &text, &r->errors)) < 0)
		return rc;
	if (r->pid > 0)
		r->identity = proc_identify(r->pid, r->start_time, r->pid_mtime,
		    r->id);
	if (text && exit_parse(text, &r->exit_kind, &r->exit_value) < 0) {
		error_set(w->e, -EBADMSG, file(w, "executor.exit"), -1,
		    "unreadable exit status '%s'", text);
		if ((rc = problem(w, &r->errors)) < 0) {
			free(text);
			return rc;
		}
	}
	free(text);
	if ((tasks = sub_open(w, fd, "tasks", &r->errors)) < 0)
		return tasks == -ENOENT ? 0 : tasks;
	size_t old = push(w, "tasks");
	if ((rc = names_list(w, tasks, &l)) < 0)
		rc = problem(w, &r->errors);
	else if (l.n > 0 && (r->tasks = calloc(l.n, sizeof(*r->tasks))) == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct state_task *t = &r->tasks[r->n_tasks];
		int tfd;
		if (!walk_filter_task_id(w->f, l.v[i]))
			continue;
		if ((tfd = sub_open(w, tasks, l.v[i], &r->errors)) < 0) {
			rc = tfd == -ENOENT ? 0 : tfd;
			continue;
		}
		size_t told = push(w, l.v[i]);
		t->id = l.v[i];
		l.v[i] = NULL;
		r->n_tasks++;
		rc = read_task(w, tfd, t);
		/* executor.exit, and the stream has no end: the task ended
		 * while no agent ran, its final update is still to come. */
		if (rc == 0 && !t->terminal && r->exit_kind != EXIT_NONE) {
			t->ended = true;
			t->end_state = exit_state(r->exit_kind, r->exit_value);
		}
		pop(w, told);
		close(tfd);
		if (rc == 0 && !walk_task_matches(w->f, t)) {
			state_task_clear(t);
			r->n_tasks--;
		}
	}
	names_free(&l);
	pop(w, old);
	close(tasks);
	return rc;
}

/* Read executor x (its id set) below fd; then drop what the filter does
 * not keep.  1 when it is to be shown, 0 not, or a negative code. */
static int
read_executor(struct walker *w, int fd, struct state_executor *x)
{
	struct names l = { 0 };
	int rc, runs;

	if ((rc = info_read(w, fd, "executor.info",
	    &mesos__executor_info__descriptor, &x->info, &x->errors)) < 0)
		return rc;
	if ((runs = sub_open(w, fd, "runs", &x->errors)) < 0)
		return runs == -ENOENT ? 1 : runs;
	size_t old = push(w, "runs");
	if ((rc = latest_read(w, runs, &x->latest_run, &x->errors)) < 0)
		goto out;
	if ((rc = names_list(w, runs, &l)) < 0) {
		rc = problem(w, &x->errors);
		goto out;
	}
	x->latest_dangling = x->latest_run != NULL;
	if (l.n > 0 && (x->runs = calloc(l.n, sizeof(*x->runs))) == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct state_run *r = &x->runs[x->n_runs];
		int rfd;
		if (x->latest_run && strcmp(x->latest_run, l.v[i]) == 0)
			x->latest_dangling = false;
		if ((rfd = sub_open(w, runs, l.v[i], &x->errors)) < 0) {
			rc = rfd == -ENOENT ? 0 : rfd;
			continue;
		}
		size_t rold = push(w, l.v[i]);
		r->id = l.v[i];
		l.v[i] = NULL;
		r->latest = x->latest_run && strcmp(x->latest_run, r->id) == 0;
		x->n_runs++;
		rc = read_run(w, rfd, r);
		pop(w, rold);
		close(rfd);
		if (rc == 0 && walk_filter_by_task(w->f) && r->n_tasks == 0) {
			state_run_clear(r);
			x->n_runs--;
		}
	}
out:
	names_free(&l);
	pop(w, old);
	close(runs);
	if (rc < 0)
		return rc;
	return !walk_filter_by_task(w->f) || x->n_runs > 0;
}

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

struct slot {
	struct state_executor x;
	struct state_errors errors;	/* for the framework's list */
	struct ckpt_error e;		/* when rc < 0 */
	int rc;		/* read_executor's, or sub_open's */
	bool none;	/* not there, or not kept by the filter */
	bool done;
};

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
	if ((xfd = sub_open(w, xs, name, &sl->errors)) < 0) {
		sl->none = xfd == -ENOENT;
		sl->rc = xfd;
		return;
	}
	push(w, name);
	sl->rc = read_executor(w, xfd, &sl->x);
	pop(w, old);
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
static struct ahead *
ahead_start(const struct walker *w, int xs, struct names *l)
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
static struct slot *
ahead_get(struct ahead *ah, struct walker *w, int xs, struct names *l,
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
static int
errors_move(struct state_errors *l, struct state_errors *from)
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
static void
ahead_put(struct ahead *ah, struct slot *sl)
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
static void
ahead_stop(struct ahead *ah)
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

#define CALL(w, fn, ...) ((w)->v->fn ? (w)->v->fn((w)->v->ctx, __VA_ARGS__) : 0)

static int
walk_framework(struct walker *w, struct state_agent *a, int fd,
    struct state_framework *f)
{
	bool lazy = w->f && (w->f->n_executor || walk_filter_by_task(w->f));
	bool shown = false;
	struct names l = { 0 };
	int rc, xs;

	if ((rc = info_read(w, fd, "framework.info",
	    &mesos__framework_info__descriptor, &f->info, &f->errors)) < 0 ||
	    (rc = text_dup_at(w, fd, "framework.pid", &f->pid, &f->errors)) < 0)
		return rc;
	if (!lazy) {
		if ((rc = CALL(w, framework, a, f)) < 0)
			return rc;
		shown = true;
	}
	if ((xs = sub_open(w, fd, "executors", &f->errors)) < 0) {
		rc = xs == -ENOENT ? 0 : xs;
		goto out;
	}
	size_t old = push(w, "executors");
	if ((rc = names_list(w, xs, &l)) < 0)
		rc = problem(w, &f->errors);
	struct ahead *ah = rc == 0 ? ahead_start(w, xs, &l) : NULL;
	struct slot here;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct slot *sl = ahead_get(ah, w, xs, &l, i, &here);
		struct state_executor *x = &sl->x;
		/* What it noted on the framework: in order, as if read here. */
		if ((rc = errors_move(&f->errors, &sl->errors)) < 0)
			error_set(w->e, rc, w->dir, -1, "out of memory");
		else if (sl->none)
			rc = 0;
		else if ((rc = sl->rc) < 0)
			*w->e = sl->e;
		else if (rc > 0) {
			rc = 0;
			if (!shown) {
				shown = true;
				rc = CALL(w, framework, a, f);
			}
			if (rc == 0)
				rc = CALL(w, executor, a, f, x);
		}
		ahead_put(ah, sl);
	}
	ahead_stop(ah);
	names_free(&l);
	pop(w, old);
	close(xs);
out:
	if (rc == 0 && shown)
		rc = CALL(w, framework_end, a, f);
	return rc;
}

static int
walk_agent(struct walker *w, struct state *s, int fd, struct state_agent *a)
{
	struct names l = { 0 };
	int rc, fs;

	if ((rc = info_read(w, fd, "slave.info", &mesos__slave_info__descriptor,
	    &a->info, &a->errors)) < 0 || (rc = CALL(w, agent, s, a)) < 0)
		return rc;
	if ((fs = sub_open(w, fd, "frameworks", &a->errors)) < 0) {
		rc = fs == -ENOENT ? 0 : fs;
		goto out;
	}
	size_t old = push(w, "frameworks");
	if ((rc = names_list(w, fs, &l)) < 0)
		rc = problem(w, &a->errors);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct state_framework f = { 0 };
		int ffd;
		if (!walk_filter_framework(w->f, l.v[i]))
			continue;
		if ((ffd = sub_open(w, fs, l.v[i], &a->errors)) < 0) {
			rc = ffd == -ENOENT ? 0 : ffd;
			continue;
		}
		size_t fold = push(w, l.v[i]);
		f.id = l.v[i];
		l.v[i] = NULL;
		rc = walk_framework(w, a, ffd, &f);
		pop(w, fold);
		close(ffd);
		state_framework_clear(&f);
	}
	names_free(&l);
	pop(w, old);
	close(fs);
out:
	return rc < 0 ? rc : CALL(w, agent_end, s, a);
}

/* An agent directory that holds frameworks: something a new agent would
 * abandon.  Its slave.info's modification time (or the directory's) in
 * *mtime. */
static bool
agent_has_frameworks(int slaves, const char *id, time_t *mtime)
{
	struct stat st;
	struct dirent *d;
	bool any = false;
	DIR *dir;
	int fd = openat(slaves, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC), fs;

	if (fd < 0)
		return false;
	*mtime = fstatat(fd, "slave.info", &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstat(fd, &st) == 0 ? st.st_mtime : 0;
	fs = openat(fd, "frameworks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	close(fd);
	if (fs < 0 || (dir = fdopendir(fs)) == NULL) {
		if (fs >= 0)
			close(fs);
		return false;
	}
	while (!any && (d = readdir(dir)) != NULL)
		any = d->d_name[0] != '.';
	closedir(dir);
	return any;
}

/*
 * slaves/latest names the agent to recover.  When it is missing or names
 * no directory while agent directories with frameworks exist, starting
 * as a new agent would abandon their tasks and unacknowledged updates:
 * strict, a recovery error naming the link; non-strict, the newest such
 * directory is taken as the latest, and the error says so.
 */
static int
latest_agent(struct walker *w, struct state *s, int slaves, struct names *l,
    const char **latest)
{
	char list[256] = "";
	const char *newest = NULL;
	time_t newest_t = 0, t;
	size_t n = 0;

	*latest = s->latest_agent;
	for (size_t i = 0; i < l->n; i++)
		if (s->latest_agent && strcmp(l->v[i], s->latest_agent) == 0)
			return 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!agent_has_frameworks(slaves, l->v[i], &t))
			continue;
		if (n++ < 4)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
			    "%s%s", n > 1 ? ", " : "", l->v[i]);
		if (newest == NULL || t >= newest_t)
			newest = l->v[i], newest_t = t;
	}
	if (newest == NULL)
		return 0;	/* nothing to abandon: a new agent is right */
	error_set(w->e, -EBADMSG, file(w, "latest"), -1, "%s while %zu agent "
	    "director%s with frameworks exist%s (%s%s): a new agent would "
	    "abandon their tasks; %s", s->latest_agent ? "names no agent "
	    "directory" : "is missing", n, n == 1 ? "y" : "ies", n == 1 ? "s" :
	    "", list, n > 4 ? ", ..." : "", w->o->strict ? "restore the link "
	    "(ln -sfn AGENT_ID) or use --no-strict to recover the newest" :
	    "recovering the newest");
	if (w->o->strict)
		return -EBADMSG;
	snprintf(w->e->reason + strlen(w->e->reason), sizeof(w->e->reason) -
	    strlen(w->e->reason), ", %s", newest);
	*latest = newest;
	return state_error_add(&s->errors, w->e);
}

int
walk(const char *work, const struct state_options *o,
    const struct walk_filter *filter, const struct walk_visitor *v,
    struct ckpt_error *e)
{
	struct walker w = { .o = o, .f = filter, .v = v, .e = e };
	struct state s = { 0 };
	struct names l = { 0 };
	const char *newest = NULL;
	char latest[ID_MAX + 1] = "";
	int wfd, meta = -1, slaves = -1, rc;

	if ((wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return error_set(e, errno == ENOTDIR ? -ENOENT : -errno, work,
		    -1, "%s", errno == ENOTDIR ? "not a directory" :
		    strerror(errno));
	strlcpy(w.dir, work, sizeof(w.dir));
	w.len = strlen(w.dir);
	if ((meta = at_open_dir(wfd, "meta", file(&w, "meta"), e)) < 0) {
		rc = meta == -ENOENT ? error_set(e, -ENOENT, work, -1,
		    "no checkpoint (no meta/ directory)") : meta;
		goto out;
	}
	if ((s.work = strdup(work)) == NULL) {
		rc = error_set(e, -ENOMEM, work, -1, "out of memory");
		goto out;
	}
	push(&w, "meta");
	if ((rc = text_dup_at(&w, meta, "boot_id", &s.boot_id, &s.errors)) < 0)
		goto out;
	if ((slaves = sub_open(&w, meta, "slaves", &s.errors)) < 0 &&
	    slaves != -ENOENT) {
		rc = slaves;
		goto out;
	}
	if (slaves >= 0) {
		push(&w, "slaves");
		if ((rc = latest_read(&w, slaves, &s.latest_agent, &s.errors)) < 0)
			goto out;
		if ((rc = names_list(&w, slaves, &l)) < 0 &&
		    (rc = problem(&w, &s.errors)) < 0)
			goto out;
		if ((rc = latest_agent(&w, &s, slaves, &l, &newest)) < 0)
			goto out;
		if (newest)
			strlcpy(latest, newest, sizeof(latest));
	}
	if ((rc = CALL(&w, begin, &s)) < 0)
		goto out;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct state_agent a = { 0 };
		int afd;
		a.latest = strcmp(latest, l.v[i]) == 0;
		if (o->latest_only && !a.latest)
			continue;
		if ((afd = sub_open(&w, slaves, l.v[i], &s.errors)) < 0) {
			rc = afd == -ENOENT ? 0 : afd;
			continue;
		}
		size_t old = push(&w, l.v[i]);
		a.id = l.v[i];
		l.v[i] = NULL;
		rc = walk_agent(&w, &s, afd, &a);
		pop(&w, old);
		close(afd);
		state_agent_clear(&a);
	}
	if (rc == 0)
		rc = CALL(&w, end, &s);
out:
	names_free(&l);
	if (slaves >= 0)
		close(slaves);
	if (meta >= 0)
		close(meta);
	close(wfd);
	state_errors_clear(&s.errors);
	free(s.boot_id);
	free(s.latest_agent);
	free(s.work);
	return rc < 0 ? rc : 0;
}
