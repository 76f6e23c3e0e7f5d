/*
 * contain.h: a task's whole process tree, and nothing else.
 *
 * The executor is a child subreaper (PR_SET_CHILD_SUBREAPER): whatever its
 * task forks, double-forks, setsid()s or daemonizes stays below it.  With
 * a cgroup v2 directory for the run (a writable root given), the task is
 * placed in it before exec: signals go to the processes listed in
 * cgroup.procs, SIGKILL through cgroup.kill, and the tree is empty when
 * cgroup.events says "populated 0"; the cgroup is removed at the end.
 * Without one, the tree is every process whose parent chain in /proc
 * leads to us.  Processes below us are ours to signal: a pid cannot be
 * recycled while we have not reaped it, and a grandchild is signalled
 * through a pidfd opened while its parent chain still leads to us.
 */
#ifndef CKPT_CONTAIN_H
#define CKPT_CONTAIN_H

#include <stddef.h>

#include "error.h"

/* The environment variable every process of a task's tree inherits,
 * holding the run's id: without a cgroup, what is left of a run whose
 * executor and task are gone is found by it (contain_kill_marked). */
#define RUN_MARK	"AGENT_TOOLS_RUN"

struct contain {
	char *cgroup;			/* the run's cgroup directory, or NULL */
};

/* Become a subreaper; with cgroup_root (a cgroup v2 directory; NULL:
 * none), make cgroup_root/name for the task.  0, or an error (the cgroup
 * cannot be made: e names it). */
int contain_init(struct contain *c, const char *cgroup_root,
    const char *name, struct ckpt_error *e);
/* Send sig to every process of the tree (not to us): how many. */
int contain_signal(const struct contain *c, int sig);
/* Processes left in the tree (zombies not counted). */
int contain_count(const struct contain *c);
/* Remove the cgroup (empty by then); forget it. */
void contain_fini(struct contain *c);
/* The cgroup v2 mount point, from /proc/self/mountinfo: 0, or -ENOENT. */
int contain_cgroup2_mount(char *buf, size_t len);
/* This process's own cgroup v2 directory (the cgroup2 mount and the
 * "0::PATH" line of /proc/self/cgroup), into buf: 0, or -ENOENT. */
int contain_self_cgroup(char *buf, size_t len);
/* SIGKILL every process of cgroup dir (cgroup.kill, or one by one on
 * kernels without it) and remove it: how many were there, or -errno. */
int contain_cgroup_kill(const char *dir);

/* The processes that carry RUN_MARK, by run: one pass over /proc for
 * any number of runs (a restart after many executors died looks each
 * up here, not in /proc again). */
struct contain_marks {
	struct contain_mark {
		char *run;
		pid_t pid;
	} *v;
	size_t n;
};
/* Read them: 0, or -errno. */
int contain_marks_scan(struct contain_marks *m);
/* SIGKILL those of run (each checked again, through a pidfd, to carry
 * the mark still): how many. */
int contain_marks_kill(const struct contain_marks *m, const char *run);
void contain_marks_free(struct contain_marks *m);

#endif
