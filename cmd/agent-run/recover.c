/*
 * recover.c: the agent's start, in one walk of the work dir (recovery.h):
 * each run not yet terminated becomes a run of the agent as the walk
 * finds it (those that are the agent's to kill are killed), its
 * unacknowledged updates pending again; the `recovery` event is written
 * as the walk goes.  Then, run by run: its updates are forwarded again
 * (`redelivered`), and it waits for the loop to reconnect it, or ends
 * (executor.exit, or TASK_LOST).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "proc.h"
#include "recovery.h"
#include "taskstate.h"
#include "uuid.h"
#include "version.h"
#include "workdir.h"

/* What the walk found, to act on once it is done. */
struct found {
	struct aexec *x;
	enum run_event ev;
};

struct recovering {
	struct agent *a;
	struct jsonw w;			/* the `recovery` event */
	bool begun;
	struct found *v;
	size_t n, cap;
	char framework[ID_MAX + 1], executor[ID_MAX + 1];
};

/* --no-strict: what was skipped is in the `recovery` event, and in the
 * log, one line each. */
static void
log_errors(void *ctx, const struct state_errors *l)
{
	struct recovering *rc = ctx;

	rc->a->m.recovery_errors += l->n;
	for (size_t i = 0; i < l->n; i++)
		log_line(&rc->a->log, LOG_NOTICE, "--no-strict: skipped: %s%s%lld: "
		    "%s", l->v[i].path, l->v[i].offset >= 0 ? ": offset " : "",
		    l->v[i].offset >= 0 ? l->v[i].offset : 0LL, l->v[i].reason);
}

/* A run's errors, and its executor's and framework's once each. */
static void
log_run_errors(struct recovering *rc, const struct recovery_run *rr)
{
	if (strcmp(rc->framework, rr->framework->id) != 0) {
		strlcpy(rc->framework, rr->framework->id, sizeof(rc->framework));
		rc->executor[0] = '\0';
		log_errors(rc, &rr->framework->errors);
	}
	if (strcmp(rc->executor, rr->executor->id) != 0) {
		strlcpy(rc->executor, rr->executor->id, sizeof(rc->executor));
		log_errors(rc, &rr->executor->errors);
	}
	log_errors(rc, &rr->run->errors);
	for (size_t t = 0; t < rr->run->n_tasks; t++)
		log_errors(rc, &rr->run->tasks[t].errors);
}

/* The `recovery` event up to its runs. */
static void
event_begin(struct recovering *rc, const struct recovery_plan *p)
{
	struct jsonw *w = &rc->w;

	rc->begun = true;
	jw_init(w, NULL);
	jw_object(w, NULL);
	jw_string(w, "event", "recovery");
	jw_string(w, "agent_id", rc->a->id);
	jw_bool(w, "reboot", p->reboot);
	jw_bool(w, "cleanup", rc->a->o->cleanup);
	jw_array(w, "runs");
}

/* The run rr as the agent's, its pending updates kept (not yet sent). */
static struct aexec *
run_of(struct agent *a, const struct recovery_run *rr)
{
	const struct state_run *run = rr->run;
	const struct state_task *t = run->n_tasks ? &run->tasks[0] : NULL;
	struct aexec *x = x_new(a, rr->framework->id, rr->executor->id,
	    run->id, t ? t->id : NULL);

	x->checkpoint = true;
	x->recovered = true;
	x->pid = run->pid;
	x->start = run->start_time;
	x->bound = run->pid_mtime;
	if (run->socket && (x->socket = strdup(run->socket)) == NULL)
		abort();
	if (run->quarantined &&
	    (x->quarantined = strdup(run->quarantined)) == NULL)
		abort();
	x->has_secret = run->secret && secret_parse(run->secret, x->secret) == 0;
	if (t && t->info) {
		task_resources(t->info, &x->res);
		resources_take(a, x);
	}
	if (t) {
		x->state = task_effective_state(t);
		x->terminal = t->terminal;
		/* Its pending updates, whole (the walk kept their messages). */
		for (size_t k = 0; k < t->n_pending; k++)
			x_add_pending(a, x, t->pending[k].uuid,
			    t->pending[k].state, t->pending[k].timestamp,
			    t->pending[k].message, t->pending[k].from_agent);
		for (struct pend *p = TAILQ_FIRST(&x->pending); p;
		    p = TAILQ_NEXT(p, in_x)) {
			size_t k = 0;
			while (k < t->n_pending && memcmp(t->pending[k].uuid,
			    p->uuid, 16) != 0)
				k++;
			if (k < t->n_pending) {
				p->reason = t->pending[k].reason;
				p->healthy = t->pending[k].healthy;
			}
		}
		x->healthy = t->healthy;
	}
	return x;
}

static int
found_run(void *ctx, const struct recovery_plan *p,
    const struct recovery_run *rr)
{
	struct recovering *rc = ctx;
	struct agent *a = rc->a;
	const struct state_run *run = rr->run;

	if (!a->o->strict)
		log_run_errors(rc, rr);
	if (!rc->begun) {
		strlcpy(a->id, p->agent_id, sizeof(a->id));
		event_begin(rc, p);
	}
	recovery_run_write(&rc->w, p, rr);
	if (rr->action == ACTION_KILL && proc_terminate(run->pid,
	    run->start_time, run->pid_mtime, run->id, a->o->grace_ms) == 0)
		a->killed++;
	if (!rr->checkpoint)
		return 0;	/* nothing of it is recovered */
	if (rc->n == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 256;
		void *v = reallocarray(rc->v, cap, sizeof(*rc->v));
		if (v == NULL)
			return -ENOMEM;
		rc->v = v;
		rc->cap = cap;
	}
	rc->v[rc->n].x = run_of(a, rr);
	rc->v[rc->n++].ev = rr->action == ACTION_RECONNECT && !a->o->cleanup ?
	    EV_RECOVER : p->reboot ? EV_REBOOT : EV_EOF;
	return 0;
}

