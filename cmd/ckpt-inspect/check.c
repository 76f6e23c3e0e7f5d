/*
 * check.c: what a person debugging reads closely: every record of the
 * matching tasks' streams (--updates), and every error of every node
 * with torn tails (--verify).  Each problem is counted.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "inspect.h"
#include "statejson.h"
#include "uuid.h"
#include "workdir.h"

/* ---- --updates: every record of matching tasks ---- */

struct upd_ctx {
	const char *path;
	bool json;
};

static void
update_line(void *vctx, long long off, const Mesos__StatusUpdateRecord *rec,
    bool acked)
{
	struct upd_ctx *c = vctx;
	json_t *o;

	if (rec->type == MESOS__STATUS_UPDATE_RECORD__TYPE__ACK) {
		char text[UUID_TEXT] = "?";
		if (rec->uuid.len == 16)
			uuid_format(rec->uuid.data, text);
		o = json_pack("{s:s, s:s}", "type", "ACK", "uuid", text);
	} else {
		o = statejson_update(rec->update);
		json_object_set_new(o, "type", json_string("UPDATE"));
		json_object_set_new(o, "acknowledged", json_boolean(acked));
	}
	json_object_set_new(o, "offset", json_integer(off));
	json_object_set_new(o, "file", json_string(c->path));
	if (c->json) {
		put_json(o, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		const char *state = json_string_value(json_object_get(o, "state"));
		char when[48];
		printf("%8lld  %-6s %-36s %-16s %s", off,
		    json_string_value(json_object_get(o, "type")),
		    json_string_value(json_object_get(o, "uuid")),
		    state ? state : "", cli_time_iso(json_number_value(
		    json_object_get(o, "timestamp")), when, sizeof(when)));
		if (rec->type != MESOS__STATUS_UPDATE_RECORD__TYPE__ACK)
			printf(" %s", acked ? "acked" : "PENDING");
		putchar('\n');
	}
	json_decref(o);
}

static int
updates_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct inspect *in = ctx;
	struct ckpt_error e;
	char path[PATH_MAX];

	for (size_t r = 0; r < x->n_runs; r++)
	for (size_t t = 0; t < x->runs[r].n_tasks; t++) {
		struct state_task tmp = { 0 };
		struct ckpt_ids ids = { a->id, f->id, x->id, x->runs[r].id,
		    x->runs[r].tasks[t].id };
		struct upd_ctx c = { path, in->json };
		int fd;
		path_build(path, sizeof(path), in->work, PATH_TASK_UPDATES,
		    &ids, NULL);
		if (!c.json)
			printf("%s/%s/%s:\n", f->id, x->id, ids.task);
		if ((fd = workdir_open_dir(in->work, PATH_TASK, &ids, &e)) < 0 ||
		    state_replay_updates(fd, "task.updates", path, 0, &tmp,
		    update_line, &c, &e) < 0) {
			fflush(stdout);
			error_print(&e);
			in->problems++;
		}
		if (fd >= 0)
			close(fd);
		state_task_reset(&tmp);
	}
	return 0;
}

/* ---- --verify: every error of every node, and torn tails ---- */

static void
verify_errors(struct inspect *in, const struct state_errors *l)
{
	for (size_t i = 0; i < l->n; i++, in->problems++) {
		printf("%s: ", l->v[i].path);
		if (l->v[i].offset >= 0)
			printf("offset %lld: ", l->v[i].offset);
		printf("%s\n", l->v[i].reason);
	}
}

static int
verify_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct inspect *in = ctx;
	char path[PATH_MAX];

	verify_errors(in, &x->errors);
	for (size_t r = 0; r < x->n_runs; r++) {
		const struct state_run *run = &x->runs[r];
		verify_errors(in, &run->errors);
		for (size_t t = 0; t < run->n_tasks; t++) {
			const struct state_task *tk = &run->tasks[t];
			struct ckpt_ids ids = { a->id, f->id, x->id, run->id,
			    tk->id };
			verify_errors(in, &tk->errors);
			path_build(path, sizeof(path), in->work,
			    PATH_TASK_UPDATES, &ids, NULL);
			/* Accepted, not a problem: said, for the record. */
			if (tk->unchecked)
				printf("%s: offset %lld: note: %zu record%s "
				    "without the checksum after records with one "
				    "(an older writer appended them): accepted\n",
				    path, tk->unchecked_at, tk->unchecked,
				    tk->unchecked == 1 ? "" : "s");
			if (!tk->torn)
				continue;
			printf("%s: offset %lld: torn tail after the last whole "
			    "record\n", path, tk->valid_end);
			in->problems++;
		}
	}
	return 0;
}

static int
verify_begin(void *ctx, struct state *s)
{
	verify_errors(ctx, &s->errors);
	return 0;
}

static int
verify_agent_end(void *ctx, struct state *s, struct state_agent *a)
{
	(void)s;
	verify_errors(ctx, &a->errors);
	return 0;
}

static int
verify_framework_end(void *ctx, struct state_agent *a,
    struct state_framework *f)
{
	(void)a;
	verify_errors(ctx, &f->errors);
	return 0;
}

static void
verify_skipped(void *ctx, const char *path, const char *why)
{
	char shown[PATH_MAX + 256];

	printf("%s: %s\n", cli_shown(path, shown, sizeof(shown)), why);
	((struct inspect *)ctx)->problems++;
}

const struct walk_visitor check_updates = { .executor = updates_executor };
const struct walk_visitor check_verify = { .begin = verify_begin,
    .executor = verify_executor, .framework_end = verify_framework_end,
    .agent_end = verify_agent_end, .skipped = verify_skipped };
