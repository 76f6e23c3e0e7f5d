/* ckpt-inspect: show a work dir (or one checkpoint file); never writes. */
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
#include "walk.h"
#include "workdir.h"

enum output { OUT_TREE, OUT_JSON, OUT_JSON_LINES, OUT_VERIFY, OUT_UPDATES };

/* Write o compactly (flags added): one fwrite of a buffer kept between
 * calls, not a stdio call per token. */
static void
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

static struct {
	enum output out;
	bool json;		/* --json with --updates */
	struct walk_filter filter;
	size_t problems;	/* --verify, --updates */
} opt;

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: ckpt-inspect [-d WORK] [--json | --json-lines] [--framework ID]...\n"
	    "                    [--executor ID]... [--task ID]... [--state STATE]...\n"
	    "                    [--unacked] [--verify] [--updates] [--exit-status]\n"
	    "       ckpt-inspect --file FILE [--type agent|framework|executor|task|updates]\n");
	exit(status);
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

static const struct walk_visitor tree = { .begin = tree_begin,
    .agent = tree_agent, .framework = tree_framework,
    .executor = tree_executor };

/* ---- --json: one document, written as the walk goes ---- */

/* The walker modes' JSON goes through one writer on stdout. */
static struct jsonw out;

static void
put_info(const char *key, const ProtobufCMessage *m)
{
	json_t *j = m ? pbjson_from_message(m) : NULL;

	jw_json(&out, key, j);
	json_decref(j);
}

static int
json_begin(void *ctx, struct state *s)
{
	char boot[64] = "";

	(void)ctx;
	bootid_current(boot, sizeof(boot), NULL);
	jw_object(&out, NULL);
	jw_string(&out, "work_dir", s->work);
	jw_string(&out, "boot_id", s->boot_id);
	jw_string(&out, "current_boot_id", boot);
	jw_string(&out, "latest_agent", s->latest_agent);
	jw_array(&out, "agents");
	return 0;
}

static int
json_agent(void *ctx, struct state *s, struct state_agent *a)
{
	(void)ctx, (void)s;
	jw_object(&out, NULL);
	jw_string(&out, "id", a->id);
	jw_bool(&out, "latest", a->latest);
	put_info("info", a->info ? &a->info->base : NULL);
	jw_array(&out, "frameworks");
	return 0;
}

static int
json_framework(void *ctx, struct state_agent *a, struct state_framework *f)
{
	(void)ctx, (void)a;
	jw_object(&out, NULL);
	jw_string(&out, "id", f->id);
	jw_bool(&out, "checkpoint", f->info && f->info->checkpoint);
	put_info("info", f->info ? &f->info->base : NULL);
	jw_string(&out, "pid", f->pid);
	jw_array(&out, "executors");
	return 0;
}

static int
json_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	(void)ctx, (void)a, (void)f;
	jw_object(&out, NULL);
	jw_string(&out, "id", x->id);
	put_info("info", x->info ? &x->info->base : NULL);
	jw_string(&out, "latest_run", x->latest_run);
	jw_array(&out, "runs");
	for (size_t r = 0; r < x->n_runs; r++) {
		jw_object(&out, NULL);
		statejson_run_members(&out, &x->runs[r]);
		jw_array(&out, "tasks");
		for (size_t t = 0; t < x->runs[r].n_tasks; t++) {
			jw_object(&out, NULL);
			statejson_task_members(&out, &x->runs[r].tasks[t], true);
			jw_end(&out);
		}
		jw_end(&out);
		jw_end(&out);
	}
	jw_end(&out);
	statejson_errors(&out, "errors", &x->errors);
	jw_end(&out);
	return 0;
}

/* Close the array of children, add the node's errors, close the node. */
static void
close_node(const struct state_errors *l)
{
	jw_end(&out);
	statejson_errors(&out, "errors", l);
	jw_end(&out);
}

static int
json_framework_end(void *ctx, struct state_agent *a, struct state_framework *f)
{
	(void)ctx, (void)a;
	close_node(&f->errors);
	return 0;
}

static int
json_agent_end(void *ctx, struct state *s, struct state_agent *a)
{
	(void)ctx, (void)s;
	close_node(&a->errors);
	return 0;
}

static int
json_end(void *ctx, struct state *s)
{
	(void)ctx;
	close_node(&s->errors);
	jw_raw(&out, "\n", 1);
	return 0;
}

/* ---- --json-lines: one line per task ---- */

