/*
 * handoff.c: an executor upgraded in place.  At the agent's UPGRADE it
 * re-execs itself into the installed agent-executor and keeps what makes
 * it the task's executor: its pid (the task stays its child), its
 * socket, its agent's connection, the updates not yet acknowledged, its
 * deadlines, the task's output pipes and its cgroup.  Its argv is given
 * again (the options parse as at its start), with --resume FD: FD a
 * memfd holding the rest as one JSON object.  Before it lets go, the
 * new image must prove that it reads that state: a child runs it with
 * --resume-check FD, which reads and checks everything and exits 0.  If
 * the check or the exec fails, the executor carries on as it was and
 * says why (UPGRADE_FAILED, and executor.log).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "update.h"
#include "version.h"

#define HANDOFF_FORMAT	1

static char *
hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		abort();	/* out of memory */
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	return s;
}

/* hex text into a malloc'ed buffer (*n bytes): 0, or -1. */
static int
unhex(const char *s, uint8_t **out, size_t *n)
{
	size_t len = s ? strlen(s) : 0;

	*out = NULL;
	*n = len / 2;
	if (s == NULL || len % 2 || (*out = malloc(*n + 1)) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i] = (uint8_t)v;
	}
	return 0;
}

static json_t *
hexj(const uint8_t *p, size_t n)
{
	char *s = hex(p, n);
	json_t *j = json_string(s);

	free(s);
	return j;
}

/* The state that is not in the options, as JSON. */
static json_t *
state_json(const struct executor *x)
{
	json_t *q = json_array(), *logs = json_array();

	for (size_t i = 0; i < x->nq; i++)
		json_array_append_new(q, json_pack("{s:o, s:b, s:b, s:o}",
		    "uuid", hexj(x->q[i].uuid, 16), "terminal", x->q[i].terminal,
		    "settles", x->q[i].settles, "frame", hexj(x->q[i].frame,
		    x->q[i].len)));
	for (int i = 0; i < 2; i++)
		json_array_append_new(logs, json_pack("{s:i, s:i, s:I, s:i, "
		    "s:I}", "in", x->logs[i].in, "out", x->logs[i].out, "size",
		    (json_int_t)x->logs[i].size, "err", x->logs[i].err,
		    "dropped", (json_int_t)x->logs[i].dropped));
	return json_pack("{s:i, s:s, s:i, s:i, s:i, s:b, s:b, s:I, s:I, s:b, "
	    "s:b, s:b, s:i, s:b, s:o, s:i, s:o, s:i, s:i, s:o, s:b, s:s*, s:I, "
	    "s:s*, s:o, s:o, s:o}",
	    "format", HANDOFF_FORMAT, "from", version_release(),
	    "st", (int)x->st, "task", (int)x->task,
	    "kill_reason", x->kill_reason, "exiting", x->exiting,
	    "system_stop", x->system_stop,
	    "kill_deadline", (json_int_t)x->kill_deadline,
	    "away_deadline", (json_int_t)x->away_deadline,
	    "done", x->done, "registered", x->registered, "tool", x->tool,
	    "protocol", x->protocol, "has_secret", x->has_secret,
	    "secret", hexj(x->secret, SECRET_LEN),
	    "agent_fd", x->agent.fd,
	    "agent_in", hexj(x->agent.in, x->agent.in_len),
	    "listen_fd", x->listen_fd, "status_fd", x->status_fd,
	    "status_buf", hexj((const uint8_t *)x->status_buf, x->status_len),
	    "status_cut", x->status_cut, "latest", x->latest,
	    "coalesced", (json_int_t)x->coalesced,
	    "cgroup", x->tree.cgroup, "logs", logs, "queue", q,
	    "health", json_pack("{s:i, s:i, s:b, s:I}", "consecutive",
	    x->hc.consecutive, "healthy", x->hc.healthy, "initializing",
	    x->hc.initializing, "start_ms", (json_int_t)x->hc.start_ms));
}

