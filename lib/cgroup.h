/*
 * cgroup.h: what a task may take, as cgroups enforce it: memory (a hard
 * limit, swap bounded too), CPU (a CFS quota from `cpus`, and a weight),
 * processes (pids.max).  The one place where cgroup v1 and v2 differ.
 *
 * v2: the run's directory below the cgroup2 root the agent was given
 * (--cgroup-root), whose cgroup.subtree_control enables memory, cpu and
 * pids.  v1 (hybrid hosts): one directory per controller, below the
 * process's own cgroup in each hierarchy (what systemd's Delegate=yes
 * gives), in a subdirectory "agent-run": memory, cpu, pids, and cpuacct
 * when mounted apart.  Limits are written before the task starts: the
 * spawned child enters every directory before exec.
 */
#ifndef CKPT_CGROUP_H
#define CKPT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "mesos.pb-c.h"

/* What a task was given (0: no limit).  disk is the executor's to watch
 * (the sandbox's usage), not a cgroup's. */
struct cg_limits {
	double cpus;
	long long mem;		/* bytes */
	long long disk;		/* bytes */
	long long pids;
};

enum cg_kind { CG_MEM, CG_CPU, CG_PIDS, CG_ACCT, CG_KINDS };

/* Where runs' limit cgroups are made. */
struct cg_where {
	bool v2;
	char base[CG_KINDS][4096];	/* "" : none (only CG_ACCT may lack) */
};

/* A run's limit cgroups: dir[k], NULL when none (v2: all the same). */
struct cg_set {
	bool v2;
	char *dir[CG_KINDS];
};

/* Where: the v2 root v2_root (NULL: none) when it enables the three
 * controllers (they are enabled in its subtree), else the v1
 * hierarchies.  0, or -ENOTSUP with e saying what is missing. */
int cg_where(struct cg_where *w, const char *v2_root, struct ckpt_error *e);
/* Make run's cgroups and write l into them: v2, base/run (the run's
 * tracking cgroup, which may exist already); v1, base/group/run (group:
 * the agent's id, so that an agent finds its own orphans).  0, or an
 * error naming the file. */
int cg_make(const struct cg_where *w, const char *group, const char *run,
    const struct cg_limits *l, struct cg_set *s, struct ckpt_error *e);
/* Kill what runs in dir (a cgroup of either version) and remove it. */
void cg_destroy(const char *dir);
/* The limits the cgroups hold now (for the recovery's check). */
int cg_read_limits(const struct cg_set *s, struct cg_limits *l);
/* How many times the kernel's OOM killer killed inside (0: never). */
long long cg_oom_kills(const struct cg_set *s);
/* Remove them (empty by then); forget them. */
void cg_remove(struct cg_set *s);
void cg_free(struct cg_set *s);

/* What the task uses, with Mesos's ResourceStatistics names (-1: not
 * known). */
struct cg_usage {
	long long processes, threads;
	double cpus_user_time_secs, cpus_system_time_secs;
	long long cpus_nr_throttled;
	long long mem_rss_bytes, mem_total_bytes, mem_peak_bytes;
	long long pids_current;
};
void cg_usage(const struct cg_set *s, struct cg_usage *u);
/* The same from /proc, for a task without cgroups: pid and what it
 * forked (the descendants of pid). */
void cg_usage_proc(pid_t pid, struct cg_usage *u);

/* pids/task.limits: the limits and the directories, as text ("cpus 0.5",
 * "mem 67108864", ..., "v2 1", "dir memory /sys/..."), and back. */
int cg_format(const struct cg_set *s, const struct cg_limits *l, char *buf,
    size_t len);
int cg_parse(const char *text, struct cg_set *s, struct cg_limits *l);

/* A task's resources (task.info: Mesos scalars, mem and disk in MB) as
 * limits. */
void task_resources(const Mesos__Task *t, struct cg_limits *l);

/* "--mem 512" is MB, as in Mesos; K, M, G suffixes: bytes, or -1. */
long long cg_size_mb(const char *text);

#endif
