/*
 * runs.c: the life of an executor run, as the agent sees it: one table
 * of state by event, giving what is done and the next state.  Every
 * change of state passes through run_event(), which logs it (--log-level
 * debug).  The next state is taken first, then the action runs; an
 * action that finds more (connect() worked, the deadline passed) raises
 * the next event itself.
 *
 *  state        event      next         what is done
 *  NEW          LAUNCH     LAUNCHING    (forked, held until the commit)
 *  NEW          RECOVER    CONNECTING   first try at the loop's first turn
 *  NEW          EOF        GONE         end (a launch that failed)
 *  NEW          REBOOT     GONE         end: TASK_LOST "the host rebooted"
 *  LAUNCHING    RELEASE    CONNECTING   deadline from now; try in 5 ms
 *  CONNECTING   TIMER      -            connect(): CONNECT, or retry
 *                                       (backoff), or LATE past deadline
 *  CONNECTING   CONNECT    REGISTERING  REGISTER sent; deadline >= now +
 *                                       timeout
 *  REGISTERING  TIMER      -            read first; LATE past deadline
 *  REGISTERING  HELLO      CONNECTED    `reconnected` (recovered runs)
 *  REGISTERING  INCOMPAT.  INCOMPATIBLE `incompatible`; left alone (never
 *                                       lost, never killed)
 *  INCOMPATIBLE REAPED     GONE         end (our child: it gave up)
 *  CONNECTING,
 *  REGISTERING  LATE       GONE         executor_timeout; killed (proven);
 *                                       end
 *  CONNECTED    UPDATE     -            checkpointed, then forwarded
 *  CONNECTED    HELLO      -            upgraded in place: `upgraded`;
 *                                       what it resends is deduplicated
 *  live         EOF        GONE         end: what executor.exit says, or
 *                                       TASK_LOST
 *  LAUNCHING,
 *  CONNECTING,
 *  REGISTERING  REAPED     GONE         end (connected: its EOF says it);
 *                                       TASK_FAILED with the executor's
 *                                       last words if no executor.exit
 *  GONE         SETTLED    FINISHING    sentinel into the batch
 *  FINISHING    TERMINATED DONE         `terminated`
 *  any          FREE       DONE         (the agent stops, or a refused
 *                                       launch is forgotten)
 *
 * Live: LAUNCHING, CONNECTING, REGISTERING, CONNECTED.  A recovered run
 * is waited for until it leaves CONNECTING/REGISTERING (`reregistered`
 * is announced when none waits).
 */
#include <errno.h>
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
#include "session.h"
#include "taskstate.h"
#include "update.h"
#include "workdir.h"

typedef void action(struct agent *, struct aexec *, const void *);

static action on_release, on_recover, on_connecting_timer, on_connect,
    on_registering_timer, on_hello, on_upgraded, on_incompatible, on_late, on_update, on_end, on_reboot,
    on_settled, on_terminated;

#define SAME	RUN_STATES	/* the state stays */
#define LIVE(ev, next, act) \
	[RUN_LAUNCHING][ev] = { next, act }, \
	[RUN_CONNECTING][ev] = { next, act }, \
	[RUN_REGISTERING][ev] = { next, act }, \
	[RUN_CONNECTED][ev] = { next, act }

