#include "gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "at.h"
#include "proc.h"
#include "paths.h"
#include "walk.h"
#include "workdir.h"

#define GC_PREFIX ".gc."

/* rm -r of name below parent, never following a symbolic link. */
static int
remove_at(int parent, const char *name, const char *top, struct ckpt_error *e)
{
	struct stat st;
	int fd, rc = 0;
	DIR *d;
	struct dirent *de;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_set(e, -errno, top, -1,
		    "stat %s: %s", name, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
			return error_set(e, -errno, top, -1, "unlink %s: %s",
			    name, strerror(errno));
		return 0;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		rc = error_set(e, -errno, top, -1, "open %s: %s", name,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = remove_at(dirfd(d), de->d_name, top, e);
	closedir(d);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = error_set(e, -errno, top, -1, "rmdir %s: %s", name,
		    strerror(errno));
	return rc;
}

/* The `runs` directory above a run of kind (PATH_RUN or PATH_SANDBOX),
 * opened from work without following links: its fd, -ENOENT, or an
 * error.  *shown gets the run's path, for messages. */
static int
runs_open(const char *work, int wfd, enum path_kind kind,
    const struct ckpt_ids *ids, char *shown, struct ckpt_error *e)
{
	char rel[PATH_MAX];
	int rc;

	if ((rc = path_build(rel, sizeof(rel), "", kind, ids, e)) < 0 ||
	    (rc = path_build(shown, PATH_MAX, work, kind, ids, e)) < 0)
		return rc;
	*strrchr(rel, '/') = '\0';
	*strrchr(shown, '/') = '\0';
	rc = at_open_dirs(wfd, rel, shown, e);
	snprintf(shown + strlen(shown), PATH_MAX - strlen(shown), "/%s",
	    ids->run);
	return rc;
}

/* Delete the dot-names a killed gc left in a runs directory. */
static int
sweep(int runs, const char *shown, struct ckpt_error *e)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(runs), rc = 0;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, GC_PREFIX, strlen(GC_PREFIX)) == 0)
			rc = remove_at(runs, de->d_name, shown, e);
	closedir(d);
	return rc;
}

/* Take run out of sight: rename it to its dot-name, durably. */
static int
hide(int runs, const char *run, const char *shown, struct ckpt_error *e)
{
	char dot[NAME_MAX + 1];
	int rc;

	snprintf(dot, sizeof(dot), GC_PREFIX "%s", run);
	if ((rc = remove_at(runs, dot, shown, e)) < 0)
		return rc;
	if (renameat(runs, run, runs, dot) < 0)
		return errno == ENOENT ? 0 : error_set(e, -errno, shown, -1,
		    "rename to %s: %s", dot, strerror(errno));
	if (fsync(runs) < 0)
		return error_set(e, -errno, shown, -1, "fsync its directory: %s",
		    strerror(errno));
	return 1;
}

struct gc {
	const char *work;
	int wfd;
	time_t before;
	bool dry_run;
	bool own_lock;		/* no agent runs: we hold the work dir */
	gc_cb cb;
	gc_skip_cb skip;
	void *ctx;
	int n;
	char **cwds;		/* working directories of every process */
	size_t n_cwds;
	bool cwds_read;
	struct ckpt_error *e;
};

/* Does a process have its working directory in dir (or below)?  Every
 * process's is read once. */
static bool
lived_in(struct gc *g, const char *dir)
{
	size_t n = strlen(dir);

	if (!g->cwds_read) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		char link[300], target[PATH_MAX];
		ssize_t len;
		g->cwds_read = true;
		while (d && (de = readdir(d)) != NULL) {
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(link, sizeof(link), "/proc/%s/cwd", de->d_name);
			if ((len = readlink(link, target, sizeof(target) - 1)) < 0)
				continue;
			target[len] = '\0';
			char **v = reallocarray(g->cwds, g->n_cwds + 1, sizeof(*v));
			if (v == NULL)
				break;
			g->cwds = v;
			if ((v[g->n_cwds] = strdup(target)) == NULL)
				break;
			g->n_cwds++;
		}
		if (d)
			closedir(d);
	}
	for (size_t i = 0; i < g->n_cwds; i++)
		if (strncmp(g->cwds[i], dir, n) == 0 &&
		    (g->cwds[i][n] == '\0' || g->cwds[i][n] == '/'))
			return true;
	return false;
}

/* Both places of a run hidden first (so no reader ever sees a
 * half-removed run), then deleted.  meta_runs or box_runs may be -1 (a
 * sandbox without meta, meta without a sandbox). */
