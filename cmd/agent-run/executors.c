/*
 * executors.c: the life of an executor run, as the agent sees it.
 *
 * Every change of state passes through x_set_state().  States x events:
 *
 *  state        event                            next         what is done
 *  CONNECTING   timer: connect() works           WAIT_HELLO   REGISTER sent;
 *                                                             deadline >= now
 *                                                             + timeout
 *  CONNECTING   timer: connect() fails           CONNECTING   retry (backoff)
 *  CONNECTING   timer: deadline passed           GONE         executor_timeout,
 *                                                             killed (proven)
 *  WAIT_HELLO   HELLO                            CONNECTED    `reconnected`
 *  WAIT_HELLO   timer: deadline (read first)     GONE         as above
 *  CONNECTED    UPDATE                           CONNECTED    checkpointed,
 *                                                             then forwarded
 *  any live     end of file, error, reaped       GONE         the end from
 *                                                             executor.exit,
 *                                                             or TASK_LOST
 *  GONE         all acked, task terminal         DONE         sentinel, then
 *                                                             `terminated`
 *
 * CONNECTING, WAIT_HELLO and CONNECTED are live; a recovered run counts
 * as waiting until it leaves CONNECTING/WAIT_HELLO (`reregistered` is
 * announced when none waits).  Indexes: live runs by task and by
 * executor, timers by time, forked children by pid, pending updates by
 * uuid (red-black trees, sys/tree.h): nothing walks all executors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "contain.h"
#include "proc.h"
#include "taskstate.h"
#include "update.h"
#include "workdir.h"

static int
cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
pend_cmp(struct pend *a, struct pend *b)
{
	int c = memcmp(a->uuid, b->uuid, 16);
	return c ? c : (a->x < b->x ? -1 : a->x > b->x);
}

static int
task_cmp(struct aexec *a, struct aexec *b)
{
	int c = cmp_str(a->task, b->task);
	if (c == 0)
		c = cmp_str(a->framework, b->framework);
	return c ? c : cmp_str(a->run, b->run);
}

static int
executor_cmp(struct aexec *a, struct aexec *b)
{
	int c = cmp_str(a->framework, b->framework);
	if (c == 0)
		c = cmp_str(a->executor, b->executor);
	return c ? c : cmp_str(a->run, b->run);
}

static int
timer_cmp(struct aexec *a, struct aexec *b)
{
	if (a->timer != b->timer)
		return a->timer < b->timer ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int
pid_cmp(struct aexec *a, struct aexec *b)
{
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int
retry_cmp(struct pend *a, struct pend *b)
{
	if (a->retry_at != b->retry_at)
		return a->retry_at < b->retry_at ? -1 : 1;
	return a < b ? -1 : a > b;
}

RB_GENERATE(pend_tree, pend, by_uuid, pend_cmp)
RB_GENERATE(retry_tree, pend, by_retry, retry_cmp)

static int
seq_cmp(struct pend *a, struct pend *b)
{
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

RB_GENERATE(seq_tree, pend, by_seq, seq_cmp)
RB_GENERATE(task_tree, aexec, by_task, task_cmp)
RB_GENERATE(executor_tree, aexec, by_executor, executor_cmp)
RB_GENERATE(timer_tree, aexec, by_timer, timer_cmp)
RB_GENERATE(pid_tree, aexec, by_pid, pid_cmp)

struct ckpt_ids
x_ids(const struct aexec *x, const char *agent)
{
	struct ckpt_ids ids = { agent, x->framework, x->executor, x->run,
	    x->task };
	return ids;
}

static bool
live(enum xstate st)
{
	return st == X_CONNECTING || st == X_WAIT_HELLO || st == X_CONNECTED;
}

static bool
waiting(const struct aexec *x)
{
	return x->recovered && (x->st == X_CONNECTING || x->st == X_WAIT_HELLO);
}

struct aexec *
x_new(struct agent *a, const char *f, const char *e, const char *r,
    const char *t)
{
	struct aexec *x = calloc(1, sizeof(*x));

	if (x == NULL)
		abort();
	x->framework = strdup(f);
	x->executor = strdup(e);
	x->run = strdup(r);
	x->task = t ? strdup(t) : NULL;
	if (!x->framework || !x->executor || !x->run || (t && !x->task))
		abort();
	x->state = -1;
	x->stream_fd = x->hold_fd = -1;
	x->st = X_GONE;			/* until x_set_state says more */
	TAILQ_INIT(&x->pending);
	channel_init(&x->ch, -1);
	RB_INSERT(executor_tree, &a->executors, x);
	if (x->task)
		RB_INSERT(task_tree, &a->tasks, x);
	return x;
}

