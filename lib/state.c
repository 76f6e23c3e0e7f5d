#include "state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int
state_error_add(struct state_errors *l, const struct ckpt_error *e)
{
	struct state_error *v = reallocarray(l->v, l->n + 1, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	v[l->n].path = strdup(e->path);
	v[l->n].reason = strdup(e->reason);
	v[l->n].offset = e->offset;
	if (v[l->n].path == NULL || v[l->n].reason == NULL) {
		free(v[l->n].path);
		free(v[l->n].reason);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

/* ---- freeing the nodes ---- */

void
state_errors_clear(struct state_errors *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].reason);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
state_run_clear(struct state_run *r)
{
	for (size_t t = 0; t < r->n_tasks; t++)
		state_task_clear(&r->tasks[t]);
	free(r->tasks);
	free(r->libprocess_pid);
	free(r->socket);
	free(r->secret);
	free(r->version);
	free(r->limits);
	free(r->check);
	free(r->health);
	free(r->quarantined);
	state_errors_clear(&r->errors);
	free(r->id);
	memset(r, 0, sizeof(*r));
}

void
state_task_clear(struct state_task *t)
{
	state_task_reset(t);
	if (t->info)
		protobuf_c_message_free_unpacked(&t->info->base, NULL);
	state_errors_clear(&t->errors);
	free(t->id);
	memset(t, 0, sizeof(*t));
}

void
state_executor_clear(struct state_executor *x)
{
	for (size_t r = 0; r < x->n_runs; r++)
		state_run_clear(&x->runs[r]);
	free(x->runs);
	if (x->info)
		protobuf_c_message_free_unpacked(&x->info->base, NULL);
	free(x->latest_run);
	state_errors_clear(&x->errors);
	free(x->id);
	memset(x, 0, sizeof(*x));
}

void
state_framework_clear(struct state_framework *f)
{
	for (size_t x = 0; x < f->n_executors; x++)
		state_executor_clear(&f->executors[x]);
	free(f->executors);
	if (f->info)
		protobuf_c_message_free_unpacked(&f->info->base, NULL);
	free(f->pid);
	state_errors_clear(&f->errors);
	free(f->id);
	memset(f, 0, sizeof(*f));
}

void
state_agent_clear(struct state_agent *a)
{
	for (size_t f = 0; f < a->n_frameworks; f++)
		state_framework_clear(&a->frameworks[f]);
	free(a->frameworks);
	if (a->info)
		protobuf_c_message_free_unpacked(&a->info->base, NULL);
	state_errors_clear(&a->errors);
	free(a->id);
	memset(a, 0, sizeof(*a));
}
