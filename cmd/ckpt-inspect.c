/* ckpt-inspect: show a work dir (or one checkpoint file); never writes. */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "paths.h"
#include "pbjson.h"
#include "record.h"
#include "state.h"
#include "statejson.h"
#include "uuid.h"
#include "workdir.h"

enum output { OUT_TREE, OUT_JSON, OUT_JSON_LINES };

static struct {
	enum output out;
	const char *framework, *executor, *task;
	int state;		/* -1: any */
	bool unacked, verify, updates;
} opt = { .state = -1 };

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: ckpt-inspect [-d WORK] [--json | --json-lines] [--framework ID]\n"
	    "                    [--executor ID] [--task ID] [--state STATE]\n"
	    "                    [--unacked] [--verify] [--updates]\n"
	    "       ckpt-inspect --file FILE [--type agent|framework|executor|task|updates]\n");
	exit(status);
}

static bool
task_matches(const struct state_task *t)
{
	int s = t->latest_state >= 0 ? t->latest_state :
	    (t->info ? (int)t->info->state : -1);

	if (opt.task && strcmp(opt.task, t->id) != 0)
		return false;
	if (opt.state >= 0 && s != opt.state)
		return false;
	if (opt.unacked && t->n_pending == 0)
		return false;
	return true;
}

static bool
task_filtered(void)
{
	return opt.task || opt.state >= 0 || opt.unacked;
}

static bool
run_matches(const struct state_run *r)
{
	if (!task_filtered())
		return true;
	for (size_t i = 0; i < r->n_tasks; i++)
		if (task_matches(&r->tasks[i]))
			return true;
	return false;
}

static bool
executor_matches(const struct state_executor *x)
{
	if (opt.executor && strcmp(opt.executor, x->id) != 0)
		return false;
	if (!task_filtered())
		return true;
	for (size_t i = 0; i < x->n_runs; i++)
		if (run_matches(&x->runs[i]))
			return true;
	return false;
}

static bool
framework_matches(const struct state_framework *f)
{
	if (opt.framework && strcmp(opt.framework, f->id) != 0)
		return false;
	if (!opt.executor && !task_filtered())
		return true;
	for (size_t i = 0; i < f->n_executors; i++)
		if (executor_matches(&f->executors[i]))
			return true;
	return false;
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
	printf("\n");
	print_errors(&r->errors, 8);
	for (size_t i = 0; i < r->n_tasks; i++) {
		const struct state_task *t = &r->tasks[i];
		if (!task_matches(t))
			continue;
		printf("        task %s %s updates %zu unacked %zu%s\n", t->id,
		    t->latest_state >= 0 ? task_state_name(t->latest_state) :
		    t->info ? task_state_name(t->info->state) : "(no task.info)",
		    t->n_updates, t->n_pending,
		    t->torn ? " torn-tail" : "");
		print_errors(&t->errors, 10);
	}
}

static void
tree(const struct state *s)
{
	char boot[64] = "";

	bootid_current(boot, sizeof(boot), NULL);
	printf("work dir %s\n", s->work);
	printf("boot id %s%s\n", s->boot_id ? s->boot_id : "(none)",
	    s->boot_id && strcmp(s->boot_id, boot) != 0 ? " (host rebooted since)" : "");
	print_errors(&s->errors, 0);
	for (size_t a = 0; a < s->n_agents; a++) {
		const struct state_agent *ag = &s->agents[a];
		printf("agent %s%s", ag->id, ag->latest ? " (latest)" : "");
		if (ag->info)
			printf(" host %s", ag->info->hostname);
		printf("\n");
		print_errors(&ag->errors, 2);
		for (size_t f = 0; f < ag->n_frameworks; f++) {
			const struct state_framework *fw = &ag->frameworks[f];
			if (!framework_matches(fw))
				continue;
			printf("  framework %s", fw->id);
			if (fw->info)
				printf(" \"%s\" checkpoint %s", fw->info->name,
				    fw->info->checkpoint ? "yes" : "no");
			printf("\n");
			print_errors(&fw->errors, 4);
			for (size_t x = 0; x < fw->n_executors; x++) {
				const struct state_executor *ex = &fw->executors[x];
				if (!executor_matches(ex))
					continue;
				printf("    executor %s%s\n", ex->id,
				    ex->latest_dangling ? " (runs/latest dangles)" : "");
				print_errors(&ex->errors, 6);
				for (size_t r = 0; r < ex->n_runs; r++)
					if (run_matches(&ex->runs[r]))
						tree_run(&ex->runs[r]);
			}
		}
	}
}

