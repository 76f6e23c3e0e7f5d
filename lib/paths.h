/*
 * paths.h: the work dir's layout (FORMAT.md) and the validation of every
 * id before it becomes a path component.  An id is valid when it is 1 to
 * 255 bytes of valid UTF-8, not "." or "..", and holds no '/', NUL or
 * control character.
 * Every builder returns 0, or -ENAMETOOLONG / -EINVAL with the error set.
 */
#ifndef CKPT_PATHS_H
#define CKPT_PATHS_H

#include <stddef.h>

#include "error.h"

#define ID_MAX 255

/* Which id a path needs, from the agent down to the task. */
struct ckpt_ids {
	const char *agent;
	const char *framework;
	const char *executor;
	const char *run;
	const char *task;
};

/* 0 when id is a valid path component; otherwise -EINVAL naming what. */
int id_validate(const char *id, const char *what, struct ckpt_error *e);
/* Validate every non-NULL id of ids. */
int ids_validate(const struct ckpt_ids *ids, struct ckpt_error *e);

enum path_kind {
	PATH_META,		/* WORK/meta */
	PATH_BOOT_ID,		/* WORK/meta/boot_id */
	PATH_VERSIONS,		/* WORK/meta/versions: a line per agent start */
	PATH_CAPABILITIES,	/* WORK/meta/capabilities: what recovering needs */
	PATH_LOCK,		/* WORK/meta/agent.lock */
	PATH_SLAVES,		/* WORK/meta/slaves */
	PATH_SLAVES_LATEST,	/* WORK/meta/slaves/latest */
	PATH_AGENT,		/* .../slaves/A */
	PATH_AGENT_INFO,	/* .../slaves/A/slave.info */
	PATH_FRAMEWORK,		/* .../frameworks/F */
	PATH_FRAMEWORK_INFO,
	PATH_FRAMEWORK_PID,
	PATH_EXECUTOR,		/* .../executors/E */
	PATH_EXECUTOR_INFO,
	PATH_RUNS,		/* .../executors/E/runs */
	PATH_RUNS_LATEST,	/* .../runs/latest */
	PATH_RUN,		/* .../runs/R */
	PATH_FORKED_PID,	/* .../runs/R/pids/forked.pid */
	PATH_LIBPROCESS_PID,
	PATH_EXECUTOR_START,	/* ours: start time of forked.pid's process */
	PATH_EXECUTOR_SOCKET,	/* ours: path of the executor's Unix socket */
	PATH_EXECUTOR_SECRET,	/* ours: what an agent proves itself with */
	PATH_TASK_PID,		/* ours: "PID START" of the task's process */
	PATH_TASK_CGROUP,	/* ours: the task's cgroup directory */
	PATH_TASK_LOG,		/* ours: "max BYTES keep N" of the task's stdout, stderr */
	PATH_TASK_LIMITS,	/* ours: the task's limits and limit cgroups */
	PATH_DISK_USAGE,	/* ours: "BYTES TIME", the sandbox's use (not synced) */
	PATH_TASK_CHECK,	/* ours: the task's health check */
	PATH_TASK_HEALTH,	/* ours: its last result (not synced) */
	PATH_EXECUTOR_EXIT,	/* ours: how the task ended, written by the executor */
	PATH_EXECUTOR_DEADLINE,	/* ours: when the executor gives up on agents */
	PATH_EXECUTOR_VERSION,	/* ours: the executor's release and protocol */
	PATH_SENTINEL,		/* .../runs/R/executor.sentinel */
	PATH_TASK,		/* .../runs/R/tasks/T */
	PATH_TASK_INFO,
	PATH_TASK_UPDATES,
	PATH_SANDBOX,		/* WORK/slaves/A/frameworks/F/executors/E/runs/R */
	PATH_SOCKETS,		/* WORK/sock: short paths for executor sockets */
};

/* Build the path of kind under work into buf (size PATH_MAX). */
int path_build(char *buf, size_t len, const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, struct ckpt_error *e);

/* The work dir: -d, else $AGENT_WORK_DIR, else NULL; made absolute
 * (from the current directory) when relative. */
const char *path_work_dir(const char *option);

#endif
