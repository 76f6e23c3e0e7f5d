#include "agent.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "checkpoint.h"
#include "command.h"
#include "durable.h"
#include "paths.h"
#include "proc.h"
#include "recovery.h"
#include "state.h"
#include "statejson.h"
#include "update.h"
#include "uuid.h"
#include "workdir.h"

enum xstate { X_CONNECTING, X_WAIT_HELLO, X_CONNECTED, X_GONE };

/* One executor run (with its one task) that this agent looks after. */
struct aexec {
	char *framework, *executor, *run, *task;
	bool checkpoint, recovered;
	pid_t pid;
	unsigned long long start;
	time_t bound;
	char *socket;
	struct channel ch;
	enum xstate st;
	long long deadline, next_try;
	int state;			/* latest task state, -1: none */
	bool terminal;
	int resends;			/* updates HELLO said it sends again */
	struct state_pending *pending;	/* forwarded, not yet acknowledged */
	size_t n_pending;
	bool done;			/* run terminated: forget it */
};

struct agent {
	const struct agent_options *o;
	char id[ID_MAX + 1];
	struct aexec **x;
	size_t nx;
	int signal_fd;
	char *in;
	size_t in_len, in_cap;
	bool quit, shutting_down, announced, is_new;
	int status;
	long long start_ms, shutdown_deadline;
	int reconnected, lost, killed;
};

/* ---- events ---- */

/*
 * Events leave through one queue, written to stdout only as fast as the
 * driver reads them: the agent never blocks on its output (a driver that
 * writes acks while it reads no events would deadlock both).  Past
 * OUT_BOUND bytes queued, the loop stops reading executors (they keep
 * their updates) but keeps reading commands.
 */
#define OUT_BOUND	(256 * 1024)

static struct {
	char *buf;
	size_t len, cap;
	bool nonblocking;		/* stdout is a pipe or socket */
} out;

static void
out_init(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		int fl = fcntl(STDOUT_FILENO, F_GETFL);
		if (fl >= 0 && fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
			out.nonblocking = true;
	}
}

/* Write what the driver takes now (all of it with wait). 0, or -1 when
 * stdout is gone. */
static int
out_flush(bool wait)
{
	size_t done = 0;
	int rc = 0;

	if (out.len == 0)
		return 0;
	while (done < out.len) {
		ssize_t n = write(STDOUT_FILENO, out.buf + done, out.len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait)
				break;
			struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };
			poll(&p, 1, -1);
			continue;
		}
		rc = -1;		/* EPIPE: nobody reads; drop it all */
		done = out.len;
	}
	memmove(out.buf, out.buf + done, out.len - done);
	out.len -= done;
	return rc;
}

static void
emit(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	size_t n;

	json_decref(o);
	if (text == NULL)
		abort();
	n = strlen(text);
	if (out.len + n + 1 > out.cap) {
		size_t cap = out.cap ? out.cap : 65536;
		while (cap < out.len + n + 1)
			cap *= 2;
		if ((out.buf = realloc(out.buf, cap)) == NULL)
			abort();
		out.cap = cap;
	}
	memcpy(out.buf + out.len, text, n);
	out.buf[out.len + n] = '\n';
	out.len += n + 1;
	free(text);
	if (!out.nonblocking)
		out_flush(true);
}

static json_t *
x_json(const char *event, const struct aexec *x)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", event,
	    "framework_id", x->framework, "executor_id", x->executor,
	    "run_id", x->run);

	if (x->task)
		json_object_set_new(o, "task_id", json_string(x->task));
	return o;
}

static void
emit_error(const char *fmt, const char *arg, const struct ckpt_error *e)
{
	char msg[1024], buf[PATH_MAX + 600];

	snprintf(msg, sizeof(msg), fmt, arg);
	if (e != NULL) {
		strlcat(msg, ": ", sizeof(msg));
		strlcat(msg, error_format(e, buf, sizeof(buf)), sizeof(msg));
	}
	fprintf(stderr, "agent-run: %s\n", msg);
	emit(json_pack("{s:s, s:s}", "event", "error", "message", msg));
}

/* A checkpoint could not be written: nothing may be acknowledged or
 * forwarded without it, so the agent stops (exit 74 or 73); the
 * executors wait for the next agent, and recovery starts from what is
 * durable. */
static void
fatal(struct agent *a, const char *fmt, const char *arg,
    const struct ckpt_error *e)
{
	emit_error(fmt, arg, e);
	if (!a->quit)
		a->status = error_exit_code(e->code ? e->code : -EIO);
	a->quit = true;
}

static struct ckpt_ids
x_ids(const struct aexec *x, const char *agent)
{
	struct ckpt_ids ids = { agent, x->framework, x->executor, x->run,
	    x->task };
	return ids;
}

/* ---- the life of an executor run ---- */

static void
x_free(struct aexec *x)
{
	channel_close(&x->ch);
	free(x->framework);
	free(x->executor);
	free(x->run);
	free(x->task);
	free(x->socket);
	free(x->pending);
	free(x);
}

