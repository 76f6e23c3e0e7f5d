/*
 * health.c: the task's health check, run by the executor (so checks go
 * on while no agent runs), with Mesos's semantics: the first check after
 * --health-delay, then every --health-interval; a check that passes
 * --health-timeout is killed, its whole process group; failures within
 * --health-grace of the start do not count until the task was healthy
 * once; an update (TASK_RUNNING, `healthy`, reason
 * REASON_TASK_HEALTH_CHECK_STATUS_UPDATED) on every failure and whenever
 * `healthy` changes; after --health-failures consecutive failures the
 * task is killed (its tree, the grace, SIGKILL) and reported
 * TASK_KILLED with healthy false, as Mesos's command executor does.
 *
 * Every check is a child process, whose exit status is the verdict and
 * whose last line (a pipe) says why: a COMMAND is exec'd (argv, never a
 * shell) as the task's user in its sandbox with its environment; TCP and
 * HTTP are a connect (and a GET) by the forked child itself.  Between
 * checks nothing runs: a timer in the loop's poll.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "exec.h"
#include "taskstate.h"
#include "update.h"

static bool
checked(const struct executor *x)
{
	return x->o->health.kind != HEALTH_NONE;
}

void
health_start(struct executor *x)
{
	if (!checked(x))
		return;
	x->hc.pid = 0;
	x->hc.healthy = -1;
	x->hc.initializing = true;
	x->hc.start_ms = monotonic_ms();
	x->hc.next_ms = x->hc.start_ms + x->o->health.delay_ms;
}

/* In the child: a TCP connect (and for HTTP a GET) to 127.0.0.1:port
 * within timeout_ms; the exit status is the verdict, why on fd 1. */
static void __attribute__((noreturn))
probe(const struct health *h)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)h->port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[512];
	ssize_t n;

	alarm((unsigned)((h->timeout_ms + 999) / 1000) + 1);	/* a bound */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		dprintf(1, "connect to 127.0.0.1:%d: %s\n", h->port, strerror(errno));
		_exit(1);
	}
	if (h->kind == HEALTH_TCP) {
		dprintf(1, "127.0.0.1:%d accepts connections\n", h->port);
		_exit(0);
	}
	snprintf(buf, sizeof(buf), "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
	    "User-Agent: agent-executor\r\nConnection: close\r\n\r\n", h->path,
	    h->port);
	if (write(fd, buf, strlen(buf)) < 0) {
		dprintf(1, "GET http://127.0.0.1:%d%s: %s\n", h->port, h->path,
		    strerror(errno));
		_exit(1);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	int code = 0;
	if (sscanf(buf, "HTTP/%*s %d", &code) != 1) {
		dprintf(1, "GET http://127.0.0.1:%d%s: no HTTP status line\n",
		    h->port, h->path);
		_exit(1);
	}
	dprintf(1, "GET http://127.0.0.1:%d%s: %d\n", h->port, h->path, code);
	_exit(code >= 200 && code < 400 ? 0 : 1);
}