/* What is not in the table is ignored: the state stays, nothing done. */
static const struct step {
	enum run_state next;	/* 0 (RUN_NEW) in an empty slot: ignored */
	action *act;
} steps[RUN_STATES][RUN_EVENTS] = {
	[RUN_NEW][EV_LAUNCH] = { RUN_LAUNCHING, NULL },
	[RUN_NEW][EV_RECOVER] = { RUN_CONNECTING, on_recover },
	[RUN_NEW][EV_EOF] = { RUN_GONE, on_end },
	[RUN_NEW][EV_REBOOT] = { RUN_GONE, on_reboot },
	[RUN_LAUNCHING][EV_RELEASE] = { RUN_CONNECTING, on_release },
	[RUN_CONNECTING][EV_TIMER] = { SAME, on_connecting_timer },
	[RUN_CONNECTING][EV_CONNECT] = { RUN_REGISTERING, on_connect },
	[RUN_CONNECTING][EV_LATE] = { RUN_GONE, on_late },
	[RUN_REGISTERING][EV_TIMER] = { SAME, on_registering_timer },
	[RUN_REGISTERING][EV_HELLO] = { RUN_CONNECTED, on_hello },
	[RUN_REGISTERING][EV_INCOMPATIBLE] = { RUN_INCOMPATIBLE,
	    on_incompatible },
	[RUN_INCOMPATIBLE][EV_REAPED] = { RUN_GONE, on_end },
	[RUN_INCOMPATIBLE][EV_FREE] = { RUN_DONE, NULL },
	[RUN_REGISTERING][EV_LATE] = { RUN_GONE, on_late },
	[RUN_CONNECTED][EV_UPDATE] = { SAME, on_update },
	[RUN_CONNECTED][EV_HELLO] = { SAME, on_upgraded },
	LIVE(EV_EOF, RUN_GONE, on_end),
	[RUN_LAUNCHING][EV_REAPED] = { RUN_GONE, on_end },
	[RUN_CONNECTING][EV_REAPED] = { RUN_GONE, on_end },
	[RUN_REGISTERING][EV_REAPED] = { RUN_GONE, on_end },
	[RUN_GONE][EV_SETTLED] = { RUN_FINISHING, on_settled },
	[RUN_FINISHING][EV_TERMINATED] = { RUN_DONE, on_terminated },
	[RUN_NEW][EV_FREE] = { RUN_DONE, NULL },
	LIVE(EV_FREE, RUN_DONE, NULL),
	[RUN_GONE][EV_FREE] = { RUN_DONE, NULL },
	[RUN_FINISHING][EV_FREE] = { RUN_DONE, NULL },
};

static const char *const state_names[RUN_STATES] = { "new", "launching",
    "connecting", "registering", "connected", "gone", "finishing", "done",
    "incompatible" };
static const char *const event_names[RUN_EVENTS] = { "launch", "recover",
    "release", "timer", "connect", "late", "hello", "incompatible",
    "update", "eof",
    "reaped", "reboot", "settled", "terminated", "free" };

const char *
run_state_name(enum run_state st)
{
	return st < RUN_STATES ? state_names[st] : "?";
}

static bool
waiting(const struct aexec *x)
{
	return x->recovered && (x->st == RUN_CONNECTING ||
	    x->st == RUN_REGISTERING);
}

/* Register x's socket with epoll for what it needs now. */
static void
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

static void
set_state(struct agent *a, struct aexec *x, enum run_state st)
{
	if (waiting(x))
		a->n_waiting--;
	if (run_live(x->st))
		a->n_live--;
	x->st = st;
	if (waiting(x))
		a->n_waiting++;
	if (run_live(x->st))
		a->n_live++;
	if (!run_live(st)) {
		x_timer(a, x, 0);
		channel_close(&x->ch);	/* leaves epoll with the fd */
		x->ep_events = 0;
	}
}

void
run_event(struct agent *a, struct aexec *x, enum run_event ev,
    const void *arg)
{
	const struct step *s = &steps[x->st][ev];
	enum run_state from = x->st;

	if (s->next == RUN_NEW && s->act == NULL)
		return;		/* not in the table: ignored */
	if (s->next != SAME && s->next != x->st)
		set_state(a, x, s->next);
	if (a->log.level >= LOG_DEBUG && s->next != SAME)
		log_line(&a->log, LOG_DEBUG, "run %s (task %s): %s -%s-> %s",
		    x->run, x->task ? x->task : "-", run_state_name(from),
		    event_names[ev], run_state_name(x->st));
	if (s->act)
		s->act(a, x, arg);
}

/* ---- talking to the executor ---- */

/* What a send to x returned (rc): the executor is gone, or the socket
 * is watched for what is queued. */
static void
x_sent(struct agent *a, struct aexec *x, int rc)
{
	if (rc < 0)
		run_event(a, x, EV_EOF, NULL);
	else
		x_watch(a, x);
}

void
x_send(struct agent *a, struct aexec *x, Agentproto__ExecutorMessage *m)
{
	x_sent(a, x, x->ch.fd >= 0 ? channel_send(&x->ch, m) : 0);
}

void
x_flush(struct agent *a, struct aexec *x)
{
	if (channel_flush(&x->ch) < 0)
		run_event(a, x, EV_EOF, NULL);
	else {
		channel_trim(&x->ch);
		x_watch(a, x);
	}
}

void
x_send_ack(struct agent *a, struct aexec *x, const uint8_t uuid[16])
{
	x_sent(a, x, x->ch.fd >= 0 ? session_ack(&x->ch, uuid) : 0);
}