static struct aexec *
x_new(struct agent *a, const char *f, const char *e, const char *r,
    const char *t)
{
	struct aexec *x = calloc(1, sizeof(*x)), **v;

	if (x == NULL || (v = reallocarray(a->x, a->nx + 1, sizeof(*v))) == NULL)
		abort();
	a->x = v;
	v[a->nx++] = x;
	x->framework = strdup(f);
	x->executor = strdup(e);
	x->run = strdup(r);
	x->task = t ? strdup(t) : NULL;
	x->state = -1;
	channel_init(&x->ch, -1);
	return x;
}

/* Terminated when its process is gone and all its updates acknowledged. */
static void
x_finish_if_done(struct agent *a, struct aexec *x)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	struct ckpt_error e;

	if (x->st != X_GONE || x->n_pending > 0 || x->done)
		return;
	if (x->task && !x->terminal)
		return;
	if (x->checkpoint && checkpoint_sentinel(a->o->work, &ids, &e) < 0) {
		fatal(a, "cannot mark run %s terminated", x->run, &e);
		return;
	}
	x->done = true;
	emit(x_json("terminated", x));
}

/* The event that forwards an update: the one shape for new and
 * redelivered updates alike. */
static json_t *
update_event(const struct aexec *x, int state, const uint8_t uuid[16],
    double timestamp, const char *message, const char *source)
{
	json_t *o = x_json("update", x);
	char text[UUID_TEXT];

	uuid_format(uuid, text);
	json_object_set_new(o, "state", json_string(task_state_name(state)));
	json_object_set_new(o, "uuid", json_string(text));
	json_object_set_new(o, "timestamp", json_real(timestamp));
	if (message)
		json_object_set_new(o, "message", json_string(message));
	json_object_set_new(o, "source", json_string(source));
	return o;
}

/* A new update for x: checkpointed first, then forwarded (emitted). */
static int
x_update(struct agent *a, struct aexec *x, const Mesos__StatusUpdate *u,
    const char *source)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	struct ckpt_error e;
	const uint8_t *uuid = update_uuid_bytes(u);
	struct state_pending *p;

	if (uuid == NULL || u->status == NULL || x->task == NULL)
		return -EINVAL;
	if (x->checkpoint && checkpoint_update(a->o->work, &ids, u, &e) < 0) {
		fatal(a, "cannot checkpoint an update of task %s", x->task, &e);
		return -EIO;
	}
	if ((p = reallocarray(x->pending, x->n_pending + 1, sizeof(*p))) == NULL)
		abort();
	x->pending = p;
	p += x->n_pending++;
	memcpy(p->uuid, uuid, 16);
	p->state = u->status->state;
	p->timestamp = u->timestamp;
	p->offset = -1;
	x->state = u->status->state;
	if (task_state_terminal(x->state))
		x->terminal = true;
	emit(update_event(x, x->state, uuid, u->timestamp, u->status->message,
	    source));
	return 0;
}

/* An update the agent makes itself (TASK_LOST, or the end an exit file
 * tells). */
static void
x_generate(struct agent *a, struct aexec *x, int state, const char *message)
{
	struct update_ids ids = { a->id, x->framework, x->executor, x->task };
	Mesos__StatusUpdate *u = update_new(&ids, state, message,
	    MESOS__TASK_STATUS__SOURCE__SOURCE_SLAVE);

	if (u == NULL)
		abort();
	x_update(a, x, u, "agent");
	mesos__status_update__free_unpacked(u, NULL);
}

/* The executor process is gone: its task's end comes from executor.exit,
 * or it is lost. */
static void
x_gone(struct agent *a, struct aexec *x, bool reboot)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	char path[PATH_MAX], text[64], msg[128];
	enum exit_kind kind;
	int value;

	channel_close(&x->ch);
	x->st = X_GONE;
	if (x->task && !x->terminal) {
		if (x->checkpoint &&
		    path_build(path, sizeof(path), a->o->work,
		    PATH_EXECUTOR_EXIT, &ids, NULL) == 0 &&
		    text_read(path, text, sizeof(text), NULL) == 0 &&
		    exit_parse(text, &kind, &value) == 0) {
			if (kind == EXIT_CODE)
				snprintf(msg, sizeof(msg), "executor gone; the "
				    "task exited with status %d (executor.exit)",
				    value);
			else if (kind == EXIT_SIGNAL)
				snprintf(msg, sizeof(msg), "executor gone; the "
				    "task was killed by signal %d (executor.exit)",
				    value);
			else
				snprintf(msg, sizeof(msg), "executor gone; it "
				    "killed the task when no agent came back "
				    "within the recovery timeout (executor.exit)");
			x_generate(a, x, exit_state(kind, value), msg);
		} else {
			x_generate(a, x, MESOS__TASK_STATE__TASK_LOST, reboot ?
			    "the host rebooted" : x->pid == 0 ?
			    "the executor was never started" :
			    "the executor is gone");
			a->lost++;
		}
	}
	x_finish_if_done(a, x);
}

