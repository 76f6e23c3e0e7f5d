/* walk_filter.c: which nodes a walk keeps (walk_filter.h). */
#include "walk_filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "taskstate.h"


static int
strv_add(const char ***v, size_t *n, const char *s)
{
	const char **nv = reallocarray(*v, *n + 1, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

int
walk_filter_add(struct walk_filter *f, enum walk_filter_kind kind,
    const char *value, struct ckpt_error *e)
{
	static const char *what[] = { "framework", "executor", "task" };
	int rc, state, *nv;

	if (kind == FILTER_STATE) {
		if ((state = task_state_parse(value)) < 0)
			return error_set(e, -EINVAL, "", -1,
			    "unknown task state '%s'", value);
		if ((nv = reallocarray(f->state, f->n_state + 1,
		    sizeof(*nv))) == NULL)
			return -ENOMEM;
		nv[f->n_state++] = state;
		f->state = nv;
		return 0;
	}
	if ((rc = id_validate(value, what[kind], e)) < 0)
		return rc;
	return kind == FILTER_FRAMEWORK ? strv_add(&f->framework,
	    &f->n_framework, value) : kind == FILTER_EXECUTOR ?
	    strv_add(&f->executor, &f->n_executor, value) :
	    strv_add(&f->task, &f->n_task, value);
}

int
walk_filter_option(struct walk_filter *f, int ch, const char *arg,
    struct ckpt_error *e)
{
	enum walk_filter_kind kind;
	int rc;

	switch (ch) {
	case 'f': kind = FILTER_FRAMEWORK; break;
	case 'e': kind = FILTER_EXECUTOR; break;
	case 't': kind = FILTER_TASK; break;
	case WALK_OPT_STATE: kind = FILTER_STATE; break;
	case WALK_OPT_UNACKED:
		f->unacked = true;
		return 1;
	default:
		return 0;
	}
	return (rc = walk_filter_add(f, kind, arg, e)) < 0 ? rc : 1;
}

void
walk_filter_free(struct walk_filter *f)
{
	free(f->framework);
	free(f->executor);
	free(f->task);
	free(f->state);
	memset(f, 0, sizeof(*f));
}

static bool
strv_has(const char **v, size_t n, const char *s)
{
	if (n == 0)
		return true;	/* no values of this kind: any */
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

bool
walk_filter_by_task(const struct walk_filter *f)
{
	return f && (f->n_task || f->n_state || f->unacked);
}

bool
walk_task_matches(const struct walk_filter *f, const struct state_task *t)
{
	bool state_ok = f == NULL || f->n_state == 0;

	if (f == NULL)
		return true;
	for (size_t i = 0; !state_ok && i < f->n_state; i++)
		state_ok = f->state[i] == task_effective_state(t);
	return state_ok && strv_has(f->task, f->n_task, t->id) &&
	    (!f->unacked || t->n_pending > 0);
}

bool
walk_filter_framework(const struct walk_filter *f, const char *id)
{
	return f == NULL || strv_has(f->framework, f->n_framework, id);
}

bool
walk_filter_executor(const struct walk_filter *f, const char *id)
{
	return f == NULL || strv_has(f->executor, f->n_executor, id);
}

bool
walk_filter_task_id(const struct walk_filter *f, const char *id)
{
	return f == NULL || strv_has(f->task, f->n_task, id);
}