void
x_timer(struct agent *a, struct aexec *x, long long when)
{
	if (x->timer)
		RB_REMOVE(timer_tree, &a->timers, x);
	x->timer = when;
	if (when)
		RB_INSERT(timer_tree, &a->timers, x);
}

/* Register x's socket with epoll for what it needs now. */
void
x_watch(struct agent *a, struct aexec *x)
{
	uint32_t want = x->ch.fd < 0 ? 0 : EPOLLIN |
	    (x->ch.out_len ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.ptr = x };

	if (want == x->ep_events)
		return;
	if (x->ch.fd >= 0)
		epoll_ctl(a->xep, x->ep_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		    x->ch.fd, &ev);
	x->ep_events = want;
}

/* The one door through which every state change passes. */
void
x_set_state(struct agent *a, struct aexec *x, enum xstate st)
{
	if (waiting(x))
		a->n_waiting--;
	if (live(x->st))
		a->n_live--;
	x->st = st;
	if (waiting(x))
		a->n_waiting++;
	if (live(x->st))
		a->n_live++;
	if (!live(st)) {
		x_timer(a, x, 0);
		channel_close(&x->ch);	/* leaves epoll with the fd */
		x->ep_events = 0;
	}
}

void
x_send(struct agent *a, struct aexec *x, Agentproto__ExecutorMessage *m)
{
	if (x->ch.fd >= 0 && channel_send(&x->ch, m) < 0)
		x_gone(a, x, false);
	else
		x_watch(a, x);
}

void
x_flush(struct agent *a, struct aexec *x)
{
	if (channel_flush(&x->ch) < 0)
		x_gone(a, x, false);
	else {
		channel_trim(&x->ch);
		x_watch(a, x);
	}
}

void
x_send_ack(struct agent *a, struct aexec *x, const uint8_t uuid[16])
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__ACK;
	m.has_uuid = 1;
	m.uuid.len = 16;
	m.uuid.data = (uint8_t *)uuid;
	x_send(a, x, &m);
}

/* Look at x again after this turn's commit (loop.c). */
void
x_check(struct agent *a, struct aexec *x)
{
	if (x->check)
		return;
	x->check = true;
	x->next_check = a->check;
	a->check = x;
}

/* ---- updates ---- */

struct pend *
find_pending(struct agent *a, const uint8_t uuid[16])
{
	struct pend key = { .x = NULL };
	struct pend *p;

	memcpy(key.uuid, uuid, 16);
	p = RB_NFIND(pend_tree, &a->pending, &key);
	return p && memcmp(p->uuid, uuid, 16) == 0 ? p : NULL;
}

/* Retries: Mesos's backoff, the interval doubling up to this. */
#define RETRY_MAX_MS	(10 * 60 * 1000LL)

struct pend *
x_add_pending(struct agent *a, struct aexec *x, const uint8_t uuid[16],
    int state, double timestamp, const char *message, bool from_agent)
{
	struct pend *p = calloc(1, sizeof(*p));

	if (p == NULL || (message && (p->message = strdup(message)) == NULL))
		abort();
	p->x = x;
	memcpy(p->uuid, uuid, 16);
	p->state = state;
	p->timestamp = timestamp;
	p->from_agent = from_agent;
	p->retry_ms = a->o->retry_ms;
	p->retry_at = monotonic_ms() + p->retry_ms;
	TAILQ_INSERT_TAIL(&x->pending, p, in_x);
	x->n_pending++;
	RB_INSERT(pend_tree, &a->pending, p);
	RB_INSERT(retry_tree, &a->retries, p);
	p->seq = a->pend_seq++;
	RB_INSERT(seq_tree, &a->by_seq, p);
	return p;
}

