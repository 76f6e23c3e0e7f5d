/*
 * index.c: the runs the agent looks after, indexed (red-black trees,
 * sys/tree.h): live runs by task and by executor, timers by time, forked
 * children by pid, pending updates by uuid, by retry time and by order of
 * arrival.  Nothing walks all runs but reconcile and shutdown.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

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
	/* A lookup key (no run) comes before every run of its pid: the
	 * address of a key on the stack says nothing (RB_NFIND missed the
	 * runs of a reaped pid, and an executor that died before it
	 * registered waited out its registration timeout). */
	if (a->run == NULL || b->run == NULL)
		return a->run == NULL ? (b->run == NULL ? 0 : -1) : 1;
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

bool
run_live(enum run_state st)
{
	return st == RUN_LAUNCHING || st == RUN_CONNECTING ||
	    st == RUN_REGISTERING || st == RUN_CONNECTED;
}

bool
run_current(const struct aexec *x)
{
	return x->st < RUN_FINISHING || x->st == RUN_INCOMPATIBLE;
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
	x->state = x->healthy = -1;
	x->stream_fd = x->hold_fd = -1;
	x->st = RUN_NEW;
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

/* x leaves every index (x_free). */
void
x_unindex(struct agent *a, struct aexec *x)
{
	x_timer(a, x, 0);
	RB_REMOVE(executor_tree, &a->executors, x);
	if (x->task)
		RB_REMOVE(task_tree, &a->tasks, x);
	if (x->pid > 0 && x->launched)
		RB_REMOVE(pid_tree, &a->children, x);
}

void
x_check(struct agent *a, struct aexec *x)
{
	if (x->check)
		return;
	x->check = true;
	x->next_check = a->check;
	a->check = x;
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
		if (run_current(x))
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
		if (run_current(x))
			return x;
	return NULL;
}
