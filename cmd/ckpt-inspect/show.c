/*
 * show.c: a work dir as people read it (the tree), as one JSON document
 * (--json), or one line per task (--json-lines), written as the walk
 * goes.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "inspect.h"
#include "pbjson.h"
#include "statejson.h"
#include "workdir.h"

/* Write o compactly (flags added): one fwrite of a buffer kept between
 * calls, not a stdio call per token. */
void
put_json(const json_t *o, size_t flags)
{
	static char *buf;
	static size_t cap;
	size_t n = json_dumpb(o, buf, cap, flags);

	if (n > cap) {
		cap = n * 2 > 65536 ? n * 2 : 65536;
		if ((buf = realloc(buf, cap)) == NULL)
			err(EX_OSERR, "realloc");
		n = json_dumpb(o, buf, cap, flags);
	}
	fwrite(buf, 1, n, stdout);
}

/* ---- the human tree ---- */

static void
print_errors(const struct state_errors *l, int indent)
{
	for (size_t i = 0; i < l->n; i++) {
		printf("%*serror: %s: ", indent, "", l->v[i].path);
		if (l->v[i].offset >= 0)
			printf("offset %lld: ", l->v[i].offset);
		printf("%s\n", l->v[i].reason);
	}
}

static void
tree_run(const struct state_run *r)
{
	enum proc_identity id = statejson_identity(r);

	printf("      run %s%s", r->id, r->latest ? " (latest)" : "");
	if (r->pid)
		printf(" pid %ld %s", (long)r->pid,
		    id == PROC_SAME ? "alive" : id == PROC_RECYCLED ?
		    "gone (pid recycled)" : "gone");
	else
		printf(" no pid");
	if (r->completed)
		printf(" terminated");
	if (r->exit_kind == EXIT_CODE)
		printf(" exit-status %d", r->exit_value);
	else if (r->exit_kind == EXIT_SIGNAL)
		printf(" exit-signal %d", r->exit_value);
	else if (r->exit_kind == EXIT_MEMORY || r->exit_kind == EXIT_DISK)
		printf(" over-its-%s-limit", r->exit_kind == EXIT_MEMORY ?
		    "memory" : "disk");
	printf("\n");
	print_errors(&r->errors, 8);
	if (r->check) {
		char spec[1024], last[1024];
		snprintf(spec, sizeof(spec), "%s", r->check);
		spec[strcspn(spec, "\n")] = '\0';
		snprintf(last, sizeof(last), "%s", r->health ? r->health :
		    "none yet");
		last[strcspn(last, "\n")] = '\0';
		printf("        health check %s; last: %s\n", spec, last);
	}
	for (size_t i = 0; i < r->n_tasks; i++) {
		const struct state_task *t = &r->tasks[i];
		printf("        task %s %s updates %zu unacked %zu%s%s\n", t->id,
		    task_state_name(task_effective_state(t)), t->n_updates,
		    t->n_pending, t->torn ? " torn-tail" : "", t->ended ?
		    " (ended while no agent ran; its final update is still to "
		    "be delivered)" : "");
		print_errors(&t->errors, 10);
	}
}

static int
tree_begin(void *ctx, struct state *s)
{
	char boot[64] = "";

	(void)ctx;
	bootid_current(boot, sizeof(boot), NULL);
	printf("work dir %s\n", s->work);
	printf("boot id %s%s\n", s->boot_id ? s->boot_id : "(none)",
	    s->boot_id && strcmp(s->boot_id, boot) != 0 ? " (host rebooted since)" : "");
	print_errors(&s->errors, 0);
	return 0;
}

static int
tree_agent(void *ctx, struct state *s, struct state_agent *a)
{
	(void)ctx, (void)s;
	printf("agent %s%s", a->id, a->latest ? " (latest)" : "");
	if (a->info)
		printf(" host %s", a->info->hostname);
	printf("\n");
	print_errors(&a->errors, 2);
	return 0;
}

static int
tree_framework(void *ctx, struct state_agent *a, struct state_framework *f)
{
	(void)ctx, (void)a;
	printf("  framework %s", f->id);
	if (f->info)
		printf(" \"%s\" checkpoint %s", f->info->name,
		    f->info->checkpoint ? "yes" : "no");
	printf("\n");
	print_errors(&f->errors, 4);
	return 0;
}

static int
tree_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	(void)ctx, (void)a, (void)f;
	printf("    executor %s%s\n", x->id,
	    x->latest_dangling ? " (runs/latest dangles)" : "");
	print_errors(&x->errors, 6);
	for (size_t r = 0; r < x->n_runs; r++)
		tree_run(&x->runs[r]);
	return 0;
}


/* ---- --json: one document, written as the walk goes ---- */

