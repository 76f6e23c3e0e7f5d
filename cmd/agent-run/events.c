/*
 * events.c: events leave through one queue, written to stdout only as
 * fast as the driver reads them: the agent never blocks on its output (a
 * driver that writes acks while it reads no events would deadlock both).
 * What is queued leaves only once committed: out_commit() marks it after
 * the turn's checkpoints are durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "taskstate.h"
#include "uuid.h"

static struct {
	char *buf;
	size_t len, ready, cap;		/* bytes queued; of them, committed */
	bool nonblocking;		/* stdout is a pipe or socket */
} out;

void
out_init(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		int fl = fcntl(STDOUT_FILENO, F_GETFL);
		if (fl >= 0 && fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
			out.nonblocking = true;
	}
}

/* Write what the driver takes now of the committed bytes (all of them
 * with wait, or when stdout cannot be polled).  0, or -1 when stdout is
 * gone. */
int
out_flush(bool wait)
{
	size_t done = 0;
	int rc = 0;

	while (done < out.ready) {
		ssize_t n = write(STDOUT_FILENO, out.buf + done, out.ready - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait && out.nonblocking)
				break;
			struct pollfd p = { STDOUT_FILENO, POLLOUT, 0 };
			poll(&p, 1, -1);
			continue;
		}
		rc = -1;		/* EPIPE: nobody reads; drop it all */
		done = out.ready;
	}
	if (done > 0) {
		memmove(out.buf, out.buf + done, out.len - done);
		out.len -= done;
		out.ready -= done;
	}
	return rc;
}

size_t
out_queued(void)
{
	return out.len;
}

bool
out_waiting(void)
{
	return out.ready > 0;
}

void
out_commit(void)
{
	out.ready = out.len;
}

void
out_drop_uncommitted(void)
{
	out.len = out.ready;
}

void
out_free(void)
{
	free(out.buf);
	out.buf = NULL;
	out.len = out.ready = out.cap = 0;
}

void
emit(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	size_t n;

	json_decref(o);
	if (text == NULL)
		abort();
	n = strlen(text);
	if (out.len + n + 1 > out.cap) {
		size_t cap = out.cap ? out.cap : 65536;
		while (cap < out.len + n + 1)
			cap *= 2;
		if ((out.buf = realloc(out.buf, cap)) == NULL)
			abort();
		out.cap = cap;
	}
	memcpy(out.buf + out.len, text, n);
	out.buf[out.len + n] = '\n';
	out.len += n + 1;
	free(text);
}

json_t *
x_json(const char *event, const struct aexec *x)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", event,
	    "framework_id", x->framework, "executor_id", x->executor,
	    "run_id", x->run);

	if (x->task)
		json_object_set_new(o, "task_id", json_string(x->task));
	return o;
}

void
emit_error(const char *fmt, const char *arg, const struct ckpt_error *e)
{
	char msg[1024], buf[PATH_MAX + 600];

	snprintf(msg, sizeof(msg), fmt, arg);
	if (e != NULL) {
		strlcat(msg, ": ", sizeof(msg));
		strlcat(msg, error_format(e, buf, sizeof(buf)), sizeof(msg));
	}
	fprintf(stderr, "agent-run: %s\n", msg);
	emit(json_pack("{s:s, s:s}", "event", "error", "message", msg));
}

/* A checkpoint could not be written: nothing may be acknowledged or
 * forwarded without it, so the agent stops (exit 74 or 73) after this
 * one error; what this turn queued is dropped (it is not durable), the
 * executors wait for the next agent, and recovery starts from what is
 * durable. */
void
fatal(struct agent *a, const char *fmt, const char *arg,
    const struct ckpt_error *e)
{
	if (a->failed)
		return;
	out_drop_uncommitted();
	emit_error(fmt, arg, e);
	out_commit();
	a->status = error_exit_code(e->code ? e->code : -EIO);
	a->failed = a->quit = true;
}

/* The event that forwards an update: the one shape for new and
 * redelivered updates alike. */
json_t *
update_event(const struct aexec *x, int state, const uint8_t uuid[16],
    double timestamp, const char *message, const char *source)
{
	json_t *o = x_json("update", x);
	char text[UUID_TEXT];

	uuid_format(uuid, text);
	json_object_set_new(o, "state", json_string(task_state_name(state)));
	json_object_set_new(o, "uuid", json_string(text));
	json_object_set_new(o, "timestamp", json_real(timestamp));
	if (message)
		json_object_set_new(o, "message", json_string(message));
	json_object_set_new(o, "source", json_string(source));
	return o;
}
