#include "executor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "checkpoint.h"
#include "record.h"
#include "contain.h"
#include "durable.h"
#include "proc.h"
#include "spawn.h"
#include "state.h"
#include "tasklog.h"
#include "update.h"

/* A progress line longer than this is cut (and marked as cut); past
 * PENDING_MAX unacknowledged updates, progress is coalesced: the latest
 * line waits, replacing those before it, until acknowledgements make
 * room.  The terminal update is never dropped. */
#define LINE_MAX_BYTES	4096
#define PENDING_MAX	1000

struct queued {
	uint8_t uuid[16];
	bool terminal;
	bool settles;			/* acked: the stream is settled */
	uint8_t *frame;		/* the framed UPDATE message */
	size_t len;
};

struct executor {
	const struct executor_options *o;
	struct channel agent;		/* fd -1 when no agent */
	struct channel cand;		/* a new connection, not yet proven */
	bool has_secret;
	uint8_t secret[SECRET_LEN];
	struct contain tree;		/* the task and all it forks */
	bool registered;		/* HELLO sent on this connection */
	int listen_fd, signal_fd;
	int status_fd;			/* read end of the task's fd 3, or -1 */
	char status_buf[LINE_MAX_BYTES + 1];
	size_t status_len;
	bool status_cut;		/* dropping the rest of a long line */
	char *latest;			/* coalesced progress, not yet queued */
	unsigned long coalesced;	/* lines it replaced */
	struct tasklog logs[2];		/* the task's stdout, stderr */
	pid_t task;			/* 0 once reaped */
	bool killing;			/* SIGTERM sent */
	int kill_reason;		/* TaskState to report for a kill we made */
	bool exiting;			/* leave once the task is gone */
	long long kill_deadline, away_deadline;	/* ms, 0: none */
	struct queued *q;
	size_t nq;
	bool done;			/* terminal update queued */
};

static void
logmsg(const char *fmt, const char *arg)
{
	fprintf(stderr, "agent-executor[%ld]: ", (long)getpid());
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

static void
send_update_frame(struct executor *x, const struct queued *q)
{
	/* Only after HELLO: an update sent before it would overtake the
	 * queued ones HELLO is followed by. */
	if (x->agent.fd >= 0 && x->registered &&
	    channel_send_raw(&x->agent, q->frame, q->len) < 0)
		channel_close(&x->agent);
}

/* Keep the update until acknowledged, and send it now if an agent is here. */
static void
queue_update(struct executor *x, int state, const char *message)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	const struct ckpt_ids *i = &x->o->ids;
	struct update_ids ids = { i->agent, i->framework, i->executor, i->task };
	Mesos__StatusUpdate *u = update_new(&ids, state, message,
	    MESOS__TASK_STATUS__SOURCE__SOURCE_EXECUTOR);
	struct queued *q;

	if (u == NULL || (q = reallocarray(x->q, x->nq + 1, sizeof(*q))) == NULL)
		abort();
	x->q = q;
	q += x->nq++;
	memcpy(q->uuid, update_uuid_bytes(u), 16);
	q->terminal = task_state_terminal(state);
	q->settles = update_ack_settles(state);
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPDATE;
	m.update = u;
	if (record_encode(&m.base, &q->frame, &q->len) < 0)
		abort();
	mesos__status_update__free_unpacked(u, NULL);
	send_update_frame(x, q);
	if (task_state_terminal(state))
		x->done = true;
}

/* The coalesced progress line, queued once there is room (force: before
 * the terminal update, room or not). */
static void
release_latest_now(struct executor *x, bool force)
{
	if (x->latest == NULL || (!force && x->nq >= PENDING_MAX))
		return;
	queue_update(x, MESOS__TASK_STATE__TASK_RUNNING, x->latest);
	free(x->latest);
	x->latest = NULL;
}

static void
release_latest(struct executor *x)
{
	release_latest_now(x, false);
}

/* A line the task wrote on fd 3: a TASK_RUNNING update, or, past the
 * bound, the latest line waiting for room. */
