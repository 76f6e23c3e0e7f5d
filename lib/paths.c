#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "utf8.h"

int
id_validate(const char *id, const char *what, struct ckpt_error *e)
{
	size_t len;
	const unsigned char *p;

	if (id == NULL || *id == '\0')
		return error_set(e, -EINVAL, "", -1, "%s id is empty", what);
	len = strnlen(id, ID_MAX + 1);
	if (len > ID_MAX)
		return error_set(e, -EINVAL, "", -1,
		    "%s id is longer than %d bytes", what, ID_MAX);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return error_set(e, -EINVAL, "", -1,
		    "%s id '%s' is not a valid path component", what, id);
	for (p = (const unsigned char *)id; *p; p++) {
		size_t n = utf8_char(p);
		if (n == 0)
			return error_set(e, -EINVAL, "", -1,
			    "%s id is not valid UTF-8 (byte 0x%02x at %zu)",
			    what, *p, (size_t)(p - (const unsigned char *)id));
		if (n > 1) {
			p += n - 1;
			continue;
		}
		if (*p == '/')
			return error_set(e, -EINVAL, "", -1,
			    "%s id '%s' contains '/'", what, id);
		if (*p < 0x20 || *p == 0x7f)
			return error_set(e, -EINVAL, "", -1,
			    "%s id contains control character 0x%02x at byte %zu",
			    what, *p, (size_t)(p - (const unsigned char *)id));
	}
	return 0;
}

int
ids_validate(const struct ckpt_ids *ids, struct ckpt_error *e)
{
	const char *v[] = { ids->agent, ids->framework, ids->executor,
	    ids->run, ids->task };
	const char *n[] = { "agent", "framework", "executor", "run", "task" };
	int rc;

	for (size_t i = 0; i < 5; i++)
		if (v[i] != NULL && (rc = id_validate(v[i], n[i], e)) < 0)
			return rc;
	return 0;
}

/* Which ids each kind needs: a = agent, f, e, r, t. */
static const struct {
	const char *fmt;	/* %1$s work ... */
	int need;		/* how many of agent/framework/executor/run/task */
	int task;		/* needs the task id too (skips run? no) */
} layout[] = {
	[PATH_META] = { "%s/meta", 0, 0 },
	[PATH_BOOT_ID] = { "%s/meta/boot_id", 0, 0 },
	[PATH_VERSIONS] = { "%s/meta/versions", 0, 0 },
	[PATH_CAPABILITIES] = { "%s/meta/capabilities", 0, 0 },
	[PATH_LOCK] = { "%s/meta/agent.lock", 0, 0 },
	[PATH_SLAVES] = { "%s/meta/slaves", 0, 0 },
	[PATH_SLAVES_LATEST] = { "%s/meta/slaves/latest", 0, 0 },
	[PATH_AGENT] = { "%s/meta/slaves/%s", 1, 0 },
	[PATH_AGENT_INFO] = { "%s/meta/slaves/%s/slave.info", 1, 0 },
	[PATH_FRAMEWORK] = { "%s/meta/slaves/%s/frameworks/%s", 2, 0 },
	[PATH_FRAMEWORK_INFO] =
	    { "%s/meta/slaves/%s/frameworks/%s/framework.info", 2, 0 },
	[PATH_FRAMEWORK_PID] =
	    { "%s/meta/slaves/%s/frameworks/%s/framework.pid", 2, 0 },
	[PATH_EXECUTOR] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s", 3, 0 },
	[PATH_EXECUTOR_INFO] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/executor.info", 3, 0 },
	[PATH_RUNS] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs", 3, 0 },
	[PATH_RUNS_LATEST] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/latest", 3, 0 },
	[PATH_RUN] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s", 4, 0 },
	[PATH_FORKED_PID] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/forked.pid", 4, 0 },
	[PATH_LIBPROCESS_PID] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/libprocess.pid", 4, 0 },
	[PATH_EXECUTOR_START] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/forked.start", 4, 0 },
	[PATH_EXECUTOR_SOCKET] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/executor.socket", 4, 0 },
	[PATH_EXECUTOR_SECRET] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/executor.secret", 4, 0 },
	[PATH_TASK_PID] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/task.pid", 4, 0 },
	[PATH_TASK_CGROUP] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/task.cgroup", 4, 0 },
	[PATH_TASK_LOG] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/task.log", 4, 0 },
	[PATH_TASK_LIMITS] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/task.limits", 4, 0 },
	[PATH_DISK_USAGE] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/disk.usage", 4, 0 },
	[PATH_TASK_CHECK] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/task.check", 4, 0 },
	[PATH_TASK_HEALTH] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/task.health", 4, 0 },
	[PATH_EXECUTOR_DEADLINE] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/executor.deadline", 4, 0 },
	[PATH_EXECUTOR_VERSION] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/pids/executor.version", 4, 0 },
	[PATH_EXECUTOR_EXIT] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/executor.exit", 4, 0 },
	[PATH_SENTINEL] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/executor.sentinel", 4, 0 },
	[PATH_TASK] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/tasks/%s", 5, 0 },
	[PATH_TASK_INFO] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/tasks/%s/task.info", 5, 0 },
	[PATH_TASK_UPDATES] =
	    { "%s/meta/slaves/%s/frameworks/%s/executors/%s/runs/%s/tasks/%s/task.updates", 5, 0 },
	[PATH_SANDBOX] =
	    { "%s/slaves/%s/frameworks/%s/executors/%s/runs/%s", 4, 0 },
	[PATH_SOCKETS] = { "%s/sock", 0, 0 },
};

int
path_build(char *buf, size_t len, const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, struct ckpt_error *e)
{
	const char *v[5] = { "", "", "", "", "" };
	const char *n[5] = { "agent", "framework", "executor", "run", "task" };
	int need = layout[kind].need, rc, w;

	if (need > 0) {
		const char *all[5] = { ids->agent, ids->framework,
		    ids->executor, ids->run, ids->task };
		for (int i = 0; i < need; i++) {
			if ((rc = id_validate(all[i], n[i], e)) < 0)
				return rc;
			v[i] = all[i];
		}
	}
	w = snprintf(buf, len, layout[kind].fmt, work, v[0], v[1], v[2], v[3],
	    v[4]);
	if (w < 0 || (size_t)w >= len)
		return error_set(e, -ENAMETOOLONG, work, -1,
		    "path is longer than %zu bytes", len - 1);
	return 0;
}

const char *
path_work_dir(const char *option)
{
	static char abs[PATH_MAX];
	const char *w = option, *env = getenv("AGENT_WORK_DIR");
	char cwd[PATH_MAX];

	if (w == NULL || *w == '\0')
		w = env != NULL && *env != '\0' ? env : NULL;
	if (w == NULL || w[0] == '/')
		return w;
	/* Relative: from where we were started, once and for all (an
	 * executor works in its sandbox, a socket path must not move). */
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    snprintf(abs, sizeof(abs), "%s/%s", strcmp(cwd, "/") ? cwd : "",
	    strncmp(w, "./", 2) ? w : w + 2) >= (int)sizeof(abs))
		return w;
	return abs;
}
