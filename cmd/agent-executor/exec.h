/*
 * exec.h: inside agent-executor (executor.h is what main sees).  Its
 * files, in floors (a file calls only files below it):
 *
 *   executor.c   the loop, signals, executor_main
 *   link.c       the agent's connection: REGISTER/HELLO, acks, commands
 *   handoff.c    upgraded in place: the state handed to the new image
 *   health.c     the task's health check (raises KILL)
 *   states.c     the task's states: the table, and x_event()
 *   task.c       the task's process, its output, its end
 *   limits.c     what the task may take: cgroups, OOM and disk watches
 *   updates.c    the updates kept until acknowledged
 */
#ifndef EXECUTOR_EXEC_H
#define EXECUTOR_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "checkpoint.h"
#include "contain.h"
#include "executor.h"
#include "tasklog.h"

/* A progress line longer than this is cut (and marked as cut); past
 * PENDING_MAX unacknowledged updates, progress is coalesced: the latest
 * line waits, replacing those before it, until acknowledgements make
 * room.  The terminal update is never dropped. */
#define LINE_MAX_BYTES	4096
#define PENDING_MAX	1000

/* The task's state (states.c holds the table of state by event). */
enum task_state {
	T_RUNNING,		/* started (or starting) */
	T_KILLING,		/* SIGTERM sent to its tree; SIGKILL at grace */
	T_ENDED,		/* reaped, its end recorded and queued */
	T_STATES
};

/* What happens to the task. */
enum x_event {
	XE_KILL,		/* the agent's KILL (arg: grace in ms) */
	XE_SHUTDOWN,		/* SHUTDOWN, SIGTERM: kill, then leave */
	XE_AGENT_GONE,		/* the agent's connection ended */
	XE_AWAY,		/* no agent within the recovery timeout */
	XE_GRACE,		/* the kill's grace has passed */
	XE_EXITED,		/* the task was reaped (arg: wait status) */
	XE_FAILED,		/* it could not start (arg: why) */
	X_EVENTS
};

struct queued {
	uint8_t uuid[16];
	bool terminal;
	bool settles;			/* acked: the stream is settled */
	uint8_t *frame;			/* the framed UPDATE message */
	size_t len;
};

struct executor {
	const struct executor_options *o;
	enum task_state st;		/* changed by x_event() alone */
	struct channel agent;		/* fd -1 when no agent */
	struct channel cand;		/* a new connection, not yet proven */
	bool has_secret;
	uint8_t secret[SECRET_LEN];
	struct contain tree;		/* the task and all it forks */
	bool registered;		/* HELLO sent on this connection */
	int protocol;			/* the executor protocol this agent speaks */
	bool tool;			/* ... a tool, not an agent: the recovery
					 * deadline runs on while it is here */
	int listen_fd, signal_fd;
	int status_fd;			/* read end of the task's fd 3, or -1 */
	char status_buf[LINE_MAX_BYTES + 1];
	size_t status_len;
	bool status_cut;		/* dropping the rest of a long line */
	char *latest;			/* coalesced progress, not yet queued */
	unsigned long coalesced;	/* lines it replaced */
	struct tasklog logs[2];		/* the task's stdout, stderr */
	pid_t task;			/* 0 once reaped */
	int kill_reason;		/* TaskState a kill we made reports */
	bool exiting;			/* leave once the task is gone */
	bool system_stop;		/* SIGTERM came from pid 1 */
	long long kill_deadline, away_deadline;	/* ms, 0: none */
	struct cg_set lim;		/* its limit cgroups (limits.c) */
	long long next_oom_ms, next_disk_ms;	/* watches, 0: none */
	long long disk_used;		/* the sandbox's, last measured */
	struct {			/* the health check (health.c) */
		pid_t pid;		/* a check running, or 0 */
		int out;		/* its output, or -1 */
		long long start_ms, next_ms, deadline_ms;
		bool timed_out, initializing;
		int healthy;		/* -1 not yet, 0, 1 */
		int consecutive;	/* failures counted in a row */
	} hc;
	bool killed_by_health;		/* the kill was the check's */
	int limit_reason;		/* over a limit: Mesos's reason, 0 */
	int start_reason;		/* it could not start: the reason, 0 */
	char limit_msg[300];
	struct queued *q;
	size_t nq;
	bool done;			/* terminal update queued */
};