static int
lines_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	(void)ctx;
	for (size_t r = 0; r < x->n_runs; r++) {
		const struct state_run *run = &x->runs[r];
		for (size_t t = 0; t < run->n_tasks; t++) {
			jw_object(&out, NULL);
			statejson_task_members(&out, &run->tasks[t], false);
			jw_string(&out, "type", "task");
			jw_string(&out, "agent_id", a->id);
			jw_string(&out, "framework_id", f->id);
			jw_string(&out, "executor_id", x->id);
			jw_string(&out, "run_id", run->id);
			jw_object(&out, "run");
			statejson_run_members(&out, run);
			jw_end(&out);
			jw_bool(&out, "checkpoint", f->info && f->info->checkpoint);
			jw_end(&out);
			jw_raw(&out, "\n", 1);
		}
	}
	return 0;
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
	const char *work = ctx;
	struct ckpt_error e;
	char path[PATH_MAX];

	for (size_t r = 0; r < x->n_runs; r++)
	for (size_t t = 0; t < x->runs[r].n_tasks; t++) {
		struct state_task tmp = { 0 };
		struct ckpt_ids ids = { a->id, f->id, x->id, x->runs[r].id,
		    x->runs[r].tasks[t].id };
		struct upd_ctx c = { path, opt.json };
		int fd;
		path_build(path, sizeof(path), work, PATH_TASK_UPDATES, &ids,
		    NULL);
		if (!c.json)
			printf("%s/%s/%s:\n", f->id, x->id, ids.task);
		if ((fd = workdir_open_dir(work, PATH_TASK, &ids, &e)) < 0 ||
		    state_replay_updates(fd, "task.updates", path, 0, &tmp,
		    update_line, &c, &e) < 0) {
			fflush(stdout);
			error_print(&e);
			opt.problems++;
		}
		if (fd >= 0)
			close(fd);
		state_task_reset(&tmp);
	}
	return 0;
}

/* ---- --verify: every error of every node, and torn tails ---- */

