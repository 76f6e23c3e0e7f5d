/*
 * recovery.h: what an agent starting on a work dir must do, decided from
 * the checkpoint alone (read-only unless `repair`): for each executor run
 * not yet terminated, whether its process is the one checkpointed and
 * alive, whether the host rebooted, and the action: reconnect, kill or
 * none.  agent-run acts on the plan; `recover` prints it.
 */
#ifndef CKPT_RECOVERY_H
#define CKPT_RECOVERY_H

#include <jansson.h>
#include <stdbool.h>

#include "jsonw.h"
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

struct recovery_plan {
	const char *work;
	struct state *state;		/* NULL when there is no checkpoint */
	const struct state_agent *agent;	/* the latest agent, or NULL */
	bool reboot;
	char boot_id[64];		/* the running kernel's */
	struct recovery_run *runs;
	size_t n_runs;
};

/* 0 with the plan; -ENOENT (66) no such work dir; -EBADMSG strict failure.
 * A work dir without meta/ gives an empty plan (a new agent).  The whole
 * tree is kept (the agent acts on it). */
int recovery_plan(const char *work, const struct state_options *o,
    bool cleanup, struct recovery_plan *p, struct ckpt_error *e);

/* The same decisions, streamed: cb sees each not-yet-terminated run of
 * the latest agent that filter keeps (filter may be NULL), with a plan
 * that has no runs and no state; nothing is kept.  A negative return of
 * cb stops the walk with that code. */
typedef int (*recovery_cb)(void *ctx, const struct recovery_plan *p,
    const struct recovery_run *r);
int recovery_walk(const char *work, const struct state_options *o,
    const struct walk_filter *filter, bool cleanup, recovery_cb cb,
    void *ctx, struct ckpt_error *e);
void recovery_plan_free(struct recovery_plan *p);
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
