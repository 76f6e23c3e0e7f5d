/*
 * spawn.h: starting a program the one way the agent starts an executor
 * and an executor starts its task: fork, then in the child its own
 * session (or process group), signals unblocked, an optional
 * parent-death signal, a working directory, stdio from files, an
 * optional descriptor as fd 3, optionally another user (its groups, gid
 * and uid set before the working directory and the stdio files are
 * opened, so that they are the user's), nothing else inherited, and execvp of
 * argv (never through a shell).  The child can be held before exec
 * until the parent has checkpointed its pid; an exec failure comes back
 * to the parent as an errno.
 */
#ifndef CKPT_SPAWN_H
#define CKPT_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct spawn {
	char *const *argv;
	const char *dir;		/* chdir here first, or NULL */
	const char *out, *err;		/* appended to (0600), NULL: /dev/null */
	bool out_fds;			/* stdout, stderr: out_fd, err_fd instead */
	int out_fd, err_fd;		/* (pipes' write ends, from 3 up) */
	int fd3;			/* becomes fd 3, or -1 */
	bool session;			/* setsid; otherwise a process group */
	int death_signal;		/* PR_SET_PDEATHSIG, or 0 */
	bool hold;			/* wait for spawn_release before exec */
	const char *cgroup;		/* enter this cgroup v2 directory, or NULL */
	bool cgroup_optional;		/* ... if it can (else exec fails) */
	const char *const *limit_cgroups;	/* enter these too (NULL-ended;
					 * a failure fails the exec) */
	bool set_user;			/* run as uid, gid and groups (root) */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int n_groups;
};

/* The child's pid; *hold_fd (when s->hold) lets it go (spawn_release),
 * *exec_fd (NULL: not wanted) tells how exec went (spawn_exec_error). */
pid_t spawn_start(const struct spawn *s, int *hold_fd, int *exec_fd,
    struct ckpt_error *e);
/* Let a held child exec (hold_fd is closed).  Closing hold_fd without
 * this makes the child exit 75 before exec. */
void spawn_release(int hold_fd);
/* Wait for the child's exec: 0 if it happened, else the errno of the
 * failure (the child has then exited 127).  Closes exec_fd. */
int spawn_exec_error(int exec_fd);

#endif
