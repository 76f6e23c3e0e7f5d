#include "gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "at.h"
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
	gc_cb cb;
	void *ctx;
	int n;
	struct ckpt_error *e;
};

/* One terminated run: both places hidden first (so no reader ever sees a
 * half-removed run), then deleted. */
static int
collect(struct gc *g, int meta_runs, int box_runs, const char *run,
    const char *meta, const char *box)
{
	char dot[NAME_MAX + 1];
	struct stat st;
	int rfd, rc, old;

	if ((rfd = at_open_dir(meta_runs, run, meta, g->e)) < 0)
		return rfd == -ENOENT ? 0 : rfd;
	old = fstatat(rfd, "executor.sentinel", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_mtime <= g->before;
	close(rfd);
	if (!old)
		return 0;
	g->n++;
	if (box_runs >= 0 && fstatat(box_runs, run, &st, AT_SYMLINK_NOFOLLOW) == 0
	    && g->cb)
		g->cb(g->ctx, box);
	if (g->cb)
		g->cb(g->ctx, meta);
	if (g->dry_run)
		return 0;
	if ((box_runs >= 0 && (rc = hide(box_runs, run, box, g->e)) < 0) ||
	    (rc = hide(meta_runs, run, meta, g->e)) < 0)
		return rc;
	snprintf(dot, sizeof(dot), GC_PREFIX "%s", run);
	if (box_runs >= 0 && (rc = remove_at(box_runs, dot, box, g->e)) < 0)
		return rc;
	return remove_at(meta_runs, dot, meta, g->e);
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
		if (!x->runs[r].completed)
			continue;
		ids.run = x->runs[r].id;
		path_build(meta, sizeof(meta), g->work, PATH_RUN, &ids, NULL);
		path_build(box, sizeof(box), g->work, PATH_SANDBOX, &ids, NULL);
		rc = collect(g, meta_runs, box_runs, ids.run, meta, box);
	}
out:
	close(meta_runs);
	if (box_runs >= 0)
		close(box_runs);
	return rc;
}

int
gc_runs(const char *work, time_t before, bool dry_run, gc_cb cb, void *ctx,
    struct ckpt_error *e)
{
	struct state_options so = { .strict = false };
	struct gc g = { work, -1, before, dry_run, cb, ctx, 0, e };
	struct walk_visitor v = { .ctx = &g, .executor = gc_executor };
	int rc, lock = -1;

	if (!dry_run && (rc = workdir_check(work, e)) < 0)
		return rc;
	if ((g.wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return error_set(e, -errno, work, -1, "%s", strerror(errno));
	/* No agent: hold the lock so that none starts meanwhile.  An agent:
	 * it never touches a terminated run again. */
	if (!dry_run)
		lock = workdir_lock(work, NULL);
	rc = walk(work, &so, NULL, &v, e);
	if (lock >= 0)
		close(lock);
	close(g.wfd);
	return rc < 0 ? rc : g.n;
}