static void
put_info(struct jsonw *out, const char *key, const ProtobufCMessage *m)
{
	json_t *j = m ? pbjson_from_message(m) : NULL;

	jw_json(out, key, j);
	json_decref(j);
}

static int
json_begin(void *ctx, struct state *s)
{
	char boot[64] = "";

	struct jsonw *out = &((struct inspect *)ctx)->out;

	bootid_current(boot, sizeof(boot), NULL);
	jw_object(out, NULL);
	jw_string(out, "work_dir", s->work);
	jw_string(out, "boot_id", s->boot_id);
	jw_string(out, "current_boot_id", boot);
	jw_string(out, "latest_agent", s->latest_agent);
	jw_array(out, "agents");
	return 0;
}

static int
json_agent(void *ctx, struct state *s, struct state_agent *a)
{
	struct jsonw *out = &((struct inspect *)ctx)->out;

	(void)s;
	jw_object(out, NULL);
	jw_string(out, "id", a->id);
	jw_bool(out, "latest", a->latest);
	put_info(out, "info", a->info ? &a->info->base : NULL);
	jw_array(out, "frameworks");
	return 0;
}

static int
json_framework(void *ctx, struct state_agent *a, struct state_framework *f)
{
	struct jsonw *out = &((struct inspect *)ctx)->out;

	(void)a;
	jw_object(out, NULL);
	jw_string(out, "id", f->id);
	jw_bool(out, "checkpoint", f->info && f->info->checkpoint);
	put_info(out, "info", f->info ? &f->info->base : NULL);
	jw_string(out, "pid", f->pid);
	jw_array(out, "executors");
	return 0;
}

static int
json_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct jsonw *out = &((struct inspect *)ctx)->out;

	(void)a, (void)f;
	jw_object(out, NULL);
	jw_string(out, "id", x->id);
	put_info(out, "info", x->info ? &x->info->base : NULL);
	jw_string(out, "latest_run", x->latest_run);
	jw_array(out, "runs");
	for (size_t r = 0; r < x->n_runs; r++) {
		jw_object(out, NULL);
		statejson_run_members(out, &x->runs[r]);
		jw_array(out, "tasks");
		for (size_t t = 0; t < x->runs[r].n_tasks; t++) {
			jw_object(out, NULL);
			statejson_task_members(out, &x->runs[r].tasks[t], true);
			jw_end(out);
		}
		jw_end(out);
		jw_end(out);
	}
	jw_end(out);
	statejson_errors(out, "errors", &x->errors);
	jw_end(out);
	return 0;
}

/* Close the array of children, add the node's errors, close the node. */
static void
close_node(struct jsonw *out, const struct state_errors *l)
{
	jw_end(out);
	statejson_errors(out, "errors", l);
	jw_end(out);
}

static int
json_framework_end(void *ctx, struct state_agent *a, struct state_framework *f)
{
	struct jsonw *out = &((struct inspect *)ctx)->out;

	(void)a;
	close_node(out, &f->errors);
	return 0;
}

static int
json_agent_end(void *ctx, struct state *s, struct state_agent *a)
{
	struct jsonw *out = &((struct inspect *)ctx)->out;

	(void)s;
	close_node(out, &a->errors);
	return 0;
}

static int
json_end(void *ctx, struct state *s)
{
	struct jsonw *out = &((struct inspect *)ctx)->out;

	close_node(out, &s->errors);
	jw_raw(out, "\n", 1);
	return 0;
}

/* ---- --json-lines: one line per task ---- */

static int
lines_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct jsonw *out = &((struct inspect *)ctx)->out;

	for (size_t r = 0; r < x->n_runs; r++) {
		const struct state_run *run = &x->runs[r];
		for (size_t t = 0; t < run->n_tasks; t++) {
			jw_object(out, NULL);
			statejson_task_members(out, &run->tasks[t], false);
			jw_string(out, "type", "task");
			jw_string(out, "agent_id", a->id);
			jw_string(out, "framework_id", f->id);
			jw_string(out, "executor_id", x->id);
			jw_string(out, "run_id", run->id);
			jw_object(out, "run");
			statejson_run_members(out, run);
			jw_end(out);
			jw_bool(out, "checkpoint", f->info && f->info->checkpoint);
			jw_end(out);
			jw_raw(out, "\n", 1);
		}
	}
	return 0;
}

const struct walk_visitor show_tree = { .begin = tree_begin,
    .agent = tree_agent, .framework = tree_framework,
    .executor = tree_executor };
const struct walk_visitor show_json = { .begin = json_begin,
    .agent = json_agent, .framework = json_framework,
    .executor = json_executor, .framework_end = json_framework_end,
    .agent_end = json_agent_end, .end = json_end };
const struct walk_visitor show_lines = { .executor = lines_executor };