/* No answer in time: kill it (proven identity only); its task is lost. */
static void
x_timeout(struct agent *a, struct aexec *x)
{
	json_t *o = x_json("executor_timeout", x);

	json_object_set_new(o, "pid", json_integer(x->pid));
	emit(o);
	if (x->pid > 0 && proc_terminate(x->pid, x->start, x->bound, 0) == 0)
		a->killed++;
	x_gone(a, x, false);
}

static void
x_send(struct aexec *x, Agentproto__ExecutorMessage *m)
{
	if (x->ch.fd >= 0 && channel_send(&x->ch, m) < 0)
		channel_close(&x->ch);
}

static void
x_try_connect(struct agent *a, struct aexec *x, long long now)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	struct ckpt_error e;
	int fd;

	if (x->socket == NULL || (fd = channel_connect(x->socket, &e)) < 0) {
		x->next_try = now + 10;
		return;
	}
	channel_init(&x->ch, fd);
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER;
	m.agent_id = a->id;
	x->st = X_WAIT_HELLO;
	/* The executor's time to answer counts from when it was asked: a
	 * slow agent never makes a healthy executor late. */
	if (x->deadline < now + a->o->reregister_timeout_ms)
		x->deadline = now + a->o->reregister_timeout_ms;
	x_send(x, &m);
}

static void
x_send_ack(struct aexec *x, const uint8_t uuid[16])
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__ACK;
	m.has_uuid = 1;
	m.uuid.len = 16;
	m.uuid.data = (uint8_t *)uuid;
	x_send(x, &m);
}

static void
x_on_update(struct agent *a, struct aexec *x, const Mesos__StatusUpdate *u)
{
	const uint8_t *uuid = update_uuid_bytes(u);
	bool resent = x->resends > 0;

	if (resent)
		x->resends--;
	if (uuid == NULL)
		return;
	for (size_t i = 0; i < x->n_pending; i++)
		if (memcmp(x->pending[i].uuid, uuid, 16) == 0)
			return;	/* forwarded already in this lifetime */
	/* Only an update sent again after HELLO can have been acknowledged
	 * in the checkpoint already (an agent died between checkpointing the
	 * ack and forwarding it); for updates made since, the stream is not
	 * read again. */
	if (resent && x->checkpoint) {
		struct ckpt_ids ids = x_ids(x, a->id);
		char path[PATH_MAX];
		path_build(path, sizeof(path), a->o->work, PATH_TASK_UPDATES,
		    &ids, NULL);
		if (state_update_known(path, uuid) == 2) {
			x_send_ack(x, uuid);
			return;
		}
	}
	x_update(a, x, u, "executor");
}

static void
x_message(struct agent *a, struct aexec *x, Agentproto__ExecutorMessage *m)
{
	switch (m->type) {
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__HELLO:
		if (x->st == X_WAIT_HELLO) {
			x->st = X_CONNECTED;
			x->resends = x->recovered && m->has_pending ? m->pending : 0;
			if (x->recovered) {
				json_t *o = x_json("reconnected", x);
				json_object_set_new(o, "pid", json_integer(x->pid));
				emit(o);
				a->reconnected++;
			}
		}
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPDATE:
		/* Before HELLO an update could overtake those it resends. */
		if (x->st == X_CONNECTED && m->update && m->update->status)
			x_on_update(a, x, m->update);
		break;
	default:
		break;
	}
}

/* Read what the executor has sent (without blocking) and act on it. */
static void
x_read(struct agent *a, struct aexec *x)
{
	Agentproto__ExecutorMessage *m;
	int more = channel_fill(&x->ch), r;

	while (!a->quit && x->ch.fd >= 0 &&
	    (r = channel_next(&x->ch, &m)) != 0) {
		if (r < 0) {
			more = r;
			break;
		}
		x_message(a, x, m);
		agentproto__executor_message__free_unpacked(m, NULL);
	}
	if (more <= 0)
		x_gone(a, x, false);
}

/* ---- commands ---- */

static struct aexec *
find_task(struct agent *a, const char *framework, const char *task)
{
	for (size_t i = 0; i < a->nx; i++) {
		struct aexec *x = a->x[i];
		if (!x->done && x->task && strcmp(x->task, task) == 0 &&
		    (framework == NULL || strcmp(x->framework, framework) == 0))
			return x;
	}
	return NULL;
}

static char *
executor_binary(const struct agent_options *o)
{
	char self[PATH_MAX], *dir, *path;
	ssize_t n;

	if (o->executor_path)
		return strdup(o->executor_path);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return strdup("agent-executor");
	self[n] = '\0';
	dir = dirname(self);
	if (asprintf(&path, "%s/agent-executor", dir) < 0)
		return NULL;
	return path;
}

