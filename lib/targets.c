#include "targets.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recovery.h"

/* Fill x from o (a recover line), taking o: 0, or the missing field. */
static const char *
parse(json_t *o, struct target *x)
{
	static const char *strings[] = { "work_dir", "agent_id",
	    "framework_id", "executor_id", "run_id" };
	const char **dst[] = { &x->work_dir, &x->agent_id, &x->framework_id,
	    &x->executor_id, &x->run_id };
	json_t *v, *tasks;

	memset(x, 0, sizeof(*x));
	x->json = o;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (!json_is_string(v = json_object_get(o, strings[i])))
			return strings[i];
		*dst[i] = json_string_value(v);
	}
	v = json_object_get(o, "pid");
	if (!json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) <= 0 || json_integer_value(v) > 1 << 30))
		return "pid";
	x->pid = json_is_integer(v) ? (pid_t)json_integer_value(v) : 0;
	if (!json_is_integer(v = json_object_get(o, "start_time")) ||
	    json_integer_value(v) < 0)
		return "start_time";
	x->start_time = (unsigned long long)json_integer_value(v);
	if (!json_is_integer(v = json_object_get(o, "pid_mtime")))
		return "pid_mtime";
	x->pid_mtime = (time_t)json_integer_value(v);
	if (!json_is_boolean(v = json_object_get(o, "reboot")))
		return "reboot";
	x->reboot = json_is_true(v);
	if (!json_is_boolean(v = json_object_get(o, "checkpoint")))
		return "checkpoint";
	x->checkpoint = json_is_true(v);
	v = json_object_get(o, "socket");
	if (v && !json_is_null(v) && !json_is_string(v))
		return "socket";
	x->socket = json_string_value(v);
	tasks = json_object_get(o, "tasks");
	if (tasks && !json_is_array(tasks))
		return "tasks";
	x->task_id = json_string_value(json_object_get(json_array_get(tasks, 0),
	    "id"));
	return NULL;
}

static int
add(struct targets *t, json_t *o, const char **missing)
{
	struct target *v = reallocarray(t->v, t->n + 1, sizeof(*v));

	if (v == NULL) {
		json_decref(o);
		return -ENOMEM;
	}
	t->v = v;
	if ((*missing = parse(o, &v[t->n])) != NULL) {
		json_decref(o);
		return -EBADMSG;
	}
	t->n++;
	return 0;
}

static int named_run(void *ctx, const struct recovery_plan *p,
    const struct recovery_run *r);

/* x against its run's checkpoint (see targets.h). */
static void
verify(struct target *x)
{
	struct ckpt_ids ids = { x->agent_id, x->framework_id, x->executor_id,
	    x->run_id, NULL };
	struct targets c;
	struct ckpt_error e;
	const struct target *y = NULL;
	char a[64], b[64];

	if (ids_validate(&ids, &e) < 0) {
		x->refused = true;
		snprintf(x->why, sizeof(x->why), "%s", e.reason);
		return;
	}
	if (targets_named(x->work_dir, &ids, &c, &e) < 0) {
		x->refused = true;
		snprintf(x->why, sizeof(x->why), "run %s is not an unterminated "
		    "run of executor %s in %s: the line is stale or forged",
		    x->run_id, x->executor_id, x->work_dir);
		return;
	}
	for (size_t i = 0; i < c.n && y == NULL; i++)
		if (strcmp(c.v[i].run_id, x->run_id) == 0)
			y = &c.v[i];
	if (y == NULL)
		snprintf(x->why, sizeof(x->why), "run %s is not an unterminated "
		    "run of executor %s in %s", x->run_id, x->executor_id,
		    x->work_dir);
	else if (y->pid != x->pid || y->start_time != x->start_time) {
		snprintf(a, sizeof(a), "%ld/%llu", (long)x->pid, x->start_time);
		snprintf(b, sizeof(b), "%ld/%llu", (long)y->pid, y->start_time);
		snprintf(x->why, sizeof(x->why), "the line's pid/start_time %s "
		    "is not the checkpoint's %s (run %s): not trusted", a, b,
		    x->run_id);
	} else if ((x->socket == NULL) != (y->socket == NULL) ||
	    (x->socket && strcmp(x->socket, y->socket) != 0))
		snprintf(x->why, sizeof(x->why), "the line's socket %s is not "
		    "the checkpoint's %s (run %s): not trusted",
		    x->socket ? x->socket : "null", y->socket ? y->socket :
		    "null", x->run_id);
	x->refused = x->why[0] != '\0';
	targets_free(&c);
}

int
targets_read(FILE *fp, struct targets *t, struct ckpt_error *e)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	json_error_t je;
	const char *missing;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	while (rc == 0 && (n = getline(&line, &cap, fp)) > 0) {
		json_t *o;
		lineno++;
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue;
		o = json_loadb(line, (size_t)n, 0, &je);
		if (!json_is_object(o)) {
			json_decref(o);
			rc = error_set(e, -EBADMSG, "stdin", -1, "line %ld: not "
			    "a line of recover: %s", lineno, o ? "not an object" :
			    je.text);
		} else if ((rc = add(t, o, &missing)) == -EBADMSG)
			rc = error_set(e, -EBADMSG, "stdin", -1, "line %ld: not "
			    "a line of recover: \"%s\" missing or not valid (the "
			    "executor's identity cannot be proven; pipe recover's "
			    "output, not ckpt-inspect's)", lineno, missing);
	}
	free(line);
	for (size_t i = 0; rc == 0 && i < t->n; i++)
		verify(&t->v[i]);
	if (rc < 0)
		targets_free(t);
	return rc == -ENOMEM ? error_set(e, rc, "stdin", -1, "out of memory") :
	    rc;
}

struct named {
	const struct ckpt_ids *ids;
	struct targets *t;
};

static int
named_run(void *ctx, const struct recovery_plan *p, const struct recovery_run *r)
{
	struct named *n = ctx;
	const char *missing;

	if (n->ids->run && strcmp(r->run->id, n->ids->run) != 0)
		return 0;
	return add(n->t, recovery_run_json(p, r), &missing);
}

int
targets_named(const char *work, const struct ckpt_ids *ids, struct targets *t,
    struct ckpt_error *e)
{
	struct state_options so = { .strict = false };
	const char *fw = ids->framework, *ex = ids->executor;
	struct walk_filter f = { .framework = &fw, .n_framework = 1,
	    .executor = &ex, .n_executor = 1 };
	struct named n = { ids, t };
	struct recovery_visitor v = { .ctx = &n, .run = named_run };
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = recovery_walk(work, &so, &f, false, &v, NULL, e)) < 0) {
		targets_free(t);
		return rc;
	}
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
		json_decref(t->v[i].json);
	free(t->v);
	memset(t, 0, sizeof(*t));
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

bool
target_option(struct target_choice *c, int ch, const char *arg)
{
	switch (ch) {
	case 'd': c->work = arg; return true;
	case 'f': c->ids.framework = arg; return true;
	case 'e': c->ids.executor = arg; return true;
	case 'r': c->ids.run = arg; return true;
	default: return false;
	}
}

int
targets_choose(const struct target_choice *c, struct targets *t,
    struct ckpt_error *e)
{
	return targets_load(path_work_dir(c->work), &c->ids, t, e);
}

json_t *
target_result(const char *type, const struct target *x, const char *result,
    const char *message)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o}", "type", type,
	    "framework_id", x->framework_id, "executor_id", x->executor_id,
	    "run_id", x->run_id, "pid", x->pid > 0 ? json_integer(x->pid) :
	    json_null(), "result", result, "message", message && message[0] ?
	    jw_text(message) : json_null());
}
