/*
 * commit.c: group commit.  Everything a turn wrote becomes durable with
 * a few sync barriers (durable.h); only then do its effects leave: the
 * events, the acks to executors, launched executors let go.  Runs that
 * are now settled get their sentinel in a second, smaller commit, then
 * `terminated`.  After a fatal error nothing leaves but the error.
 */
#include "agent.h"
#include "spawn.h"
#include "update.h"

/* The runs to look at after the commit, the list taken. */
static struct aexec *
take_checks(struct agent *a)
{
	struct aexec *list = a->check;

	a->check = NULL;
	return list;
}

/* Launched executors let go, settled runs' sentinels into the batch. */
static void
after_commit(struct agent *a, struct aexec *list)
{
	long long now = monotonic_ms();

	for (struct aexec *x = list; x; x = x->next_check) {
		x->check = false;
		if (x->hold_fd >= 0) {
			spawn_release(x->hold_fd);
			x->hold_fd = -1;
			run_event(a, x, EV_RELEASE, &now);
		}
		if (x->st == RUN_GONE && x->n_pending == 0 &&
		    (x->task == NULL || x->terminal))
			run_event(a, x, EV_SETTLED, NULL);
	}
}

void
agent_commit(struct agent *a)
{
	struct ckpt_error e;
	struct aexec *x, *list;

	a->turn++;
	/* A full file system (a task's files): the reserve makes room. */
	while (!a->failed && dbatch_commit(&a->batch, &e) < 0)
		if (!a->batch.full || !reserve_give(a)) {
			fatal(a, "%s", "cannot make the checkpoints durable", &e);
			break;
		}
	if (a->failed) {
		dbatch_abort(&a->batch);
		a->n_acks = 0;
		return;
	}
	out_commit(&a->dr);
	for (size_t i = 0; i < a->n_acks; i++)
		if (a->acks[i].x->st == RUN_CONNECTED)
			x_send_ack(a, a->acks[i].x, a->acks[i].uuid);
	a->n_acks = 0;
	a->n_launches = 0;
	list = take_checks(a);
	after_commit(a, list);
	if (a->failed)
		return;
	if (a->batch.n_ops > 0 && dbatch_commit(&a->batch, &e) < 0) {
		fatal(a, "%s", "cannot mark runs terminated", &e);
		dbatch_abort(&a->batch);
		return;
	}
	for (x = list; x; ) {
		struct aexec *next = x->next_check;
		run_event(a, x, EV_TERMINATED, NULL);
		x = next;
	}
	out_commit(&a->dr);
}