static void
cmd_launch(struct agent *a, struct command *c)
{
	const struct agent_options *o = a->o;
	const char *name = NULL, *user = "root", *ids_v[3];
	bool checkpoint = false;
	int i = 1, n = 0, sync_pipe[2];
	struct ckpt_error e;
	char **argv;

	for (; i < c->argc && strcmp(c->argv[i], "--") != 0; i++) {
		if (strcmp(c->argv[i], "--checkpoint") == 0)
			checkpoint = true;
		else if (strcmp(c->argv[i], "--name") == 0 && i + 1 < c->argc)
			name = c->argv[++i];
		else if (strcmp(c->argv[i], "--user") == 0 && i + 1 < c->argc)
			user = c->argv[++i];
		else if (c->argv[i][0] == '-' || n == 3) {
			emit_error("launch: unexpected '%s' (usage: launch "
			    "[--checkpoint] FRAMEWORK EXECUTOR TASK -- ARGV...)",
			    c->argv[i], NULL);
			return;
		} else
			ids_v[n++] = c->argv[i];
	}
	if (n != 3 || i + 1 >= c->argc) {
		emit_error("launch: %s", "usage: launch [--checkpoint] [--name "
		    "NAME] FRAMEWORK EXECUTOR TASK -- ARGV...", NULL);
		return;
	}
	argv = c->argv + i + 1;

	uint8_t rid[16];
	char run[UUID_TEXT], sock[PATH_MAX];
	uuid_generate(rid);
	uuid_format(rid, run);
	struct ckpt_ids ids = { a->id, ids_v[0], ids_v[1], run, ids_v[2] };
	if (ids_validate(&ids, &e) < 0) {
		emit_error("launch: %s", e.reason, NULL);
		return;
	}
	for (size_t k = 0; k < a->nx; k++)
		if (!a->x[k]->done && strcmp(a->x[k]->framework, ids.framework) == 0 &&
		    (strcmp(a->x[k]->executor, ids.executor) == 0 ||
		    (a->x[k]->task && strcmp(a->x[k]->task, ids.task) == 0))) {
			emit_error("launch: executor or task already running in "
			    "framework %s", ids.framework, NULL);
			return;
		}
	snprintf(sock, sizeof(sock), "%s/sock/%.8s%.4s", o->work, run, run + 9);
	if (strlen(sock) >= 108) {
		emit_error("launch: socket path %s is too long (108 bytes at "
		    "most): use a shorter work dir", sock, NULL);
		return;
	}
	/* Checkpoint framework, executor, run and task before the executor
	 * starts (a framework that does not checkpoint pays nothing). */
	if (checkpoint) {
		Mesos__FrameworkInfo fi = MESOS__FRAMEWORK_INFO__INIT;
		Mesos__FrameworkID fid = MESOS__FRAMEWORK_ID__INIT;
		Mesos__ExecutorInfo ei = MESOS__EXECUTOR_INFO__INIT;
		Mesos__ExecutorID xid = MESOS__EXECUTOR_ID__INIT;
		Mesos__CommandInfo ci = MESOS__COMMAND_INFO__INIT;
		Mesos__Task ti = MESOS__TASK__INIT;
		Mesos__TaskID tid = MESOS__TASK_ID__INIT;
		Mesos__SlaveID sid = MESOS__SLAVE_ID__INIT;
		fid.value = (char *)ids.framework;
		xid.value = (char *)ids.executor;
		tid.value = (char *)ids.task;
		sid.value = a->id;
		fi.user = (char *)user;
		fi.name = (char *)ids.framework;
		fi.id = &fid;
		fi.has_checkpoint = fi.checkpoint = 1;
		ci.value = argv[0];
		for (ci.n_arguments = 0; argv[ci.n_arguments]; ci.n_arguments++)
			;
		ci.arguments = argv;
		ci.has_shell = 1;
		ci.shell = 0;
		ei.executor_id = &xid;
		ei.framework_id = &fid;
		ei.command = &ci;
		ti.name = (char *)(name ? name : ids.task);
		ti.task_id = &tid;
		ti.framework_id = &fid;
		ti.executor_id = &xid;
		ti.slave_id = &sid;
		ti.state = MESOS__TASK_STATE__TASK_STAGING;
		if (checkpoint_info(o->work, PATH_FRAMEWORK_INFO, &ids, &fi.base, &e) < 0 ||
		    checkpoint_info(o->work, PATH_EXECUTOR_INFO, &ids, &ei.base, &e) < 0 ||
		    checkpoint_run(o->work, &ids, &e) < 0 ||
		    checkpoint_info(o->work, PATH_TASK_INFO, &ids, &ti.base, &e) < 0 ||
		    checkpoint_text(o->work, PATH_EXECUTOR_SOCKET, &ids, sock, &e) < 0) {
			fatal(a, "launch of task %s: cannot checkpoint", ids.task, &e);
			return;
		}
	} else {
		char path[PATH_MAX];
		if (path_build(path, sizeof(path), o->work, PATH_SANDBOX, &ids,
		    &e) < 0 || durable_mkdirs(path, &e) < 0) {
			fatal(a, "launch of task %s", ids.task, &e);
			return;
		}
	}

	struct aexec *x = x_new(a, ids.framework, ids.executor, run, ids.task);
	x->checkpoint = checkpoint;
	x->socket = strdup(sock);
	char *exe = executor_binary(o), rt[32], gr[32];
	snprintf(rt, sizeof(rt), "%lldms", o->recovery_timeout_ms);
	snprintf(gr, sizeof(gr), "%lldms", o->grace_ms);
	const char *fixed[] = { exe, "-d", o->work, "--agent", a->id,
	    "--framework", ids.framework, "--executor", ids.executor, "--run",
	    run, "--task", ids.task, "--socket", sock, "--recovery-timeout", rt,
	    "--grace", gr, checkpoint ? "--checkpoint" : "--", checkpoint ?
	    "--" : NULL };
	size_t nl = 0, nf = sizeof(fixed) / sizeof(fixed[0]), na = 0;
	while (o->launcher && o->launcher[nl])
		nl++;
	while (argv[na])
		na++;
	char **xargv = calloc(nl + nf + na + 1, sizeof(char *));
	size_t k = 0;
	for (size_t j = 0; j < nl; j++)
		xargv[k++] = o->launcher[j];
	for (size_t j = 0; j < nf; j++)
		if (fixed[j])
			xargv[k++] = (char *)fixed[j];
	for (size_t j = 0; j < na; j++)
		xargv[k++] = argv[j];
	xargv[k] = NULL;

	char sandbox[PATH_MAX];
	path_build(sandbox, sizeof(sandbox), o->work, PATH_SANDBOX, &ids, NULL);
	if (pipe2(sync_pipe, O_CLOEXEC) < 0) {
		emit_error("launch of task %s: pipe failed", ids.task, NULL);
		free(exe);
		free(xargv);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char go;
		sigset_t none;
		int fd;
		close(sync_pipe[1]);
		setsid();
		if (!checkpoint)
			prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (chdir(sandbox) < 0)
			_exit(EX_OSERR);
		if ((fd = open("/dev/null", O_RDWR)) >= 0)
			dup2(fd, 0), dup2(fd, 1), close(fd);
		if ((fd = open("executor.log", O_WRONLY | O_CREAT | O_APPEND,
		    0600)) >= 0)
			dup2(fd, 2), close(fd);
		/* Wait until the agent has checkpointed our pid. */
		if (read(sync_pipe[0], &go, 1) != 1)
			_exit(EX_TEMPFAIL);
		close_range(3, ~0U, 0);	/* nothing of the agent's leaks */
		execvp(xargv[0], xargv);
		fprintf(stderr, "agent-run: cannot exec %s: %s\n", xargv[0],
		    strerror(errno));
		_exit(127);
	}
	close(sync_pipe[0]);
	free(exe);
	free(xargv);
	if (pid < 0) {
		close(sync_pipe[1]);
		emit_error("launch of task %s: fork failed", ids.task, NULL);
		x->st = X_GONE;
		x_gone(a, x, false);
		return;
	}
	x->pid = pid;
	proc_start_time(pid, &x->start);
	if (checkpoint && checkpoint_pid(o->work, &ids, pid, x->start, &e) < 0) {
		fatal(a, "launch of task %s: cannot checkpoint the pid", ids.task, &e);
		close(sync_pipe[1]);	/* the child exits without exec */
		x->pid = 0;
		x_gone(a, x, false);
		return;
	}
	if (write(sync_pipe[1], "g", 1) != 1) {
		/* the child is gone already; it will be reaped */
	}
	close(sync_pipe[1]);
	x->st = X_CONNECTING;
	x->deadline = monotonic_ms() + (o->reregister_timeout_ms > 5000 ?
	    o->reregister_timeout_ms : 5000);
	json_t *ev = x_json("launched", x);
	json_object_set_new(ev, "pid", json_integer(pid));
	json_object_set_new(ev, "checkpoint", json_boolean(checkpoint));
	emit(ev);
}