/* ---- JSON: built per executor and printed as it goes ---- */

static json_t *
executor_json(const struct state_executor *ex)
{
	json_t *o = json_pack("{s:s}", "id", ex->id), *runs = json_array();

	if (ex->info)
		json_object_set_new(o, "info", pbjson_from_message(&ex->info->base));
	json_object_set_new(o, "latest_run", ex->latest_run ?
	    json_string(ex->latest_run) : json_null());
	for (size_t r = 0; r < ex->n_runs; r++) {
		const struct state_run *run = &ex->runs[r];
		json_t *ro, *tasks = json_array();
		if (!run_matches(run))
			continue;
		ro = statejson_run(run);
		for (size_t t = 0; t < run->n_tasks; t++)
			if (task_matches(&run->tasks[t]))
				json_array_append_new(tasks,
				    statejson_task(&run->tasks[t], 1));
		json_object_set_new(ro, "tasks", tasks);
		json_array_append_new(runs, ro);
	}
	json_object_set_new(o, "runs", runs);
	json_object_set_new(o, "errors", statejson_errors(&ex->errors));
	return o;
}

/* Print j without its closing brace, then `"key":[`. */
static void
open_object(json_t *j, const char *key)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n = strlen(s);

	s[n - 1] = '\0';
	printf("%s%s\"%s\":[", s, n > 2 ? "," : "", key);
	free(s);
	json_decref(j);
}

static void
print_json(const struct state *s)
{
	char boot[64] = "";
	json_t *top;

	bootid_current(boot, sizeof(boot), NULL);
	top = json_pack("{s:s, s:o, s:s, s:o, s:o}", "work_dir", s->work,
	    "boot_id", s->boot_id ? json_string(s->boot_id) : json_null(),
	    "current_boot_id", boot, "latest_agent", s->latest_agent ?
	    json_string(s->latest_agent) : json_null(), "errors",
	    statejson_errors(&s->errors));
	open_object(top, "agents");
	for (size_t a = 0; a < s->n_agents; a++) {
		const struct state_agent *ag = &s->agents[a];
		json_t *ao = json_pack("{s:s, s:b}", "id", ag->id, "latest",
		    ag->latest);
		int nf = 0;
		if (ag->info)
			json_object_set_new(ao, "info",
			    pbjson_from_message(&ag->info->base));
		json_object_set_new(ao, "errors", statejson_errors(&ag->errors));
		printf("%s", a ? "," : "");
		open_object(ao, "frameworks");
		for (size_t f = 0; f < ag->n_frameworks; f++) {
			const struct state_framework *fw = &ag->frameworks[f];
			json_t *fo;
			int nx = 0;
			if (!framework_matches(fw))
				continue;
			fo = json_pack("{s:s, s:b}", "id", fw->id, "checkpoint",
			    fw->info && fw->info->checkpoint);
			if (fw->info)
				json_object_set_new(fo, "info",
				    pbjson_from_message(&fw->info->base));
			json_object_set_new(fo, "pid", fw->pid ?
			    json_string(fw->pid) : json_null());
			json_object_set_new(fo, "errors",
			    statejson_errors(&fw->errors));
			printf("%s", nf++ ? "," : "");
			open_object(fo, "executors");
			for (size_t x = 0; x < fw->n_executors; x++) {
				if (!executor_matches(&fw->executors[x]))
					continue;
				json_t *xo = executor_json(&fw->executors[x]);
				printf("%s", nx++ ? "," : "");
				json_dumpf(xo, stdout, JSON_COMPACT);
				json_decref(xo);
			}
			printf("]}");
		}
		printf("]}");
	}
	printf("]}\n");
}

