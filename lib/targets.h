/*
 * targets.h: the executors a tool acts on (executor-kill,
 * executor-reconnect), as recover's JSON lines (from stdin) or named by
 * ids on the command line (looked up in the work dir the same way recover
 * does).  A line is parsed once into a typed target; a line that lacks
 * what proves the executor's identity (its ids, pid, start time, pid file
 * time, reboot flag) is refused, naming the line and the field, so that
 * no tool ever reports an executor "gone" without having proven it.
 */
#ifndef CKPT_TARGETS_H
#define CKPT_TARGETS_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "paths.h"

struct target {
	const char *work_dir, *agent_id, *framework_id, *executor_id, *run_id;
	const char *socket;		/* NULL when none was checkpointed */
	const char *task_id;		/* the run's first task, or NULL */
	pid_t pid;			/* 0 when none was checkpointed */
	unsigned long long start_time;	/* 0: unknown (a Mesos run) */
	time_t pid_mtime;
	bool reboot;
	bool checkpoint;			/* its framework checkpoints */
	json_t *json;			/* the line; owns the strings */
	bool refused;			/* disagrees with the checkpoint: */
	char why[PATH_MAX * 2 + 200];			/* ... how (both values), to report */
};

struct targets {
	struct target *v;
	size_t n;
};

/* One recover line per line of fp: 0, or -EBADMSG naming the line.  Each
 * line is checked against its run's checkpoint (the plan's consumers
 * trust the checkpoint, not the line): a line whose pid, start time or
 * socket differs from it, or whose run is not an unterminated run of its
 * work dir, is marked refused, with why (both values). */
int targets_read(FILE *fp, struct targets *t, struct ckpt_error *e);
/* The not-yet-terminated runs of framework/executor (and run when given)
 * in work. */
int targets_named(const char *work, const struct ckpt_ids *ids,
    struct targets *t, struct ckpt_error *e);
/* What a tool was asked to act on: the executor named by ids (framework
 * and executor both given, and work) or, when none is named, recover's
 * lines on stdin.  -EINVAL (usage) when the naming is incomplete. */
int targets_load(const char *work, const struct ckpt_ids *ids,
    struct targets *t, struct ckpt_error *e);
void targets_free(struct targets *t);

/* The options that choose executors, one table for executor-kill and
 * executor-reconnect (recover takes the same names as filters,
 * walk_filter.h): -d/--work-dir, -f/--framework, -e/--executor, -r/--run.
 * Without -f and -e, recover's lines come on stdin. */
#define TARGET_OPTSTRING "d:f:e:r:"
#define TARGET_OPTIONS \
	{ "work-dir", required_argument, NULL, 'd' }, \
	{ "framework", required_argument, NULL, 'f' }, \
	{ "executor", required_argument, NULL, 'e' }, \
	{ "run", required_argument, NULL, 'r' }
struct target_choice {
	const char *work;
	struct ckpt_ids ids;
};
/* Take option ch (with arg) into c: true when it is one of
 * TARGET_OPTIONS. */
bool target_option(struct target_choice *c, int ch, const char *arg);
/* What c chose (targets_load, the work dir as path_work_dir finds it). */
int targets_choose(const struct target_choice *c, struct targets *t,
    struct ckpt_error *e);
/* A tool's line about target x: {type, framework_id, executor_id,
 * run_id, pid, result, message}, message null when empty. */
json_t *target_result(const char *type, const struct target *x,
    const char *result, const char *message);

#endif
