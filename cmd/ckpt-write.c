/* ckpt-write: write one checkpoint record durably into a work dir. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "checkpoint.h"
#include "cli.h"
#include "paths.h"
#include "pbjson.h"
#include "uuid.h"
#include "version.h"
#include "workdir.h"


/* What a kind reads, the ids it needs, and how it writes. */
enum input { IN_NONE, IN_JSON, IN_TEXT };
enum depth { D_NONE, D_AGENT, D_FRAMEWORK, D_EXECUTOR, D_RUN, D_TASK };

struct job {
	const char *work, *file;
	struct ckpt_ids ids;
	json_t *j;			/* IN_JSON */
	ProtobufCMessage *m;		/* decoded, when the kind has a message */
	char text[4096];		/* IN_TEXT, or the ack's uuid bytes */
	char run_text[UUID_TEXT];	/* a generated run id */
	char uuid_text[UUID_TEXT];
	char *latest_agent, *latest_run;	/* read from the links */
};

struct kind {
	const char *name;
	enum input input;
	const ProtobufCMessageDescriptor *message;	/* or NULL */
	enum depth depth;		/* every id down to this one is needed */
	void (*ids)(struct job *);	/* take ids from the input */
	int (*write)(struct job *, struct ckpt_error *);
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: ckpt-write [-d WORK] [-a AGENT] [-f FRAMEWORK] [-e EXECUTOR]\n"
	    "                  [-r RUN] [-t TASK] [--file FILE] [--force] KIND\n"
	    "KIND: agent framework framework-pid executor run task update ack\n"
	    "      boot-id sentinel (JSON or text on stdin; see ckpt-write(1))\n");
	exit(status);
}

static void
die(const struct ckpt_error *e, int rc)
{
	error_print(e);
	exit(error_exit_code(rc));
}

/* Take an id from the message when the option did not give one; when
 * both are given they must agree. */
static const char *
pick_id(const char *opt, json_t *j, const char *key, const char *what)
{
	json_t *v = json_is_object(j) ? json_object_get(j, key) : NULL;
	const char *id = json_is_string(v) ? json_string_value(v) : NULL;

	if (opt != NULL && id != NULL && strcmp(opt, id) != 0)
		errx(EX_DATAERR, "%s id '%s' of the option differs from '%s' "
		    "in the message's field '%s'", what, opt, id, key);
	return opt ? opt : id;
}

static const char *
need(const char *id, const char *what, const char *opt)
{
	if (id == NULL)
		errx(EX_USAGE, "no %s id: give %s", what, opt);
	return id;
}

