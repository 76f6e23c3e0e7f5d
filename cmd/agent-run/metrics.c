/*
 * metrics.c: what operators watch, as one `metrics` event: Mesos's
 * /metrics/snapshot names where one exists (slave/uptime_secs,
 * slave/registered, slave/recovery_errors, slave/executors_running,
 * slave/executors_terminated, slave/tasks_STATE, slave/valid_status_updates,
 * slave/invalid_status_updates) and ours under agent/.  Counted as things
 * happen (struct metrics), gauges taken by one pass over the runs: the
 * command answers in a few milliseconds at 10,000 executors.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "taskstate.h"
#include "update.h"
#include "version.h"

/* slave/tasks_STATE: the live ones now (live[state]), the ended ones
 * since the start. */
static void
tasks_by_state(const struct agent *a, json_t *o,
    const unsigned long long live[16])
{
	static const int running_states[] = { MESOS__TASK_STATE__TASK_STAGING,
	    MESOS__TASK_STATE__TASK_STARTING, MESOS__TASK_STATE__TASK_RUNNING,
	    MESOS__TASK_STATE__TASK_KILLING };
	static const int ended_states[] = { MESOS__TASK_STATE__TASK_FINISHED,
	    MESOS__TASK_STATE__TASK_FAILED, MESOS__TASK_STATE__TASK_KILLED,
	    MESOS__TASK_STATE__TASK_LOST, MESOS__TASK_STATE__TASK_ERROR,
	    MESOS__TASK_STATE__TASK_DROPPED, MESOS__TASK_STATE__TASK_GONE };
	const size_t n_running = sizeof(running_states) / sizeof(int);
	const size_t n_ended = sizeof(ended_states) / sizeof(int);
	char key[64];

	for (size_t i = 0; i < n_running + n_ended; i++) {
		int st = i < n_running ? running_states[i] :
		    ended_states[i - n_running];
		snprintf(key, sizeof(key), "slave/tasks_%s", task_state_name(st) + 5);
		for (char *k = key; *k; k++)
			*k = (char)(*k >= 'A' && *k <= 'Z' ? *k - 'A' + 'a' : *k);
		json_object_set_new(o, key, json_integer((json_int_t)(i <
		    n_running ? live[st] : a->m.terminal[st])));
	}
}

void
cmd_metrics(struct agent *a, struct command *c)
{
	unsigned long long live[16] = { 0 }, by_protocol[8] = { 0 };
	unsigned long long executors = 0, incompatible = 0, pending = 0;
	long long now = monotonic_ms();
	double oldest = 0;
	size_t queued = 0, drivers = drivers_count(&a->dr, &queued);
	struct timespec wall;
	struct aexec *x;
	struct pend *p;
	char key[64];
	json_t *o;

	if (c->argc != 1) {
		emit_error(a, "%s: takes no arguments", c->argv[0], NULL);
		return;
	}
	RB_FOREACH(x, executor_tree, &a->executors) {
		if (run_live(x->st))
			executors++;
		pending += x->n_pending;
		if (x->st == RUN_INCOMPATIBLE)
			incompatible++;
		if (x->st == RUN_CONNECTED && x->peer.protocol > 0 &&
		    x->peer.protocol < 8)
			by_protocol[x->peer.protocol]++;
		if (x->task && !x->terminal && x->state >= 0 && x->state < 16 &&
		    run_current(x))
			live[x->state]++;
	}
	/* The oldest update not yet acknowledged (the first by arrival): its
	 * age from its own timestamp, across restarts. */
	clock_gettime(CLOCK_REALTIME, &wall);
	if ((p = RB_MIN(seq_tree, &a->by_seq)) != NULL)
		oldest = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9 -
		    p->timestamp;
	o = json_pack("{s:s, s:f, s:i, s:I, s:I, s:I, s:I, s:I}",
	    "event", "metrics",
	    "slave/uptime_secs", (double)(now - a->start_ms) / 1000,
	    "slave/registered", a->announced ? 1 : 0,
	    "slave/recovery_errors", (json_int_t)a->m.recovery_errors,
	    "slave/executors_running", (json_int_t)executors,
	    "slave/executors_terminated", (json_int_t)a->m.executors_terminated,
	    "slave/valid_status_updates", (json_int_t)a->m.valid_updates,
	    "slave/invalid_status_updates", (json_int_t)a->m.invalid_updates);
	tasks_by_state(a, o, live);
	json_object_set_new(o, "agent/updates_pending",
	    json_integer((json_int_t)pending));
	json_object_set_new(o, "agent/oldest_pending_update_secs",
	    json_real(oldest > 0 ? oldest : 0));
	json_object_set_new(o, "agent/drivers", json_integer((json_int_t)drivers));
	json_object_set_new(o, "agent/driver_bytes_queued",
	    json_integer((json_int_t)queued));
	json_object_set_new(o, "agent/fdatasyncs",
	    json_integer((json_int_t)a->batch.syncs));
	json_object_set_new(o, "agent/updates_per_fdatasync", json_real(
	    a->batch.syncs ? (double)a->m.valid_updates /
	    (double)a->batch.syncs : 0));
	json_object_set_new(o, "agent/recovery_secs", json_real(
	    a->m.recovery_ms >= 0 ? (double)a->m.recovery_ms / 1000 : 0));
	json_object_set_new(o, "agent/recovery_reconnected",
	    json_integer(a->reconnected));
	json_object_set_new(o, "agent/recovery_lost", json_integer(a->lost));
	json_object_set_new(o, "agent/executors_incompatible",
	    json_integer((json_int_t)incompatible));
	for (int v = 1; v < 8; v++)
		if (by_protocol[v] || v == PROTOCOL_MAX) {
			snprintf(key, sizeof(key), "agent/executors_protocol_%d", v);
			json_object_set_new(o, key,
			    json_integer((json_int_t)by_protocol[v]));
		}
	json_object_set_new(o, "agent/version", json_string(version_release()));
	answer(&a->dr, o);
}