static void
inherit(int fd, bool on)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, on ? 0 : FD_CLOEXEC);
}

static void
inherit_all(struct executor *x, bool on)
{
	inherit(x->listen_fd, on);
	inherit(x->agent.fd, on);
	inherit(x->status_fd, on);
	for (int i = 0; i < 2; i++) {
		inherit(x->logs[i].in, on);
		inherit(x->logs[i].out, on);
	}
}

/* Our argv again, for path, with --resume (or --resume-check) FD. */
static char **
new_argv(struct executor *x, const char *path, const char *opt, char *fd)
{
	size_t n = 0;
	char **v;

	while (x->o->self_argv[n])
		n++;
	if ((v = calloc(n + 4, sizeof(*v))) == NULL)
		abort();
	v[0] = (char *)path;
	v[1] = (char *)opt;
	v[2] = fd;
	for (size_t i = 1; i < n; i++)
		v[i + 2] = x->o->self_argv[i];
	return v;
}

/* The new image reads the state (a child, --resume-check): 0, or -1
 * with why. */
static int
check(struct executor *x, const char *path, char *fd, char *why, size_t len)
{
	char **argv = new_argv(x, path, "--resume-check", fd);
	int status = 0;
	pid_t pid;

	if ((pid = fork()) < 0) {
		free(argv);
		return snprintf(why, len, "fork: %s", strerror(errno)), -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0)
			dup2(null, 1);	/* stderr stays: executor.log */
		execv(path, argv);
		fprintf(stderr, "agent-executor: upgrade: %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	free(argv);
	/* The task's SIGCHLD waits in our signalfd; this child is ours to
	 * wait for, by its pid (a few seconds at most). */
	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 || i == 499) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return snprintf(why, len, "%s --resume-check did not "
			    "answer within 5 s", path), -1;
		}
		poll(NULL, 0, 10);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(why, len, "%s cannot take this executor's state over "
		    "(--resume-check exited %d; its reason is in executor.log)",
		    path, WEXITSTATUS(status));
	else
		snprintf(why, len, "%s --resume-check was killed by signal %d",
		    path, WTERMSIG(status));
	return -1;
}

int
handoff_upgrade(struct executor *x, const char *path, char *why, size_t len)
{
	char fdtext[16], *text;
	json_t *st;
	int fd;

	if (path == NULL || path[0] != '/')
		return snprintf(why, len, "upgrade: '%s' is not an absolute "
		    "path", path ? path : ""), -1;
	if (access(path, X_OK) < 0)
		return snprintf(why, len, "upgrade: %s: %s", path,
		    strerror(errno)), -1;
	if (x->cand.fd >= 0)
		channel_close(&x->cand);	/* a newcomer connects again */
	/* A check under way is not carried over: it runs again at once. */
	health_fini(x);
	x->hc.next_ms = monotonic_ms();
	/* What is queued for the agent goes first (a second at most). */
	for (int i = 0; i < 100 && x->agent.fd >= 0 && x->agent.out_len; i++) {
		struct pollfd p = { x->agent.fd, POLLOUT, 0 };
		poll(&p, 1, 10);
		channel_flush(&x->agent);
	}
	if (x->agent.fd >= 0 && x->agent.out_len)
		return snprintf(why, len, "upgrade: the agent does not read "
		    "its connection"), -1;
	if ((st = state_json(x)) == NULL || (text = json_dumps(st,
	    JSON_COMPACT)) == NULL)
		abort();	/* out of memory */
	json_decref(st);
	fd = memfd_create("agent-executor-state", 0);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		snprintf(why, len, "upgrade: memfd: %s", strerror(errno));
		free(text);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	free(text);
	snprintf(fdtext, sizeof(fdtext), "%d", fd);
	inherit_all(x, true);
	if (check(x, path, fdtext, why, len) == 0) {
		char **argv = new_argv(x, path, "--resume", fdtext);
		logmsg("upgrade: re-exec into %s (its state read back)", path);
		execv(path, argv);
		snprintf(why, len, "upgrade: exec %s: %s", path, strerror(errno));
		free(argv);
	}
	inherit_all(x, false);
	close(fd);
	return -1;
}

