/*
 * tasklog.h: a task's stdout or stderr, bounded.  The task writes into a
 * pipe; the executor moves what it reads into the sandbox's file (splice:
 * no copy through user space) and rotates the file when it would pass
 * max bytes: NAME -> NAME.1 -> ... -> NAME.KEEP, the oldest dropped (keep
 * 0: the file starts again from empty), the way Mesos's logrotate
 * container logger and conmon's --log-size-max bound a container's logs.
 * A task that writes faster than the disk takes is slowed by the pipe;
 * nothing below the bound is lost.  Below reserve free bytes on the
 * sandbox's file system, output is dropped (and counted) instead: the
 * agent's checkpoints come first.  The body of agent-executor, not
 * library code.
 */
#ifndef EXECUTOR_TASKLOG_H
#define EXECUTOR_TASKLOG_H

#include <stdbool.h>
#include <sys/types.h>

struct tasklog {
	const char *name;	/* "stdout" or "stderr", in the sandbox */
	int in;			/* the pipe's read end, -1 at its end */
	int out;		/* the file, -1: none (could not be opened) */
	long long size, max;
	int keep;
	uid_t uid;		/* the files' owner (the task's user) */
	gid_t gid;
	bool own;		/* chown them to uid:gid */
	int err;		/* the last write error (errno), 0: none */
	long long reserve;	/* free bytes left to the agent's checkpoints */
	long long dropped;	/* bytes dropped (no space, no file) */
};

/* Open (append to) the sandbox's file name; in is the pipe's read end
 * (non-blocking afterwards).  0, or -errno. */
int tasklog_open(struct tasklog *t, const char *name, int in, long long max,
    int keep);
/* Move what the pipe holds into the file, rotating at the bound; at most
 * budget bytes per call.  1: more may come, 0: the pipe has ended (its
 * read end is closed). */
int tasklog_drain(struct tasklog *t, long long budget);
void tasklog_close(struct tasklog *t);

#endif