static void
print_json_lines(const struct state *s)
{
	for (size_t a = 0; a < s->n_agents; a++) {
		const struct state_agent *ag = &s->agents[a];
		for (size_t f = 0; f < ag->n_frameworks; f++) {
			const struct state_framework *fw = &ag->frameworks[f];
			if (!framework_matches(fw))
				continue;
			for (size_t x = 0; x < fw->n_executors; x++) {
				const struct state_executor *ex = &fw->executors[x];
				if (!executor_matches(ex))
					continue;
				for (size_t r = 0; r < ex->n_runs; r++) {
					const struct state_run *run = &ex->runs[r];
					for (size_t t = 0; t < run->n_tasks; t++) {
						json_t *o;
						if (!task_matches(&run->tasks[t]))
							continue;
						o = statejson_task(&run->tasks[t], 0);
						json_object_set_new(o, "agent_id", json_string(ag->id));
						json_object_set_new(o, "framework_id", json_string(fw->id));
						json_object_set_new(o, "executor_id", json_string(ex->id));
						json_object_set_new(o, "run_id", json_string(run->id));
						json_object_set_new(o, "run", statejson_run(run));
						json_object_set_new(o, "checkpoint", json_boolean(fw->info && fw->info->checkpoint));
						json_dumpf(o, stdout, JSON_COMPACT);
						putchar('\n');
						json_decref(o);
					}
				}
			}
		}
	}
}

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
		json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		const char *state = json_string_value(json_object_get(o, "state"));
		printf("%8lld  %-6s %-36s %-16s %.3f %s\n", off,
		    json_string_value(json_object_get(o, "type")),
		    json_string_value(json_object_get(o, "uuid")),
		    state ? state : "", json_number_value(json_object_get(o,
		    "timestamp")), rec->type == MESOS__STATUS_UPDATE_RECORD__TYPE__ACK ?
		    "" : acked ? "acked" : "PENDING");
	}
	json_decref(o);
}

static int
print_updates(const struct state *s)
{
	struct ckpt_error e;
	char path[PATH_MAX];
	int status = EX_OK;

	for (size_t a = 0; a < s->n_agents; a++)
	for (size_t f = 0; f < s->agents[a].n_frameworks; f++) {
		const struct state_framework *fw = &s->agents[a].frameworks[f];
		if (!framework_matches(fw))
			continue;
		for (size_t x = 0; x < fw->n_executors; x++) {
			const struct state_executor *ex = &fw->executors[x];
			if (!executor_matches(ex))
				continue;
			for (size_t r = 0; r < ex->n_runs; r++)
			for (size_t t = 0; t < ex->runs[r].n_tasks; t++) {
				struct state_task tmp = { 0 };
				struct ckpt_ids ids = { s->agents[a].id, fw->id,
				    ex->id, ex->runs[r].id, ex->runs[r].tasks[t].id };
				struct upd_ctx c = { path, opt.out != OUT_TREE };
				if (!task_matches(&ex->runs[r].tasks[t]))
					continue;
				path_build(path, sizeof(path), s->work,
				    PATH_TASK_UPDATES, &ids, NULL);
				if (!c.json)
					printf("%s/%s/%s:\n", fw->id, ex->id, ids.task);
				if (state_replay_updates(path, false, false, &tmp,
				    update_line, &c, &e) < 0) {
					error_print(&e);
					status = EX_DATAERR;
				}
				state_task_clear(&tmp);
			}
		}
	}
	return status;
}

/* ---- --verify ---- */

static void
verify_errors(const struct state_errors *l, size_t *n)
{
	for (size_t i = 0; i < l->n; i++, (*n)++) {
		printf("%s: ", l->v[i].path);
		if (l->v[i].offset >= 0)
			printf("offset %lld: ", l->v[i].offset);
		printf("%s\n", l->v[i].reason);
	}
}

static int
verify(const struct state *s)
{
	size_t n = 0;
	char path[PATH_MAX];

	verify_errors(&s->errors, &n);
	for (size_t a = 0; a < s->n_agents; a++) {
		const struct state_agent *ag = &s->agents[a];
		verify_errors(&ag->errors, &n);
		for (size_t f = 0; f < ag->n_frameworks; f++) {
			const struct state_framework *fw = &ag->frameworks[f];
			verify_errors(&fw->errors, &n);
			for (size_t x = 0; x < fw->n_executors; x++) {
				const struct state_executor *ex = &fw->executors[x];
				verify_errors(&ex->errors, &n);
				for (size_t r = 0; r < ex->n_runs; r++) {
					const struct state_run *run = &ex->runs[r];
					verify_errors(&run->errors, &n);
					for (size_t t = 0; t < run->n_tasks; t++) {
						const struct state_task *tk = &run->tasks[t];
						struct ckpt_ids ids = { ag->id, fw->id, ex->id,
						    run->id, tk->id };
						verify_errors(&tk->errors, &n);
						if (!tk->torn)
							continue;
						path_build(path, sizeof(path), s->work,
						    PATH_TASK_UPDATES, &ids, NULL);
						printf("%s: offset %lld: torn tail after the "
						    "last whole record\n", path, tk->valid_end);
						n++;
					}
				}
			}
		}
	}
	return n ? EX_DATAERR : EX_OK;
}

