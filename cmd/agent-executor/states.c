/*
 * states.c: the task's life, as its executor sees it: one table of state
 * by event giving what is done and the next state.  Every change of
 * state passes through x_event().  The next state is taken first, then
 * the action runs.  `exiting` is not a state of the task but the
 * executor's intent: leave once the task has ended (without waiting for
 * its updates to be acknowledged).
 *
 *  state     event       next      what is done
 *  RUNNING   KILL        KILLING   SIGTERM to the tree; SIGKILL at grace
 *  RUNNING   SHUTDOWN    KILLING   the same, and leave after
 *  RUNNING   AWAY        KILLING   the same, reported TASK_LOST
 *  KILLING   GRACE       -         SIGKILL to the tree
 *  RUNNING,
 *  KILLING   EXITED      ENDED     tree emptied, output drained, its end
 *                                  in executor.exit, then reported
 *  RUNNING   FAILED      ENDED     TASK_FAILED, with why
 *  any       AGENT_GONE  -         checkpointing: the recovery timeout
 *                                  starts (AWAY when it passes); not:
 *                                  AWAY now
 *  KILLING,
 *  ENDED     SHUTDOWN,
 *            AWAY        -         leave once the task has ended
 */
#include <signal.h>
#include <stdio.h>

#include "exec.h"
#include "update.h"

typedef void action(struct executor *, const void *);

static action on_kill, on_shutdown, on_away, on_grace, on_exited, on_failed,
    on_agent_gone, on_leave;

#define SAME	T_STATES	/* the state stays */

static const struct step {
	enum task_state next;
	action *act;		/* NULL: not in the table, ignored */
} steps[T_STATES][X_EVENTS] = {
	[T_RUNNING][XE_KILL] = { T_KILLING, on_kill },
	[T_RUNNING][XE_SHUTDOWN] = { T_KILLING, on_shutdown },
	[T_RUNNING][XE_AWAY] = { T_KILLING, on_away },
	[T_RUNNING][XE_EXITED] = { T_ENDED, on_exited },
	[T_RUNNING][XE_FAILED] = { T_ENDED, on_failed },
	[T_RUNNING][XE_AGENT_GONE] = { SAME, on_agent_gone },
	[T_KILLING][XE_GRACE] = { SAME, on_grace },
	[T_KILLING][XE_EXITED] = { T_ENDED, on_exited },
	[T_KILLING][XE_SHUTDOWN] = { SAME, on_leave },
	[T_KILLING][XE_AWAY] = { SAME, on_leave },
	[T_KILLING][XE_AGENT_GONE] = { SAME, on_agent_gone },
	[T_ENDED][XE_SHUTDOWN] = { SAME, on_leave },
	[T_ENDED][XE_AWAY] = { SAME, on_leave },
	[T_ENDED][XE_AGENT_GONE] = { SAME, on_agent_gone },
};

static const char *const state_names[T_STATES] = { "running", "killing",
    "ended" };
static const char *const event_names[X_EVENTS] = { "kill", "shutdown",
    "agent-gone", "away", "grace", "exited", "failed" };

void
x_event(struct executor *x, enum x_event ev, const void *arg)
{
	const struct step *s = &steps[x->st][ev];
	char what[64];

	if (s->act == NULL)
		return;
	if (s->next != SAME && s->next != x->st) {
		/* A few a run, each worth reading after an incident. */
		snprintf(what, sizeof(what), "%s -%s-> %s", state_names[x->st],
		    event_names[ev], state_names[s->next]);
		logmsg("task: %s", what);
		x->st = s->next;
	}
	s->act(x, arg);
}

/* SIGTERM to the whole tree, reported as reason; SIGKILL after grace. */
static void
kill_tree(struct executor *x, int reason, long long grace_ms)
{
	x->kill_reason = reason;
	signal_tree(x, SIGTERM);
	x->kill_deadline = monotonic_ms() + grace_ms;
}

static void
on_kill(struct executor *x, const void *arg)
{
	kill_tree(x, MESOS__TASK_STATE__TASK_KILLED, arg ?
	    *(const long long *)arg : x->o->grace_ms);
}

static void
on_leave(struct executor *x, const void *arg)
{
	(void)arg;
	x->exiting = true;
	x->away_deadline = 0;
}

static void
on_shutdown(struct executor *x, const void *arg)
{
	on_kill(x, arg);
	on_leave(x, NULL);
}

static void
on_away(struct executor *x, const void *arg)
{
	(void)arg;
	kill_tree(x, MESOS__TASK_STATE__TASK_LOST, x->o->grace_ms);
	on_leave(x, NULL);
}

static void
on_grace(struct executor *x, const void *arg)
{
	(void)arg;
	signal_tree(x, SIGKILL);
	x->kill_deadline = 0;
}

static void
on_exited(struct executor *x, const void *arg)
{
	task_exited(x, *(const int *)arg);
}

static void
on_failed(struct executor *x, const void *arg)
{
	task_failed(x, arg);
}

/* Not checkpointing: the task does not outlive its agent. */
static void
on_agent_gone(struct executor *x, const void *arg)
{
	(void)arg;
	if (!x->o->checkpoint)
		x_event(x, XE_AWAY, NULL);
	else if (x->tool && x->away_deadline) {
		x->tool = false;	/* (a tool came and went: it runs on) */
	} else {
		x->away_deadline = monotonic_ms() + x->o->recovery_timeout_ms;
		note_deadline(x, x->o->recovery_timeout_ms);
	}
}