static int
collect(struct gc *g, int meta_runs, int box_runs, const char *run,
    const char *meta, const char *box)
{
	char dot[NAME_MAX + 1];
	struct stat st;
	int rc;

	if (box_runs >= 0 && fstatat(box_runs, run, &st, AT_SYMLINK_NOFOLLOW) < 0)
		box_runs = -1;
	g->n++;
	if (box_runs >= 0 && g->cb)
		g->cb(g->ctx, box);
	if (meta_runs >= 0 && g->cb)
		g->cb(g->ctx, meta);
	if (g->dry_run)
		return 0;
	if ((box_runs >= 0 && (rc = hide(box_runs, run, box, g->e)) < 0) ||
	    (meta_runs >= 0 && (rc = hide(meta_runs, run, meta, g->e)) < 0))
		return rc;
	snprintf(dot, sizeof(dot), GC_PREFIX "%s", run);
	if (box_runs >= 0 && (rc = remove_at(box_runs, dot, box, g->e)) < 0)
		return rc;
	return meta_runs >= 0 ? remove_at(meta_runs, dot, meta, g->e) : 0;
}

static time_t
mtime_at(int fd, const char *name)
{
	struct stat st;

	return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mtime : 0;
}

/* May run r (of the runs directory meta_runs) go?  Terminated before
 * g->before; or, when no agent runs, never terminated (its executor was
 * killed by a cleanup, or lost) but with nothing alive in it, no update
 * unacknowledged and nothing written to it since g->before. */
static bool
collectable(struct gc *g, int meta_runs, const struct state_run *r,
    const char *box)
{
	char text[64];
	time_t newest;
	long pid;
	unsigned long long start;
	int rfd;
	bool ok;

	if ((rfd = at_open_dir(meta_runs, r->id, r->id, NULL)) < 0)
		return false;
	if (r->completed) {
		time_t t = mtime_at(rfd, "executor.sentinel");
		close(rfd);
		return t != 0 && t <= g->before;
	}
	ok = g->own_lock && (r->pid <= 0 || r->identity != PROC_SAME);
	/* An update not yet acknowledged is delivered until it is: such a
	 * run is the next agent's, never gc's. */
	for (size_t t = 0; ok && t < r->n_tasks; t++)
		if (r->tasks[t].n_pending > 0)
			ok = false;
	if (ok && at_read_text(rfd, "pids/task.pid", text, sizeof(text), "",
	    NULL) == 0 && sscanf(text, "%ld %llu", &pid, &start) == 2 &&
	    pid > 0 && proc_identify((pid_t)pid, start, 0, NULL) == PROC_SAME)
		ok = false;
	newest = mtime_at(rfd, ".");
	if (mtime_at(rfd, "pids/forked.pid") > newest)
		newest = mtime_at(rfd, "pids/forked.pid");
	for (size_t t = 0; ok && t < r->n_tasks; t++) {
		char name[PATH_MAX];
		snprintf(name, sizeof(name), "tasks/%s/task.updates",
		    r->tasks[t].id);
		if (mtime_at(rfd, name) > newest)
			newest = mtime_at(rfd, name);
	}
	close(rfd);
	return ok && newest <= g->before && !lived_in(g, box);
}

static int
gc_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct gc *g = ctx;
	char meta[PATH_MAX], box[PATH_MAX];
	struct ckpt_ids ids = { a->id, f->id, x->id, "R", NULL };
	int meta_runs, box_runs, rc = 0;

	if ((meta_runs = runs_open(g->work, g->wfd, PATH_RUN, &ids, meta,
	    g->e)) < 0)
		return meta_runs == -ENOENT ? 0 : meta_runs;
	box_runs = runs_open(g->work, g->wfd, PATH_SANDBOX, &ids, box, g->e);
	if (box_runs < 0 && box_runs != -ENOENT) {
		close(meta_runs);
		return box_runs;
	}
	if (!g->dry_run && ((rc = sweep(meta_runs, meta, g->e)) < 0 ||
	    (box_runs >= 0 && (rc = sweep(box_runs, box, g->e)) < 0)))
		goto out;
	for (size_t r = 0; rc == 0 && r < x->n_runs; r++) {
		ids.run = x->runs[r].id;
		path_build(meta, sizeof(meta), g->work, PATH_RUN, &ids, NULL);
		path_build(box, sizeof(box), g->work, PATH_SANDBOX, &ids, NULL);
		if (collectable(g, meta_runs, &x->runs[r], box))
			rc = collect(g, meta_runs, box_runs, ids.run, meta, box);
	}