static void
cmd_ack(struct agent *a, const char *text)
{
	uint8_t uuid[16];
	struct ckpt_error e;

	if (uuid_parse(text, uuid) < 0) {
		emit_error("ack: '%s' is not a uuid", text, NULL);
		return;
	}
	for (size_t i = 0; i < a->nx; i++) {
		struct aexec *x = a->x[i];
		for (size_t k = 0; !x->done && k < x->n_pending; k++) {
			struct ckpt_ids ids = x_ids(x, a->id);
			if (memcmp(x->pending[k].uuid, uuid, 16) != 0)
				continue;
			if (x->checkpoint && checkpoint_ack(a->o->work, &ids,
			    uuid, &e) < 0) {
				fatal(a, "ack %s: cannot checkpoint", text, &e);
				return;
			}
			x_send_ack(x, uuid);
			/* An acknowledged terminal update completes the
			 * stream: the updates before it are superseded. */
			if (task_state_terminal(x->pending[k].state))
				x->n_pending = 0;
			else {
				memmove(&x->pending[k], &x->pending[k + 1],
				    (x->n_pending - k - 1) * sizeof(*x->pending));
				x->n_pending--;
			}
			json_t *o = x_json("acknowledged", x);
			json_object_set_new(o, "uuid", json_string(text));
			emit(o);
			x_finish_if_done(a, x);
			return;
		}
	}
	emit_error("ack: no pending update has uuid %s", text, NULL);
}

