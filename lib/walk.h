/*
 * walk.h: the one walk over a work dir, shared by every reader
 * (ckpt-inspect, recover, recover --gc, the agent's recovery).
 *
 * It streams: one executor (its runs, tasks and stream summaries) is read,
 * filtered, handed to the visitor and freed before the next is read, so
 * memory does not grow with the number of executors.  Every path is
 * walked from a directory fd of the work dir, each component opened with
 * O_NOFOLLOW|O_DIRECTORY; every file is opened with O_NOFOLLOW|O_NONBLOCK
 * and must be a regular file (at.h).  Names starting with '.' (a run
 * being removed by gc) and names that are not valid ids are skipped.
 *
 * The order of the visitor's calls, each optional:
 *   begin(state)                                      once
 *     agent(a)                                        per agent visited
 *       framework(a, f)  executor(a, f, x)...  framework_end(a, f)
 *     agent_end(a)
 *   end(state)
 * With an executor or task filter, framework() comes just before the
 * first executor that matches (a framework with none is not shown).
 * A visitor may take what a node holds (copy it, then zero the node):
 * the walk frees the node after the node's last call.  A negative return
 * stops the walk with that code.
 */
#ifndef CKPT_WALK_H
#define CKPT_WALK_H

#include <stdbool.h>

#include "state.h"

/* Which nodes to visit.  Values of one kind are ORed; kinds are ANDed.
 * A task filter (task, state, unacked) keeps the tasks that match, the
 * runs that keep one, and the executors that keep a run. */
struct walk_filter {
	const char **framework;
	size_t n_framework;
	const char **executor;
	size_t n_executor;
	const char **task;
	size_t n_task;
	int *state;
	size_t n_state;
	bool unacked;
};

enum walk_filter_kind { FILTER_FRAMEWORK, FILTER_EXECUTOR, FILTER_TASK,
    FILTER_STATE };

/* Add one value (an id, or a task state by name): 0, -EINVAL for an
 * unknown state or an invalid id (e says why), -ENOMEM. */
int walk_filter_add(struct walk_filter *f, enum walk_filter_kind kind,
    const char *value, struct ckpt_error *e);
/* The filter options every reader takes (ckpt-inspect, recover), for a
 * getopt_long table: --framework/-f, --executor/-e, --task/-t (each
 * repeatable, ORed), --state (repeatable), --unacked. */
#define WALK_OPT_STATE 0x101
#define WALK_OPT_UNACKED 0x102
#define WALK_FILTER_OPTIONS \
	{ "framework", required_argument, NULL, 'f' }, \
	{ "executor", required_argument, NULL, 'e' }, \
	{ "task", required_argument, NULL, 't' }, \
	{ "state", required_argument, NULL, WALK_OPT_STATE }, \
	{ "unacked", no_argument, NULL, WALK_OPT_UNACKED }
/* Apply option ch (with arg) to f: 1 when it was a filter option, 0 when
 * not, or -EINVAL / -ENOMEM with e set. */
int walk_filter_option(struct walk_filter *f, int ch, const char *arg,
    struct ckpt_error *e);
void walk_filter_free(struct walk_filter *f);
bool walk_filter_by_task(const struct walk_filter *f);
bool walk_task_matches(const struct walk_filter *f, const struct state_task *t);

struct walk_visitor {
	void *ctx;
	int (*begin)(void *ctx, struct state *s);
	int (*agent)(void *ctx, struct state *s, struct state_agent *a);
	int (*framework)(void *ctx, struct state_agent *a,
	    struct state_framework *f);
	int (*executor)(void *ctx, struct state_agent *a,
	    struct state_framework *f, struct state_executor *x);
	int (*framework_end)(void *ctx, struct state_agent *a,
	    struct state_framework *f);
	int (*agent_end)(void *ctx, struct state *s, struct state_agent *a);
	int (*end)(void *ctx, struct state *s);
};

/* Walk work.  0 when done; -ENOENT when work has no meta/ (no checkpoint;
 * e says so), -EBADMSG a strict recovery error, or a visitor's code.
 * filter may be NULL.  The state passed to begin() and end() has no
 * agents: they come one at a time. */
int walk(const char *work, const struct state_options *o,
    const struct walk_filter *filter, const struct walk_visitor *v,
    struct ckpt_error *e);

#endif
