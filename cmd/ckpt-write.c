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
#include "workdir.h"

/* Each kind and how many ids (agent, framework, executor, run, task) it
 * needs; the index is the kind's number in main's switch. */
static const struct {
	const char *name;
	int ids;
} kinds[] = {
	{ "agent", 1 }, { "framework", 2 }, { "framework-pid", 2 },
	{ "executor", 3 }, { "run", 4 }, { "task", 5 }, { "update", 5 },
	{ "ack", 5 }, { "boot-id", 0 }, { "sentinel", 4 }, { NULL, 0 },
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

int
main(int argc, char *argv[])
{
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
	struct ckpt_ids ids = { 0 };
	struct ckpt_error e;
	const char *work = NULL, *file = NULL, *kind;
	const ProtobufCMessageDescriptor *d = NULL;
	ProtobufCMessage *m = NULL;
	json_t *j = NULL;
	char *latest = NULL, *latest_run = NULL, text[4096], uuid_text[UUID_TEXT];
	int ch, rc = 0, k, lock = -1;
	bool force = false;

	error_clear(&e);
	while ((ch = getopt_long(argc, argv, "d:a:f:e:r:t:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd': work = optarg; break;
		case 'a': ids.agent = optarg; break;
		case 'f': ids.framework = optarg; break;
		case 'e': ids.executor = optarg; break;
		case 'r': ids.run = optarg; break;
		case 't': ids.task = optarg; break;
		case 'F': file = optarg; break;
		case 'X': force = true; break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': cli_version(); return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (argc - optind != 1)
		usage(stderr, EX_USAGE);
	kind = argv[optind];
	for (k = 0; kinds[k].name && strcmp(kinds[k].name, kind) != 0; k++)
		;
	if (kinds[k].name == NULL) {
		warnx("unknown kind '%s'", kind);
		usage(stderr, EX_USAGE);
	}
	if ((work = path_work_dir(work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	if ((rc = ids_validate(&ids, &e)) < 0)
		die(&e, rc);

	/* Read and check all input before touching the file system. */
	if (strcmp(kind, "agent") == 0)
		d = &mesos__slave_info__descriptor;
	else if (strcmp(kind, "framework") == 0)
		d = &mesos__framework_info__descriptor;
	else if (strcmp(kind, "executor") == 0)
		d = &mesos__executor_info__descriptor;
	else if (strcmp(kind, "task") == 0)
		d = &mesos__task__descriptor;
	else if (strcmp(kind, "update") == 0)
		d = &mesos__status_update__descriptor;
	if (d != NULL || strcmp(kind, "ack") == 0 || strcmp(kind, "run") == 0) {
		if ((rc = pbjson_load(file, &j, &e)) < 0)
			die(&e, rc);
		if (!json_is_object(j))
			errx(EX_DATAERR, "%s: expected a JSON object",
			    file ? file : "stdin");
	}
	if (d != NULL && (rc = pbjson_to_message(d, j, &m, &e)) < 0) {
		strlcpy(e.path, file ? file : "stdin", sizeof(e.path));
		die(&e, rc);
	}
	if (strcmp(kind, "framework-pid") == 0 || strcmp(kind, "boot-id") == 0)
		if ((rc = cli_read_text(file, text, sizeof(text), &e)) < 0)
			die(&e, rc);

	if (strcmp(kind, "agent") == 0) {
		ids.agent = pick_id(ids.agent, j, "id", "agent");
	} else if (strcmp(kind, "boot-id") != 0 && ids.agent == NULL)
		ids.agent = latest = latest_of(work, PATH_SLAVES_LATEST, &ids);
	if (strcmp(kind, "framework") == 0)
		ids.framework = pick_id(ids.framework, j, "id", "framework");
	if (strcmp(kind, "executor") == 0) {
		ids.executor = pick_id(ids.executor, j, "executor_id", "executor");
		ids.framework = pick_id(ids.framework, j, "framework_id", "framework");
	}
	if (strcmp(kind, "task") == 0) {
		ids.task = pick_id(ids.task, j, "task_id", "task");
		ids.framework = pick_id(ids.framework, j, "framework_id", "framework");
		ids.executor = pick_id(ids.executor, j, "executor_id", "executor");
		ids.agent = pick_id(ids.agent, j, "slave_id", "agent");
	}
	if (strcmp(kind, "update") == 0) {
		json_t *st = json_object_get(j, "status");
		ids.task = pick_id(ids.task, st, "task_id", "task");
		ids.framework = pick_id(ids.framework, j, "framework_id", "framework");
		ids.executor = pick_id(ids.executor, j, "executor_id", "executor");
	}
	if (strcmp(kind, "ack") == 0) {
		json_t *u = json_object_get(j, "uuid");
		if (!json_is_string(u) || uuid_parse(json_string_value(u),
		    (uint8_t *)text) < 0)
			errx(EX_DATAERR, "%s: field 'uuid': missing or not a "
			    "uuid", file ? file : "stdin");
	}
	if (strcmp(kind, "run") == 0 && ids.run == NULL) {
		uint8_t u[16];
		uuid_generate(u);
		uuid_format(u, uuid_text);
		ids.run = uuid_text;
	}
	if (kinds[k].ids >= 1)
		need(ids.agent, "agent", "-a AGENT (or write the agent first)");
	if (kinds[k].ids >= 2)
		need(ids.framework, "framework", "-f FRAMEWORK");
	if (kinds[k].ids >= 3)
		need(ids.executor, "executor", "-e EXECUTOR");
	if (kinds[k].ids >= 4 && ids.run == NULL) {
		ids.run = latest_run = latest_of(work, PATH_RUNS_LATEST, &ids);
		need(ids.run, "run", "-r RUN (there is no runs/latest link)");
	}
	if (kinds[k].ids >= 5)
		need(ids.task, "task", "-t TASK");
	if ((rc = ids_validate(&ids, &e)) < 0 ||
	    (rc = workdir_check(work, &e)) < 0)
		die(&e, rc);
	/* A running agent owns the work dir: a record written behind its
	 * back (an ACK above all) makes it and the disk disagree. */
	if (!force && (lock = workdir_lock(work, &e)) < 0) {
		if (lock == -EAGAIN)
			snprintf(e.reason + strlen(e.reason), sizeof(e.reason) -
			    strlen(e.reason), "; a running agent owns it "
			    "(--force writes anyway)");
		die(&e, lock);
	}

	switch (k) {
	case 0:
		rc = checkpoint_agent(NULL, work, ids.agent, (Mesos__SlaveInfo *)m, &e);
		break;
	case 1:
		rc = checkpoint_info(NULL, work, PATH_FRAMEWORK_INFO, &ids, m, &e);
		break;
	case 2:
		strlcat(text, "\n", sizeof(text));
		rc = checkpoint_text(NULL, work, PATH_FRAMEWORK_PID, &ids,
		    text[0] == '\n' ? "" : text, &e);
		break;
	case 3:
		rc = checkpoint_info(NULL, work, PATH_EXECUTOR_INFO, &ids, m, &e);
		break;
	case 4: {
		json_t *pid = json_object_get(j, "pid"), *st =
		    json_object_get(j, "start_time"), *lp =
		    json_object_get(j, "libprocess_pid"), *so =
		    json_object_get(j, "socket");
		if ((pid && !json_is_integer(pid)) || (st && !json_is_integer(st)) ||
		    (lp && !json_is_string(lp)) || (so && !json_is_string(so)))
			errx(EX_DATAERR, "%s: run: 'pid' and 'start_time' are "
			    "integers, 'libprocess_pid' and 'socket' strings",
			    file ? file : "stdin");
		if ((rc = checkpoint_run(NULL, work, &ids, &e)) < 0)
			break;
		if (pid && (rc = checkpoint_pid(NULL, work, &ids,
		    (pid_t)json_integer_value(pid),
		    st ? (unsigned long long)json_integer_value(st) : 0, &e)) < 0)
			break;
		if (lp && (rc = checkpoint_text(NULL, work, PATH_LIBPROCESS_PID, &ids,
		    json_string_value(lp), &e)) < 0)
			break;
		if (so)
			rc = checkpoint_text(NULL, work, PATH_EXECUTOR_SOCKET, &ids,
			    json_string_value(so), &e);
		if (rc == 0)
			printf("%s\n", ids.run);
		break;
	}
	case 5:
		rc = checkpoint_info(NULL, work, PATH_TASK_INFO, &ids, m, &e);
		break;
	case 6: {
		Mesos__StatusUpdate *u = (Mesos__StatusUpdate *)m;
		if (!u->has_uuid) {
			u->uuid.data = malloc(16);
			if (u->uuid.data == NULL)
				err(EX_OSERR, "malloc");
			u->uuid.len = 16;
			u->has_uuid = 1;
			uuid_generate(u->uuid.data);
		}
		if (u->uuid.len != 16)
			errx(EX_DATAERR, "update uuid must be 16 bytes");
		if ((rc = checkpoint_update(work, &ids, u, &e)) == 0) {
			uuid_format(u->uuid.data, uuid_text);
			printf("%s\n", uuid_text);
		}
		break;
	}
	case 7:
		rc = checkpoint_ack(work, &ids, (uint8_t *)text, &e);
		break;
	case 8:
		if (text[0] == '\0' && (rc = bootid_current(text, sizeof(text),
		    &e)) < 0)
			break;
		if ((rc = id_validate(text, "boot", &e)) == 0)
			rc = bootid_write(work, text, &e);
		break;
	case 9:
		rc = checkpoint_sentinel(NULL, work, &ids, &e);
		break;
	}
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	json_decref(j);
	free(latest);
	free(latest_run);
	if (rc < 0)
		die(&e, rc);
	if (lock >= 0)
		close(lock);
	return EX_OK;
}