/* The event of a pending update, as it was first sent, for every driver
 * (d NULL) or for d. */
void
pend_emit(const struct pend *p, bool redelivered, struct driver *d)
{
	update_emit(p->x, p->state, p->uuid, p->timestamp, p->message,
	    p->from_agent ? "agent" : "executor", redelivered, d);
}

/* Pending updates whose time has come are sent again while a driver is
 * there to read them, each at twice its last interval (at most
 * RETRY_MAX_MS). */
void
retry_due(struct agent *a, long long now)
{
	struct pend *p;

	while ((p = RB_MIN(retry_tree, &a->retries)) != NULL &&
	    p->retry_at <= now) {
		RB_REMOVE(retry_tree, &a->retries, p);
		if (drivers_attached()) {
			pend_emit(p, true, NULL);
			p->retry_ms = p->retry_ms * 2 > RETRY_MAX_MS ?
			    RETRY_MAX_MS : p->retry_ms * 2;
		}
		p->retry_at = now + p->retry_ms;
		RB_INSERT(retry_tree, &a->retries, p);
	}
}

static void
pend_remove(struct agent *a, struct pend *p)
{
	TAILQ_REMOVE(&p->x->pending, p, in_x);
	p->x->n_pending--;
	RB_REMOVE(pend_tree, &a->pending, p);
	RB_REMOVE(retry_tree, &a->retries, p);
	RB_REMOVE(seq_tree, &a->by_seq, p);
	free(p->message);
	free(p);
}

/* p is acknowledged (its ACK record is in this turn's batch). */
void
ack_pending(struct agent *a, struct pend *p)
{
	struct aexec *x = p->x;

	/* An acknowledged terminal update completes the stream: the updates
	 * before it are superseded. */
	if (task_state_terminal(p->state))
		while (!TAILQ_EMPTY(&x->pending))
			pend_remove(a, TAILQ_FIRST(&x->pending));
	else
		pend_remove(a, p);
	x_check(a, x);
}

/* x's stream, open for appending (opened once, kept in a bounded set of
 * open streams, least recently used closed first): the fd, or -1 after
 * a fatal error. */
static int
x_stream(struct agent *a, struct aexec *x)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	struct ckpt_error e;
	char path[PATH_MAX];

	x->stream_turn = a->turn;
	if (x->stream_fd >= 0) {
		TAILQ_REMOVE(&a->lru, x, in_lru);
		TAILQ_INSERT_TAIL(&a->lru, x, in_lru);
		return x->stream_fd;
	}
	/* (Not one written in this turn: the batch writes it at the commit.) */
	/* Descriptors are shared with the executors' sockets: past what is
	 * left of them, the least recently used stream is closed. */
	if (a->n_streams > 0 && a->n_streams + a->n_live + 64 >= a->nofile &&
	    TAILQ_FIRST(&a->lru)->stream_turn != a->turn) {
		struct aexec *old = TAILQ_FIRST(&a->lru);
		TAILQ_REMOVE(&a->lru, old, in_lru);
		close(old->stream_fd);
		old->stream_fd = -1;
		a->n_streams--;
	}
	if ((x->stream_fd = checkpoint_stream_open(&a->batch, a->o->work, &ids,
	    path, sizeof(path), &e)) < 0) {
		fatal(a, "cannot open the update stream of task %s", x->task, &e);
		return -1;
	}
	if (x->stream_path == NULL && (x->stream_path = strdup(path)) == NULL)
		abort();
	TAILQ_INSERT_TAIL(&a->lru, x, in_lru);
	a->n_streams++;
	return x->stream_fd;
}

