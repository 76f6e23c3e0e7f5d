/*
 * commands.c: the command language, one command per line, from any
 * driver: launch (launch.c), kill, ack, reconcile, shutdown, ping.  A
 * line may begin with `@ID`: the driver's own name for the command.
 * Every command gets exactly one answer (drivers.c names it); a command
 * with words it does not take is refused whole, nothing done.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "jsonw.h"
#include "proc.h"
#include "taskstate.h"
#include "update.h"
#include "uuid.h"

/* ack UUID: the ACK record into the batch; the executor hears of it and
 * `acknowledged` is written after the commit. */
static void
cmd_ack(struct agent *a, struct command *c)
{
	uint8_t uuid[16];
	struct pend *p;
	struct aexec *x;

	if (c->argc != 2) {
		emit_error(a, "ack: %s", "usage: ack UUID", NULL);
		return;
	}
	if (uuid_parse(c->argv[1], uuid) < 0) {
		emit_error(a, "ack: '%s' is not a uuid", c->argv[1], NULL);
		return;
	}
	if ((p = find_pending(a, uuid)) == NULL) {
		emit_error(a, "ack: no pending update has uuid %s", c->argv[1],
		    NULL);
		return;
	}
	x = p->x;
	if (x_checkpoint_ack(a, x, uuid, c->argv[1]) < 0)
		return;
	agent_defer_ack(a, x, uuid, update_ack_settles(p->state));
	ack_pending(a, p);
	json_t *o = x_json("acknowledged", x);
	json_object_set_new(o, "uuid", jw_text(c->argv[1]));
	answer(&a->dr, o);
}

/* Task ids are per framework: a bare id that names live tasks of more
 * than one framework is refused, with the frameworks listed. */
static bool
ambiguous_task(struct agent *a, const char *task)
{
	struct aexec key = { .task = (char *)task, .framework = "" }, *x;
	char list[1024] = "";
	int n = 0;

	for (x = RB_NFIND(task_tree, &a->tasks, &key);
	    x && strcmp(x->task, task) == 0; x = RB_NEXT(task_tree, &a->tasks, x))
		if (run_current(x) && !x->terminal) {
			if (n++ > 0)
				strlcat(list, ", ", sizeof(list));
			strlcat(list, x->framework, sizeof(list));
		}
	if (n < 2)
		return false;
	char msg[1200];
	snprintf(msg, sizeof(msg), "task '%s' is in %d frameworks (%s): say "
	    "which, as kill FRAMEWORK TASK", task, n, list);
	emit_error(a, "kill: %s", msg, NULL);
	return true;
}

static void
cmd_kill(struct agent *a, struct command *c)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	struct aexec *x;

	if (c->argc != 2 && c->argc != 3) {
		emit_error(a, "kill: %s", "usage: kill [FRAMEWORK] TASK", NULL);
		return;
	}
	if (c->argc == 2 && ambiguous_task(a, c->argv[1]))
		return;
	x = find_task(a, c->argc == 3 ? c->argv[1] : NULL, c->argv[c->argc - 1]);
	if (x == NULL || x->terminal) {
		emit_error(a, "kill: no running task '%s'", c->argv[c->argc - 1], NULL);
		return;
	}
	if (x->st == RUN_INCOMPATIBLE) {
		emit_error(a, "kill: the executor of task '%s' is left alone, "
		    "incompatible with this agent (recover --recover=cleanup "
		    "kills it)", x->task, NULL);
		return;
	}
	if (x->st != RUN_CONNECTED) {
		emit_error(a, "kill: the executor of task '%s' is not connected",
		    x->task, NULL);
		return;
	}
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__KILL;
	m.has_grace_ms = 1;
	m.grace_ms = a->o->grace_ms;
	x_send(a, x, &m);
	log_line(&a->log, LOG_INFO, "kill: task %s of framework %s (run %s, "
	    "pid %ld): its executor stops its tree, SIGKILL after %lld ms",
	    x->task, x->framework, x->run, (long)x->pid, a->o->grace_ms);
	answer(&a->dr, x_json("killing", x));
}