/* A strict start that fails fails again, every start: say the way out,
 * with the run the damaged file belongs to. */
static void
quarantine_hint(const char *work, struct ckpt_error *e)
{
	const char *p = strstr(e->path, "/runs/");
	char run[ID_MAX + 1] = "";

	if (p != NULL) {
		p += 6;
		snprintf(run, sizeof(run), "%.*s", (int)strcspn(p, "/"), p);
	}
	if (run[0] != '\0' && id_validate(run, "run", NULL) == 0)
		snprintf(e->reason + strlen(e->reason), sizeof(e->reason) -
		    strlen(e->reason), " (to set the run aside, its bytes kept, "
		    "its tasks reported lost, and start strict: recover -d %s "
		    "--quarantine %s; or --no-strict skips what cannot be "
		    "recovered)", work, run);
	else
		strlcat(e->reason, " (--no-strict skips what cannot be "
		    "recovered and recovers the rest)", sizeof(e->reason));
}

/* Our id: the recovered agent's, the one given, or a new one. */
static void
agent_id(struct agent *a, const struct recovery_plan *p)
{
	a->is_new = p->agent_id[0] == '\0';
	if (!a->is_new)
		strlcpy(a->id, p->agent_id, sizeof(a->id));
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

static int
agent_info(struct agent *a, struct ckpt_error *e)
{
	char host[256] = "localhost";
	Mesos__SlaveInfo si = MESOS__SLAVE_INFO__INIT;
	Mesos__SlaveID sid = MESOS__SLAVE_ID__INIT;

	if (a->o->hostname)
		strlcpy(host, a->o->hostname, sizeof(host));
	else
		gethostname(host, sizeof(host) - 1);
	sid.value = a->id;
	si.hostname = host;
	si.id = &sid;
	si.has_checkpoint = si.checkpoint = 1;
	return checkpoint_agent(NULL, a->o->work, a->id, &si, e);
}

/* Which release started on the dir, and when (meta/versions): what an
 * operator reads after an upgrade or a rollback. */
static int
version_note(struct agent *a, struct ckpt_error *e)
{
	char line[512], when[64];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	snprintf(line, sizeof(line), "%s agent-run %s executor-protocol %d-%d "
	    "format %d agent %s pid %ld%s\n", when, version_release(),
	    PROTOCOL_MIN, PROTOCOL_MAX, FORMAT_VERSION, a->id, (long)getpid(),
	    a->o->cleanup ? " cleanup" : "");
	return workdir_version_note(a->o->work, line, e);
}

/* The event out, then each run: its updates again, then its fate. */
static void
act(struct recovering *rc, const struct recovery_plan *p)
{
	struct agent *a = rc->a;
	char *text;
	size_t n;

	if (!rc->begun)
		event_begin(rc, p);
	jw_end(&rc->w);
	jw_string(&rc->w, "type", "recovery");
	jw_end(&rc->w);
	jw_raw(&rc->w, "\n", 1);
	/* Written as it is built: at 10,000 runs a jansson tree of this one
	 * line cost a tenth of the restart. */
	if ((text = jw_take(&rc->w, &n)) == NULL)
		abort();	/* as line_of: out of memory */
	emit_text(&a->dr, text, n);
	free(text);
	for (size_t i = 0; i < rc->n; i++) {
		struct aexec *x = rc->v[i].x;
		struct pend *pd;
		TAILQ_FOREACH(pd, &x->pending, in_x)
			pend_emit(a, pd, true, NULL);
		run_event(a, x, rc->v[i].ev, NULL);
	}
}

int
recover(struct agent *a, struct ckpt_error *e)
{
	const struct agent_options *o = a->o;
	struct state_options so = { .strict = o->strict, .repair = true,
	    .secrets = true, .messages = true, .limits = true };
	struct recovering rc = { .a = a };
	struct recovery_visitor v = { .ctx = &rc, .run = found_run,
	    .errors = o->strict ? NULL : log_errors };
	struct recovery_plan p;
	int r;

	r = recovery_walk(o->work, &so, NULL, o->cleanup, &v, &p, e);
	if (r == 0) {
		agent_id(a, &p);
		r = agent_info(a, e);
	}
	if (r < 0) {
		if (r == -EBADMSG && o->strict)
			quarantine_hint(o->work, e);
		if (rc.begun)
			jw_free(&rc.w);
		free(rc.v);
		return r;
	}
	act(&rc, &p);
	free(rc.v);
	/* The ends found (TASK_LOST, executor.exit) are durable first. */
	agent_commit(a);
	if (a->failed)
		return a->code;		/* said already */
	/* Rewritten only now: a crash during recovery sees the reboot again. */
	strlcpy(a->boot_id, p.boot_id[0] ? p.boot_id : "unknown",
	    sizeof(a->boot_id));
	if ((r = bootid_write(o->work, a->boot_id, e)) < 0)
		return r;
	/* Every task was killed: what they used is needed no more. */
	if (o->cleanup && (r = workdir_caps_clear(o->work, e)) < 0)
		return r;
	return version_note(a, e);
}
