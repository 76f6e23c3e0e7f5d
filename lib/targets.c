#include "targets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recovery.h"

static int
add(struct targets *t, json_t *o)
{
	json_t **v = reallocarray(t->v, t->n + 1, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	t->v = v;
	v[t->n++] = o;
	return 0;
}

int
targets_read(FILE *fp, struct targets *t, struct ckpt_error *e)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	json_error_t je;

	memset(t, 0, sizeof(*t));
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *o;
		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue;
		o = json_loadb(line, (size_t)n, 0, &je);
		if (!json_is_object(o) || !json_is_string(json_object_get(o,
		    "executor_id"))) {
			json_decref(o);
			free(line);
			return error_set(e, -EBADMSG, "stdin", -1,
			    "line %ld: not an executor line of recover: %s",
			    lineno, o ? "no executor_id" : je.text);
		}
		if (add(t, o) < 0) {
			free(line);
			return -ENOMEM;
		}
	}
	free(line);
	return 0;
}

int
targets_named(const char *work, const struct ckpt_ids *ids, struct targets *t,
    struct ckpt_error *e)
{
	struct state_options so = { .strict = false };
	struct recovery_plan p;
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = recovery_plan(work, &so, false, &p, e)) < 0)
		return rc;
	for (size_t i = 0; i < p.n_runs; i++) {
		const struct recovery_run *r = &p.runs[i];
		if (strcmp(r->framework->id, ids->framework) != 0 ||
		    strcmp(r->executor->id, ids->executor) != 0 ||
		    (ids->run && strcmp(r->run->id, ids->run) != 0))
			continue;
		add(t, recovery_run_json(&p, r));
	}
	recovery_plan_free(&p);
	if (t->n == 0)
		return error_set(e, -ENOENT, work, -1,
		    "no unterminated run of executor %s of framework %s",
		    ids->executor, ids->framework);
	return 0;
}

void
targets_free(struct targets *t)
{
	for (size_t i = 0; i < t->n; i++)
		json_decref(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const char *
target_str(json_t *t, const char *key)
{
	json_t *v = json_object_get(t, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

long long
target_int(json_t *t, const char *key)
{
	json_t *v = json_object_get(t, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

int
targets_load(const char *work, const struct ckpt_ids *ids, struct targets *t,
    struct ckpt_error *e)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (ids->framework == NULL && ids->executor == NULL)
		return targets_read(stdin, t, e);
	if (ids->framework == NULL || ids->executor == NULL || work == NULL)
		return error_set(e, -EINVAL, "", -1, "naming an executor takes "
		    "-d WORK, -f FRAMEWORK and -e EXECUTOR");
	if ((rc = ids_validate(ids, e)) < 0)
		return rc;
	return targets_named(work, ids, t, e);
}