static void
cmd_kill(struct agent *a, struct command *c)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	struct aexec *x;

	if (c->argc != 2 && c->argc != 3) {
		emit_error("kill: %s", "usage: kill [FRAMEWORK] TASK", NULL);
		return;
	}
	x = find_task(a, c->argc == 3 ? c->argv[1] : NULL, c->argv[c->argc - 1]);
	if (x == NULL || x->terminal) {
		emit_error("kill: no running task '%s'", c->argv[c->argc - 1], NULL);
		return;
	}
	if (x->st != X_CONNECTED) {
		emit_error("kill: the executor of task '%s' is not connected",
		    x->task, NULL);
		return;
	}
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__KILL;
	m.has_grace_ms = 1;
	m.grace_ms = a->o->grace_ms;
	x_send(x, &m);
}

static void
cmd_shutdown(struct agent *a)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__SHUTDOWN;
	m.has_grace_ms = 1;
	m.grace_ms = a->o->grace_ms;
	a->shutting_down = true;
	a->shutdown_deadline = monotonic_ms() + a->o->grace_ms + 3000;
	for (size_t i = 0; i < a->nx; i++)
		x_send(a->x[i], &m);
}

static void
command(struct agent *a, const char *line)
{
	struct command c;
	struct ckpt_error e;

	if (command_parse(line, &c, &e) < 0) {
		char where[600];
		snprintf(where, sizeof(where), "byte %lld: %s", e.offset, e.reason);
		emit_error("command: %s", where, NULL);
		return;
	}
	if (c.argc == 0)
		;
	else if (a->shutting_down)
		emit_error("%s: shutting down", c.argv[0], NULL);
	else if (strcmp(c.argv[0], "launch") == 0)
		cmd_launch(a, &c);
	else if (strcmp(c.argv[0], "ack") == 0 && c.argc == 2)
		cmd_ack(a, c.argv[1]);
	else if (strcmp(c.argv[0], "kill") == 0)
		cmd_kill(a, &c);
	else if (strcmp(c.argv[0], "shutdown") == 0)
		cmd_shutdown(a);
	else if (strcmp(c.argv[0], "ping") == 0)
		emit(json_pack("{s:s}", "event", "pong"));
	else
		emit_error("unknown command '%s' (launch, kill, ack, shutdown, "
		    "ping)", c.argv[0], NULL);
	command_free(&c);
}

static void
read_stdin(struct agent *a)
{
	char *nl;
	ssize_t n;

	if (a->in_cap - a->in_len < 4096) {
		a->in_cap = a->in_cap ? a->in_cap * 2 : 8192;
		if ((a->in = realloc(a->in, a->in_cap)) == NULL)
			abort();
	}
	n = read(0, a->in + a->in_len, a->in_cap - a->in_len - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* The driver is gone: stop serving, leave executors running. */
		a->quit = true;
		return;
	}
	a->in_len += (size_t)n;
	a->in[a->in_len] = '\0';
	/* After a fatal error nothing more is done: one error, then exit. */
	while (!a->quit && (nl = memchr(a->in, '\n', a->in_len)) != NULL) {
		*nl = '\0';
		if (memchr(a->in, '\0', (size_t)(nl - a->in)) != NULL)
			emit_error("command: %s", "NUL byte in the line", NULL);
		else
			command(a, a->in);
		a->in_len -= (size_t)(nl + 1 - a->in);
		memmove(a->in, nl + 1, a->in_len);
	}
	if (a->in_len > COMMAND_MAX_LINE) {
		emit_error("command: %s", "line too long; discarded", NULL);
		a->in_len = 0;
	}
}

/* ---- recovery ---- */

/* A checkpointed, unacknowledged update, emitted again as it was. */
static void
emit_pending(struct agent *a, struct aexec *x, const struct state_pending *p)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	Mesos__StatusUpdate *u = NULL;
	struct ckpt_error e;
	char path[PATH_MAX];
	json_t *ev;

	/* The message is not kept in the tree: read the record back. */
	if (path_build(path, sizeof(path), a->o->work, PATH_TASK_UPDATES, &ids,
	    NULL) < 0 || state_update_at(path, p->offset, &u, &e) < 0)
		u = NULL;
	ev = update_event(x, p->state, p->uuid, p->timestamp,
	    u && u->status ? u->status->message : NULL, u && u->status &&
	    u->status->source == MESOS__TASK_STATUS__SOURCE__SOURCE_SLAVE ?
	    "agent" : "executor");
	json_object_set_new(ev, "redelivered", json_true());
	if (u)
		mesos__status_update__free_unpacked(u, NULL);
	emit(ev);
}