/* One task's status, as reconciliation answers it. */
static json_t *
status_event(const struct aexec *x)
{
	json_t *o = x_json("status", x);
	bool alive = x->st == RUN_CONNECTED || (x->pid > 0 &&
	    run_live(x->st) &&
	    proc_identify(x->pid, x->start, x->bound, x->run) == PROC_SAME);
	/* What reconcile has always said: connecting until connected. */
	static const char *const names[RUN_STATES] = { "gone", "connecting",
	    "connecting", "connecting", "connected", "gone", "gone", "gone",
	    "incompatible" };

	json_object_set_new(o, "state", x->state >= 0 ?
	    json_string(task_state_name(x->state)) : json_null());
	json_object_set_new(o, "pending", json_integer((json_int_t)x->n_pending));
	json_object_set_new(o, "pid", x->pid > 0 ? json_integer(x->pid) :
	    json_null());
	json_object_set_new(o, "alive", json_boolean(alive));
	json_object_set_new(o, "executor", json_string(names[x->st]));
	/* Which executor runs it (a rolling upgrade lists the old ones):
	 * known once it has answered this agent. */
	json_object_set_new(o, "executor_version", x->peer.version[0] ?
	    json_string(x->peer.version) : json_null());
	json_object_set_new(o, "executor_protocol", x->peer.protocol > 0 ?
	    json_integer(x->peer.protocol) : json_null());
	if (x->incompatible)
		json_object_set_new(o, "reason", json_string(x->incompatible));
	/* Its health, when it has a check and one has answered. */
	if (x->healthy >= 0)
		json_object_set_new(o, "healthy", json_boolean(x->healthy));
	return o;
}

/* reconcile [TASK ...]: a `status` event per task (every task the agent
 * knows, or those named: a task it does not know is TASK_UNKNOWN), then
 * the answer, `reconciled`, with how many were sent. */
static void
cmd_reconcile(struct agent *a, struct command *c)
{
	struct driver *d = a->dr.cur.d;
	struct aexec *x, key = { .task = NULL };
	int n = 0;

	if (c->argc == 1) {
		RB_FOREACH(x, task_tree, &a->tasks) {
			emit_to(&a->dr, d, status_event(x));
			n++;
		}
	}
	for (int i = 1; i < c->argc; i++) {
		int found = 0;
		key.task = c->argv[i];
		key.framework = key.run = NULL;
		for (x = RB_NFIND(task_tree, &a->tasks, &key);
		    x && strcmp(x->task, c->argv[i]) == 0;
		    x = RB_NEXT(task_tree, &a->tasks, x), found++)
			emit_to(&a->dr, d, status_event(x));
		if (!found)
			emit_to(&a->dr, d, json_pack("{s:s, s:n, s:n, s:n, s:o, s:s, "
			    "s:i, s:n, s:b, s:n}", "event", "status",
			    "framework_id", "executor_id", "run_id", "task_id",
			    jw_text(c->argv[i]), "state", "TASK_UNKNOWN", "pending", 0,
			    "pid", "alive", 0, "executor"));
		n += found ? found : 1;
	}
	/* Which boot, and since when this agent is up: a task the answer does
	 * not name is unknown to this agent of this boot. */
	answer(&a->dr, json_pack("{s:s, s:i, s:s, s:s, s:f}", "event",
	    "reconciled", "tasks", n, "agent_id", a->id, "boot_id", a->boot_id,
	    "up_since", a->up_since));
}

/* Why x's executor cannot be upgraded in place now, or NULL. */
static const char *
cannot_upgrade(const struct aexec *x, char *buf, size_t len)
{
	if (x->terminal)
		return "its task has ended";
	if (x->st != RUN_CONNECTED)
		return "its executor is not connected";
	if (x->upgrading)
		return "an upgrade is under way";
	if (strstr(x->peer.capabilities, "reexec") == NULL) {
		snprintf(buf, len, "its executor (agent-executor %s) cannot "
		    "re-exec itself: it keeps its code until its task ends",
		    x->peer.version);
		return buf;
	}
	return NULL;
}

/* upgrade [TASK ...]: each executor (of every task, or those named)
 * re-execs itself into the installed agent-executor, keeping its task
 * (handoff.c of agent-executor).  Answer: `upgrading`, with those asked
 * and those that cannot be (and why); then, per executor, `upgraded`
 * (its new release) or `upgrade_failed` (it carries on as it was). */
