/* executor-reconnect: handshake with executors named by recover's lines or
 * by ids; checkpoint and print the updates they never had acknowledged. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "checkpoint.h"
#include "cli.h"
#include "proc.h"
#include "state.h"
#include "statejson.h"
#include "targets.h"
#include "update.h"
#include "uuid.h"
#include "workdir.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: executor-reconnect [--timeout DUR] < recover-lines\n"
	    "       executor-reconnect [--timeout DUR] -d WORK -f FRAMEWORK -e EXECUTOR [-r RUN]\n");
	exit(status);
}

/* One handshake: 0 reached, or a reason in msg. */
static int
reconnect(const struct target *x, long long timeout, char *msg, size_t len)
{
	const char *sock = x->socket;
	struct ckpt_ids ids = { x->agent_id, x->framework_id, x->executor_id,
	    x->run_id, x->task_id };
	Agentproto__ExecutorMessage reg = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	const char *work = x->work_dir;
	struct channel c;
	struct ckpt_error e;
	long long deadline = monotonic_ms() + timeout;
	int expect = -1, got = 0, fd;

	if (x->reboot)
		return snprintf(msg, len, "the host rebooted since"), -1;
	if (x->pid <= 0 || proc_identify(x->pid, x->start_time,
	    x->pid_mtime, x->run_id) != PROC_SAME)
		return snprintf(msg, len, "the executor is not running"), -1;
	if (sock == NULL)
		return snprintf(msg, len, "no socket checkpointed"), -1;
	/* Retry while the socket is not there yet (a starting executor). */
	while ((fd = channel_connect(sock, &e)) < 0 && monotonic_ms() < deadline)
		usleep(10000);
	if (fd < 0)
		return snprintf(msg, len, "%s", e.reason), -1;
	channel_init(&c, fd);
	reg.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER;
	reg.agent_id = (char *)ids.agent;
	/* Proven with the run's secret, as the agent does (none: an older
	 * run, whose executor asks for none). */
	uint8_t secret[SECRET_LEN];
	if (work && secret_load(work, &ids, secret, &e) == 0) {
		reg.has_secret = 1;
		reg.secret.len = SECRET_LEN;
		reg.secret.data = secret;
	}
	channel_send(&c, &reg);
	while (expect < 0 || got < expect) {
		struct pollfd p = { c.fd, POLLIN | (c.out_len ? POLLOUT : 0), 0 };
		Agentproto__ExecutorMessage *m;
		long long left = deadline - monotonic_ms();
		int r;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			channel_close(&c);
			return snprintf(msg, len, "no answer within the timeout"), -1;
		}
		if (p.revents & POLLOUT)
			channel_flush(&c);
		if ((p.revents & (POLLIN | POLLHUP)) && channel_fill(&c) <= 0) {
			channel_close(&c);
			return snprintf(msg, len, "the executor closed the connection"), -1;
		}
		while ((r = channel_next(&c, &m)) > 0) {
			if (m->type == AGENTPROTO__EXECUTOR_MESSAGE__TYPE__HELLO)
				expect = m->has_pending ? m->pending : 0;
			else if (m->type == AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPDATE &&
			    m->update && ids.task) {
				char path[PATH_MAX], text[UUID_TEXT];
				const uint8_t *u = update_uuid_bytes(m->update);
				int known = 0;
				got++;
				path_build(path, sizeof(path), work,
				    PATH_TASK_UPDATES, &ids, NULL);
				if (u && (known = state_update_known(path, u)) == 0 &&
				    x->checkpoint &&
				    checkpoint_update(work, &ids, m->update, &e) < 0)
					error_print(&e);
				if (u && known == 2) {
					Agentproto__ExecutorMessage a =
					    AGENTPROTO__EXECUTOR_MESSAGE__INIT;
					a.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__ACK;
					a.has_uuid = 1;
					a.uuid.len = 16;
					a.uuid.data = (uint8_t *)u;
					channel_send(&c, &a);
				}
				json_t *o = statejson_update(m->update);
				json_object_set_new(o, "type", json_string("update"));
				json_object_set_new(o, "event", json_string("update"));
				json_object_set_new(o, "framework_id", json_string(ids.framework));
				json_object_set_new(o, "executor_id", json_string(ids.executor));
				json_object_set_new(o, "task_id", json_string(ids.task));
				json_object_set_new(o, "acknowledged", json_boolean(known == 2));
				json_object_set_new(o, "new", json_boolean(known == 0));
				json_dumpf(o, stdout, JSON_COMPACT);
				putchar('\n');
				json_decref(o);
				(void)text;
			}
			agentproto__executor_message__free_unpacked(m, NULL);
		}
		if (r < 0) {
			channel_close(&c);
			return snprintf(msg, len, "malformed message"), -1;
		}
	}
	channel_flush(&c);
	channel_close(&c);
	snprintf(msg, len, "%d pending update%s", got, got == 1 ? "" : "s");
	return 0;
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	static const struct option longopts[] = {
		{ "work-dir", required_argument, NULL, 'd' },
		{ "framework", required_argument, NULL, 'f' },
		{ "executor", required_argument, NULL, 'e' },
		{ "run", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ckpt_ids ids = { 0 };
	struct targets t;
	struct ckpt_error e;
	const char *work = NULL;
	long long timeout = 2000;
	int ch, rc, failed = 0, lock = -1, refused = 0;

	while ((ch = getopt_long(argc, argv, "d:f:e:r:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': work = optarg; break;
		case 'f': ids.framework = optarg; break;
		case 'e': ids.executor = optarg; break;
		case 'r': ids.run = optarg; break;
		case 't':
			if (cli_duration(optarg, &timeout) < 0)
				errx(EX_USAGE, "--timeout: '%s' is not a duration",
				    optarg);
			break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': cli_version(); return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if ((rc = targets_load(path_work_dir(work), &ids, &t, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	/* We write the update streams: take the writer's lock (an agent
	 * that runs owns its executors). */
	if (t.n > 0 && (lock = workdir_lock(t.v[0].work_dir, &e)) < 0) {
		error_print(&e);
		targets_free(&t);
		return error_exit_code(lock);
	}
	for (size_t i = 0; i < t.n; i++) {
		char msg[PATH_MAX * 2 + 200];
		const struct target *x = &t.v[i];
		/* A line that disagrees with the checkpoint: no secret is
		 * sent to a socket that is not the checkpointed one. */
		int ok = !x->refused && reconnect(x, timeout, msg, sizeof(msg)) == 0;
		if (x->refused) {
			strlcpy(msg, x->why, sizeof(msg));
			refused++;
		}
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o}",
		    "type", "reconnect", "framework_id", x->framework_id,
		    "executor_id",
		    x->executor_id, "run_id", x->run_id, "pid", x->pid > 0 ?
		    json_integer(x->pid) : json_null(),
		    "result", x->refused ? "refused" : ok ? "reached" :
		    "unreachable", "message", jw_text(msg));
		failed += !ok && !x->refused;
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		fflush(stdout);
		json_decref(o);
	}
	targets_free(&t);
	if (lock >= 0)
		close(lock);
	return failed ? 1 : refused ? EX_DATAERR : EX_OK;
}