static int
bad(struct ckpt_error *e, const char *what)
{
	return error_set(e, -EBADMSG, "--resume", -1, "the handed-over state: "
	    "%s", what);
}

static bool
fd_open(int fd)
{
	return fd < 0 || fcntl(fd, F_GETFD) >= 0;
}

/* The task's output pipes and files, as handed over: 0, or -1. */
static int
resume_logs(struct executor *x, json_t *logs)
{
	for (size_t i = 0; i < 2; i++) {
		struct tasklog *t = &x->logs[i];
		json_int_t size = 0, dropped = 0;
		if (json_unpack(json_array_get(logs, i), "{s:i, s:i, s:I, s:i, "
		    "s:I}", "in", &t->in, "out", &t->out, "size", &size, "err",
		    &t->err, "dropped", &dropped) < 0 || !fd_open(t->in) ||
		    !fd_open(t->out))
			return -1;
		t->size = size;
		t->dropped = dropped;
		/* What the options say, as at the start (task.c). */
		t->name = i ? "stderr" : "stdout";
		t->max = x->o->bounds.log_max > 0 ? x->o->bounds.log_max :
		    LLONG_MAX;
		t->keep = (int)x->o->bounds.log_keep;
		t->reserve = x->o->bounds.disk_reserve;
		t->own = x->o->user != NULL;
		t->uid = x->o->uid;
		t->gid = x->o->gid;
	}
	return 0;
}

/* The updates not yet acknowledged, as handed over: 0, or -1. */
static int
resume_queue(struct executor *x, json_t *q)
{
	size_t i, n;
	json_t *v;
	uint8_t *b;

	if ((x->q = calloc(json_array_size(q) + 1, sizeof(*x->q))) == NULL)
		abort();	/* out of memory */
	json_array_foreach(q, i, v) {
		const char *uuid = NULL, *frame = NULL;
		int terminal = 0, settles = 0;
		struct queued *u = &x->q[x->nq];
		b = NULL;
		if (json_unpack(v, "{s:s, s:b, s:b, s:s}", "uuid", &uuid,
		    "terminal", &terminal, "settles", &settles, "frame",
		    &frame) < 0 || unhex(uuid, &b, &n) < 0 || n != 16) {
			free(b);
			return -1;
		}
		memcpy(u->uuid, b, 16);
		free(b);
		if (unhex(frame, &u->frame, &u->len) < 0)
			return -1;
		u->terminal = terminal;
		u->settles = settles;
		x->nq++;
	}
	return 0;
}

int
handoff_resume(struct executor *x, int fd, bool check_only,
    struct ckpt_error *e)
{
	json_t *st, *logs, *q;
	json_error_t je;
	int format = 0, st_i = 0, task = 0, agent_fd = -1, r = -1;
	json_int_t kill_deadline = 0, away_deadline = 0, coalesced = 0;
	const char *secret = NULL, *agent_in = NULL, *status_buf = NULL;
	const char *latest = NULL, *cgroup = NULL, *from = "?";
	int exiting = 0, system_stop = 0, done = 0, registered = 0;
	int has_secret = 0, status_cut = 0, tool = 0;
	size_t n;
	uint8_t *b;