/* A new update for x: into the batch, forwarded after the commit. */
static int
x_update(struct agent *a, struct aexec *x, const Mesos__StatusUpdate *u,
    const char *source)
{
	const uint8_t *uuid = update_uuid_bytes(u);
	struct ckpt_error e;
	int fd;

	if (uuid == NULL || u->status == NULL || x->task == NULL)
		return -EINVAL;
	if (x->checkpoint) {
		if ((fd = x_stream(a, x)) < 0)
			return -EIO;
		if (checkpoint_stream_update(&a->batch, fd, x->stream_path, u,
		    &e) < 0) {
			fatal(a, "cannot checkpoint an update of task %s",
			    x->task, &e);
			return -EIO;
		}
	}
	struct pend *p = x_add_pending(a, x, uuid, u->status->state,
	    u->timestamp, u->status->message, strcmp(source, "agent") == 0);
	x->state = u->status->state;
	if (task_state_terminal(x->state))
		x->terminal = true;
	pend_emit(p, false, NULL);
	return 0;
}

/* An ACK record for an update of x into the batch: 0, or -1 (fatal). */
int
x_checkpoint_ack(struct agent *a, struct aexec *x, const uint8_t uuid[16],
    const char *text)
{
	struct ckpt_error e;
	int fd;

	if (!x->checkpoint)
		return 0;
	if ((fd = x_stream(a, x)) < 0)
		return -1;
	if (checkpoint_stream_ack(&a->batch, fd, x->stream_path, uuid, &e) < 0) {
		fatal(a, "ack %s: cannot checkpoint", text, &e);
		return -1;
	}
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

/* The executor is gone: its task's tree must not outlive it (the task
 * dies with its executor; what it forked is in its cgroup, or was the
 * executor's to kill).  The task is proven by its start time. */
static void
x_stop_orphans(struct agent *a, struct aexec *x)
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

/* The executor process is gone: its task's end comes from executor.exit,
 * or it is lost. */
void
x_gone(struct agent *a, struct aexec *x, bool reboot)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	char path[PATH_MAX], text[64], msg[128];
	enum exit_kind kind;
	int value;

	if (!live(x->st) && x->st != X_GONE)
		return;
	if (x->st != X_GONE)
		x_set_state(a, x, X_GONE);
	/* After a reboot the checkpointed pids name nothing of ours: no
	 * process is signalled, and what executor.exit says stands. */
	if (!reboot)
		x_stop_orphans(a, x);
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
	x_check(a, x);
}

/* No answer in time: kill it (proven identity only); its task is lost. */
static void
x_timeout(struct agent *a, struct aexec *x)
{
	json_t *o = x_json("executor_timeout", x);

	json_object_set_new(o, "pid", json_integer(x->pid));
	emit(o);
	if (x->pid > 0 && proc_terminate(x->pid, x->start, x->bound, x->run, 0) == 0)
		a->killed++;
	x_gone(a, x, false);
}

/* The executor listening is the process checkpointed, or a launcher
 * forked instead of exec'ing (agent-run(1)): say so, once. */
static void
launcher_check(struct agent *a, struct aexec *x, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char msg[256];

	if (x->warned_pid || x->pid <= 0 || getsockopt(fd, SOL_SOCKET,
	    SO_PEERCRED, &cr, &len) < 0 || cr.pid == 0 || cr.pid == x->pid)
		return;
	x->warned_pid = true;
	snprintf(msg, sizeof(msg), "task %s: its executor listens as pid %ld, "
	    "but pid %ld was started and checkpointed: the launcher forks "
	    "instead of exec'ing (a launcher must exec)", x->task ? x->task :
	    x->run, (long)cr.pid, (long)x->pid);
	emit_error("%s", msg, NULL);
	(void)a;
}

