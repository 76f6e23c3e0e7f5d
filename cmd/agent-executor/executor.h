/*
 * executor.h: the executor, the process that owns one task and outlives
 * the agent.  It forks the task (exec of argv, never a shell) in its own
 * process group, serves one agent at a time on a Unix socket (peers of
 * its own uid or root only), keeps every status update until the agent
 * acknowledges it and sends the unacknowledged ones again to each new
 * agent.  When the agent goes away it keeps the task for the recovery
 * timeout (checkpointing framework) or kills it at once (otherwise).
 * The task's end is written to executor.exit before it is reported.
 * A new connection replaces the agent's only once it has proven itself
 * (REGISTER with the run's secret, given at start on --secret-fd); a
 * stranger that connects changes nothing.
 * One poll loop, signals through a signalfd; no threads.  The body of the
 * agent-executor program, not library code.
 */
#ifndef CKPT_EXECUTOR_H
#define CKPT_EXECUTOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "cli.h"
#include "command.h"
#include "error.h"
#include "paths.h"

struct executor_options {
	const char *work;
	struct ckpt_ids ids;		/* agent, framework, executor, run, task */
	const char *socket;
	bool checkpoint;
	long long recovery_timeout_ms;	/* agent away this long: kill, exit */
	long long grace_ms;		/* SIGTERM to SIGKILL */
	long long register_timeout_ms;	/* no agent at all this long (no checkpoint) */
	char **argv;			/* the task */
	int secret_fd;			/* the run's secret to read, or -1 */
	int resume_fd;			/* an upgrade's state (handoff.c), or -1 */
	bool resume_check;		/* ... only read and checked */
	char **self_argv;		/* our argv (what an upgrade execs again) */
	const char *cgroup_root;	/* cgroup v2 directory for runs, or NULL */
	const char *user;		/* run the task as this user, or NULL */
	struct cli_bounds bounds;	/* its stdout and stderr's */
	struct cg_limits limits;	/* what it may take (0: unlimited) */
	long long disk_watch_ms;	/* --disk-watch-interval */
	bool limits_best_effort;	/* no cgroup for them: run anyway */
	struct health {			/* its health check (health.c) */
		enum { HEALTH_NONE, HEALTH_COMMAND, HEALTH_TCP,
		    HEALTH_HTTP } kind;
		struct command words;	/* COMMAND: split, never a shell */
		char **argv;		/* ... its argv */
		int port;		/* TCP, HTTP */
		char path[256];		/* HTTP: "/..." */
		long long delay_ms, interval_ms, timeout_ms, grace_ms;
		int failures;
		char spec[512];		/* as given, for pids/task.check */
	} health;
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int n_groups;
};

/* Run until the task has ended and its updates are acknowledged (or no
 * agent came back in time).  Returns the process exit status. */
int executor_main(const struct executor_options *o, struct ckpt_error *e);

#endif