/* ---- --file: decode one checkpoint file ---- */

static int
decode_file(const char *file, const char *type)
{
	static const struct {
		const char *type, *name;
		const ProtobufCMessageDescriptor *d;
	} types[] = {
		{ "agent", "slave.info", &mesos__slave_info__descriptor },
		{ "framework", "framework.info", &mesos__framework_info__descriptor },
		{ "executor", "executor.info", &mesos__executor_info__descriptor },
		{ "task", "task.info", &mesos__task__descriptor },
		{ "updates", "task.updates", &mesos__status_update_record__descriptor },
	};
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	struct ckpt_error e;
	size_t i, n = sizeof(types) / sizeof(types[0]);
	int rc;

	for (i = 0; i < n; i++)
		if (type ? strcmp(type, types[i].type) == 0 :
		    strcmp(base, types[i].name) == 0)
			break;
	if (i == n) {
		if (type)
			errx(EX_USAGE, "unknown --type '%s'", type);
		errx(EX_USAGE, "%s: cannot tell the kind from the name; give "
		    "--type", file);
	}
	if (i < 4) {
		ProtobufCMessage *m;
		if ((rc = record_read_file(file, types[i].d, &m, &e)) < 0) {
			error_print(&e);
			return error_exit_code(rc);
		}
		json_t *j = pbjson_from_message(m);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
		protobuf_c_message_free_unpacked(m, NULL);
		return EX_OK;
	}
	struct record_reader r;
	const uint8_t *data;
	size_t len;
	long long off;
	if ((rc = record_reader_open(&r, file, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	while ((rc = record_next(&r, &data, &len, &off, &e)) == RECORD_OK) {
		ProtobufCMessage *m;
		if ((rc = record_unpack(types[i].d, data, len, file, off, &m,
		    &e)) < 0)
			break;
		json_t *j = json_pack("{s:I, s:o}", "offset", (json_int_t)off,
		    "record", pbjson_from_message(m));
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	record_reader_close(&r);
	if (rc == RECORD_TORN) {
		error_print(&e);
		return EX_DATAERR;
	}
	if (rc < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "work-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "json-lines", no_argument, NULL, 'l' },
		{ "framework", required_argument, NULL, 'f' },
		{ "executor", required_argument, NULL, 'e' },
		{ "task", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 's' },
		{ "unacked", no_argument, NULL, 'u' },
		{ "verify", no_argument, NULL, 'v' },
		{ "updates", no_argument, NULL, 'U' },
		{ "file", required_argument, NULL, 'F' },
		{ "type", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct state_options so = { .strict = false };
	struct state *s;
	struct ckpt_error e;
	const char *work = NULL, *file = NULL, *type = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:jf:e:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': work = optarg; break;
		case 'j': opt.out = OUT_JSON; break;
		case 'l': opt.out = OUT_JSON_LINES; break;
		case 'f': opt.framework = optarg; break;
		case 'e': opt.executor = optarg; break;
		case 't': opt.task = optarg; break;
		case 's': {
			char name[64];
			const ProtobufCEnumValue *v;
			snprintf(name, sizeof(name), "%s%s",
			    strncasecmp(optarg, "TASK_", 5) ? "TASK_" : "", optarg);
			for (char *p = name; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			v = protobuf_c_enum_descriptor_get_value_by_name(
			    &mesos__task_state__descriptor, name);
			if (v == NULL)
				errx(EX_USAGE, "unknown task state '%s'", optarg);
			opt.state = v->value;
			break;
		}
		case 'u': opt.unacked = true; break;
		case 'v': opt.verify = true; break;
		case 'U': opt.updates = true; break;
		case 'F': file = optarg; break;
		case 'T': type = optarg; break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': cli_version(); return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if (file != NULL)
		return decode_file(file, type);
	if (type != NULL)
		errx(EX_USAGE, "--type goes with --file");
	if ((work = path_work_dir(work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	if ((rc = state_read(work, &so, &s, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	if (opt.verify)
		rc = verify(s);
	else if (opt.updates)
		rc = print_updates(s);
	else {
		if (opt.out == OUT_JSON)
			print_json(s);
		else if (opt.out == OUT_JSON_LINES)
			print_json_lines(s);
		else
			tree(s);
		rc = EX_OK;
	}
	state_free(s);
	if (fflush(stdout) != 0 || ferror(stdout))
		err(EX_IOERR, "stdout");
	return rc;
}
