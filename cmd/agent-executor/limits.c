/*
 * limits.c: what the task may take.  Its limit cgroups (lib/cgroup.h)
 * are made and filled before it starts, and entered by it before exec;
 * what only the executor can watch is watched here, with or without an
 * agent: the kernel's OOM kills in its memory cgroup (each second) and
 * the sandbox's disk use (each --disk-watch-interval, every file whoever
 * owns it: the executor reads as root).  Over a limit the task's tree is
 * killed (SIGKILL), as Mesos destroys a container, and its end is
 * TASK_FAILED with Mesos's reason.  Nothing here raises an event.
 */
#include <errno.h>
#include <fts.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "exec.h"
#include "taskstate.h"
#include "update.h"
#include "workdir.h"

#define OOM_CHECK_MS	1000

static bool
has_cgroup_limits(const struct cg_limits *l)
{
	return l->cpus > 0 || l->mem > 0 || l->pids > 0;
}

int
limits_setup(struct executor *x, const char *root, char *msg, size_t len)
{
	const struct cg_limits *l = &x->o->limits;
	struct ckpt_error e;
	struct cg_where w;
	char why[PATH_MAX + 600];

	x->next_disk_ms = l->disk > 0 ? monotonic_ms() : 0;
	if (!has_cgroup_limits(l))
		return 0;
	if (cg_where(&w, x->tree.cgroup ? root : NULL, &e) < 0 ||
	    cg_make(&w, x->o->ids.agent, x->o->ids.run, l, &x->lim, &e) < 0) {
		error_format(&e, why, sizeof(why));
		if (x->o->limits_best_effort) {
			logmsg("limits not enforced (--best-effort-limits): %s",
			    why);
			return 0;
		}
		snprintf(msg, len, "cannot enforce the task's limits: %s", why);
		logmsg("%s", msg);
		return -1;
	}
	x->next_oom_ms = l->mem > 0 ? monotonic_ms() + OOM_CHECK_MS : 0;
	return 0;
}

/* The spawned child's cgroups to enter: NULL-terminated, into v. */
void
limits_dirs(const struct executor *x, const char *v[CG_KINDS + 1])
{
	size_t n = 0;

	for (int k = 0; k < CG_KINDS; k++)
		if (x->lim.dir[k] && (!x->lim.v2 || k == CG_MEM))
			v[n++] = x->lim.dir[k];
	v[n] = NULL;
}

/* Bytes the directory's files take on disk, each inode once, links not
 * followed, mount points not crossed: -1 if it cannot be read. */
static long long
du(const char *dir)
{
	char *const paths[] = { (char *)dir, NULL };
	struct { dev_t dev; ino_t ino; } *seen = NULL;
	size_t n_seen = 0, cap = 0;
	long long bytes = 0;
	FTS *f = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	FTSENT *ent;

	if (f == NULL)
		return -1;
	while ((ent = fts_read(f)) != NULL) {
		const struct stat *st = ent->fts_statp;
		bool dup = false;
		if (ent->fts_info == FTS_DP || ent->fts_info == FTS_NS ||
		    ent->fts_info == FTS_ERR || st == NULL)
			continue;
		if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
			for (size_t i = 0; i < n_seen && !dup; i++)
				dup = seen[i].dev == st->st_dev &&
				    seen[i].ino == st->st_ino;
			if (!dup && n_seen < 100000) {
				if (n_seen == cap && (seen = reallocarray(seen,
				    cap = cap ? 2 * cap : 64, sizeof(*seen))) ==
				    NULL)
					abort();	/* out of memory */
				seen[n_seen].dev = st->st_dev;
				seen[n_seen++].ino = st->st_ino;
			}
		}
		if (!dup)
			bytes += (long long)st->st_blocks * 512;
	}
	fts_close(f);
	free(seen);
	return bytes;
}

static void
over(struct executor *x, int reason, const char *msg)
{
	if (x->limit_reason)
		return;
	x->limit_reason = reason;
	strlcpy(x->limit_msg, msg, sizeof(x->limit_msg));
	logmsg("%s: the task's tree is killed", msg);
	contain_signal(&x->tree, SIGKILL);
}

static void
check_memory(struct executor *x)
{
	char msg[300];
	struct cg_usage u;

	if (x->task <= 0 || cg_oom_kills(&x->lim) <= 0)
		return;
	cg_usage(&x->lim, &u);
	snprintf(msg, sizeof(msg), "memory limit %lld MB reached: the kernel's "
	    "OOM killer killed in the task's cgroup (peak %lld MB)",
	    x->o->limits.mem >> 20, u.mem_peak_bytes >= 0 ?
	    u.mem_peak_bytes >> 20 : x->o->limits.mem >> 20);
	over(x, REASON_CONTAINER_LIMITATION_MEMORY, msg);
}

static void
check_disk(struct executor *x)
{
	char sandbox[PATH_MAX], text[64], msg[300];
	struct ckpt_error e;

	if (path_build(sandbox, sizeof(sandbox), x->o->work, PATH_SANDBOX,
	    &x->o->ids, NULL) < 0 || (x->disk_used = du(sandbox)) < 0)
		return;
	snprintf(text, sizeof(text), "%lld %lld\n", x->disk_used,
	    (long long)time(NULL));
	if (x->o->checkpoint)
		checkpoint_note(x->o->work, PATH_DISK_USAGE, &x->o->ids, text,
		    &e);
	if (x->task > 0 && x->disk_used > x->o->limits.disk) {
		snprintf(msg, sizeof(msg), "disk limit %lld MB exceeded: the "
		    "sandbox holds %lld MB", x->o->limits.disk >> 20,
		    x->disk_used >> 20);
		over(x, REASON_CONTAINER_LIMITATION_DISK, msg);
	}
}

long long
limits_watch(struct executor *x, long long now)
{
	long long next = -1;

	if (x->next_oom_ms && now >= x->next_oom_ms) {
		check_memory(x);
		x->next_oom_ms = x->task > 0 ? now + OOM_CHECK_MS : 0;
	}
	if (x->next_disk_ms && now >= x->next_disk_ms) {
		check_disk(x);
		x->next_disk_ms = x->task > 0 ? now + x->o->disk_watch_ms : 0;
	}
	if (x->next_oom_ms)
		next = x->next_oom_ms - now;
	if (x->next_disk_ms && (next < 0 || x->next_disk_ms - now < next))
		next = x->next_disk_ms - now;
	return next < 0 ? -1 : next;
}

int
limits_end(struct executor *x, char *msg, size_t len)
{
	if (!x->limit_reason && x->o->limits.mem > 0)
		check_memory(x);	/* killed before the watch looked */
	if (x->limit_reason)
		snprintf(msg, len, "%s", x->limit_msg);
	return x->limit_reason;
}

/* Upgraded in place: its cgroups as pids/task.limits names them, the
 * watches started again. */
void
limits_resume(struct executor *x)
{
	const struct cg_limits *l = &x->o->limits;
	char path[PATH_MAX], text[8192];
	struct cg_limits ignored;
	long long now = monotonic_ms();

	if (path_build(path, sizeof(path), x->o->work, PATH_TASK_LIMITS,
	    &x->o->ids, NULL) == 0 && text_read(path, text, sizeof(text),
	    NULL) == 0)
		cg_parse(text, &x->lim, &ignored);
	x->next_oom_ms = l->mem > 0 && x->lim.dir[CG_MEM] ? now : 0;
	x->next_disk_ms = l->disk > 0 ? now : 0;
}

void
limits_fini(struct executor *x)
{
	cg_remove(&x->lim);
}