static char *
latest_of(const char *work, enum path_kind kind, const struct ckpt_ids *ids)
{
	char path[PATH_MAX], buf[PATH_MAX];
	ssize_t n;

	if (path_build(path, sizeof(path), work, kind, ids, NULL) < 0 ||
	    (n = readlink(path, buf, sizeof(buf) - 1)) < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

static const char *
input_name(const struct job *b)
{
	return b->file ? b->file : "stdin";
}

/* ---- ids taken from the message ---- */

static void
ids_agent(struct job *b)
{
	b->ids.agent = pick_id(b->ids.agent, b->j, "id", "agent");
}

static void
ids_framework(struct job *b)
{
	b->ids.framework = pick_id(b->ids.framework, b->j, "id", "framework");
}

static void
ids_executor(struct job *b)
{
	b->ids.executor = pick_id(b->ids.executor, b->j, "executor_id",
	    "executor");
	b->ids.framework = pick_id(b->ids.framework, b->j, "framework_id",
	    "framework");
}

static void
ids_task(struct job *b)
{
	b->ids.task = pick_id(b->ids.task, b->j, "task_id", "task");
	b->ids.framework = pick_id(b->ids.framework, b->j, "framework_id",
	    "framework");
	b->ids.executor = pick_id(b->ids.executor, b->j, "executor_id",
	    "executor");
	b->ids.agent = pick_id(b->ids.agent, b->j, "slave_id", "agent");
}

static void
ids_update(struct job *b)
{
	b->ids.task = pick_id(b->ids.task, json_object_get(b->j, "status"),
	    "task_id", "task");
	b->ids.framework = pick_id(b->ids.framework, b->j, "framework_id",
	    "framework");
	b->ids.executor = pick_id(b->ids.executor, b->j, "executor_id",
	    "executor");
}

static void
ids_ack(struct job *b)
{
	json_t *u = json_object_get(b->j, "uuid");

	if (!json_is_string(u) || uuid_parse(json_string_value(u),
	    (uint8_t *)b->text) < 0)
		errx(EX_DATAERR, "%s: field 'uuid': missing or not a uuid",
		    input_name(b));
}

static void
ids_run(struct job *b)
{
	json_t *pid = json_object_get(b->j, "pid"), *st =
	    json_object_get(b->j, "start_time"), *lp =
	    json_object_get(b->j, "libprocess_pid"), *so =
	    json_object_get(b->j, "socket");
	uint8_t u[16];

	if ((pid && !json_is_integer(pid)) || (st && !json_is_integer(st)) ||
	    (lp && !json_is_string(lp)) || (so && !json_is_string(so)))
		errx(EX_DATAERR, "%s: run: 'pid' and 'start_time' are "
		    "integers, 'libprocess_pid' and 'socket' strings",
		    input_name(b));
	if (b->ids.run == NULL) {
		uuid_generate(u);
		uuid_format(u, b->run_text);
		b->ids.run = b->run_text;
	}
}

/* ---- writers ---- */

static int
write_agent(struct job *b, struct ckpt_error *e)
{
	return checkpoint_agent(NULL, b->work, b->ids.agent,
	    (Mesos__SlaveInfo *)b->m, e);
}

static int
write_framework(struct job *b, struct ckpt_error *e)
{
	return checkpoint_info(NULL, b->work, PATH_FRAMEWORK_INFO, &b->ids,
	    b->m, e);
}

static int
write_framework_pid(struct job *b, struct ckpt_error *e)
{
	/* An empty framework.pid stays empty, as Mesos writes it. */
	if (b->text[0] != '\0')
		strlcat(b->text, "\n", sizeof(b->text));
	return checkpoint_text(NULL, b->work, PATH_FRAMEWORK_PID, &b->ids,
	    b->text, e);
}

static int
write_executor(struct job *b, struct ckpt_error *e)
{
	return checkpoint_info(NULL, b->work, PATH_EXECUTOR_INFO, &b->ids,
	    b->m, e);
}

static int
write_run(struct job *b, struct ckpt_error *e)
{
	json_t *pid = json_object_get(b->j, "pid"), *st =
	    json_object_get(b->j, "start_time"), *lp =
	    json_object_get(b->j, "libprocess_pid"), *so =
	    json_object_get(b->j, "socket");
	int rc;

	if ((rc = checkpoint_run(NULL, b->work, &b->ids, e)) < 0)
		return rc;
	if (pid && (rc = checkpoint_pid(NULL, b->work, &b->ids,
	    (pid_t)json_integer_value(pid),
	    st ? (unsigned long long)json_integer_value(st) : 0, e)) < 0)
		return rc;
	if (lp && (rc = checkpoint_text(NULL, b->work, PATH_LIBPROCESS_PID,
	    &b->ids, json_string_value(lp), e)) < 0)
		return rc;
	if (so && (rc = checkpoint_text(NULL, b->work, PATH_EXECUTOR_SOCKET,
	    &b->ids, json_string_value(so), e)) < 0)
		return rc;
	printf("%s\n", b->ids.run);
	return 0;
}

static int
write_task(struct job *b, struct ckpt_error *e)
{
	return checkpoint_info(NULL, b->work, PATH_TASK_INFO, &b->ids, b->m, e);
}

static int
write_update(struct job *b, struct ckpt_error *e)
{
	Mesos__StatusUpdate *u = (Mesos__StatusUpdate *)b->m;
	int rc;

	if (!u->has_uuid) {
		if ((u->uuid.data = malloc(16)) == NULL)
			err(EX_OSERR, "malloc");
		u->uuid.len = 16;
		u->has_uuid = 1;
		uuid_generate(u->uuid.data);
	}
	if (u->uuid.len != 16)
		errx(EX_DATAERR, "%s: update uuid must be 16 bytes",
		    input_name(b));
	if ((rc = checkpoint_update(b->work, &b->ids, u, e)) == 0) {
		uuid_format(u->uuid.data, b->uuid_text);
		printf("%s\n", b->uuid_text);
	}
	return rc;
}

static int
write_ack(struct job *b, struct ckpt_error *e)
{
	return checkpoint_ack(b->work, &b->ids, (uint8_t *)b->text, e);
}

static int
write_boot_id(struct job *b, struct ckpt_error *e)
{
	int rc;

	if (b->text[0] == '\0' &&
	    (rc = bootid_current(b->text, sizeof(b->text), e)) < 0)
		return rc;
	if ((rc = id_validate(b->text, "boot", e)) < 0)
		return rc;
	return bootid_write(b->work, b->text, e);
}

static int
write_sentinel(struct job *b, struct ckpt_error *e)
{
	return checkpoint_sentinel(NULL, b->work, &b->ids, e);
}

static const struct kind kinds[] = {
	{ .name = "agent", .input = IN_JSON,
	  .message = &mesos__slave_info__descriptor, .depth = D_AGENT,
	  .ids = ids_agent, .write = write_agent },
	{ .name = "framework", .input = IN_JSON,
	  .message = &mesos__framework_info__descriptor, .depth = D_FRAMEWORK,
	  .ids = ids_framework, .write = write_framework },
	{ .name = "framework-pid", .input = IN_TEXT, .depth = D_FRAMEWORK,
	  .write = write_framework_pid },
	{ .name = "executor", .input = IN_JSON,
	  .message = &mesos__executor_info__descriptor, .depth = D_EXECUTOR,
	  .ids = ids_executor, .write = write_executor },
	{ .name = "run", .input = IN_JSON, .depth = D_EXECUTOR,
	  .ids = ids_run, .write = write_run },
	{ .name = "task", .input = IN_JSON, .message = &mesos__task__descriptor,
	  .depth = D_TASK, .ids = ids_task, .write = write_task },
	{ .name = "update", .input = IN_JSON,
	  .message = &mesos__status_update__descriptor, .depth = D_TASK,
	  .ids = ids_update, .write = write_update },
	{ .name = "ack", .input = IN_JSON, .depth = D_TASK, .ids = ids_ack,
	  .write = write_ack },
	{ .name = "boot-id", .input = IN_TEXT, .depth = D_NONE,
	  .write = write_boot_id },
	{ .name = "sentinel", .input = IN_NONE, .depth = D_RUN,
	  .write = write_sentinel },
};

static const struct kind *
kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

/* Read and check the input before anything touches the file system. */
static void
read_input(const struct kind *k, struct job *b)
{
	struct ckpt_error e;
	int rc;

	error_clear(&e);
	if (k->input == IN_JSON) {
		if ((rc = pbjson_load(b->file, &b->j, &e)) < 0)
			die(&e, rc);
		if (!json_is_object(b->j))
			errx(EX_DATAERR, "%s: expected a JSON object",
			    input_name(b));
	}
	if (k->message != NULL &&
	    (rc = pbjson_to_message(k->message, b->j, &b->m, &e)) < 0) {
		strlcpy(e.path, input_name(b), sizeof(e.path));
		die(&e, rc);
	}
	if (k->input == IN_TEXT &&
	    (rc = cli_read_text(b->file, b->text, sizeof(b->text), &e)) < 0)
		die(&e, rc);
}

/* Every id the kind needs, from the options, the message, or the
 * latest links. */
static void
resolve_ids(const struct kind *k, struct job *b)
{
	struct ckpt_ids *ids = &b->ids;

	if (k->ids != NULL)
		k->ids(b);
	if (k->depth > D_AGENT && ids->agent == NULL)
		ids->agent = b->latest_agent = latest_of(b->work,
		    PATH_SLAVES_LATEST, ids);
	if (k->depth >= D_AGENT)
		need(ids->agent, "agent", "-a AGENT (or write the agent first)");
	if (k->depth >= D_FRAMEWORK)
		need(ids->framework, "framework", "-f FRAMEWORK");
	if (k->depth >= D_EXECUTOR)
		need(ids->executor, "executor", "-e EXECUTOR");
	if (k->depth >= D_RUN && ids->run == NULL) {
		ids->run = b->latest_run = latest_of(b->work, PATH_RUNS_LATEST,
		    ids);
		need(ids->run, "run", "-r RUN (there is no runs/latest link)");
	}
	if (k->depth >= D_TASK)
		need(ids->task, "task", "-t TASK");
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	static const struct option longopts[] = {
		{ "work-dir", required_argument, NULL, 'd' },
		{ "agent", required_argument, NULL, 'a' },
		{ "framework", required_argument, NULL, 'f' },
		{ "executor", required_argument, NULL, 'e' },
		{ "run", required_argument, NULL, 'r' },
		{ "task", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'F' },
		{ "force", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct job b;
	const struct kind *k;
	struct ckpt_error e;
	int ch, rc, lock = -1;
	bool force = false;

	error_clear(&e);
	while ((ch = getopt_long(argc, argv, "d:a:f:e:r:t:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd': b.work = optarg; break;
		case 'a': b.ids.agent = optarg; break;
		case 'f': b.ids.framework = optarg; break;
		case 'e': b.ids.executor = optarg; break;
		case 'r': b.ids.run = optarg; break;
		case 't': b.ids.task = optarg; break;
		case 'F': b.file = optarg; break;
		case 'X': force = true; break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': { char v[160]; puts(version_line(getprogname(), false, v, sizeof(v))); } return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (argc - optind != 1)
		usage(stderr, EX_USAGE);
	if ((k = kind_find(argv[optind])) == NULL) {
		warnx("unknown kind '%s'", argv[optind]);
		usage(stderr, EX_USAGE);
	}
	if ((b.work = path_work_dir(b.work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	if ((rc = ids_validate(&b.ids, &e)) < 0)
		die(&e, rc);
	read_input(k, &b);
	resolve_ids(k, &b);
	if ((rc = ids_validate(&b.ids, &e)) < 0 ||
	    (rc = workdir_check(b.work, &e)) < 0)
		die(&e, rc);
	/* A running agent owns the work dir: a record written behind its
	 * back (an ACK above all) makes it and the disk disagree. */
	if (!force && (lock = workdir_lock(b.work, &e)) < 0) {
		if (lock == -EAGAIN)
			snprintf(e.reason + strlen(e.reason), sizeof(e.reason) -
			    strlen(e.reason), "; a running agent owns it "
			    "(--force writes anyway)");
		die(&e, lock);
	}
	rc = k->write(&b, &e);
	if (b.m != NULL)
		protobuf_c_message_free_unpacked(b.m, NULL);
	json_decref(b.j);
	free(b.latest_agent);
	free(b.latest_run);
	if (rc < 0)
		die(&e, rc);
	if (lock >= 0)
		close(lock);
	return EX_OK;
}
