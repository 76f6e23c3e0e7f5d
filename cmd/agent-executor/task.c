/*
 * task.c: the task's process: started in its own cgroup (or contained
 * without one), its stdout and stderr bounded (tasklog.h), its progress
 * lines read from fd 3, its end recorded in executor.exit before it is
 * reported, and nothing of its tree left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "durable.h"
#include "exec.h"
#include "proc.h"
#include "spawn.h"
#include "state.h"
#include "update.h"
#include "version.h"

/* No agent: it gives up at now + ms, noted where recover reads it (the
 * orphan cleanup waits for it: agent-tools(7)). */
void
note_deadline(struct executor *x, long long ms)
{
	struct ckpt_error e;
	char text[32], buf[PATH_MAX + 600];

	if (!x->o->checkpoint)
		return;
	snprintf(text, sizeof(text), "%lld\n", (long long)time(NULL) +
	    (ms + 999) / 1000);
	if (checkpoint_note(x->o->work, PATH_EXECUTOR_DEADLINE, &x->o->ids, text,
	    &e) < 0)
		logmsg("%s", error_format(&e, buf, sizeof(buf)));
}

void
signal_tree(struct executor *x, int sig)
{
	contain_signal(&x->tree, sig);	/* the whole tree */
}

/* The task may report progress: each line it writes to fd 3
 * ($AGENT_STATUS_FD) becomes a TASK_RUNNING update with that message.
 * It runs in its own process group, stdio in the sandbox's files. */
static pid_t
fork_task(struct executor *x, int status_fd, int *exec_fd,
    struct ckpt_error *e)
{
	const struct executor_options *o = x->o;
	/* It dies with us: a task never outlives its executor. */
	struct spawn s = { .argv = o->argv, .out_fds = true,
	    .fd3 = status_fd, .cgroup = x->tree.cgroup, .cgroup_optional = true,
	    .death_signal = SIGKILL, .set_user = o->user != NULL,
	    .uid = o->uid, .gid = o->gid, .groups = o->groups,
	    .n_groups = o->n_groups };
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	const char *dirs[CG_KINDS + 1];
	pid_t pid;

	limits_dirs(x, dirs);
	s.limit_cgroups = dirs;
	if (status_fd >= 0)
		setenv("AGENT_STATUS_FD", "3", 1);
	/* Every process of the tree inherits it: the next agent finds what
	 * is left of a run whose executor and task are gone (without a
	 * cgroup) by it. */
	setenv(RUN_MARK, o->ids.run, 1);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		error_set(e, -errno, "stdout", -1, "pipe: %s", strerror(errno));
		pid = -1;
		goto done;
	}
	s.out_fd = out[1];
	s.err_fd = err[1];
	if ((pid = spawn_start(&s, NULL, exec_fd, e)) < 0)
		goto done;
	for (int i = 0; i < 2; i++) {
		struct tasklog *t = &x->logs[i];
		t->own = o->user != NULL;
		t->reserve = o->bounds.disk_reserve;
		t->uid = o->uid;
		t->gid = o->gid;
		if (tasklog_open(t, i ? "stderr" : "stdout", i ? err[0] : out[0],
		    o->bounds.log_max, (int)o->bounds.log_keep) < 0)
			logmsg("the task's %s: cannot open it in the sandbox; "
			    "its output is dropped", t->name);
	}
	out[0] = err[0] = -1;
done:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return pid;
}

/* Nothing of the tree may be left when the task's end is reported:
 * SIGKILL and reap, pass after pass (a process killed before its
 * children were listed leaves them to us, the subreaper, and the next
 * pass finds them), until none is left; given up, with a message, after
 * 10 s (a process in uninterruptible sleep). */
static void
empty_tree(struct executor *x)
{
	long long give_up = monotonic_ms() + 10000;
	int n;

	while ((n = contain_count(&x->tree)) > 0) {
		char what[64];
		if (monotonic_ms() > give_up) {
			snprintf(what, sizeof(what), "%d", n);
			logmsg("%s processes of the task's tree are left after "
			    "10 s of SIGKILL; its end is reported anyway", what);
			return;
		}
		contain_signal(&x->tree, SIGKILL);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (contain_count(&x->tree) > 0)
			usleep(1000);
	}
}

/* The task's output up to its end (every writer is gone by now). */
static void
drain_logs(struct executor *x)
{
	for (int i = 0; i < 2; i++)
		while (tasklog_drain(&x->logs[i], 1LL << 30) > 0 &&
		    x->logs[i].in >= 0) {
			struct pollfd p = { x->logs[i].in, POLLIN, 0 };
			if (poll(&p, 1, 1000) <= 0)
				break;	/* a writer we could not kill */
		}
}

