/*
 * pending.c: updates pending acknowledgement.  A new update goes into
 * the run's stream (task.updates, in this turn's batch) and is forwarded
 * after the commit; it stays pending, sent again with backoff while
 * drivers are attached, until a driver acknowledges it (its ACK record in
 * the batch, the executor told after the commit).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "taskstate.h"
#include "update.h"

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
	p->reason = p->healthy = -1;
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
		if (drivers_attached(&a->dr)) {
			pend_emit(a, p, true, NULL);
			p->retry_ms = p->retry_ms * 2 > RETRY_MAX_MS ?
			    RETRY_MAX_MS : p->retry_ms * 2;
		}
		p->retry_at = now + p->retry_ms;
		RB_INSERT(retry_tree, &a->retries, p);
	}
}

void
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

	/* An acknowledged terminal update settles the stream: the updates
	 * before it are superseded. */
	if (update_ack_settles(p->state))
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

int
x_update(struct agent *a, struct aexec *x, const Mesos__StatusUpdate *u,
    const char *source)
{
	const uint8_t *uuid = update_uuid_bytes(u);
	struct ckpt_error e;
	int fd;

	if (uuid == NULL || u->status == NULL || x->task == NULL) {
		a->m.invalid_updates++;
		return -EINVAL;
	}
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
	p->reason = u->status->has_reason ? u->status->reason : -1;
	p->healthy = u->status->has_healthy ? u->status->healthy != 0 : -1;
	if (p->healthy >= 0)
		x->healthy = p->healthy;
	x->state = u->status->state;
	if (task_state_terminal(x->state) && !x->terminal)
		log_line(&a->log, LOG_INFO, "task %s of framework %s (run %s): "
		    "%s%s%s", x->task, x->framework, x->run,
		    task_state_name(x->state), u->status->message ? ": " : "",
		    u->status->message ? u->status->message : "");
	if (task_state_terminal(x->state) && !x->terminal &&
	    x->state < (int)(sizeof(a->m.terminal) / sizeof(a->m.terminal[0])))
		a->m.terminal[x->state]++;
	if (task_state_terminal(x->state))
		x->terminal = true;
	a->m.valid_updates++;
	pend_emit(a, p, false, NULL);
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

void
x_generate(struct agent *a, struct aexec *x, int state, const char *message)
{
	x_generate_reason(a, x, state, message, -1);
}

void
x_generate_reason(struct agent *a, struct aexec *x, int state,
    const char *message, int reason)
{
	struct update_ids ids = { a->id, x->framework, x->executor, x->task };
	Mesos__StatusUpdate *u = update_new(&ids, state, message,
	    MESOS__TASK_STATUS__SOURCE__SOURCE_SLAVE);

	if (u == NULL)
		abort();
	if (reason >= 0) {
		u->status->has_reason = 1;
		u->status->reason = reason;
	}
	x_update(a, x, u, "agent");
	mesos__status_update__free_unpacked(u, NULL);
}

/* x's stream is closed (x_free). */
void
x_close_stream(struct agent *a, struct aexec *x)
{
	if (x->stream_fd < 0)
		return;
	TAILQ_REMOVE(&a->lru, x, in_lru);
	close(x->stream_fd);
	x->stream_fd = -1;
	a->n_streams--;
}

/* Acknowledged in this turn (its ACK record, or that of the terminal
 * update that completes the stream, is in the batch, not yet in the
 * file)? */
bool
agent_acked_now(const struct agent *a, const struct aexec *x,
    const uint8_t u[16])
{
	for (size_t i = 0; i < a->n_acks; i++)
		if (a->acks[i].x == x && (a->acks[i].terminal ||
		    memcmp(a->acks[i].uuid, u, 16) == 0))
			return true;
	return false;
}

void
agent_defer_ack(struct agent *a, struct aexec *x, const uint8_t u[16],
    bool terminal)
{
	if (a->n_acks == a->cap_acks) {
		size_t cap = a->cap_acks ? a->cap_acks * 2 : 64;
		void *v = reallocarray(a->acks, cap, sizeof(*a->acks));
		if (v == NULL)
			abort();
		a->acks = v;
		a->cap_acks = cap;
	}
	a->acks[a->n_acks].x = x;
	a->acks[a->n_acks].terminal = terminal;
	memcpy(a->acks[a->n_acks++].uuid, u, 16);
}