out:
	close(meta_runs);
	if (box_runs >= 0)
		close(box_runs);
	return rc;
}

/* The subdirectories of fd (ids only), one call each; fd stays open. */
static int
each_dir(int fd, int (*fn)(void *, int, const char *), void *arg)
{
	struct dirent *de;
	DIR *d;
	int dfd = dup(fd), rc = 0;

	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	rewinddir(d);	/* (the offset is fd's too: it may have been read) */
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
		    id_validate(de->d_name, "entry", NULL) == 0)
			rc = fn(arg, fd, de->d_name);
	closedir(d);
	return rc;
}

/* ---- sandboxes without meta (frameworks that do not checkpoint) ---- */

struct box_walk {
	struct gc *g;
	struct ckpt_ids ids;
	int depth;		/* 0 agents, 1 frameworks, 2 executors, 3 runs */
};

static int box_level(void *arg, int fd, const char *name);

/* A run's sandbox with no meta run beside it: gone once nothing lives in
 * it and it is older than g->before. */
static int
box_run(struct box_walk *w, int runs, const char *run)
{
	char meta[PATH_MAX], box[PATH_MAX];
	struct stat st;

	w->ids.run = run;
	if (path_build(meta, sizeof(meta), w->g->work, PATH_RUN, &w->ids,
	    NULL) < 0 || path_build(box, sizeof(box), w->g->work, PATH_SANDBOX,
	    &w->ids, NULL) < 0)
		return 0;
	if (lstat(meta, &st) == 0 || errno != ENOENT)
		return 0;	/* the meta walk decides */
	if (mtime_at(runs, run) == 0 || mtime_at(runs, run) > w->g->before ||
	    lived_in(w->g, box))
		return 0;
	return collect(w->g, -1, runs, run, meta, box);
}

static int
box_level(void *arg, int fd, const char *name)
{
	struct box_walk *w = arg;
	static const char *const below[] = { "frameworks", "executors", "runs" };
	int sub, next, rc;

	if (w->depth == 3)
		return box_run(w, fd, name);
	if (w->depth == 0)
		w->ids.agent = name;
	else if (w->depth == 1)
		w->ids.framework = name;
	else
		w->ids.executor = name;
	if ((sub = at_open_dir(fd, name, name, NULL)) < 0)
		return 0;
	next = at_open_dir(sub, below[w->depth], name, NULL);
	close(sub);
	if (next < 0)
		return 0;
	if (w->depth == 2 && !w->g->dry_run)
		sweep(next, name, w->g->e);
	w->depth++;
	rc = each_dir(next, box_level, w);
	w->depth--;
	close(next);
	return rc;
}

static void
gc_skipped(void *ctx, const char *path, const char *why)
{
	struct gc *g = ctx;

	g->skip(g->ctx, path, why);
}

int
gc_runs(const char *work, time_t before, bool dry_run, gc_cb cb,
    gc_skip_cb skip, void *ctx, struct ckpt_error *e)
{
	struct state_options so = { .strict = false };
	struct gc g = { .work = work, .wfd = -1, .before = before,
	    .dry_run = dry_run, .cb = cb, .skip = skip, .ctx = ctx, .e = e };
	struct walk_visitor v = { .ctx = &g, .executor = gc_executor,
	    .skipped = skip ? gc_skipped : NULL };
	int rc, lock = -1;

	if (!dry_run && (rc = workdir_check(work, e)) < 0)
		return rc;
	if ((g.wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return error_set(e, -errno, work, -1, "%s", strerror(errno));
	/* No agent: hold the lock so that none starts meanwhile.  An agent:
	 * it never touches a terminated run again (runs never terminated
	 * are its own then, and left alone). */
	lock = workdir_lock(work, NULL);
	g.own_lock = lock >= 0;
	if (dry_run && lock >= 0) {
		close(lock);
		lock = -1;
	}
	rc = walk(work, &so, NULL, &v, e);
	if (rc >= 0 || rc == -ENOENT) {
		struct box_walk w = { .g = &g };
		int slaves = at_open_dirs(g.wfd, "slaves", work, NULL);
		if (slaves >= 0) {
			int brc = each_dir(slaves, box_level, &w);
			close(slaves);
			if (brc < 0)
				rc = brc;
			else if (rc == -ENOENT)
				rc = 0;
		}
	}
	if (lock >= 0)
		close(lock);
	close(g.wfd);
	for (size_t i = 0; i < g.n_cwds; i++)
		free(g.cwds[i]);
	free(g.cwds);
	return rc < 0 ? rc : g.n;
}
