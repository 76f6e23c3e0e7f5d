#include "state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "walk.h"

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

/* ---- state_read: a visitor that keeps every node ---- */

struct collect {
	struct state *s;
	struct state_framework *fw;	/* of the agent being walked */
	size_t n_fw;
	struct state_executor *x;	/* of the framework being walked */
	size_t n_x;
};

/* Append *node (size bytes) to *v, taking what it holds. */
static int
take(void *vp, size_t *n, void *node, size_t size)
{
	char **v = vp, *nv = reallocarray(*v, *n + 1, size);

	if (nv == NULL)
		return -ENOMEM;
	memcpy(nv + *n * size, node, size);
	memset(node, 0, size);
	*v = nv;
	(*n)++;
	return 0;
}

static int
collect_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct collect *c = ctx;

	(void)a, (void)f;
	return take(&c->x, &c->n_x, x, sizeof(*x));
}

static int
collect_framework_end(void *ctx, struct state_agent *a,
    struct state_framework *f)
{
	struct collect *c = ctx;

	(void)a;
	f->executors = c->x;
	f->n_executors = c->n_x;
	c->x = NULL;
	c->n_x = 0;
	return take(&c->fw, &c->n_fw, f, sizeof(*f));
}

static int
collect_agent_end(void *ctx, struct state *s, struct state_agent *a)
{
	struct collect *c = ctx;

	(void)s;
	a->frameworks = c->fw;
	a->n_frameworks = c->n_fw;
	c->fw = NULL;
	c->n_fw = 0;
	return take(&c->s->agents, &c->s->n_agents, a, sizeof(*a));
}

static int
collect_end(void *ctx, struct state *s)
{
	struct collect *c = ctx;

	c->s->work = s->work;
	c->s->boot_id = s->boot_id;
	c->s->latest_agent = s->latest_agent;
	c->s->errors = s->errors;
	s->work = s->boot_id = s->latest_agent = NULL;
	memset(&s->errors, 0, sizeof(s->errors));
	return 0;
}

int
state_read(const char *work, const struct state_options *o,
    struct state **out, struct ckpt_error *e)
{
	struct collect c = { 0 };
	struct walk_visitor v = { .ctx = &c, .executor = collect_executor,
	    .framework_end = collect_framework_end,
	    .agent_end = collect_agent_end, .end = collect_end };
	int rc;

	*out = NULL;
	if ((c.s = calloc(1, sizeof(*c.s))) == NULL)
		return error_set(e, -ENOMEM, work, -1, "out of memory");
	rc = walk(work, o, NULL, &v, e);
	for (size_t i = 0; i < c.n_x; i++)
		state_executor_clear(&c.x[i]);
	free(c.x);
	for (size_t i = 0; i < c.n_fw; i++)
		state_framework_clear(&c.fw[i]);
	free(c.fw);
	if (rc < 0) {
		if (rc == -ENOMEM)
			error_set(e, rc, work, -1, "out of memory");
		state_free(c.s);
		return rc;
	}
	*out = c.s;
	return 0;
}

void
state_free(struct state *s)
{
	if (s == NULL)
		return;
	for (size_t a = 0; a < s->n_agents; a++)
		state_agent_clear(&s->agents[a]);
	free(s->agents);
	for (size_t i = 0; i < s->errors.n; i++) {
		free(s->errors.v[i].path);
		free(s->errors.v[i].reason);
	}
	free(s->errors.v);
	free(s->boot_id);
	free(s->latest_agent);
	free(s->work);
	free(s);
}