/* Record the end (executor.exit, durably), then report it. */
static void
task_end(struct executor *x, const char *exit_text, int state, const char *msg,
    int reason)
{
	struct ckpt_error e;

	if (x->o->checkpoint && checkpoint_text(NULL, x->o->work, PATH_EXECUTOR_EXIT,
	    &x->o->ids, exit_text, &e) < 0) {
		char buf[PATH_MAX + 600];
		logmsg("%s", error_format(&e, buf, sizeof(buf)));
	}
	x->task = 0;
	x->kill_deadline = 0;
	release_latest(x, true);	/* what it reported comes first */
	/* Killed for failing its checks: healthy false, as Mesos says. */
	queue_update_full(x, state, msg, reason, x->killed_by_health &&
	    state == MESOS__TASK_STATE__TASK_KILLED ? 0 : -1);
}

/* How the task ended, recorded durably, then reported. */
static void
task_ended(struct executor *x, int status)
{
	char text[64], msg[320];
	enum exit_kind kind;
	int value, state, reason;

	/* Over a limit (limits.c): Mesos's reason, whatever else. */
	if ((reason = limits_end(x, msg, sizeof(msg))) != 0) {
		snprintf(text, sizeof(text), "%s %d\n", reason ==
		    REASON_CONTAINER_LIMITATION_MEMORY ? "memory-limit" :
		    "disk-limit", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		task_end(x, text, MESOS__TASK_STATE__TASK_FAILED, msg, reason);
		return;
	}
	if (x->killed_by_health && x->kill_reason ==
	    MESOS__TASK_STATE__TASK_KILLED) {
		kind = WIFSIGNALED(status) ? EXIT_SIGNAL : EXIT_CODE;
		value = WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status);
		snprintf(msg, sizeof(msg), "killed after %d consecutive failed "
		    "health checks", x->hc.consecutive);
	} else if (x->kill_reason == MESOS__TASK_STATE__TASK_LOST) {
		kind = EXIT_LOST;
		value = 0;
		snprintf(msg, sizeof(msg), "killed: no agent within the recovery timeout");
	} else if (WIFSIGNALED(status)) {
		kind = EXIT_SIGNAL;
		value = WTERMSIG(status);
		snprintf(msg, sizeof(msg), "killed by signal %d", value);
	} else {
		kind = EXIT_CODE;
		value = WEXITSTATUS(status);
		snprintf(msg, sizeof(msg), "exited with status %d", value);
	}
	state = exit_state(kind, value);
	if (x->kill_reason == MESOS__TASK_STATE__TASK_KILLED)
		state = MESOS__TASK_STATE__TASK_KILLED;
	/* Stopped by the system (its shutdown): lost, as Mesos reports the
	 * tasks of a host that goes down, not killed (a scheduler
	 * reschedules LOST; KILLED is a framework's own decision). */
	if (x->system_stop && x->kill_reason == MESOS__TASK_STATE__TASK_KILLED) {
		state = MESOS__TASK_STATE__TASK_LOST;
		snprintf(msg, sizeof(msg), "stopped by the system (its shutdown, "
		    "or the executor's scope stopped): %s", kind == EXIT_SIGNAL ?
		    "killed by signal" : "exited");
		if (kind == EXIT_SIGNAL)
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " %d",
			    value);
	}
	snprintf(text, sizeof(text), "%s %d\n", kind == EXIT_CODE ? "exited" :
	    kind == EXIT_SIGNAL ? "signaled" : "lost", value);
	if (state == MESOS__TASK_STATE__TASK_KILLED && kind != EXIT_SIGNAL)
		snprintf(text, sizeof(text), "signaled %d\n", SIGTERM);
	task_end(x, text, state, msg, -1);
}

void
task_exited(struct executor *x, int status)
{
	/* What it left behind goes with it (as Mesos destroys the
	 * container), before its end is reported; its state is the main
	 * process's. */
	empty_tree(x);
	/* What the task reported comes before its end. */
	while (x->status_fd >= 0 && status_lines(x) > 0)
		;
	drain_logs(x);
	task_ended(x, status);
}

/* The task could not start: TASK_FAILED says why. */
void
task_failed(struct executor *x, const char *msg)
{
	task_end(x, "exited 127\n", MESOS__TASK_STATE__TASK_FAILED, msg,
	    x->start_reason ? x->start_reason : -1);
}

/* Did the task's exec fail?  Then it is reaped here and TASK_FAILED says
 * why; a successful exec closes the pipe (end of file). */
