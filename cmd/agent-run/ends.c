/*
 * ends.c: how a run ends, once its executor is gone (runs.c's GONE): its
 * task's tree must not outlive it, and its task's end is what
 * executor.exit says, or TASK_LOST (a set-aside run's: quarantined; a
 * previous boot's: the host rebooted).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "contain.h"
#include "proc.h"
#include "taskstate.h"
#include "workdir.h"

/* The executor is gone: its task's tree must not outlive it (the task
 * dies with its executor; what it forked is in its cgroup, or was the
 * executor's to kill).  The task is proven by its start time. */
static void
stop_orphans(struct agent *a, struct aexec *x)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	char path[PATH_MAX], text[PATH_MAX];
	unsigned long long start;
	long pid;

	if (!x->checkpoint)
		return;
	if (path_build(path, sizeof(path), a->o->work, PATH_TASK_PID, &ids,
	    NULL) == 0 && text_read(path, text, sizeof(text), NULL) == 0 &&
	    sscanf(text, "%ld %llu", &pid, &start) == 2 && pid > 0 &&
	    start != 0 && proc_terminate((pid_t)pid, start, 0, NULL, 0) == 0)
		a->killed++;
	if (path_build(path, sizeof(path), a->o->work, PATH_TASK_CGROUP, &ids,
	    NULL) == 0 && text_read(path, text, sizeof(text), NULL) == 0 &&
	    text[0] == '/' && contain_cgroup_kill(text) != -ENOENT)
		return;
	/* No cgroup, and the executor died without recording the task's
	 * end (killed -9): what the task forked (a setsid daemon too) carries
	 * the run's mark in its environment. */
	if (path_build(path, sizeof(path), a->o->work, PATH_EXECUTOR_EXIT,
	    &ids, NULL) == 0 && access(path, F_OK) < 0 && errno == ENOENT &&
	    path_build(path, sizeof(path), a->o->work, PATH_TASK_PID, &ids,
	    NULL) == 0 && access(path, F_OK) == 0) {
		/* One pass over /proc a turn, for every run that needs it. */
		if (!a->marks_read || a->marks_turn != a->turn) {
			contain_marks_free(&a->marks);
			a->marks_read = contain_marks_scan(&a->marks) == 0;
			a->marks_turn = a->turn;
		}
		if (contain_marks_kill(&a->marks, x->run) > 0) {
			a->killed++;
			a->marks_read = false;	/* what they forked meanwhile */
		}
	}
}

/* The task's end, as executor.exit tells it: 0, or -1 (none readable).
 * After a reboot, a task stopped by a signal was stopped by the
 * shutdown (systemd stops the executors, and they their tasks): lost, as
 * Mesos reports the tasks of a rebooted host, not killed (a scheduler
 * reschedules LOST); one that exited by itself before stays as it
 * ended. */
static int
exit_end(struct agent *a, struct aexec *x, bool reboot)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	char path[PATH_MAX], text[64], msg[128];
	enum exit_kind kind;
	int value;

	if (!x->checkpoint || path_build(path, sizeof(path), a->o->work,
	    PATH_EXECUTOR_EXIT, &ids, NULL) < 0 ||
	    text_read(path, text, sizeof(text), NULL) < 0 ||
	    exit_parse(text, &kind, &value) < 0)
		return -1;
	if (reboot && kind == EXIT_SIGNAL) {
		snprintf(msg, sizeof(msg), "the host rebooted; the task was "
		    "stopped by signal %d at its shutdown (executor.exit)", value);
		x_generate(a, x, MESOS__TASK_STATE__TASK_LOST, msg);
		a->lost++;
		return 0;
	}
	if (kind == EXIT_CODE)
		snprintf(msg, sizeof(msg), "executor gone; the task exited with "
		    "status %d (executor.exit)", value);
	else if (kind == EXIT_SIGNAL)
		snprintf(msg, sizeof(msg), "executor gone; the task was killed "
		    "by signal %d (executor.exit)", value);
	else if (kind == EXIT_MEMORY || kind == EXIT_DISK) {
		snprintf(msg, sizeof(msg), "executor gone; the task was killed "
		    "over its %s limit (executor.exit)", kind == EXIT_MEMORY ?
		    "memory" : "disk");
		x_generate_reason(a, x, MESOS__TASK_STATE__TASK_FAILED, msg,
		    kind == EXIT_MEMORY ? REASON_CONTAINER_LIMITATION_MEMORY :
		    REASON_CONTAINER_LIMITATION_DISK);
		return 0;
	}
	else
		snprintf(msg, sizeof(msg), "executor gone; it killed the task "
		    "when no agent came back within the recovery timeout "
		    "(executor.exit)");
	x_generate(a, x, exit_state(kind, value), msg);
	return 0;
}

/* The executor this agent started exited before it ever registered and
 * without a task's end (it could not exec, refused an option, found no
 * socket): its task failed, in the executor's own words, the last line
 * of its executor.log. */
static void
start_failed(struct agent *a, struct aexec *x, int status)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	char path[PATH_MAX], tail[512] = "", msg[800], how[64];
	ssize_t n = 0;
	int fd;

	if (path_build(path, sizeof(path), a->o->work, PATH_SANDBOX, &ids,
	    NULL) == 0 && strlcat(path, "/executor.log", sizeof(path)) <
	    sizeof(path) && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		n = pread(fd, tail, sizeof(tail) - 1, end > (off_t)sizeof(tail) -
		    1 ? end - (off_t)sizeof(tail) + 1 : 0);
		close(fd);
	}
	tail[n > 0 ? n : 0] = '\0';
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
		tail[--n] = '\0';
	/* Its last word: the last line that is not part of a usage text
	 * (indented, or "usage:"). */
	char *last = tail;
	for (char *line = tail, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (line[0] != ' ' && line[0] != '\t' &&
		    strncmp(line, "usage:", 6) != 0)
			last = line;
	}
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "was killed by signal %d",
		    WTERMSIG(status));
	snprintf(msg, sizeof(msg), "the executor %s before it registered%s%s",
	    how, last[0] ? ": " : " (its executor.log is empty)", last);
	log_line(&a->log, LOG_ERR, "task %s (run %s): %s", x->task, x->run,
	    msg);
	x_generate(a, x, MESOS__TASK_STATE__TASK_FAILED, msg);
}

/* The executor process is gone: its task's end comes from executor.exit,
 * or it is lost.  After a reboot the checkpointed pids name nothing of
 * ours: no process is signalled, and what executor.exit says stands. */
void
run_end(struct agent *a, struct aexec *x, bool reboot, const int *status)
{
	if (!reboot)
		stop_orphans(a, x);
	if (x->task && !x->terminal && x->quarantined) {
		char msg[PATH_MAX + 700];
		snprintf(msg, sizeof(msg), "quarantined: %s", x->quarantined);
		x_generate(a, x, MESOS__TASK_STATE__TASK_LOST, msg);
		a->lost++;
	} else if (x->task && !x->terminal && exit_end(a, x, reboot) < 0) {
		if (status != NULL)	/* ours, never registered */
			start_failed(a, x, *status);
		else {
			x_generate(a, x, MESOS__TASK_STATE__TASK_LOST, reboot ?
			    "the host rebooted" : x->pid == 0 ?
			    "the executor was never started" :
			    "the executor is gone");
			a->lost++;
		}
	}
	x_check(a, x);
}