static void
x_message(struct agent *a, struct aexec *x, Agentproto__ExecutorMessage *m)
{
	int resends;
	char why[512];

	switch (session_answer(m, &resends, &x->peer, why, sizeof(why))) {
	case SESSION_HELLO:
		run_event(a, x, EV_HELLO, &resends);
		return;
	case SESSION_INCOMPATIBLE:
		run_event(a, x, EV_INCOMPATIBLE, why);
		return;
	case SESSION_OTHER:
		break;
	}
	if (m->type == AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPGRADE_FAILED) {
		json_t *o = x_json("upgrade_failed", x);
		x->upgrading = false;
		json_object_set_new(o, "reason", json_string(m->reason ?
		    m->reason : "?"));
		json_object_set_new(o, "executor_version",
		    json_string(x->peer.version));
		emit(&a->dr, o);
		log_line(&a->log, LOG_WARNING, "upgrade: task %s: its executor "
		    "carries on as it was: %s", x->task ? x->task : "-",
		    m->reason ? m->reason : "?");
		return;
	}
	/* Before HELLO an update could overtake those it resends: the
	 * table takes updates only when connected. */
	if (m->type == AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPDATE &&
	    m->update && m->update->status)
		run_event(a, x, EV_UPDATE, m->update);
}

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
		run_event(a, x, EV_EOF, NULL);
	else
		channel_trim(&x->ch);
}

/* ---- connecting ---- */

/* A launched executor's first registration has its own timeout (Mesos's
 * --executor_registration_timeout); a recovered one, the re-registration
 * timeout. */
static long long
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

static void
on_recover(struct agent *a, struct aexec *x, const void *arg)
{
	(void)arg;
	x->deadline = 0;	/* set once the loop can read it */
	x_timer(a, x, 1);	/* at the loop's first turn */
}

static void
on_release(struct agent *a, struct aexec *x, const void *arg)
{
	long long now = *(const long long *)arg;

	x_deadline(a, x, now);
	x_timer(a, x, now + 5);
}

static void
on_connecting_timer(struct agent *a, struct aexec *x, const void *arg)
{
	long long now = *(const long long *)arg;
	struct ckpt_error e;
	int fd;

	/* A recovered run's time counts from the loop's first turn. */
	if (x->deadline == 0)
		x_deadline(a, x, now);
	if (now >= x->deadline && x_late(a, x, now)) {
		run_event(a, x, EV_LATE, NULL);
		return;
	}
	if (x->socket && (fd = channel_connect(x->socket, &e)) >= 0) {
		run_event(a, x, EV_CONNECT, &fd);
		return;
	}
	/* Out of descriptors is ours, not the executor's fault: it is not
	 * made late by it (it waits for a descriptor). */
	if (x->socket && (e.code == -EMFILE || e.code == -ENFILE)) {
		if (!a->warned_fds) {
			a->warned_fds = true;
			emit_error(a, "%s", "out of descriptors (RLIMIT_NOFILE): "
			    "executors wait to be connected; raise the limit "
			    "(LimitNOFILE=)", NULL);
		}
		x->deadline = now + x_timeout_ms(a, x);
	}
	/* Not listening yet: again soon, less often as time goes. */
	x->retry_ms = x->retry_ms ? x->retry_ms * 2 : 5;
	if (x->retry_ms > 100)
		x->retry_ms = 100;
	x_timer(a, x, now + x->retry_ms < x->deadline ? now + x->retry_ms :
	    x->deadline);
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
	emit_error(a, "%s", msg, NULL);
}

static void
on_connect(struct agent *a, struct aexec *x, const void *arg)
{
	int fd = *(const int *)arg;
	long long now = monotonic_ms();

	channel_init(&x->ch, fd);
	launcher_check(a, x, fd);
	/* The executor's time to answer counts from when it was asked: a
	 * slow agent never makes a healthy executor late. */
	if (x->deadline < now + x_timeout_ms(a, x))
		x_deadline(a, x, now);
	x_timer(a, x, x->deadline);
	x_sent(a, x, session_register(&x->ch, a->id, x->has_secret ?
	    x->secret : NULL, false));
}

static void
on_registering_timer(struct agent *a, struct aexec *x, const void *arg)
{
	long long now = *(const long long *)arg;

	/* What it sent while this agent was busy counts: read it before
	 * judging it unresponsive. */
	x_read(a, x);
	if (x->st != RUN_REGISTERING)
		return;
	if (now >= x->deadline && x_late(a, x, now))
		run_event(a, x, EV_LATE, NULL);
	else
		x_timer(a, x, x->deadline);
}

