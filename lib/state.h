/*
 * state.h: a whole work dir read into a tree (agents, frameworks,
 * executors, runs, tasks), as recovery sees it.  Update streams are
 * replayed record by record and only their summary is kept (counts,
 * latest state, the still-pending updates), so memory does not grow with
 * the number of updates.  Strict mode stops at the first corrupt file
 * (-EBADMSG, the error naming file and offset); non-strict mode records
 * the error on the node and goes on.  A torn tail is never an error; with
 * `repair` the file is truncated to its last whole record.
 */
#ifndef CKPT_STATE_H
#define CKPT_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "mesos.pb-c.h"

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
	double timestamp;
	long long offset;
};

struct state_task {
	char *id;
	Mesos__Task *info;		/* NULL when task.info is absent or bad */
	size_t n_updates, n_acks;
	int latest_state;		/* -1 when there is no update */
	bool terminal;			/* a terminal update was checkpointed */
	struct state_pending *pending;	/* unacknowledged, in stream order */
	size_t n_pending;
	bool torn;			/* the stream has a torn tail ... */
	long long valid_end;		/* ... after this many bytes */
	bool repaired;			/* ... which was truncated away */
	struct state_errors errors;
};

enum exit_kind { EXIT_NONE, EXIT_CODE, EXIT_SIGNAL, EXIT_LOST };

struct state_run {
	char *id;
	bool latest;
	bool completed;			/* executor.sentinel exists */
	pid_t pid;			/* forked.pid, 0 when absent */
	unsigned long long start_time;	/* forked.start, 0 when absent */
	time_t pid_mtime;		/* forked.pid's mtime (Mesos bound) */
	char *libprocess_pid;
	char *socket;
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
	struct state_agent *agents;
	size_t n_agents;
	struct state_errors errors;
};

struct state_options {
	bool strict;
	bool repair;			/* truncate torn tails (writes!) */
	bool latest_only;		/* only the agent slaves/latest names */
};

/* Read work.  0 and *out (possibly with errors on nodes when non-strict),
 * -ENOENT when work has no meta/ (no checkpoint), -EBADMSG strict failure.
 * A meta/ without slaves/ yields an empty tree. */
int state_read(const char *work, const struct state_options *opt,
    struct state **out, struct ckpt_error *e);
void state_free(struct state *s);

/* Replay one task.updates stream: fills counts, latest state, pending,
 * torn.  cb, when not NULL, sees every record with its offset and whether
 * its update is acknowledged later in the stream (a second pass). */
typedef void (*state_update_cb)(void *ctx, long long offset,
    const Mesos__StatusUpdateRecord *rec, bool acked);
int state_replay_updates(const char *path, bool strict, bool repair,
    struct state_task *t, state_update_cb cb, void *ctx,
    struct ckpt_error *e);
void state_task_clear(struct state_task *t);
/* The update of the UPDATE record at offset of the stream at path (free
 * with mesos__status_update__free_unpacked). */
int state_update_at(const char *path, long long offset,
    Mesos__StatusUpdate **out, struct ckpt_error *e);
/* Is the update with this uuid in the stream at path: 0 no, 1 yes and
 * pending, 2 yes and acknowledged. */
int state_update_known(const char *path, const uint8_t uuid[16]);

bool task_state_terminal(int state);
const char *task_state_name(int state);

/* executor.exit text: "exited N", "signaled N", "lost REASON". */
int exit_parse(const char *text, enum exit_kind *kind, int *value);
int exit_state(enum exit_kind kind, int value);	/* the TaskState it means */

#endif