/* updates.c */
void logmsg(const char *fmt, const char *arg);
/* Keep the update until acknowledged; sent now if an agent is here. */
void queue_update(struct executor *x, int state, const char *message);
/* ... with Mesos's TaskStatus reason (-1: none). */
void queue_update_reason(struct executor *x, int state, const char *message,
    int reason);
/* ... and `healthy` (-1: none, 0, 1). */
void queue_update_full(struct executor *x, int state, const char *message,
    int reason, int healthy);
/* The coalesced progress line, queued once there is room (force: before
 * the terminal update, room or not). */
void release_latest(struct executor *x, bool force);
/* A line the task wrote on fd 3. */
void progress(struct executor *x, const char *line);
void ack(struct executor *x, const uint8_t *uuid, size_t len);
void updates_free(struct executor *x);

/* task.c */
/* Start the task: 0, or -1 with why it could not start in msg (its
 * TASK_FAILED). */
int start_task(struct executor *x, char *msg, size_t len,
    struct ckpt_error *e);
/* The agent is gone: the executor gives up at now + ms (noted). */
/* Which release runs the task (pids/executor.version), after an upgrade. */
void note_version(struct executor *x);
void note_deadline(struct executor *x, long long ms);
/* SIGTERM (or SIGKILL) to the task's whole tree. */
void signal_tree(struct executor *x, int sig);
/* What the task reported, and its output, up to its end. */
ssize_t status_lines(struct executor *x);
/* The end of a reaped task (wait status), or of one that never ran:
 * recorded (executor.exit), then reported. */
void task_exited(struct executor *x, int status);
void task_failed(struct executor *x, const char *msg);
void reap_tree(struct executor *x);
void close_logs(struct executor *x);

/* health.c */
/* Checks start (after --health-delay). */
void health_start(struct executor *x);
/* A child was reaped: the check's, its verdict. */
void health_reaped(struct executor *x, pid_t pid, int status);
/* A check due at now started, one overdue killed: ms to the next, -1. */
long long health_watch(struct executor *x, long long now);
void health_fini(struct executor *x);

/* limits.c */
/* Its limit cgroups made (root: the cgroup2 root of its tracking
 * cgroup, or NULL): 0, or -1 with msg (it cannot start). */
int limits_setup(struct executor *x, const char *root, char *msg,
    size_t len);
/* The directories the task enters before exec, NULL-terminated. */
void limits_dirs(const struct executor *x, const char *v[CG_KINDS + 1]);
/* Watches due at now done: the ms to the next, or -1. */
long long limits_watch(struct executor *x, long long now);
/* At its end: Mesos's reason if it went over a limit (msg says how),
 * else 0. */
int limits_end(struct executor *x, char *msg, size_t len);
void limits_fini(struct executor *x);
/* Upgraded in place: its limit cgroups found again, watches restarted. */
void limits_resume(struct executor *x);

/* handoff.c */
/* Re-exec into path keeping the task; returns only if it did not (why
 * says so, and the executor carries on). */
int handoff_upgrade(struct executor *x, const char *path, char *why,
    size_t len);
/* The state handed over on fd into x (check_only: read and checked,
 * nothing taken): 0, or -EBADMSG with e saying what. */
int handoff_resume(struct executor *x, int fd, bool check_only,
    struct ckpt_error *e);

/* link.c */
/* Upgraded: HELLO again to the agent connected before. */
void resumed(struct executor *x);

/* states.c */
void x_event(struct executor *x, enum x_event ev, const void *arg);

/* link.c */
void read_secret(struct executor *x, int fd);
void accept_agent(struct executor *x);
/* A message on the candidate connection: proven, it is the agent's. */
void candidate(struct executor *x);
/* The agent's connection is ready (revents): write, read, act. */
void agent_io(struct executor *x, short revents);

#endif
