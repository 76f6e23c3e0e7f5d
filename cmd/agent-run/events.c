/*
 * events.c: the events the agent writes, built in one place each (they
 * leave through the drivers' queues, drivers.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "taskstate.h"
#include "jsonw.h"
#include "uuid.h"

json_t *
x_json(const char *event, const struct aexec *x)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", event,
	    "framework_id", x->framework, "executor_id", x->executor,
	    "run_id", x->run);

	json_object_set_new(o, "task_id", x->task ? json_string(x->task) :
	    json_null());
	return o;
}

/* fmt (with arg), then what e says: logged, and as an error event. */
static json_t *
error_event(const char *fmt, const char *arg, const struct ckpt_error *e)
{
	char msg[1024], buf[PATH_MAX + 600];

	snprintf(msg, sizeof(msg), fmt, arg);
	if (e != NULL) {
		strlcat(msg, ": ", sizeof(msg));
		strlcat(msg, error_format(e, buf, sizeof(buf)), sizeof(msg));
	}
	fprintf(stderr, "agent-run: %s\n", msg);
	return json_pack("{s:s, s:o}", "event", "error", "message",
	    jw_text(msg));
}

/* The answer to the command being done, or an event for every driver. */
void
emit_error(const char *fmt, const char *arg, const struct ckpt_error *e)
{
	answer(error_event(fmt, arg, e));
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
	/* Every driver hears of it, not only the one whose command failed. */
	emit(error_event(fmt, arg, e));
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
	json_object_set_new(o, "message", message ? jw_text(message) :
	    json_null());
	json_object_set_new(o, "source", json_string(source));
	return o;
}
