/*
 * recovery.h: what an agent starting on a work dir must do, decided from
 * the checkpoint alone (read-only unless `repair`): for each executor run
 * not yet terminated, whether its process is the one checkpointed and
 * alive, whether the host rebooted, and the action: reconnect, kill or
 * none.  agent-run acts on it as the walk goes; `recover` prints it.
 */
#ifndef CKPT_RECOVERY_H
#define CKPT_RECOVERY_H

#include <jansson.h>
#include <stdbool.h>

#include "jsonw.h"
#include "paths.h"
#include "proc.h"
#include "state.h"
#include "walk.h"

enum recovery_action { ACTION_NONE, ACTION_RECONNECT, ACTION_KILL };

struct recovery_run {
	const struct state_agent *agent;
	const struct state_framework *framework;
	const struct state_executor *executor;
	const struct state_run *run;
	enum proc_identity identity;
	bool checkpoint;
	enum recovery_action action;
	size_t pending;
};

/* What a walk found above the runs: filled as the walk goes (agent is
 * the latest agent's node while its runs are visited; agent_id stays). */
struct recovery_plan {
	const char *work;
	const struct state_agent *agent;	/* during the walk, or NULL */
	char agent_id[ID_MAX + 1];	/* the latest agent's; "" when none */
	bool reboot;
	char boot_id[64];		/* the running kernel's */
};

/* What sees the runs of one walk: run() each not-yet-terminated run of
 * the latest agent that the filter keeps; errors() (may be NULL) the
 * errors recorded (non-strict) on the nodes above the runs: the work
 * dir's and the agent's.  A negative return of run() stops the walk with
 * that code.  What the nodes hold lives only during the call. */
struct recovery_visitor {
	void *ctx;
	int (*run)(void *ctx, const struct recovery_plan *p,
	    const struct recovery_run *r);
	void (*errors)(void *ctx, const struct state_errors *l);
};

/* The one walk of recovery, streamed: nothing is kept.  0 with p filled
 * (p may be NULL); -ENOENT (66) no such work dir; -EBADMSG a strict
 * failure.  A work dir without meta/ has no runs (a new agent). */
int recovery_walk(const char *work, const struct state_options *o,
    const struct walk_filter *filter, bool cleanup,
    const struct recovery_visitor *v, struct recovery_plan *p,
    struct ckpt_error *e);
/* A run's line of `recover --json`: written to w, or as a jansson value
 * (the same text parsed, for callers that keep it or add to it). */
void recovery_run_write(struct jsonw *w, const struct recovery_plan *p,
    const struct recovery_run *r);
json_t *recovery_run_json(const struct recovery_plan *p,
    const struct recovery_run *r);
/* The errors a run's line carries (its tasks', its own, its executor's,
 * its framework's), and its process's identity by name ("none"). */
size_t recovery_run_errors(const struct recovery_run *r);
const char *recovery_process_name(const struct recovery_run *r);
const char *recovery_action_name(enum recovery_action a);

#endif
