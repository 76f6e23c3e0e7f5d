/*
 * recover.c: the agent's start: the recovery plan (recovery.h) carried
 * out.  Unacknowledged updates are forwarded again (`redelivered`), runs
 * whose executor lives wait for the loop to reconnect them, the others
 * end (executor.exit, or TASK_LOST).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "proc.h"
#include "recovery.h"
#include "taskstate.h"
#include "uuid.h"
#include "workdir.h"

/* A checkpointed, unacknowledged update: pending again, and emitted
 * again as it was. */
static void
recover_pending(struct agent *a, struct aexec *x, const struct state_pending *sp)
{
	struct pend *p = x_add_pending(a, x, sp->uuid, sp->state,
	    sp->timestamp, sp->message, sp->from_agent);

	pend_emit(a, p, true, NULL);
}

/* --no-strict: what was skipped is in the `recovery` event, and in the
 * log, one line each. */
static void
log_errors(const struct state_errors *l)
{
	for (size_t i = 0; i < l->n; i++)
		fprintf(stderr, "agent-run: --no-strict: skipped: %s%s%lld: %s\n",
		    l->v[i].path, l->v[i].offset >= 0 ? ": offset " : "",
		    l->v[i].offset >= 0 ? l->v[i].offset : 0LL, l->v[i].reason);
}

static void
log_skipped(const struct state *s)
{
	if (s == NULL)
		return;
	log_errors(&s->errors);
	for (size_t a = 0; a < s->n_agents; a++) {
		const struct state_agent *ag = &s->agents[a];
		log_errors(&ag->errors);
		for (size_t f = 0; f < ag->n_frameworks; f++) {
			const struct state_framework *fw = &ag->frameworks[f];
			log_errors(&fw->errors);
			for (size_t x = 0; x < fw->n_executors; x++) {
				const struct state_executor *ex = &fw->executors[x];
				log_errors(&ex->errors);
				for (size_t r = 0; r < ex->n_runs; r++) {
					log_errors(&ex->runs[r].errors);
					for (size_t t = 0; t < ex->runs[r].n_tasks; t++)
						log_errors(&ex->runs[r].tasks[t].errors);
				}
			}
		}
	}
}

/* Our id: the recovered agent's, the one given, or a new one. */
static void
agent_id(struct agent *a, const struct recovery_plan *p)
{
	a->is_new = p->agent == NULL;
	if (p->agent)
		strlcpy(a->id, p->agent->id, sizeof(a->id));
	else if (a->o->agent_id)
		strlcpy(a->id, a->o->agent_id, sizeof(a->id));
	else {
		uint8_t u[16];
		char t[UUID_TEXT];
		uuid_generate(u);
		uuid_format(u, t);
		snprintf(a->id, sizeof(a->id), "%s-S0", t);
	}
}

static void
recover_run(struct agent *a, const struct recovery_plan *p,
    const struct recovery_run *rr)
{
	const struct agent_options *o = a->o;
	const struct state_run *run = rr->run;
	const struct state_task *t = run->n_tasks ? &run->tasks[0] : NULL;
	struct aexec *x;

	if (rr->action == ACTION_KILL) {
		if (proc_terminate(run->pid, run->start_time, run->pid_mtime, run->id,
		    o->grace_ms) == 0)
			a->killed++;
	}
	if (!rr->checkpoint)
		return;		/* nothing of it is recovered */
	x = x_new(a, rr->framework->id, rr->executor->id, run->id,
	    t ? t->id : NULL);
	x->checkpoint = true;
	x->recovered = true;
	x->pid = run->pid;
	x->start = run->start_time;
	x->bound = run->pid_mtime;
	if (run->socket && (x->socket = strdup(run->socket)) == NULL)
		abort();
	x->has_secret = run->secret && secret_parse(run->secret, x->secret) == 0;
	if (t) {
		x->state = task_effective_state(t);
		x->terminal = t->terminal;
		/* Pending updates are forwarded again, once, whole (the walk
		 * kept their messages). */
		for (size_t k = 0; k < t->n_pending; k++)
			recover_pending(a, x, &t->pending[k]);
	}
	run_event(a, x, rr->action == ACTION_RECONNECT && !o->cleanup ?
	    EV_RECOVER : p->reboot ? EV_REBOOT : EV_EOF, NULL);
}

int
recover(struct agent *a, struct ckpt_error *e)
{
	const struct agent_options *o = a->o;
	struct state_options so = { .strict = o->strict, .repair = true,
	    .secrets = true, .messages = true };
	struct recovery_plan p;
	char host[256] = "localhost";
	int rc;

	if ((rc = recovery_plan(o->work, &so, o->cleanup, &p, e)) < 0) {
		if (rc == -EBADMSG && o->strict)
			strlcat(e->reason, " (--no-strict skips what cannot be "
			    "recovered and recovers the rest)", sizeof(e->reason));
		recovery_plan_free(&p);
		return rc;
	}
	if (!o->strict)
		log_skipped(p.state);
	agent_id(a, &p);
	if (o->hostname)
		strlcpy(host, o->hostname, sizeof(host));
	else
		gethostname(host, sizeof(host) - 1);
	Mesos__SlaveInfo si = MESOS__SLAVE_INFO__INIT;
	Mesos__SlaveID sid = MESOS__SLAVE_ID__INIT;
	sid.value = a->id;
	si.hostname = host;
	si.id = &sid;
	si.has_checkpoint = si.checkpoint = 1;
	if ((rc = checkpoint_agent(NULL, o->work, a->id, &si, e)) < 0) {
		recovery_plan_free(&p);
		return rc;
	}
	/* Written as it is built: at 10,000 runs a jansson tree of this
	 * one line cost a tenth of the restart. */
	struct jsonw w;
	char *text;
	size_t n;
	jw_init(&w, NULL);
	jw_object(&w, NULL);
	jw_string(&w, "event", "recovery");
	jw_string(&w, "agent_id", a->id);
	jw_bool(&w, "reboot", p.reboot);
	jw_bool(&w, "cleanup", o->cleanup);
	jw_array(&w, "runs");
	for (size_t i = 0; i < p.n_runs; i++)
		recovery_run_write(&w, &p, &p.runs[i]);
	jw_end(&w);
	jw_string(&w, "type", "recovery");
	jw_end(&w);
	jw_raw(&w, "\n", 1);
	if ((text = jw_take(&w, &n)) == NULL)
		abort();	/* as line_of: out of memory */
	emit_text(&a->dr, text, n);
	free(text);
	for (size_t i = 0; i < p.n_runs; i++)
		recover_run(a, &p, &p.runs[i]);
	char boot[64];
	strlcpy(boot, p.boot_id[0] ? p.boot_id : "unknown", sizeof(boot));
	recovery_plan_free(&p);
	/* The ends found (TASK_LOST, executor.exit) are durable first. */
	agent_commit(a);
	if (a->failed)
		return a->code;		/* said already */
	/* Rewritten only now: a crash during recovery sees the reboot again. */
	return bootid_write(o->work, boot, e);
}
