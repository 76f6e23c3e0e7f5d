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
#include "walk_filter.h"

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
	/* An entry where a framework, executor, run or task directory
	 * would be that is not one (a symbolic link, not a directory, not a
	 * valid id): passed over, and told here (from any thread, one call
	 * at a time). */
	void (*skipped)(void *ctx, const char *path, const char *why);
};

/* Walk work.  0 when done; -ENOENT when work has no meta/ (no checkpoint;
 * e says so), -EBADMSG a strict recovery error, or a visitor's code.
 * filter may be NULL.  The state passed to begin() and end() has no
 * agents: they come one at a time. */
int walk(const char *work, const struct state_options *o,
    const struct walk_filter *filter, const struct walk_visitor *v,
    struct ckpt_error *e);

#endif
