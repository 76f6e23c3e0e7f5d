#include "quarantine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "proc.h"
#include "walk.h"
#include "workdir.h"

/* The names in dir that are ids (no '.' names, no `latest`), one by one:
 * cb(ctx, name) until it returns non-zero, which is returned. */
static int
each_id(const char *dir, int (*cb)(void *, const char *), void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (d == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strcmp(de->d_name, "latest") != 0 &&
		    id_validate(de->d_name, "entry", NULL) == 0)
			rc = cb(ctx, de->d_name);
	closedir(d);
	return rc;
}

struct find {
	const char *work, *run;
	char agent[ID_MAX + 1], framework[ID_MAX + 1], executor[ID_MAX + 1];
	char path[PATH_MAX];
	int found;
};

static int
find_executor(void *ctx, const char *x)
{
	struct find *f = ctx;
	struct stat st;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/meta/slaves/%s/frameworks/%s/"
	    "executors/%s/runs/%s", f->work, f->agent, f->framework, x, f->run);
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	strlcpy(f->executor, x, sizeof(f->executor));
	strlcpy(f->path, path, sizeof(f->path));
	f->found++;
	return 0;
}

static int
find_framework(void *ctx, const char *fw)
{
	struct find *f = ctx;
	char dir[PATH_MAX];

	strlcpy(f->framework, fw, sizeof(f->framework));
	snprintf(dir, sizeof(dir), "%s/meta/slaves/%s/frameworks/%s/executors",
	    f->work, f->agent, fw);
	return each_id(dir, find_executor, f);
}

static int
find_agent(void *ctx, const char *a)
{
	struct find *f = ctx;
	char dir[PATH_MAX];
	int found = f->found;

	strlcpy(f->agent, a, sizeof(f->agent));
	snprintf(dir, sizeof(dir), "%s/meta/slaves/%s/frameworks", f->work, a);
	each_id(dir, find_framework, f);
	if (f->found > found)
		return 0;
	return 0;
}

static int
add_task(void *ctx, const char *t)
{
	struct quarantine *q = ctx;

	if (q->n_tasks < sizeof(q->tasks) / sizeof(q->tasks[0]))
		strlcpy(q->tasks[q->n_tasks++], t, sizeof(q->tasks[0]));
	return 0;
}

/* Why the run cannot be recovered: the first error of a strict read of
 * its executor, or that it was set aside by hand. */
static void
why(const char *work, const struct find *f, struct quarantine *q)
{
	struct state_options so = { .strict = true };
	const char *fw = f->framework, *ex = f->executor;
	struct walk_filter filter = { .framework = &fw, .n_framework = 1,
	    .executor = &ex, .n_executor = 1 };
	struct walk_visitor v = { 0 };
	struct ckpt_error e;
	char buf[PATH_MAX + 600];

	if (walk(work, &so, &filter, &v, &e) < 0 && e.reason[0])
		strlcpy(q->reason, error_format(&e, buf, sizeof(buf)),
		    sizeof(q->reason));
	else
		strlcpy(q->reason, "set aside by hand (recover --quarantine)",
		    sizeof(q->reason));
}

/* Its executor, if alive and proven the one checkpointed, stopped. */
static void
stop_executor(const char *run_dir, const char *run, long long grace_ms,
    struct quarantine *q)
{
	char path[PATH_MAX + 64], text[64];
	unsigned long long start = 0;
	struct stat st;
	long pid = 0;

	q->executor_result = "none";
	snprintf(path, sizeof(path), "%s/pids/forked.pid", run_dir);
	if (text_read(path, text, sizeof(text), NULL) < 0 ||
	    (pid = atol(text)) <= 0 || lstat(path, &st) < 0)
		return;
	snprintf(path, sizeof(path), "%s/pids/forked.start", run_dir);
	if (text_read(path, text, sizeof(text), NULL) == 0)
		start = strtoull(text, NULL, 10);
	q->executor_result = proc_terminate((pid_t)pid, start, st.st_mtime,
	    run, grace_ms) == 0 ? "killed" : "gone";
}

/* In the run's place: `quarantined`, with why, where, and its tasks. */
static int
leave_note(const char *run_dir, const struct quarantine *q,
    struct ckpt_error *e)
{
	char text[PATH_MAX * 2 + 2000], path[PATH_MAX + 64];
	size_t n;
	int rc;

	n = (size_t)snprintf(text, sizeof(text), "reason %s\nmoved-to %s\n",
	    q->reason, q->moved_to);
	for (size_t i = 0; i < q->n_tasks && n < sizeof(text); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "task %s\n",
		    q->tasks[i]);
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	snprintf(path, sizeof(path), "%s/quarantined", run_dir);
	if ((rc = durable_mkdirs(run_dir, e)) < 0)
		return rc;
	return durable_write(path, text, n, e);
}

int
quarantine_run(const char *work, const char *run, long long grace_ms,
    struct quarantine *q, struct ckpt_error *e)
{
	struct find f = { .work = work, .run = run };
	char dir[PATH_MAX + 64], parent[PATH_MAX], *slash;
	int lock, rc;

	memset(q, 0, sizeof(*q));
	if ((rc = id_validate(run, "run", e)) < 0)
		return rc;
	if ((lock = workdir_lock(work, e)) < 0)
		return lock;
	snprintf(dir, sizeof(dir), "%s/meta/slaves", work);
	each_id(dir, find_agent, &f);
	if (f.found != 1) {
		rc = error_set(e, f.found ? -EINVAL : -ENOENT, work, -1,
		    f.found ? "run %s is in %d executors: refused" :
		    "no run %s in this work dir", run, f.found);
		goto out;
	}
	strlcpy(q->framework, f.framework, sizeof(q->framework));
	strlcpy(q->executor, f.executor, sizeof(q->executor));
	why(work, &f, q);
	snprintf(dir, sizeof(dir), "%s/tasks", f.path);
	each_id(dir, add_task, q);
	stop_executor(f.path, run, grace_ms, q);
	snprintf(dir, sizeof(dir), "%s/quarantine", work);
	if (snprintf(q->moved_to, sizeof(q->moved_to), "%.*s/%s-%lld",
	    PATH_MAX - ID_MAX - 32, dir, run, (long long)time(NULL)) >=
	    (int)sizeof(q->moved_to)) {
		rc = error_set(e, -ENAMETOOLONG, dir, -1, "path too long");
		goto out;
	}
	if ((rc = durable_mkdirs(dir, e)) < 0)
		goto out;
	if (rename(f.path, q->moved_to) < 0) {
		rc = error_set(e, -errno, f.path, -1, "rename to %s: %s",
		    q->moved_to, strerror(errno));
		goto out;
	}
	strlcpy(parent, f.path, sizeof(parent));
	if ((slash = strrchr(parent, '/')) != NULL)
		*slash = '\0';
	if ((rc = durable_fsync_dir(parent, e)) < 0 ||
	    (rc = durable_fsync_dir(dir, e)) < 0)
		goto out;
	rc = leave_note(f.path, q, e);
out:
	close(lock);
	return rc;
}