static void
on_hello(struct agent *a, struct aexec *x, const void *arg)
{
	x->resends = x->recovered ? *(const int *)arg : 0;
	if (x->recovered) {
		reconnected_emit(a, x);
		a->reconnected++;
	}
}

/* HELLO again on a connection: the executor re-exec'd itself (upgrade)
 * and sends what is unacknowledged again, as to a new agent; what this
 * agent has already forwarded or acknowledged is not repeated
 * (on_update). */
static void
on_upgraded(struct agent *a, struct aexec *x, const void *arg)
{
	json_t *o = x_json("upgraded", x);

	x->resends = *(const int *)arg;
	json_object_set_new(o, "pid", json_integer(x->pid));
	json_object_set_new(o, "from", json_string(x->upgrading ?
	    x->upgrade_from : "?"));
	json_object_set_new(o, "executor_version", json_string(x->peer.version));
	json_object_set_new(o, "executor_protocol", json_integer(x->peer.protocol));
	emit(&a->dr, o);
	log_line(&a->log, LOG_INFO, "upgrade: task %s (run %s): its executor "
	    "is agent-executor %s now (was %s), pid %ld, its task kept",
	    x->task ? x->task : "-", x->run, x->peer.version, x->upgrading ?
	    x->upgrade_from : "?", (long)x->pid);
	x->upgrading = false;
}

/* It shares no protocol version with this agent: said, and left alone
 * for an agent that does (or for recover --recover=cleanup): never
 * reported lost, never killed. */
static void
on_incompatible(struct agent *a, struct aexec *x, const void *arg)
{
	const char *why = arg;
	json_t *o = x_json("incompatible", x);

	free(x->incompatible);
	if ((x->incompatible = strdup(why)) == NULL)
		abort();	/* as x_new: out of memory */
	json_object_set_new(o, "pid", json_integer(x->pid));
	json_object_set_new(o, "reason", json_string(why));
	json_object_set_new(o, "executor_version", json_string(x->peer.version));
	emit(&a->dr, o);
	log_line(&a->log, LOG_ERR, "task %s (run %s, executor pid %ld): left "
	    "alone, incompatible: %s", x->task ? x->task : "-", x->run,
	    (long)x->pid, why);
	a->incompatible++;
}

static void
on_update(struct agent *a, struct aexec *x, const void *arg)
{
	const Mesos__StatusUpdate *u = arg;
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

/* ---- the end ---- */

static void
on_end(struct agent *a, struct aexec *x, const void *arg)
{
	run_end(a, x, false, arg);	/* reaped: its wait status */
}

static void
on_reboot(struct agent *a, struct aexec *x, const void *arg)
{
	(void)arg;
	run_end(a, x, true, NULL);
}

/* No answer in time: kill it (proven identity only); its task is lost. */
static void
on_late(struct agent *a, struct aexec *x, const void *arg)
{
	json_t *o = x_json("executor_timeout", x);

	(void)arg;
	json_object_set_new(o, "pid", json_integer(x->pid));
	emit(&a->dr, o);
	if (x->pid > 0 && proc_terminate(x->pid, x->start, x->bound, x->run,
	    0) == 0)
		a->killed++;
	run_end(a, x, false, NULL);
}

/* Gone, its task terminal and every update acknowledged: its sentinel
 * goes into the batch, and `terminated` follows the commit. */
static void
on_settled(struct agent *a, struct aexec *x, const void *arg)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	struct ckpt_error e;

	(void)arg;
	if (x->checkpoint && checkpoint_sentinel(&a->batch, a->o->work, &ids,
	    &e) < 0)
		fatal(a, "cannot mark run %s terminated", x->run, &e);
}

static void
on_terminated(struct agent *a, struct aexec *x, const void *arg)
{
	(void)arg;
	a->m.executors_terminated++;
	emit(&a->dr, x_json("terminated", x));
	x_free(a, x);
}

void
x_free(struct agent *a, struct aexec *x)
{
	run_event(a, x, EV_FREE, NULL);
	resources_give(a, x);
	while (!TAILQ_EMPTY(&x->pending))
		pend_remove(a, TAILQ_FIRST(&x->pending));
	x_unindex(a, x);
	x_close_stream(a, x);
	if (x->hold_fd >= 0)
		close(x->hold_fd);	/* never released: it exits */
	free(x->framework);
	free(x->executor);
	free(x->run);
	free(x->task);
	free(x->socket);
	free(x->quarantined);
	free(x->incompatible);
	free(x->stream_path);
	free(x);
}