static bool
exec_failed(struct executor *x, int fd, char *msg, size_t len)
{
	int err = spawn_exec_error(fd), status;

	if (err == 0)
		return false;
	while (waitpid(x->task, &status, 0) < 0 && errno == EINTR)
		;
	snprintf(msg, len, "cannot execute '%s': %s", x->o->argv[0],
	    strerror(err));
	logmsg("%s", msg);
	return true;
}

ssize_t
status_lines(struct executor *x)
{
	ssize_t n = read(x->status_fd, x->status_buf + x->status_len,
	    sizeof(x->status_buf) - 1 - x->status_len);
	char *nl;

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return n;
		close(x->status_fd);	/* the task closed it, or ended */
		x->status_fd = -1;
		return 0;
	}
	x->status_len += (size_t)n;
	x->status_buf[x->status_len] = '\0';
	while ((nl = memchr(x->status_buf, '\n', x->status_len)) != NULL ||
	    x->status_len == sizeof(x->status_buf) - 1) {
		bool was_cut = x->status_cut;
		if (nl == NULL) {
			/* Too long: its first LINE_MAX_BYTES, marked, and the
			 * rest of it dropped up to its newline. */
			static const char mark[] = " [cut: a progress line is "
			    "4096 bytes at most]";
			char line[LINE_MAX_BYTES + sizeof(mark)];
			x->status_len = 0;
			if (!was_cut) {
				memcpy(line, x->status_buf, LINE_MAX_BYTES);
				memcpy(line + LINE_MAX_BYTES, mark, sizeof(mark));
				progress(x, line);
			}
			x->status_cut = true;
			break;
		}
		*nl = '\0';
		x->status_cut = false;
		if (!was_cut)
			progress(x, x->status_buf);
		x->status_len -= (size_t)(nl + 1 - x->status_buf);
		memmove(x->status_buf, nl + 1, x->status_len);
	}
	return n;
}

/* The task's pid and start time (and cgroup) beside ours: when this
 * executor is gone, the next agent can still prove and stop its tree. */
static void
checkpoint_task(struct executor *x)
{
	unsigned long long start = 0;
	struct ckpt_error e;
	char text[64], logs[64], version[64], buf[PATH_MAX + 600];
	char limits[6 * PATH_MAX];
	const struct cg_limits *l = &x->o->limits;
	bool limited = l->cpus > 0 || l->mem > 0 || l->pids > 0 || l->disk > 0;

	if (!x->o->checkpoint || x->task <= 0)
		return;
	/* Which release runs the task, and its protocol: what ckpt-inspect
	 * and recover show per run (a rolling upgrade lists the old ones). */
	snprintf(version, sizeof(version), "%s %d\n", version_release(),
	    PROTOCOL_MAX);
	proc_start_time(x->task, &start);
	snprintf(text, sizeof(text), "%ld %llu\n", (long)x->task, start);
	snprintf(logs, sizeof(logs), "max %lld keep %lld\n", x->o->bounds.log_max,
	    x->o->bounds.log_keep);
	/* One batch: one set of barriers for the four files. */
	struct dbatch b;
	dbatch_init(&b);
	if (checkpoint_text(&b, x->o->work, PATH_TASK_PID, &x->o->ids, text,
	    &e) < 0 || (x->tree.cgroup && checkpoint_text(&b, x->o->work,
	    PATH_TASK_CGROUP, &x->o->ids, x->tree.cgroup, &e) < 0) ||
	    checkpoint_text(&b, x->o->work, PATH_TASK_LOG, &x->o->ids, logs,
	    &e) < 0 || checkpoint_text(&b, x->o->work, PATH_EXECUTOR_VERSION,
	    &x->o->ids, version, &e) < 0 || (limited && (cg_format(&x->lim, l,
	    limits, sizeof(limits)) < 0 || checkpoint_text(&b, x->o->work,
	    PATH_TASK_LIMITS, &x->o->ids, limits, &e) < 0)) ||
	    (x->o->health.kind != HEALTH_NONE && checkpoint_text(&b, x->o->work,
	    PATH_TASK_CHECK, &x->o->ids, x->o->health.spec, &e) < 0) ||
	    dbatch_commit(&b, &e) < 0) {
		dbatch_abort(&b);
		logmsg("%s", error_format(&e, buf, sizeof(buf)));
	}
}

/* Upgraded in place: which release runs the task now (durable, as at
 * its start). */
void
note_version(struct executor *x)
{
	struct ckpt_error e;
	char version[64], buf[PATH_MAX + 600];
	struct dbatch b;

	if (!x->o->checkpoint)
		return;
	snprintf(version, sizeof(version), "%s %d\n", version_release(),
	    PROTOCOL_MAX);
	dbatch_init(&b);
	if (checkpoint_text(&b, x->o->work, PATH_EXECUTOR_VERSION, &x->o->ids,
	    version, &e) < 0 || dbatch_commit(&b, &e) < 0) {
		dbatch_abort(&b);
		logmsg("%s", error_format(&e, buf, sizeof(buf)));
	}
}

