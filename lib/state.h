/*
 * state.h: the nodes of a work dir as recovery sees it (agents,
 * frameworks, executors, runs, tasks).  walk.h visits them one executor
 * at a time, and nothing keeps the whole tree.  Update streams are replayed (replay.h) and only their
 * summary is kept (counts, latest state, the still-pending updates), so
 * memory does not grow with the number of updates.  Strict mode stops at
 * the first recovery error (-EBADMSG, the error naming file and offset);
 * non-strict mode records the error on the node and goes on.
 */
#ifndef CKPT_STATE_H
#define CKPT_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "mesos.pb-c.h"
#include "proc.h"
#include "replay.h"
#include "taskstate.h"

struct state_error {
	char *path;
	long long offset;
	char *reason;
};

struct state_errors {
	struct state_error *v;
	size_t n;
};

/* An update not yet acknowledged: what is needed to deliver it again (the
 * whole record can be read back at offset). */
struct state_pending {
	uint8_t uuid[16];
	int state;
	bool from_agent;		/* its status's source is the agent */
	int reason;			/* its status's reason, or -1 */
	int healthy;			/* its status's `healthy`, or -1 */
	double timestamp;
	long long offset;
	char *message;			/* its status's, when asked for */
};

struct state_task {
	char *id;
	Mesos__Task *info;		/* NULL when task.info is absent or bad */
	size_t n_updates, n_acks;
	int latest_state;		/* -1 when there is no update */
	int healthy;			/* the last update's `healthy`, -1 none */
	bool terminal;			/* a terminal update was checkpointed */
	struct state_pending *pending;	/* unacknowledged, in stream order */
	size_t n_pending;
	bool torn;			/* the stream has a torn tail ... */
	long long valid_end;		/* ... after this many bytes */
	bool repaired;			/* ... which was truncated away */
	size_t unchecked;		/* records without the checksum after
					 * records with one (an older writer
					 * appended them): accepted */
	long long unchecked_at;		/* ... the first one's offset, or -1 */
	bool ended;			/* executor.exit says it ended, the stream
					 * does not: its final update is to come */
	int end_state;			/* ... and what that update will be */
	struct state_errors errors;
};

struct state_run {
	char *id;
	bool latest;
	bool completed;			/* executor.sentinel exists */
	pid_t pid;			/* forked.pid, 0 when absent */
	unsigned long long start_time;	/* forked.start, 0 when absent */
	time_t pid_mtime;		/* forked.pid's mtime (Mesos bound) */
	/* Is pid the checkpointed process?  Checked by the walk as it reads
	 * the run (on its worker threads), PROC_GONE when there is no pid. */
	enum proc_identity identity;
	char *libprocess_pid;
	char *socket;
	char *secret;			/* executor.secret, when asked for */
	time_t deadline;		/* executor.deadline (when asked), 0 */
	char *limits;			/* task.limits (when asked), or NULL */
	char *check;			/* task.check (with versions), or NULL */
	char *health;			/* task.health (with versions), or NULL */
	char *version;			/* executor.version (when asked): "0.2.0
					 * 2", the release and protocol of the
					 * executor that runs it; NULL: before
					 * 0.2.0 (or not asked) */
	char *quarantined;		/* set aside: why (quarantine.h), or NULL */
	enum exit_kind exit_kind;	/* executor.exit */
	int exit_value;
	struct state_task *tasks;
	size_t n_tasks;
	struct state_errors errors;
};

struct state_executor {
	char *id;
	Mesos__ExecutorInfo *info;
	char *latest_run;		/* target of runs/latest, or NULL */
	bool latest_dangling;		/* runs/latest names a missing run */
	struct state_run *runs;
	size_t n_runs;
	struct state_errors errors;
};

struct state_framework {
	char *id;
	Mesos__FrameworkInfo *info;
	char *pid;			/* framework.pid text, or NULL */
	struct state_executor *executors;
	size_t n_executors;
	struct state_errors errors;
};

struct state_agent {
	char *id;
	bool latest;
	Mesos__SlaveInfo *info;
	struct state_framework *frameworks;
	size_t n_frameworks;
	struct state_errors errors;
};

struct state {
	char *work;
	char *boot_id;			/* meta/boot_id, or NULL */
	char *latest_agent;		/* target of slaves/latest, or NULL */
	struct state_errors errors;
};

struct state_options {
	bool strict;
	bool repair;			/* truncate torn tails (writes!) */
	bool latest_only;		/* only the agent slaves/latest names */
	bool deadlines;			/* read each run's executor.deadline */
	bool versions;			/* ... and its executor.version */
	bool limits;			/* ... and its task.limits */
	/* Also read each run's executor.secret (the agent, which proves
	 * itself with it; never an error: a run without one is reached
	 * without proof, as before). */
	bool secrets;
	/* Keep each pending update's message (the agent, which sends them
	 * again) instead of leaving it to be read back at its offset. */
	bool messages;
};

/* Add e to l (the node's errors): 0, or -ENOMEM. */
int state_error_add(struct state_errors *l, const struct ckpt_error *e);

/* Free what a node holds (not the node itself), leaving it zeroed. */
void state_agent_clear(struct state_agent *a);
void state_framework_clear(struct state_framework *f);
void state_executor_clear(struct state_executor *x);
void state_run_clear(struct state_run *r);
void state_task_clear(struct state_task *t);
void state_errors_clear(struct state_errors *l);

#endif