static int
recover(struct agent *a)
{
	const struct agent_options *o = a->o;
	struct state_options so = { .strict = o->strict, .repair = true };
	struct recovery_plan p;
	struct ckpt_error e;
	char host[256] = "localhost";
	int rc;

	if ((rc = recovery_plan(o->work, &so, o->cleanup, &p, &e)) < 0) {
		error_print(&e);
		recovery_plan_free(&p);
		return error_exit_code(rc);
	}
	a->is_new = p.agent == NULL;
	if (p.agent)
		strlcpy(a->id, p.agent->id, sizeof(a->id));
	else if (o->agent_id)
		strlcpy(a->id, o->agent_id, sizeof(a->id));
	else {
		uint8_t u[16];
		char t[UUID_TEXT];
		uuid_generate(u);
		uuid_format(u, t);
		snprintf(a->id, sizeof(a->id), "%s-S0", t);
	}
	if (o->hostname)
		strlcpy(host, o->hostname, sizeof(host));
	else
		gethostname(host, sizeof(host) - 1);
	Mesos__SlaveInfo si = MESOS__SLAVE_INFO__INIT;
	Mesos__SlaveID sid = MESOS__SLAVE_ID__INIT;
	sid.value = a->id;
	si.hostname = host;
	si.id = &sid;
	si.has_checkpoint = si.checkpoint = 1;
	if ((rc = checkpoint_agent(o->work, a->id, &si, &e)) < 0) {
		error_print(&e);
		recovery_plan_free(&p);
		return error_exit_code(rc);
	}
	json_t *runs = json_array();
	for (size_t i = 0; i < p.n_runs; i++)
		json_array_append_new(runs, recovery_run_json(&p, &p.runs[i]));
	emit(json_pack("{s:s, s:s, s:b, s:b, s:o}", "event", "recovery",
	    "agent_id", a->id, "reboot", p.reboot, "cleanup", o->cleanup,
	    "runs", runs));

	for (size_t i = 0; i < p.n_runs; i++) {
		struct recovery_run *rr = &p.runs[i];
		const struct state_run *run = rr->run;
		const struct state_task *t = run->n_tasks ? &run->tasks[0] : NULL;
		struct aexec *x;

		if (rr->action == ACTION_KILL) {
			if (proc_terminate(run->pid, run->start_time,
			    run->pid_mtime, o->grace_ms) == 0)
				a->killed++;
		}
		if (!rr->checkpoint)
			continue;	/* nothing of it is recovered */
		x = x_new(a, rr->framework->id, rr->executor->id, run->id,
		    t ? t->id : NULL);
		x->checkpoint = true;
		x->recovered = true;
		x->pid = run->pid;
		x->start = run->start_time;
		x->bound = run->pid_mtime;
		x->socket = run->socket ? strdup(run->socket) : NULL;
		if (t) {
			x->state = task_effective_state(t);
			x->terminal = t->terminal;
			/* Pending updates are forwarded again, once, whole. */
			for (size_t k = 0; k < t->n_pending; k++) {
				struct state_pending *pp;
				pp = reallocarray(x->pending, x->n_pending + 1,
				    sizeof(*pp));
				if (pp == NULL)
					abort();
				x->pending = pp;
				pp[x->n_pending++] = t->pending[k];
				emit_pending(a, x, &t->pending[k]);
			}
		}
		if (rr->action == ACTION_RECONNECT && !o->cleanup) {
			x->st = X_CONNECTING;
			x->deadline = 0;	/* set once the loop can read it */
		} else
			x_gone(a, x, p.reboot);
	}
	char boot[64];
	strlcpy(boot, p.boot_id[0] ? p.boot_id : "unknown", sizeof(boot));
	recovery_plan_free(&p);
	/* Rewritten only now: a crash during recovery sees the reboot again. */
	if (bootid_write(o->work, boot, &e) < 0) {
		error_print(&e);
		return error_exit_code(e.code);
	}
	return EX_OK;
}

/* ---- the loop ---- */

/* Diagnostics to path (line-buffered): at start, and again on SIGHUP so
 * that a rotated log is let go. */
static int
log_open(const char *path)
{
	if (freopen(path, "a", stderr) == NULL)
		return -1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	return 0;
}

static void
signals(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			pid_t pid;
			while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
				for (size_t i = 0; i < a->nx; i++)
					if (a->x[i]->pid == pid &&
					    a->x[i]->st != X_GONE &&
					    a->x[i]->st != X_CONNECTED)
						x_gone(a, a->x[i], false);
		} else if (si.ssi_signo == SIGHUP) {
			if (a->o->log_path && log_open(a->o->log_path) < 0)
				a->quit = true;
		} else {
			emit(json_pack("{s:s, s:s}", "event", "stopped",
			    "signal", strsignal((int)si.ssi_signo)));
			a->quit = true;
		}
	}
}

static void
announce_if_ready(struct agent *a)
{
	if (a->announced)
		return;
	for (size_t i = 0; i < a->nx; i++)
		if (a->x[i]->recovered && (a->x[i]->st == X_CONNECTING ||
		    a->x[i]->st == X_WAIT_HELLO))
			return;
	a->announced = true;
	emit(json_pack("{s:s, s:s, s:I, s:i, s:i, s:i}", "event",
	    a->is_new ? "registered" : "reregistered", "agent_id", a->id,
	    "elapsed_ms", (json_int_t)(monotonic_ms() - a->start_ms), "reconnected",
	    a->reconnected, "lost", a->lost, "killed", a->killed));
}

