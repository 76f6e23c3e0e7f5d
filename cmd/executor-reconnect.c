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
#include "session.h"
#include "state.h"
#include "statejson.h"
#include "targets.h"
#include "update.h"
#include "uuid.h"
#include "version.h"
#include "workdir.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: executor-reconnect [--timeout DUR] < recover-lines\n"
	    "       executor-reconnect [--timeout DUR] -d WORK -f FRAMEWORK -e EXECUTOR [-r RUN]\n");
	exit(status);
}

/* An update the executor sent again: checkpointed if new, acknowledged
 * if its ack is checkpointed already, and printed. */
static void
update_seen(struct channel *c, const struct target *x,
    const struct ckpt_ids *ids, const Mesos__StatusUpdate *u)
{
	const uint8_t *uuid = update_uuid_bytes(u);
	char path[PATH_MAX];
	struct ckpt_error e;
	int known = 0;

	path_build(path, sizeof(path), x->work_dir, PATH_TASK_UPDATES, ids,
	    NULL);
	if (uuid && (known = state_update_known(path, uuid)) == 0 &&
	    x->checkpoint && checkpoint_update(x->work_dir, ids, u, &e) < 0)
		error_print(&e);
	if (uuid && known == 2)
		session_ack(c, uuid);
	json_t *o = statejson_update(u);
	json_object_set_new(o, "type", json_string("update"));
	json_object_set_new(o, "event", json_string("update"));
	json_object_set_new(o, "framework_id", json_string(ids->framework));
	json_object_set_new(o, "executor_id", json_string(ids->executor));
	json_object_set_new(o, "task_id", json_string(ids->task));
	json_object_set_new(o, "acknowledged", json_boolean(known == 2));
	json_object_set_new(o, "new", json_boolean(known == 0));
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

/* One handshake: 0 reached, or a reason in msg. */
static int
reconnect(const struct target *x, long long timeout, char *msg, size_t len)
{
	const char *sock = x->socket;
	struct ckpt_ids ids = { x->agent_id, x->framework_id, x->executor_id,
	    x->run_id, x->task_id };
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
	/* Proven with the run's secret, as the agent does (none: an older
	 * run, whose executor asks for none). */
	uint8_t secret[SECRET_LEN];
	session_register(&c, ids.agent, work && secret_load(work, &ids, secret,
	    &e) == 0 ? secret : NULL, false);
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
			enum session_answer sa = session_answer(m, &expect, NULL,
			    msg, len);
			if (sa == SESSION_OTHER && m->type ==
			    AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPDATE &&
			    m->update && ids.task) {
				got++;
				update_seen(&c, x, &ids, m->update);
			}
			agentproto__executor_message__free_unpacked(m, NULL);
			if (sa == SESSION_INCOMPATIBLE) {
				channel_close(&c);
				return -1;	/* msg says why */
			}
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
		TARGET_OPTIONS,
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct target_choice choice = { NULL, { 0 } };
	struct targets t;
	struct ckpt_error e;
	long long timeout = 2000;
	int ch, rc, failed = 0, lock = -1, refused = 0;

	while ((ch = getopt_long(argc, argv, TARGET_OPTSTRING "h", longopts,
	    NULL)) != -1) {
		if (target_option(&choice, ch, optarg))
			continue;
		switch (ch) {
		case 't':
			if (cli_duration("--timeout", optarg, &timeout, &e) < 0)
				errx(EX_USAGE, "%s", e.reason);
			break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': { char v[160]; puts(version_line(getprogname(), false, v, sizeof(v))); } return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if ((rc = targets_choose(&choice, &t, &e)) < 0) {
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
		failed += !ok && !x->refused;
		json_t *o = target_result("reconnect", x, x->refused ? "refused" :
		    ok ? "reached" : "unreachable", msg);
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