/* Start one check: a child in its own process group. */
static void
run(struct executor *x, long long now)
{
	const struct health *h = &x->o->health;
	int out[2];
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return;
	if ((pid = fork()) < 0) {
		close(out[0]);
		close(out[1]);
		return;
	}
	if (pid == 0) {
		sigset_t none;
		char sandbox[PATH_MAX];
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(out[1], 1);
		dup2(out[1], 2);
		if (path_build(sandbox, sizeof(sandbox), x->o->work, PATH_SANDBOX,
		    &x->o->ids, NULL) == 0 && chdir(sandbox) < 0) {
			dprintf(1, "cannot enter the sandbox: %s\n", strerror(errno));
			_exit(1);
		}
		if (h->kind != HEALTH_COMMAND)
			probe(h);
		if (x->o->user && (setgroups((size_t)x->o->n_groups,
		    x->o->groups) < 0 || setgid(x->o->gid) < 0 ||
		    setuid(x->o->uid) < 0)) {
			dprintf(1, "cannot become the task's user: %s\n",
			    strerror(errno));
			_exit(1);
		}
		execvp(h->argv[0], h->argv);
		dprintf(1, "cannot execute '%s': %s\n", h->argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	x->hc.pid = pid;
	x->hc.out = out[0];
	x->hc.deadline_ms = now + h->timeout_ms;
	x->hc.timed_out = false;
}

/* The check's last line of output (why), into buf. */
static void
last_words(struct executor *x, char *buf, size_t len)
{
	char tail[1024];
	ssize_t n = read(x->hc.out, tail, sizeof(tail) - 1);
	char *end, *start;

	close(x->hc.out);
	x->hc.out = -1;
	tail[n > 0 ? n : 0] = '\0';
	end = tail + strlen(tail);
	while (end > tail && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(tail, '\n');
	snprintf(buf, len, "%s", start ? start + 1 : tail);
}

/* The health update: TASK_RUNNING, healthy, Mesos's reason. */
static void
say(struct executor *x, bool healthy, const char *why)
{
	char msg[1200];

	snprintf(msg, sizeof(msg), "health check %s%s%s", healthy ? "passed" :
	    "failed", why[0] ? ": " : "", why);
	queue_update_full(x, MESOS__TASK_STATE__TASK_RUNNING, msg,
	    REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, healthy);
}

static void
note(struct executor *x, const char *why)
{
	char text[1400];
	struct ckpt_error e;

	if (!x->o->checkpoint)
		return;
	snprintf(text, sizeof(text), "%s %d %lld %s\n", x->hc.healthy == 1 ?
	    "healthy" : x->hc.healthy == 0 ? "unhealthy" : "unknown",
	    x->hc.consecutive, (long long)time(NULL), why);
	checkpoint_note(x->o->work, PATH_TASK_HEALTH, &x->o->ids, text, &e);
}

/* A check ended (its wait status): Mesos's rules. */
static void
verdict(struct executor *x, int status)
{
	const struct health *h = &x->o->health;
	char why[1024];
	long long now = monotonic_ms();
	bool ok = !x->hc.timed_out && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;

	last_words(x, why, sizeof(why));
	if (x->hc.timed_out)
		snprintf(why, sizeof(why), "no answer within %lld ms (killed)",
		    h->timeout_ms);
	else if (!ok && why[0] == '\0') {
		if (WIFEXITED(status))
			snprintf(why, sizeof(why), "exited with status %d",
			    WEXITSTATUS(status));
		else
			snprintf(why, sizeof(why), "killed by signal %d",
			    WTERMSIG(status));
	}
	x->hc.pid = 0;
	x->hc.next_ms = now + h->interval_ms;
	if (x->st != T_RUNNING)
		return;		/* being killed, or ended: no more updates */
	if (ok) {
		if (x->hc.consecutive > 0 || x->hc.healthy != 1)
			say(x, true, why);
		x->hc.initializing = false;
		x->hc.consecutive = 0;
		x->hc.healthy = 1;
		note(x, why);
		return;
	}
	if (x->hc.initializing && now - x->hc.start_ms <= h->grace_ms) {
		logmsg("health check failed within the grace period (not "
		    "counted): %s", why);
		return;
	}
	x->hc.consecutive++;
	x->hc.healthy = 0;
	note(x, why);
	say(x, false, why);
	if (x->hc.consecutive >= h->failures) {
		char line[1200];
		snprintf(line, sizeof(line), "%d consecutive failed health checks "
		    "(the last: %s): the task is killed", x->hc.consecutive, why);
		logmsg("%s", line);
		x->killed_by_health = true;
		x_event(x, XE_KILL, NULL);
	}
}

void
health_reaped(struct executor *x, pid_t pid, int status)
{
	if (checked(x) && pid == x->hc.pid && pid > 0)
		verdict(x, status);
}

long long
health_watch(struct executor *x, long long now)
{
	if (!checked(x) || x->task <= 0)
		return -1;
	if (x->hc.pid > 0) {
		if (now >= x->hc.deadline_ms && !x->hc.timed_out) {
			x->hc.timed_out = true;
			kill(-x->hc.pid, SIGKILL);	/* its whole group */
			kill(x->hc.pid, SIGKILL);
		}
		return x->hc.timed_out ? 10 : x->hc.deadline_ms - now;
	}
	if (x->st != T_RUNNING)
		return -1;
	if (now >= x->hc.next_ms) {
		run(x, now);
		return x->hc.pid > 0 ? x->o->health.timeout_ms :
		    x->o->health.interval_ms;
	}
	return x->hc.next_ms - now;
}

void
health_fini(struct executor *x)
{
	if (x->hc.pid > 0) {
		kill(-x->hc.pid, SIGKILL);
		kill(x->hc.pid, SIGKILL);
		waitpid(x->hc.pid, NULL, 0);
		x->hc.pid = 0;
	}
	if (x->hc.out >= 0)
		close(x->hc.out);
	x->hc.out = -1;
}