static void
finish_shutdown(struct agent *a)
{
	struct ckpt_error e;

	for (size_t i = 0; i < a->nx; i++) {
		struct aexec *x = a->x[i];
		struct ckpt_ids ids = x_ids(x, a->id);
		if (x->done)
			continue;
		if (x->st != X_GONE && x->pid > 0)
			proc_terminate(x->pid, x->start, x->bound, 0);
		channel_close(&x->ch);
		if (x->checkpoint && checkpoint_sentinel(a->o->work, &ids, &e) < 0)
			fatal(a, "cannot mark run %s terminated", x->run, &e);
	}
	emit(json_pack("{s:s}", "event", "shutdown"));
	a->quit = true;
}

int
agent_main(const struct agent_options *o)
{
	struct agent a = { .o = o, .start_ms = monotonic_ms() };
	struct ckpt_error e;
	sigset_t mask;
	int lock, rc;

	signal(SIGPIPE, SIG_IGN);
	if (o->log_path && log_open(o->log_path) < 0) {
		warn("%s", o->log_path);
		return EX_CANTCREAT;
	}
	if ((rc = workdir_check(o->work, &e)) < 0 ||
	    (rc = durable_mkdirs(o->work, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	if ((lock = workdir_lock(o->work, &e)) < 0) {
		error_print(&e);
		return error_exit_code(lock);
	}
	char sock[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/sock", o->work);
	mkdir(sock, 0700);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	a.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	out_init();
	if ((rc = recover(&a)) != EX_OK) {
		out_flush(true);
		return rc;
	}
	if (o->cleanup) {
		emit(json_pack("{s:s, s:i}", "event", "cleanup", "killed",
		    a.killed));
		a.quit = true;
	}

	while (!a.quit) {
		long long now = monotonic_ms(), next = -1;
		size_t np = 0;
		struct pollfd *p;
		struct aexec **map;

		for (size_t i = 0; i < a.nx; i++) {
			struct aexec *x = a.x[i];
			if (x->st == X_CONNECTING && x->deadline == 0)
				x->deadline = now + o->reregister_timeout_ms;
			if (x->st == X_CONNECTING && x->next_try <= now)
				x_try_connect(&a, x, now);
			/* What the executor sent while this agent was busy
			 * counts: read it before judging it unresponsive. */
			if (x->st == X_WAIT_HELLO && now >= x->deadline)
				x_read(&a, x);
			if ((x->st == X_CONNECTING || x->st == X_WAIT_HELLO) &&
			    now >= x->deadline)
				x_timeout(&a, x);
			if (x->st == X_CONNECTING && (next < 0 || x->next_try - now < next))
				next = x->next_try - now;
			if ((x->st == X_CONNECTING || x->st == X_WAIT_HELLO) &&
			    (next < 0 || x->deadline - now < next))
				next = x->deadline - now;
		}
		announce_if_ready(&a);
		if (a.shutting_down) {
			bool all = true;
			for (size_t i = 0; i < a.nx; i++)
				if (!a.x[i]->done && a.x[i]->st != X_GONE)
					all = false;
			if (all || now >= a.shutdown_deadline) {
				finish_shutdown(&a);
				break;
			}
			next = next < 0 || next > 100 ? 100 : next;
		}
		/* Forget terminated runs. */
		size_t k = 0;
		for (size_t i = 0; i < a.nx; i++)
			if (a.x[i]->done && !a.shutting_down)
				x_free(a.x[i]);
			else
				a.x[k++] = a.x[i];
		a.nx = k;

		out_flush(false);
		/* Too much the driver has not read: executors wait. */
		short xin = out.len > OUT_BOUND ? 0 : POLLIN;
		p = calloc(a.nx + 3, sizeof(*p));
		map = calloc(a.nx + 3, sizeof(*map));
		p[np++] = (struct pollfd){ a.signal_fd, POLLIN, 0 };
		p[np++] = (struct pollfd){ 0, POLLIN, 0 };
		p[np++] = (struct pollfd){ out.len ? 1 : -1, POLLOUT, 0 };
		for (size_t i = 0; i < a.nx; i++)
			if (a.x[i]->ch.fd >= 0) {
				map[np] = a.x[i];
				p[np++] = (struct pollfd){ a.x[i]->ch.fd, xin |
				    (a.x[i]->ch.out_len ? POLLOUT : 0), 0 };
			}
		if (poll(p, np, next < 0 ? -1 : (int)(next > 0 ? next : 0)) < 0 &&
		    errno != EINTR) {
			free(p);
			free(map);
			break;
		}
		if (p[0].revents)
			signals(&a);
		if (p[1].revents && !a.quit)
			read_stdin(&a);
		if (p[2].revents & (POLLERR | POLLHUP))
			out.len = 0;	/* nobody reads the events any more */
		for (size_t i = 3; i < np && !a.quit; i++) {
			struct aexec *x = map[i];
			if (!p[i].revents || x->ch.fd != p[i].fd)
				continue;
			if (p[i].revents & POLLOUT)
				channel_flush(&x->ch);
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				x_read(&a, x);
		}
		free(p);
		free(map);
	}
	for (size_t i = 0; i < a.nx; i++)
		x_free(a.x[i]);
	free(a.x);
	free(a.in);
	close(a.signal_fd);
	close(lock);
	out_flush(true);
	free(out.buf);
	return a.status;
}