/* Before leaving: nothing of the tree may outlive us (SIGKILL, reaped,
 * for at most a few seconds), then the cgroup goes. */
void
reap_tree(struct executor *x)
{
	for (int i = 0; i < 300 && contain_count(&x->tree) > 0; i++) {
		contain_signal(&x->tree, SIGKILL);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		usleep(10000);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	contain_fini(&x->tree);
	limits_fini(x);
}

/* Did the task enter its cgroup?  (A cgroup2 hierarchy may be writable
 * and still refuse a process: a container's, a delegation's rules.)  If
 * not, the tree is contained without it, and that is said. */
static void
cgroup_joined(struct executor *x)
{
	char path[PATH_MAX + 32], line[256];
	long pid;
	bool in = false;
	FILE *fp;

	if (x->tree.cgroup == NULL)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", x->tree.cgroup);
	if ((fp = fopen(path, "re")) != NULL) {
		while (!in && fgets(line, sizeof(line), fp))
			in = sscanf(line, "%ld", &pid) == 1 && pid == x->task;
		fclose(fp);
	}
	if (in)
		return;
	logmsg("the task could not enter its cgroup %s: contained without it",
	    x->tree.cgroup);
	contain_fini(&x->tree);
}

/* Start the task: its cgroup, its pipes, the process; STARTING and
 * RUNNING queued, or TASK_FAILED with why it could not start (no
 * cgroup, no pipe, no process: the pid or memory limit), never LOST. */
int
start_task(struct executor *x, char *msg, size_t len, struct ckpt_error *e)
{
	const struct executor_options *o = x->o;
	int status_pipe[2] = { -1, -1 }, exec_fd = -1;

	if (pipe2(status_pipe, O_CLOEXEC) < 0)
		status_pipe[0] = status_pipe[1] = -1;
	for (int i = 0; i < 2; i++)
		x->logs[i].in = x->logs[i].out = -1;
	/* --cgroup-root self: below the executor's own cgroup (a delegated
	 * scope of its own under systemd: the shipped units). */
	char self[PATH_MAX];
	const char *root = o->cgroup_root;
	if (root != NULL && strcmp(root, "self") == 0)
		root = contain_self_cgroup(self, sizeof(self)) == 0 ? self : NULL;
	if (contain_init(&x->tree, root, o->ids.run, e) < 0) {
		/* No cgroup of its own: contained without one, as where
		 * there is no cgroup2 hierarchy (said in executor.log). */
		char why[PATH_MAX + 600];
		logmsg("%s: contained without a cgroup", error_format(e, why,
		    sizeof(why)));
		error_clear(e);
		contain_init(&x->tree, NULL, o->ids.run, e);
	}
	if (limits_setup(x, root, msg, len) < 0) {
		if (status_pipe[0] >= 0) {
			close(status_pipe[0]);
			close(status_pipe[1]);
		}
		x->start_reason = REASON_CONTAINER_LAUNCH_FAILED;
		return -1;	/* TASK_FAILED, with msg */
	}
	if ((x->task = fork_task(x, status_pipe[1], &exec_fd, e)) < 0) {
		char why[PATH_MAX + 600];
		snprintf(msg, len, "cannot start the task: %s",
		    error_format(e, why, sizeof(why)));
		logmsg("%s", msg);
		error_clear(e);
		x->task = 0;
		exec_fd = -1;
	} else
		checkpoint_task(x);
	if (status_pipe[1] >= 0) {
		close(status_pipe[1]);
		x->status_fd = status_pipe[0];
		fcntl(x->status_fd, F_SETFL, O_NONBLOCK);
	}
	if (exec_fd < 0 || exec_failed(x, exec_fd, msg, len))
		return -1;	/* TASK_FAILED, with msg, is all there is */
	cgroup_joined(x);
	queue_update(x, MESOS__TASK_STATE__TASK_STARTING, NULL);
	queue_update(x, MESOS__TASK_STATE__TASK_RUNNING, NULL);
	return 0;
}

/* The task's output to its end; what was dropped is said. */
void
close_logs(struct executor *x)
{
	drain_logs(x);
	for (int i = 0; i < 2; i++) {
		char what[128];
		if (x->logs[i].dropped > 0) {
			snprintf(what, sizeof(what), "%lld bytes of the task's %s",
			    x->logs[i].dropped, x->logs[i].name);
			logmsg("%s were dropped: no space below the reserve, or "
			    "no file", what);
		}
		tasklog_close(&x->logs[i]);
	}
}