static void
x_try_connect(struct agent *a, struct aexec *x, long long now)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	struct ckpt_error e;
	int fd;

	if (x->socket == NULL || (fd = channel_connect(x->socket, &e)) < 0) {
		/* Out of descriptors is ours, not the executor's fault: it
		 * is not made late by it (it waits for a descriptor). */
		if (x->socket && (e.code == -EMFILE || e.code == -ENFILE)) {
			if (!a->warned_fds) {
				a->warned_fds = true;
				emit_error("%s", "out of descriptors (RLIMIT_NOFILE): "
				    "executors wait to be connected; raise the "
				    "limit (LimitNOFILE=)", NULL);
			}
			x->deadline = now + x_timeout_ms(a, x);
		}
		/* Not listening yet: again soon, less often as time goes. */
		x->retry_ms = x->retry_ms ? x->retry_ms * 2 : 5;
		if (x->retry_ms > 100)
			x->retry_ms = 100;
		x_timer(a, x, now + x->retry_ms < x->deadline ?
		    now + x->retry_ms : x->deadline);
		return;
	}
	channel_init(&x->ch, fd);
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER;
	m.agent_id = a->id;
	if (x->has_secret) {
		m.has_secret = 1;
		m.secret.len = SECRET_LEN;
		m.secret.data = x->secret;
	}
	launcher_check(a, x, fd);
	x_set_state(a, x, X_WAIT_HELLO);
	/* The executor's time to answer counts from when it was asked: a
	 * slow agent never makes a healthy executor late. */
	if (x->deadline < now + x_timeout_ms(a, x))
		x_deadline(a, x, now);
	x_timer(a, x, x->deadline);
	x_send(a, x, &m);
}

/* A launched executor's first registration has its own timeout (Mesos's
 * --executor_registration_timeout); a recovered one, the re-registration
 * timeout. */
long long
x_timeout_ms(const struct agent *a, const struct aexec *x)
{
	return x->launched && !x->recovered ? a->o->registration_timeout_ms :
	    a->o->reregister_timeout_ms;
}

/* Its time to answer starts now; what CPU it had so far is noted. */
void
x_deadline(struct agent *a, struct aexec *x, long long now)
{
	x->deadline = now + x_timeout_ms(a, x);
	if (x->pid <= 0 || proc_cpu_ns(x->pid, &x->cpu_mark, &x->wait_mark) < 0)
		x->cpu_mark = x->wait_mark = 0;
}

/* Late only if it had the CPU to answer: an executor that, since it was
 * asked, waited runnable for a CPU longer than it ran and ran less than
 * 20 ms was starved (a loaded host, a burst), and gets the time again,
 * up to 10 times.  One that slept (hung, or not an executor) is late. */
static bool
x_late(struct agent *a, struct aexec *x, long long now)
{
	unsigned long long ran, waited;

	if (x->pid <= 0 || x->extensions >= 10 ||
	    proc_cpu_ns(x->pid, &ran, &waited) < 0)
		return true;
	ran -= x->cpu_mark;
	waited -= x->wait_mark;
	if (ran >= 20000000ULL || waited <= ran || waited < 10000000ULL)
		return true;
	x->extensions++;
	x->deadline = now + x_timeout_ms(a, x);
	x_timer(a, x, x->deadline);
	return false;
}

void
x_on_timer(struct agent *a, struct aexec *x, long long now)
{
	x_timer(a, x, 0);
	if (x->st == X_CONNECTING) {
		/* A recovered run's time counts from the loop's first turn. */
		if (x->deadline == 0)
			x_deadline(a, x, now);
		if (now >= x->deadline && x_late(a, x, now))
			x_timeout(a, x);
		else
			x_try_connect(a, x, now);
	} else if (x->st == X_WAIT_HELLO) {
		/* What it sent while this agent was busy counts: read it
		 * before judging it unresponsive. */
		x_read(a, x);
		if (x->st == X_WAIT_HELLO && now >= x->deadline &&
		    x_late(a, x, now))
			x_timeout(a, x);
		else if (x->st == X_WAIT_HELLO)
			x_timer(a, x, x->deadline);
	}
}

