/*
 * quarantine.h: the way out of a damaged checkpoint.  A run whose files
 * cannot be recovered (strict recovery stops at them, every start) is
 * moved aside whole, into WORK/quarantine/RUN-TIME, its bytes kept for the
 * post-mortem; in its place stays a run directory with one file,
 * `quarantined`, saying why and where, and the ids of its tasks, so that
 * the next agent reports each of them TASK_LOST naming the file, and
 * starts strict again.  Its executor, if alive and proven to be the one
 * checkpointed, is stopped first: nothing of it runs unaccounted for.
 */
#ifndef CKPT_QUARANTINE_H
#define CKPT_QUARANTINE_H

#include <limits.h>
#include <stddef.h>

#include "error.h"
#include "paths.h"

struct quarantine {
	char framework[ID_MAX + 1], executor[ID_MAX + 1];
	char moved_to[PATH_MAX];
	char reason[PATH_MAX + 600];	/* the first error reading it */
	char tasks[16][ID_MAX + 1];	/* its tasks (the first 16) */
	size_t n_tasks;
	const char *executor_result;	/* "killed", "gone", "none" */
};

/* Set run aside (work not locked by an agent; grace before SIGKILL of its
 * executor): 0 and q filled, or -ENOENT (no such run), -EAGAIN (an agent
 * holds the work dir), -EINVAL (not a run id), or an I/O error. */
int quarantine_run(const char *work, const char *run, long long grace_ms,
    struct quarantine *q, struct ckpt_error *e);

#endif