static void
progress(struct executor *x, const char *line)
{
	if (x->done)
		return;
	if (x->nq < PENDING_MAX && x->latest == NULL) {
		queue_update(x, MESOS__TASK_STATE__TASK_RUNNING, line);
		return;
	}
	if (x->coalesced++ == 0)
		logmsg("%s", "more than 1000 updates unacknowledged: progress "
		    "lines are coalesced (the latest kept) until there is room");
	free(x->latest);
	if ((x->latest = strdup(line)) == NULL)
		abort();
}

/* An acknowledged update that settles the stream (update.h) supersedes
 * what came before it. */
static void
ack(struct executor *x, const ProtobufCBinaryData *uuid)
{
	for (size_t i = 0; i < x->nq; i++)
		if (uuid->len == 16 && memcmp(x->q[i].uuid, uuid->data, 16) == 0) {
			if (x->q[i].settles) {
				for (size_t k = 0; k < x->nq; k++)
					free(x->q[k].frame);
				x->nq = 0;
				return;
			}
			free(x->q[i].frame);
			memmove(&x->q[i], &x->q[i + 1],
			    (x->nq - i - 1) * sizeof(*x->q));
			x->nq--;
			release_latest(x);
			return;
		}
}

static void
kill_task(struct executor *x, int reason, long long grace_ms)
{
	if (x->task <= 0 || x->killing)
		return;
	x->killing = true;
	x->kill_reason = reason;
	contain_signal(&x->tree, SIGTERM);	/* the whole tree */
	x->kill_deadline = monotonic_ms() + grace_ms;
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
	pid_t pid;

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
		t->reserve = o->disk_reserve;
		t->uid = o->uid;
		t->gid = o->gid;
		if (tasklog_open(t, i ? "stderr" : "stdout", i ? err[0] : out[0],
		    o->task_log_max, o->task_log_keep) < 0)
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

static void task_end(struct executor *, const char *, int, const char *);

/* The task ended: record how, durably, then report it. */
static void
task_ended(struct executor *x, int status)
{
	char text[64], msg[128];
	enum exit_kind kind;
	int value, state;

	if (x->killing && x->kill_reason == MESOS__TASK_STATE__TASK_LOST) {
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
	if (x->killing && x->kill_reason == MESOS__TASK_STATE__TASK_KILLED)
		state = MESOS__TASK_STATE__TASK_KILLED;
	snprintf(text, sizeof(text), "%s %d\n", kind == EXIT_CODE ? "exited" :
	    kind == EXIT_SIGNAL ? "signaled" : "lost", value);
	if (state == MESOS__TASK_STATE__TASK_KILLED && kind != EXIT_SIGNAL)
		snprintf(text, sizeof(text), "signaled %d\n", SIGTERM);
	task_end(x, text, state, msg);
}

/* Record the end (executor.exit, durably), then report it. */
static void
task_end(struct executor *x, const char *exit_text, int state, const char *msg)
{
	struct ckpt_error e;

	if (x->o->checkpoint && checkpoint_text(NULL, x->o->work, PATH_EXECUTOR_EXIT,
	    &x->o->ids, exit_text, &e) < 0) {
		char buf[PATH_MAX + 600];
		logmsg("%s", error_format(&e, buf, sizeof(buf)));
	}
	x->task = 0;
	x->kill_deadline = 0;
	release_latest_now(x, true);	/* what it reported comes first */
	queue_update(x, state, msg);
}

/* Did the task's exec fail?  Then it is reaped here and TASK_FAILED says
 * why; a successful exec closes the pipe (end of file). */
static bool
exec_failed(struct executor *x, int fd)
{
	char msg[PATH_MAX + 128];
	int err = spawn_exec_error(fd), status;

	if (err == 0)
		return false;
	while (waitpid(x->task, &status, 0) < 0 && errno == EINTR)
		;
	snprintf(msg, sizeof(msg), "cannot execute '%s': %s", x->o->argv[0],
	    strerror(err));
	logmsg("%s", msg);
	task_end(x, "exited 127\n", MESOS__TASK_STATE__TASK_FAILED, msg);
	return true;
}

static ssize_t
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

static void
agent_gone(struct executor *x)
{
	channel_close(&x->agent);
	x->registered = false;
	if (!x->o->checkpoint) {
		/* Not checkpointing: the task does not outlive its agent. */
		kill_task(x, MESOS__TASK_STATE__TASK_LOST, x->o->grace_ms);
		x->exiting = true;
		return;
	}
	x->away_deadline = monotonic_ms() + x->o->recovery_timeout_ms;
}

static void
hello(struct executor *x, const char *agent_id)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	(void)agent_id;
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__HELLO;
	m.has_task_pid = 1;
	m.task_pid = x->task;
	m.has_pending = 1;
	m.pending = (int32_t)x->nq;
	x->away_deadline = 0;
	x->registered = true;
	/* HELLO and the updates it is followed by, in one write: at an
	 * agent's restart, 10,000 executors answer at once. */
	uint8_t *hb, *all;
	size_t hl, n;
	if (record_encode(&m.base, &hb, &hl) < 0)
		abort();	/* out of memory */
	n = hl;
	for (size_t i = 0; i < x->nq; i++)
		n += x->q[i].len;
	if ((all = realloc(hb, n)) == NULL)
		abort();
	n = hl;
	for (size_t i = 0; i < x->nq; i++) {
		memcpy(all + n, x->q[i].frame, x->q[i].len);
		n += x->q[i].len;
	}
	if (channel_send_raw(&x->agent, all, n) < 0)
		agent_gone(x);
	free(all);
}

/* Does REGISTER carry this run's secret?  (No secret given: anyone of
 * our uid or root, as before.) */
static bool
proven(const struct executor *x, const Agentproto__ExecutorMessage *m)
{
	if (!x->has_secret)
		return true;
	return m->type == AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER &&
	    m->has_secret && m->secret.len == SECRET_LEN &&
	    memcmp(m->secret.data, x->secret, SECRET_LEN) == 0;
}

/* A message on the candidate connection: it becomes the agent's only
 * by a REGISTER that proves itself; anything else closes it. */
static void
candidate(struct executor *x)
{
	Agentproto__ExecutorMessage *m;
	int more = channel_fill(&x->cand), r;

	if ((r = channel_next(&x->cand, &m)) > 0) {
		if (proven(x, m)) {
			channel_close(&x->agent);	/* replaced */
			x->agent = x->cand;
			channel_init(&x->cand, -1);
			x->registered = false;
			hello(x, m->agent_id);
		} else {
			logmsg("%s", "refused a connection that did not prove "
			    "itself with the run's secret");
			channel_close(&x->cand);
		}
		agentproto__executor_message__free_unpacked(m, NULL);
		return;
	}
	if (r < 0 || more <= 0)
		channel_close(&x->cand);
}

static void
agent_message(struct executor *x, Agentproto__ExecutorMessage *m)
{
	switch (m->type) {
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER:
		hello(x, m->agent_id);
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__ACK:
		if (m->has_uuid)
			ack(x, &m->uuid);
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__KILL:
		kill_task(x, MESOS__TASK_STATE__TASK_KILLED, m->has_grace_ms ?
		    m->grace_ms : x->o->grace_ms);
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__SHUTDOWN:
		kill_task(x, MESOS__TASK_STATE__TASK_KILLED, m->has_grace_ms ?
		    m->grace_ms : x->o->grace_ms);
		x->exiting = true;
		break;
	default:
		break;
	}
}

static void
accept_agent(struct executor *x)
{
	int fd = accept4(x->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	long uid;

	if (fd < 0)
		return;
	uid = channel_peer_uid(fd);
	if (uid != 0 && uid != (long)getuid()) {
		char who[32];
		snprintf(who, sizeof(who), "%ld", uid);
		logmsg("refused a connection from uid %s", who);
		close(fd);
		return;
	}
	/* The current agent stays until the new one proves itself. */
	channel_close(&x->cand);
	channel_init(&x->cand, fd);
}

/* The run's secret, handed over by the agent on a pipe. */
static void
read_secret(struct executor *x, int fd)
{
	char text[2 * SECRET_LEN + 2] = "";
	ssize_t n;

	while ((n = read(fd, text, sizeof(text) - 1)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n >= 2 * SECRET_LEN) {
		text[2 * SECRET_LEN] = '\0';
		x->has_secret = secret_parse(text, x->secret) == 0;
	}
	if (!x->has_secret)
		logmsg("%s", "no valid secret on --secret-fd: connections "
		    "are refused");
	x->has_secret = true;	/* an unreadable secret proves nothing */
}

/* The task's pid and start time (and cgroup) beside ours: when this
 * executor is gone, the next agent can still prove and stop its tree. */
static void
checkpoint_task(struct executor *x)
{
	unsigned long long start = 0;
	struct ckpt_error e;
	char text[64], logs[64], buf[PATH_MAX + 600];

	if (!x->o->checkpoint || x->task <= 0)
		return;
	proc_start_time(x->task, &start);
	snprintf(text, sizeof(text), "%ld %llu\n", (long)x->task, start);
	snprintf(logs, sizeof(logs), "max %lld keep %d\n", x->o->task_log_max,
	    x->o->task_log_keep);
	/* One batch: one set of barriers for the three files. */
	struct dbatch b;
	dbatch_init(&b);
	if (checkpoint_text(&b, x->o->work, PATH_TASK_PID, &x->o->ids, text,
	    &e) < 0 || (x->tree.cgroup && checkpoint_text(&b, x->o->work,
	    PATH_TASK_CGROUP, &x->o->ids, x->tree.cgroup, &e) < 0) ||
	    checkpoint_text(&b, x->o->work, PATH_TASK_LOG, &x->o->ids, logs,
	    &e) < 0 || dbatch_commit(&b, &e) < 0) {
		dbatch_abort(&b);
		logmsg("%s", error_format(&e, buf, sizeof(buf)));
	}
}

/* Before leaving: nothing of the tree may outlive us (SIGKILL, reaped,
 * for at most a few seconds), then the cgroup goes. */
static void
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
}

static void
signals(struct executor *x)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(x->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			kill_task(x, MESOS__TASK_STATE__TASK_KILLED, x->o->grace_ms);
			x->exiting = true;
		}
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == x->task) {
			/* What it left behind goes with it (as Mesos destroys
			 * the container), before its end is reported; its
			 * state is the main process's. */
			empty_tree(x);
			/* What the task reported comes before its end. */
			while (x->status_fd >= 0 && status_lines(x) > 0)
				;
			drain_logs(x);
			task_ended(x, status);
		}
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
static void
start_task(struct executor *x, struct ckpt_error *e)
{
	const struct executor_options *o = x->o;
	int status_pipe[2] = { -1, -1 }, exec_fd = -1;

	if (pipe2(status_pipe, O_CLOEXEC) < 0)
		status_pipe[0] = status_pipe[1] = -1;
	for (int i = 0; i < 2; i++)
		x->logs[i].in = x->logs[i].out = -1;
	if (contain_init(&x->tree, o->cgroup_root, o->ids.run, e) < 0) {
		/* No cgroup of its own: contained without one, as where
		 * there is no cgroup2 hierarchy (said in executor.log). */
		char why[PATH_MAX + 600];
		logmsg("%s: contained without a cgroup", error_format(e, why,
		    sizeof(why)));
		error_clear(e);
		contain_init(&x->tree, NULL, o->ids.run, e);
	}
	if ((x->task = fork_task(x, status_pipe[1], &exec_fd, e)) < 0) {
		char msg[PATH_MAX + 600], why[PATH_MAX + 600];
		snprintf(msg, sizeof(msg), "cannot start the task: %s",
		    error_format(e, why, sizeof(why)));
		logmsg("%s", msg);
		error_clear(e);
		x->task = 0;
		task_end(x, "exited 127\n", MESOS__TASK_STATE__TASK_FAILED, msg);
		exec_fd = -1;
	} else
		checkpoint_task(x);
	if (status_pipe[1] >= 0) {
		close(status_pipe[1]);
		x->status_fd = status_pipe[0];
		fcntl(x->status_fd, F_SETFL, O_NONBLOCK);
	}
	if (exec_fd < 0 || exec_failed(x, exec_fd))
		return;	/* TASK_FAILED, with the reason, is all there is */
	cgroup_joined(x);
	queue_update(x, MESOS__TASK_STATE__TASK_STARTING, NULL);
	queue_update(x, MESOS__TASK_STATE__TASK_RUNNING, NULL);
}

/* The agent's connection is ready (revents): write, read, act. */
static void
agent_io(struct executor *x, short revents)
{
	Agentproto__ExecutorMessage *m;
	int more = 1, rc;

	if (revents & POLLOUT)
		channel_flush(&x->agent);
	if (revents & (POLLIN | POLLHUP | POLLERR))
		more = channel_fill(&x->agent);
	while (x->agent.fd >= 0 && (rc = channel_next(&x->agent, &m)) != 0) {
		if (rc < 0) {
			more = rc;
			break;
		}
		agent_message(x, m);
		agentproto__executor_message__free_unpacked(m, NULL);
	}
	if (more <= 0 && x->agent.fd >= 0)
		agent_gone(x);
}

/* The task's output to its end; what was dropped is said. */
static void
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

int
executor_main(const struct executor_options *o, struct ckpt_error *e)
{
	struct executor x = { .o = o, .listen_fd = -1, .status_fd = -1 };
	sigset_t mask;

	channel_init(&x.agent, -1);
	channel_init(&x.cand, -1);
	if (o->secret_fd >= 0)
		read_secret(&x, o->secret_fd);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((x.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return error_set(e, -errno, "signalfd", -1, "%s",
		    strerror(errno)), EX_OSERR;
	if ((x.listen_fd = channel_listen(o->socket, e)) < 0)
		return EX_CANTCREAT;
	start_task(&x, e);
	x.away_deadline = monotonic_ms() + (o->checkpoint ? o->recovery_timeout_ms :
	    o->register_timeout_ms);

	for (;;) {
		struct pollfd p[7] = {
			{ x.signal_fd, POLLIN, 0 }, { x.listen_fd, POLLIN, 0 },
			{ x.agent.fd, POLLIN | (x.agent.out_len ? POLLOUT : 0), 0 },
			{ x.status_fd, POLLIN, 0 }, { x.cand.fd, POLLIN, 0 },
			{ x.logs[0].in, POLLIN, 0 }, { x.logs[1].in, POLLIN, 0 },
		};
		long long now = monotonic_ms(), next = -1;

		if (x.task == 0 && (x.nq == 0 || x.exiting))
			break;
		if (x.away_deadline && now >= x.away_deadline && x.agent.fd < 0) {
			if (x.task == 0)
				break;	/* its end is in executor.exit */
			kill_task(&x, MESOS__TASK_STATE__TASK_LOST, o->grace_ms);
			x.exiting = true;
			x.away_deadline = 0;
		}
		if (x.kill_deadline && now >= x.kill_deadline && x.task > 0) {
			contain_signal(&x.tree, SIGKILL);
			x.kill_deadline = 0;
		}
		if (x.away_deadline && x.agent.fd < 0)
			next = x.away_deadline - now;
		if (x.kill_deadline && (next < 0 || x.kill_deadline - now < next))
			next = x.kill_deadline - now;
		if (poll(p, 7, next < 0 ? -1 : (int)(next > 0 ? next : 0)) < 0 &&
		    errno != EINTR)
			break;
		/* The task's output, 4 MiB a turn each: the pipe slows it. */
		for (int i = 0; i < 2; i++)
			if (p[5 + i].revents && x.logs[i].in == p[5 + i].fd)
				tasklog_drain(&x.logs[i], 4 << 20);
		/* Progress lines before the end, so they precede it. */
		if (p[3].revents && x.status_fd >= 0)
			status_lines(&x);
		if (p[0].revents)
			signals(&x);
		if (p[4].revents && x.cand.fd == p[4].fd)
			candidate(&x);
		if (p[1].revents)
			accept_agent(&x);
		if (x.agent.fd >= 0 && p[2].fd == x.agent.fd && p[2].revents)
			agent_io(&x, p[2].revents);
	}
	if (x.agent.fd >= 0)
		channel_flush(&x.agent);
	channel_close(&x.agent);
	channel_close(&x.cand);
	reap_tree(&x);
	close_logs(&x);
	free(x.latest);
	if (x.status_fd >= 0)
		close(x.status_fd);
	close(x.listen_fd);
	unlink(o->socket);
	for (size_t i = 0; i < x.nq; i++)
		free(x.q[i].frame);
	free(x.q);
	return EX_OK;
}
