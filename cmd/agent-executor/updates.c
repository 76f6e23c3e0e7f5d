/*
 * updates.c: the task's status updates, kept (framed, ready to send)
 * until the agent acknowledges them, and sent again to each new agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "record.h"
#include "taskstate.h"
#include "update.h"

void
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

void
queue_update(struct executor *x, int state, const char *message)
{
	queue_update_reason(x, state, message, -1);
}

void
queue_update_reason(struct executor *x, int state, const char *message,
    int reason)
{
	queue_update_full(x, state, message, reason, -1);
}

void
queue_update_full(struct executor *x, int state, const char *message,
    int reason, int healthy)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	const struct ckpt_ids *i = &x->o->ids;
	struct update_ids ids = { i->agent, i->framework, i->executor, i->task };
	Mesos__StatusUpdate *u = update_new(&ids, state, message,
	    MESOS__TASK_STATUS__SOURCE__SOURCE_EXECUTOR);
	struct queued *q;

	if (u == NULL || (q = reallocarray(x->q, x->nq + 1, sizeof(*q))) == NULL)
		abort();
	if (reason >= 0) {
		u->status->has_reason = 1;
		u->status->reason = reason;
	}
	if (healthy >= 0) {
		u->status->has_healthy = 1;
		u->status->healthy = healthy;
	}
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
	if (q->terminal)
		x->done = true;
}

void
release_latest(struct executor *x, bool force)
{
	if (x->latest == NULL || (!force && x->nq >= PENDING_MAX))
		return;
	queue_update(x, MESOS__TASK_STATE__TASK_RUNNING, x->latest);
	free(x->latest);
	x->latest = NULL;
}

/* A TASK_RUNNING update, or, past the bound, the latest line waiting for
 * room. */
void
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
void
ack(struct executor *x, const uint8_t *uuid, size_t len)
{
	for (size_t i = 0; i < x->nq; i++)
		if (len == 16 && memcmp(x->q[i].uuid, uuid, 16) == 0) {
			if (x->q[i].settles) {
				updates_free(x);
				return;
			}
			free(x->q[i].frame);
			memmove(&x->q[i], &x->q[i + 1],
			    (x->nq - i - 1) * sizeof(*x->q));
			x->nq--;
			release_latest(x, false);
			return;
		}
}

void
updates_free(struct executor *x)
{
	for (size_t k = 0; k < x->nq; k++)
		free(x->q[k].frame);
	x->nq = 0;
}