	lseek(fd, 0, SEEK_SET);
	if ((st = json_loadfd(fd, 0, &je)) == NULL)
		return bad(e, je.text);
	if (json_unpack_ex(st, &je, 0, "{s:i, s?s, s:i, s:i, s:i, s:b, s:b, "
	    "s:I, s:I, s:b, s:b, s:b, s:i, s:b, s:s, s:i, s:s, s:i, s:i, s:s, "
	    "s:b, s?s, s:I, s?s, s:o, s:o}",
	    "format", &format, "from", &from, "st", &st_i, "task", &task,
	    "kill_reason", &x->kill_reason, "exiting", &exiting,
	    "system_stop", &system_stop, "kill_deadline", &kill_deadline,
	    "away_deadline", &away_deadline, "done", &done,
	    "registered", &registered, "tool", &tool, "protocol", &x->protocol,
	    "has_secret", &has_secret, "secret", &secret,
	    "agent_fd", &agent_fd, "agent_in", &agent_in,
	    "listen_fd", &x->listen_fd, "status_fd", &x->status_fd,
	    "status_buf", &status_buf, "status_cut", &status_cut,
	    "latest", &latest, "coalesced", &coalesced, "cgroup", &cgroup,
	    "logs", &logs, "queue", &q) < 0) {
		r = bad(e, je.text);
		goto out;
	}
	if (format != HANDOFF_FORMAT || st_i < 0 || st_i >= T_STATES ||
	    !json_is_array(logs) || json_array_size(logs) != 2 ||
	    !json_is_array(q)) {
		r = bad(e, "a format this release does not read");
		goto out;
	}
	if (!fd_open(x->listen_fd) || !fd_open(agent_fd) ||
	    !fd_open(x->status_fd) || x->listen_fd < 0) {
		r = bad(e, "a descriptor that was not handed over");
		goto out;
	}
	x->st = (enum task_state)st_i;
	x->task = task;
	x->exiting = exiting;
	x->system_stop = system_stop;
	x->kill_deadline = kill_deadline;
	x->away_deadline = away_deadline;
	x->done = done;
	x->registered = registered;
	x->tool = tool;
	x->has_secret = has_secret;
	x->coalesced = (unsigned long)coalesced;
	x->status_cut = status_cut;
	if (unhex(secret, &b, &n) < 0 || n != SECRET_LEN) {
		free(b);
		r = bad(e, "secret");
		goto out;
	}
	memcpy(x->secret, b, SECRET_LEN);
	free(b);
	if (unhex(status_buf, &b, &n) < 0 || n > LINE_MAX_BYTES) {
		free(b);
		r = bad(e, "status_buf");
		goto out;
	}
	memcpy(x->status_buf, b, n);
	x->status_len = n;
	free(b);
	if (resume_logs(x, logs) < 0) {
		r = bad(e, "logs");
		goto out;
	}
	if (resume_queue(x, q) < 0) {
		r = bad(e, "queue");
		goto out;
	}
	if (version_shared(x->protocol, x->protocol) == 0 && registered) {
		r = bad(e, "its agent speaks a protocol this release does not");
		goto out;
	}
	if (check_only) {
		r = 0;
		goto out;
	}
	if ((latest && (x->latest = strdup(latest)) == NULL) ||
	    (cgroup && (x->tree.cgroup = strdup(cgroup)) == NULL))
		abort();
	inherit_all(x, false);
	channel_init(&x->agent, agent_fd);
	inherit(agent_fd, false);
	if (agent_fd >= 0 && unhex(agent_in, &b, &n) == 0 && n > 0) {
		x->agent.in = b;	/* what the agent sent after UPGRADE */
		x->agent.in_len = x->agent.in_cap = n;
	} else if (agent_fd >= 0)
		free(b);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	limits_resume(x);
	if (x->o->health.kind != HEALTH_NONE) {
		json_t *h = json_object_get(st, "health");
		json_int_t start = 0;
		int init = 1;
		health_start(x);
		if (h && json_unpack(h, "{s:i, s:i, s:b, s:I}", "consecutive",
		    &x->hc.consecutive, "healthy", &x->hc.healthy,
		    "initializing", &init, "start_ms", &start) == 0) {
			x->hc.initializing = init;
			x->hc.start_ms = start;
			x->hc.next_ms = monotonic_ms();
		}
	}
	{
		char line[160];
		snprintf(line, sizeof(line), "upgraded from agent-executor %s "
		    "to %s: the task (pid %d) kept, %zu updates pending", from,
		    version_release(), task, x->nq);
		logmsg("%s", line);
	}
	r = 0;
out:
	json_decref(st);
	return r;
}