static void
x_on_update(struct agent *a, struct aexec *x, const Mesos__StatusUpdate *u)
{
	const uint8_t *uuid = update_uuid_bytes(u);
	bool resent = x->resends > 0;
	struct pend *p;

	if (resent)
		x->resends--;
	if (uuid == NULL)
		return;
	if ((p = find_pending(a, uuid)) != NULL && p->x == x)
		return;	/* forwarded already in this lifetime */
	/* Only an update sent again after HELLO can have been acknowledged
	 * in the checkpoint already (an agent died between checkpointing the
	 * ack and forwarding it); for updates made since, the stream is not
	 * read again. */
	if (resent && agent_acked_now(a, x, uuid)) {
		agent_defer_ack(a, x, uuid, false);
		return;		/* its ACK is in this turn's batch */
	}
	if (resent && x->checkpoint) {
		struct ckpt_ids ids = x_ids(x, a->id);
		char path[PATH_MAX];
		path_build(path, sizeof(path), a->o->work, PATH_TASK_UPDATES,
		    &ids, NULL);
		if (state_update_known(path, uuid) == 2) {
			x_send_ack(a, x, uuid);
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
			x->resends = x->recovered && m->has_pending ? m->pending : 0;
			if (x->recovered) {
				reconnected_emit(x);
				a->reconnected++;
			}
			x_set_state(a, x, X_CONNECTED);
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
void
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
	if (more <= 0 && !a->quit)
		x_gone(a, x, false);
	else
		channel_trim(&x->ch);
}

/* ---- the end ---- */

/* After the commit: a run whose process is gone and whose updates are
 * all acknowledged is terminated: its sentinel goes into the batch
 * (x->finishing), and `terminated` follows the next commit. */
void
x_finish(struct agent *a, struct aexec *x)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	struct ckpt_error e;

	if (x->st != X_GONE || x->n_pending > 0 || x->finishing)
		return;
	if (x->task && !x->terminal)
		return;
	if (x->checkpoint && checkpoint_sentinel(&a->batch, a->o->work, &ids,
	    &e) < 0) {
		fatal(a, "cannot mark run %s terminated", x->run, &e);
		return;
	}
	x->finishing = true;
}

void
x_free(struct agent *a, struct aexec *x)
{
	x_set_state(a, x, X_DONE);
	while (!TAILQ_EMPTY(&x->pending))
		pend_remove(a, TAILQ_FIRST(&x->pending));
	RB_REMOVE(executor_tree, &a->executors, x);
	if (x->task)
		RB_REMOVE(task_tree, &a->tasks, x);
	if (x->pid > 0 && x->launched)
		RB_REMOVE(pid_tree, &a->children, x);
	if (x->stream_fd >= 0) {
		TAILQ_REMOVE(&a->lru, x, in_lru);
		close(x->stream_fd);
		a->n_streams--;
	}
	if (x->hold_fd >= 0)
		close(x->hold_fd);	/* never released: it exits */
	free(x->framework);
	free(x->executor);
	free(x->run);
	free(x->task);
	free(x->socket);
	free(x->stream_path);
	free(x);
}

struct aexec *
find_task(struct agent *a, const char *framework, const char *task)
{
	struct aexec key = { .task = (char *)task,
	    .framework = (char *)(framework ? framework : "") };
	struct aexec *x;

	for (x = RB_NFIND(task_tree, &a->tasks, &key);
	    x && strcmp(x->task, task) == 0;
	    x = RB_NEXT(task_tree, &a->tasks, x)) {
		if (framework && strcmp(x->framework, framework) != 0)
			return NULL;
		if (x->st != X_DONE && !x->finishing)
			return x;
	}
	return NULL;
}

struct aexec *
find_executor(struct agent *a, const char *framework, const char *executor)
{
	struct aexec key = { .framework = (char *)framework,
	    .executor = (char *)executor, .run = "" };
	struct aexec *x;

	for (x = RB_NFIND(executor_tree, &a->executors, &key);
	    x && strcmp(x->framework, framework) == 0 &&
	    strcmp(x->executor, executor) == 0;
	    x = RB_NEXT(executor_tree, &a->executors, x))
		if (x->st != X_DONE && !x->finishing)
			return x;
	return NULL;
}
