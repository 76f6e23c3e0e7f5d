/*
 * events.c: the events the agent writes, built in one place each (they
 * leave through the drivers' queues, out.c).
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
error_event(struct agent *a, const char *fmt, const char *arg,
    const struct ckpt_error *e)
{
	char msg[1024], buf[PATH_MAX + 600];

	snprintf(msg, sizeof(msg), fmt, arg);
	if (e != NULL) {
		strlcat(msg, ": ", sizeof(msg));
		strlcat(msg, error_format(e, buf, sizeof(buf)), sizeof(msg));
	}
	log_line(&a->log, LOG_ERR, "%s", msg);
	return json_pack("{s:s, s:o}", "event", "error", "message",
	    jw_text(msg));
}

void
emit_error(struct agent *a, const char *fmt, const char *arg,
    const struct ckpt_error *e)
{
	answer(&a->dr, error_event(a, fmt, arg, e));
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
	out_drop_uncommitted(&a->dr);
	/* Every driver hears of it, not only the one whose command failed. */
	emit(&a->dr, error_event(a, fmt, arg, e));
	out_commit(&a->dr);
	a->code = e->code ? e->code : -EIO;
	a->failed = a->quit = true;
}

/*
 * The events that come by the ten thousand (updates, redelivered ones at
 * a restart, `reconnected`) are written with the JSON writer, without a
 * jansson tree: the same text as x_json's (its members first, `type`
 * last), a fifth of the cost.
 */
static void
line_begin(struct jsonw *w, const char *event, const struct aexec *x)
{
	jw_init(w, NULL);
	jw_object(w, NULL);
	jw_string(w, "event", event);
	jw_string(w, "framework_id", x->framework);
	jw_string(w, "executor_id", x->executor);
	jw_string(w, "run_id", x->run);
	jw_string(w, "task_id", x->task);
}

/* For every driver (d NULL), or for d. */
static void
line_emit(struct agent *a, struct jsonw *w, const char *event,
    struct driver *d)
{
	char *text;
	size_t n;

	jw_string(w, "type", event);
	jw_end(w);
	jw_raw(w, "\n", 1);
	if ((text = jw_take(w, &n)) == NULL)
		abort();	/* as line_of: out of memory */
	if (d != NULL)
		emit_text_to(&a->dr, d, text, n);
	else
		emit_text(&a->dr, text, n);
	free(text);
}

/* The event that forwards an update: the one shape for new and
 * redelivered updates alike. */
void
update_emit(struct agent *a, const struct aexec *x, int state,
    const uint8_t uuid[16], double timestamp, const char *message,
    const char *source, int reason, int healthy, bool redelivered,
    struct driver *d)
{
	struct jsonw w;
	char text[UUID_TEXT];

	uuid_format(uuid, text);
	line_begin(&w, "update", x);
	jw_string(&w, "state", task_state_name(state));
	jw_string(&w, "uuid", text);
	jw_real(&w, "timestamp", timestamp);
	jw_string(&w, "message", message);
	jw_string(&w, "source", source);
	/* Mesos's TaskStatus reason, when there is one. */
	if (reason >= 0 && task_reason_name(reason))
		jw_string(&w, "reason", task_reason_name(reason));
	else if (reason >= 0)
		jw_int(&w, "reason", reason);
	if (healthy >= 0)
		jw_bool(&w, "healthy", healthy);
	if (redelivered)
		jw_bool(&w, "redelivered", true);
	line_emit(a, &w, "update", d);
}

void
pend_emit(struct agent *a, const struct pend *p, bool redelivered,
    struct driver *d)
{
	update_emit(a, p->x, p->state, p->uuid, p->timestamp, p->message,
	    p->from_agent ? "agent" : "executor", p->reason, p->healthy,
	    redelivered, d);
}

void
reconnected_emit(struct agent *a, const struct aexec *x)
{
	struct jsonw w;

	line_begin(&w, "reconnected", x);
	jw_int(&w, "pid", x->pid);
	line_emit(a, &w, "reconnected", NULL);
}
