/*
 * commands.c: the command language read on stdin, one line each:
 * launch (launch.c), ack, kill, shutdown, ping.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "taskstate.h"
#include "update.h"
#include "uuid.h"

/* ack UUID: the ACK record into the batch; the executor hears of it and
 * `acknowledged` is written after the commit. */
static void
cmd_ack(struct agent *a, const char *text)
{
	uint8_t uuid[16];
	struct pend *p;
	struct aexec *x;

	if (uuid_parse(text, uuid) < 0) {
		emit_error("ack: '%s' is not a uuid", text, NULL);
		return;
	}
	if ((p = find_pending(a, uuid)) == NULL) {
		emit_error("ack: no pending update has uuid %s", text, NULL);
		return;
	}
	x = p->x;
	if (x_checkpoint_ack(a, x, uuid, text) < 0)
		return;
	agent_defer_ack(a, x, uuid, task_state_terminal(p->state));
	ack_pending(a, p);
	json_t *o = x_json("acknowledged", x);
	json_object_set_new(o, "uuid", json_string(text));
	emit(o);
}

static void
cmd_kill(struct agent *a, struct command *c)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	struct aexec *x;

	if (c->argc != 2 && c->argc != 3) {
		emit_error("kill: %s", "usage: kill [FRAMEWORK] TASK", NULL);
		return;
	}
	x = find_task(a, c->argc == 3 ? c->argv[1] : NULL, c->argv[c->argc - 1]);
	if (x == NULL || x->terminal) {
		emit_error("kill: no running task '%s'", c->argv[c->argc - 1], NULL);
		return;
	}
	if (x->st != X_CONNECTED) {
		emit_error("kill: the executor of task '%s' is not connected",
		    x->task, NULL);
		return;
	}
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__KILL;
	m.has_grace_ms = 1;
	m.grace_ms = a->o->grace_ms;
	x_send(a, x, &m);
}

static void
cmd_shutdown(struct agent *a)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	struct aexec *x, *next;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__SHUTDOWN;
	m.has_grace_ms = 1;
	m.grace_ms = a->o->grace_ms;
	a->shutting_down = true;
	a->shutdown_deadline = monotonic_ms() + a->o->grace_ms + 3000;
	RB_FOREACH_SAFE(x, executor_tree, &a->executors, next)
		x_send(a, x, &m);
}

void
command(struct agent *a, const char *line)
{
	struct command c;
	struct ckpt_error e;

	if (command_parse(line, &c, &e) < 0) {
		char where[600];
		snprintf(where, sizeof(where), "byte %lld: %s", e.offset, e.reason);
		emit_error("command: %s", where, NULL);
		return;
	}
	if (c.argc == 0)
		;
	else if (a->shutting_down)
		emit_error("%s: shutting down", c.argv[0], NULL);
	else if (strcmp(c.argv[0], "launch") == 0)
		cmd_launch(a, &c);
	else if (strcmp(c.argv[0], "ack") == 0 && c.argc == 2)
		cmd_ack(a, c.argv[1]);
	else if (strcmp(c.argv[0], "kill") == 0)
		cmd_kill(a, &c);
	else if (strcmp(c.argv[0], "shutdown") == 0)
		cmd_shutdown(a);
	else if (strcmp(c.argv[0], "ping") == 0)
		emit(json_pack("{s:s}", "event", "pong"));
	else
		emit_error("unknown command '%s' (launch, kill, ack, shutdown, "
		    "ping)", c.argv[0], NULL);
	command_free(&c);
}
