/*
 * walk_filter.h: which nodes of a work dir a walk keeps (walk.h), from
 * the options every reader takes.  Values of one kind are ORed, kinds
 * are ANDed; a filter with no values of a kind keeps every node of it.
 */
#ifndef CKPT_WALK_FILTER_H
#define CKPT_WALK_FILTER_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
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
/* Does f (NULL: no filter) keep the node with this id? */
bool walk_filter_framework(const struct walk_filter *f, const char *id);
bool walk_filter_executor(const struct walk_filter *f, const char *id);
bool walk_filter_task_id(const struct walk_filter *f, const char *id);

#endif