static void
verify_errors(const struct state_errors *l)
{
	for (size_t i = 0; i < l->n; i++, opt.problems++) {
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
	const char *work = ctx;
	char path[PATH_MAX];

	verify_errors(&x->errors);
	for (size_t r = 0; r < x->n_runs; r++) {
		const struct state_run *run = &x->runs[r];
		verify_errors(&run->errors);
		for (size_t t = 0; t < run->n_tasks; t++) {
			const struct state_task *tk = &run->tasks[t];
			struct ckpt_ids ids = { a->id, f->id, x->id, run->id,
			    tk->id };
			verify_errors(&tk->errors);
			if (!tk->torn)
				continue;
			path_build(path, sizeof(path), work, PATH_TASK_UPDATES,
			    &ids, NULL);
			printf("%s: offset %lld: torn tail after the last whole "
			    "record\n", path, tk->valid_end);
			opt.problems++;
		}
	}
	return 0;
}

static int
verify_begin(void *ctx, struct state *s)
{
	(void)ctx;
	verify_errors(&s->errors);
	return 0;
}

static int
verify_agent_end(void *ctx, struct state *s, struct state_agent *a)
{
	(void)ctx, (void)s;
	verify_errors(&a->errors);
	return 0;
}

static int
verify_framework_end(void *ctx, struct state_agent *a,
    struct state_framework *f)
{
	(void)ctx, (void)a;
	verify_errors(&f->errors);
	return 0;
}

static void
verify_skipped(void *ctx, const char *path, const char *why)
{
	char shown[PATH_MAX + 256];

	/* A name may hold anything: no control byte reaches a terminal. */
	strlcpy(shown, path, sizeof(shown));
	for (char *p = shown; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	path = shown;
	(void)ctx;
	printf("%s: %s\n", path, why);
	opt.problems++;
}

/* ---- --file: decode one checkpoint file ---- */

/* Bytes as hex (at most 512 of them shown, then the count). */
static json_t *
hex_of(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t shown = n > 512 ? 512 : n;
	char *t = malloc(2 * shown + 32);
	json_t *j;

	if (t == NULL)
		err(EX_OSERR, "malloc");
	for (size_t i = 0; i < shown; i++) {
		t[2 * i] = digits[p[i] >> 4];
		t[2 * i + 1] = digits[p[i] & 15];
	}
	snprintf(t + 2 * shown, 32, shown < n ? "... (%zu bytes)" : "", n);
	j = json_string(t);
	free(t);
	return j;
}

/* A record that does not decode: where, why, and its bytes. */
static void
put_damaged(long long off, const char *reason, const uint8_t *p, size_t n)
{
	json_t *j = json_pack("{s:s, s:I, s:s, s:o}", "type", "damaged",
	    "offset", (json_int_t)off, "error", reason, "bytes", hex_of(p, n));

	put_json(j, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
}

/* The whole of a small file, for showing what did not decode. */
static size_t
read_some(const char *file, uint8_t *buf, size_t cap)
{
	FILE *fp = fopen(file, "re");
	size_t n = fp ? fread(buf, 1, cap, fp) : 0;

	if (fp)
		fclose(fp);
	return n;
}

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
			static uint8_t raw[65536];
			size_t n;
			error_print(&e);
			if (rc != -EBADMSG)
				return error_exit_code(rc);
			/* Show what is there: the bytes, with the offset. */
			n = read_some(file, raw, sizeof(raw));
			put_damaged(e.offset < 0 ? 0 : e.offset, e.reason, raw, n);
			return EX_DATAERR;
		}
		json_t *j = pbjson_from_message(m);
		put_json(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
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
	bool damaged = false;
	while ((rc = record_next(&r, &data, &len, &off, &e)) == RECORD_OK) {
		ProtobufCMessage *m;
		if (record_unpack(types[i].d, data, len, file, off, &m, &e) < 0) {
			/* Its length held: the records after it still decode. */
			error_print(&e);
			put_damaged(off, e.reason, data, len);
			damaged = true;
			continue;
		}
		json_t *j = json_pack("{s:s, s:I, s:o}", "type", "record",
		    "offset", (json_int_t)off, "record", pbjson_from_message(m));
		put_json(j, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	if (rc == RECORD_TORN) {
		/* The torn tail's bytes, from the end of the last whole record. */
		static uint8_t raw[65536];
		long long at = e.offset;
		size_t n = 0;
		error_print(&e);
		if (record_reader_seek(&r, at, &e) == 0) {
			ssize_t got = r.fd >= 0 ? pread(r.fd, raw, sizeof(raw), at) : 0;
			n = got > 0 ? (size_t)got : 0;
		}
		put_damaged(at, "torn tail", raw, n);
		record_reader_close(&r);
		return EX_DATAERR;
	}
	record_reader_close(&r);
	if (rc < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	return damaged ? EX_DATAERR : EX_OK;
}

/* --exit-status: how many executors the filter kept. */
static struct walk_visitor shown_inner;
static size_t shown;

static int
count_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	shown++;
	return shown_inner.executor ? shown_inner.executor(ctx, a, f, x) : 0;
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	static const struct option longopts[] = {
		{ "work-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "json-lines", no_argument, NULL, 'l' },
		WALK_FILTER_OPTIONS,
		{ "verify", no_argument, NULL, 'v' },
		{ "updates", no_argument, NULL, 'U' },
		{ "file", required_argument, NULL, 'F' },
		{ "type", required_argument, NULL, 'T' },
		{ "exit-status", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct state_options so = { .strict = false };
	struct walk_visitor v = { 0 };
	struct ckpt_error e;
	const char *work = NULL, *file = NULL, *type = NULL;
	bool verify = false, updates = false, exit_status = false;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:jf:e:t:h", longopts, NULL)) != -1) {
		if ((rc = walk_filter_option(&opt.filter, ch, optarg, &e)) < 0)
			errx(EX_USAGE, "%s", e.reason);
		if (rc > 0)
			continue;
		switch (ch) {
		case 'd': work = optarg; break;
		case 'j': opt.out = OUT_JSON; break;
		case 'l': opt.out = OUT_JSON_LINES; break;
		case 'v': verify = true; break;
		case 'U': updates = true; break;
		case 'F': file = optarg; break;
		case 'T': type = optarg; break;
		case 'E': exit_status = true; break;
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
	opt.json = opt.out != OUT_TREE;
	if (verify)
		v = (struct walk_visitor){ .ctx = (void *)work,
		    .begin = verify_begin, .executor = verify_executor,
		    .framework_end = verify_framework_end,
		    .agent_end = verify_agent_end, .skipped = verify_skipped };
	else if (updates)
		v = (struct walk_visitor){ .ctx = (void *)work,
		    .executor = updates_executor };
	else if (opt.out == OUT_JSON)
		v = (struct walk_visitor){ .begin = json_begin,
		    .agent = json_agent, .framework = json_framework,
		    .executor = json_executor,
		    .framework_end = json_framework_end,
		    .agent_end = json_agent_end, .end = json_end };
	else if (opt.out == OUT_JSON_LINES)
		v = (struct walk_visitor){ .executor = lines_executor };
	else
		v = tree;
	if (exit_status) {
		shown_inner = v;
		v.executor = count_executor;
	}
	jw_init(&out, stdout);
	rc = walk(work, &so, &opt.filter, &v, &e);
	if (jw_flush(&out) < 0)
		errc(EX_IOERR, -out.error, "stdout");
	jw_free(&out);
	if (rc < 0) {
		fflush(stdout);
		error_print(&e);
		return error_exit_code(rc);
	}
	walk_filter_free(&opt.filter);
	if (fflush(stdout) != 0 || ferror(stdout))
		err(EX_IOERR, "stdout");
	if (opt.problems)
		return EX_DATAERR;
	/* As grep and jq -e: nothing matched is 1. */
	return exit_status && shown == 0 ? 1 : EX_OK;
}