static void
cmd_upgrade(struct agent *a, struct command *c)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	json_t *asked = json_array(), *skipped = json_array();
	char *path = executor_binary(a->o), buf[200];
	struct aexec *x, *next;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPGRADE;
	m.path = path;
	for (int i = 1; i < c->argc; i++)
		if (find_task(a, NULL, c->argv[i]) == NULL)
			json_array_append_new(skipped, json_pack("{s:o, s:s}",
			    "task_id", jw_text(c->argv[i]), "reason",
			    "no running task of that name"));
	RB_FOREACH_SAFE(x, executor_tree, &a->executors, next) {
		const char *why;
		bool named = c->argc == 1;
		for (int i = 1; i < c->argc && !named; i++)
			named = x->task && strcmp(x->task, c->argv[i]) == 0;
		if (!named || !run_current(x) || x->task == NULL)
			continue;
		if ((why = cannot_upgrade(x, buf, sizeof(buf))) != NULL) {
			json_array_append_new(skipped, json_pack("{s:o, s:s}",
			    "task_id", jw_text(x->task), "reason", why));
			continue;
		}
		x->upgrading = true;
		strlcpy(x->upgrade_from, x->peer.version, sizeof(x->upgrade_from));
		json_array_append_new(asked, jw_text(x->task));
		log_line(&a->log, LOG_INFO, "upgrade: task %s (run %s): its "
		    "executor (agent-executor %s, pid %ld) re-execs into %s",
		    x->task, x->run, x->peer.version, (long)x->pid, path);
		x_send(a, x, &m);
	}
	answer(&a->dr, json_pack("{s:s, s:s, s:o, s:o}", "event", "upgrading",
	    "path", path, "tasks", asked, "skipped", skipped));
	free(path);
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
	answer(&a->dr, json_pack("{s:s, s:I}", "event", "shutting_down", "executors",
	    (json_int_t)a->n_live));
}

/* A command that takes no words: refused with its usage when given some. */
static bool
no_words(struct agent *a, const struct command *c)
{
	if (c->argc == 1)
		return true;
	emit_error(a, "%s: takes no arguments", c->argv[0], NULL);
	return false;
}

void
command(struct agent *a, const char *line)
{
	struct command c;
	struct ckpt_error e;
	char **words;
	int n_words;

	if (command_parse(line, &c, &e) < 0) {
		char where[600];
		snprintf(where, sizeof(where), "byte %lld: %s", e.offset, e.reason);
		emit_error(a, "command: %s", where, NULL);
		return;
	}
	words = c.argv;
	n_words = c.argc;
	/* @ID names the command in its answer. */
	if (c.argc > 0 && c.argv[0][0] == '@') {
		a->dr.cur.id = c.argv[0] + 1;
		c.argv++;
		c.argc--;
		if (c.argc == 0)
			emit_error(a, "command @%s: no command after the id",
			    c.argv[-1] + 1, NULL);
	}
	if (c.argc == 0)
		;
	else if (a->shutting_down && strcmp(c.argv[0], "ping") != 0 &&
	    strcmp(c.argv[0], "reconcile") != 0 && strcmp(c.argv[0], "ack") != 0 &&
	    strcmp(c.argv[0], "usage") != 0 && strcmp(c.argv[0], "metrics") != 0)
		emit_error(a, "%s: shutting down", c.argv[0], NULL);
	else if (strcmp(c.argv[0], "launch") == 0)
		cmd_launch(a, &c);
	else if (strcmp(c.argv[0], "ack") == 0)
		cmd_ack(a, &c);
	else if (strcmp(c.argv[0], "kill") == 0)
		cmd_kill(a, &c);
	else if (strcmp(c.argv[0], "reconcile") == 0)
		cmd_reconcile(a, &c);
	else if (strcmp(c.argv[0], "upgrade") == 0)
		cmd_upgrade(a, &c);
	else if (strcmp(c.argv[0], "usage") == 0)
		cmd_usage(a, &c);
	else if (strcmp(c.argv[0], "metrics") == 0)
		cmd_metrics(a, &c);
	else if (strcmp(c.argv[0], "shutdown") == 0) {
		if (no_words(a, &c))
			cmd_shutdown(a);
	} else if (strcmp(c.argv[0], "ping") == 0) {
		if (no_words(a, &c))
			answer(&a->dr, json_pack("{s:s}", "event", "pong"));
	} else
		emit_error(a, "unknown command '%s' (launch, kill, ack, reconcile, "
		    "usage, metrics, upgrade, shutdown, ping)", c.argv[0], NULL);
	/* Exactly one answer: a command that said nothing (a fatal error
	 * answered every driver) still gets one. */
	if (c.argc > 0 && !answered(&a->dr) && !a->defer)
		answer(&a->dr, json_pack("{s:s, s:s}", "event", "error", "message",
		    "not done: the agent is stopping"));
	c.argv = words;
	c.argc = n_words;
	command_free(&c);
}
