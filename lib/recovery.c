#include "recovery.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "statejson.h"
#include "workdir.h"

const char *
recovery_action_name(enum recovery_action a)
{
	return a == ACTION_RECONNECT ? "reconnect" : a == ACTION_KILL ? "kill" :
	    "none";
}

/* The decision for one run. */
static void
run_decide(const struct recovery_plan *p, bool cleanup,
    const struct state_framework *fw, const struct state_executor *ex,
    const struct state_run *run, struct recovery_run *rr)
{
	memset(rr, 0, sizeof(*rr));
	rr->agent = p->agent;
	rr->framework = fw;
	rr->executor = ex;
	rr->run = run;
	rr->checkpoint = fw->info && fw->info->checkpoint;
	/* After a reboot, pids name other processes. */
	rr->identity = p->reboot ? PROC_GONE : statejson_identity(run);
	for (size_t t = 0; t < run->n_tasks; t++)
		rr->pending += run->tasks[t].n_pending;
	if (rr->identity == PROC_SAME)
		rr->action = cleanup || !rr->checkpoint ? ACTION_KILL :
		    ACTION_RECONNECT;
}

static int
plan_begin(const char *work, struct recovery_plan *p, struct ckpt_error *e)
{
	struct stat st;

	memset(p, 0, sizeof(*p));
	p->work = work;
	bootid_current(p->boot_id, sizeof(p->boot_id), NULL);
	if (stat(work, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_set(e, -ENOENT, work, -1, "no such work dir");
	return 0;
}

static void
plan_boot(struct recovery_plan *p, const struct state *s)
{
	p->reboot = s->boot_id != NULL && strcmp(s->boot_id, p->boot_id) != 0;
}

struct stream {
	struct recovery_plan p;
	bool cleanup;
	const struct recovery_visitor *v;
};

static int
stream_begin(void *ctx, struct state *s)
{
	plan_boot(&((struct stream *)ctx)->p, s);
	return 0;
}

static int
stream_agent(void *ctx, struct state *s, struct state_agent *a)
{
	struct stream *st = ctx;

	(void)s;
	st->p.agent = a;
	strlcpy(st->p.agent_id, a->id, sizeof(st->p.agent_id));
	return 0;
}

static int
stream_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct stream *st = ctx;
	struct recovery_run rr;
	int rc;

	(void)a;
	for (size_t r = 0; r < x->n_runs; r++) {
		if (x->runs[r].completed)
			continue;
		run_decide(&st->p, st->cleanup, f, x, &x->runs[r], &rr);
		if ((rc = st->v->run(st->v->ctx, &st->p, &rr)) < 0)
			return rc;
	}
	return 0;
}

static int
stream_agent_end(void *ctx, struct state *s, struct state_agent *a)
{
	struct stream *st = ctx;

	(void)s;
	if (st->v->errors)
		st->v->errors(st->v->ctx, &a->errors);
	st->p.agent = NULL;
	return 0;
}

static int
stream_end(void *ctx, struct state *s)
{
	struct stream *st = ctx;

	if (st->v->errors)
		st->v->errors(st->v->ctx, &s->errors);
	return 0;
}

int
recovery_walk(const char *work, const struct state_options *o,
    const struct walk_filter *filter, bool cleanup,
    const struct recovery_visitor *v, struct recovery_plan *p,
    struct ckpt_error *e)
{
	struct stream st = { .cleanup = cleanup, .v = v };
	struct walk_visitor wv = { .ctx = &st, .begin = stream_begin,
	    .agent = stream_agent, .executor = stream_executor,
	    .agent_end = stream_agent_end, .end = stream_end };
	struct state_options so = *o;
	int rc;

	if (p != NULL)
		memset(p, 0, sizeof(*p));
	if ((rc = plan_begin(work, &st.p, e)) < 0)
		return rc;
	so.latest_only = true;
	rc = walk(work, &so, filter, &wv, e);
	if (p != NULL)
		*p = st.p;
	return rc == -ENOENT ? 0 : rc;	/* no checkpoint: nothing to do */
}

/* Its limits, as checkpointed (pids/task.limits), and whether its
 * cgroups still hold them: "enforced", "missing" (a reboot, or removed),
 * "differ"; null without limits. */
static void
recovery_limits_write(struct jsonw *w, const struct state_run *run)
{
	struct cg_set s;
	struct cg_limits want, now;
	const char *cgroups = "missing";

	if (run->limits == NULL || cg_parse(run->limits, &s, &want) < 0) {
		jw_null(w, "limits");
		return;
	}
	if (s.dir[CG_MEM] == NULL && want.mem == 0 && want.cpus == 0 &&
	    want.pids == 0)
		cgroups = "none";	/* disk only: the executor watches it */
	else if (cg_read_limits(&s, &now) == 0)
		cgroups = now.mem == want.mem && now.pids == want.pids &&
		    (now.cpus - want.cpus < 0.001 && want.cpus - now.cpus <
		    0.001) ? "enforced" : "differ";
	jw_object(w, "limits");
	jw_real(w, "cpus", want.cpus);
	jw_int(w, "mem", want.mem);
	jw_int(w, "disk", want.disk);
	jw_int(w, "pids", want.pids);
	jw_string(w, "cgroups", cgroups);
	jw_end(w);
	cg_free(&s);
}

void
recovery_run_write(struct jsonw *w, const struct recovery_plan *p,
    const struct recovery_run *r)
{
	const struct state_run *run = r->run;

	jw_object(w, NULL);
	jw_string(w, "type", "run");
	jw_string(w, "work_dir", p->work);
	jw_string(w, "agent_id", r->agent->id);
	jw_string(w, "framework_id", r->framework->id);
	jw_string(w, "executor_id", r->executor->id);
	jw_string(w, "run_id", run->id);
	if (run->pid)
		jw_int(w, "pid", run->pid);
	else
		jw_null(w, "pid");
	jw_int(w, "start_time", (long long)run->start_time);
	jw_int(w, "pid_mtime", run->pid_mtime);
	jw_string(w, "socket", run->socket);
	jw_bool(w, "alive", r->identity == PROC_SAME);
	jw_string(w, "process", recovery_process_name(r));
	jw_bool(w, "same_process", r->identity == PROC_SAME);
	jw_bool(w, "reboot", p->reboot);
	jw_bool(w, "checkpoint", r->checkpoint);
	jw_string(w, "action", recovery_action_name(r->action));
	/* When its executor gives up waiting for an agent (recover reads
	 * it; null when not read, or no agent was lost). */
	if (run->deadline > 0)
		jw_int(w, "deadline", (long long)run->deadline);
	else
		jw_null(w, "deadline");
	jw_string(w, "quarantined", run->quarantined);
	jw_string(w, "executor_version", run->version);
	recovery_limits_write(w, run);
	jw_int(w, "pending", (long long)r->pending);
	jw_array(w, "tasks");
	for (size_t t = 0; t < run->n_tasks; t++) {
		const struct state_task *tk = &run->tasks[t];
		jw_object(w, NULL);
		jw_string(w, "id", tk->id);
		jw_string(w, "state", task_state_name(task_effective_state(tk)));
		jw_int(w, "pending", (long long)tk->n_pending);
		jw_bool(w, "final_update_pending", tk->ended);
		jw_end(w);
	}
	jw_end(w);
	statejson_exit(w, "exit", run);
	jw_array(w, "errors");
	for (size_t t = 0; t < run->n_tasks; t++)
		statejson_error_items(w, &run->tasks[t].errors);
	statejson_error_items(w, &run->errors);
	statejson_error_items(w, &r->executor->errors);
	statejson_error_items(w, &r->framework->errors);
	jw_end(w);
	jw_end(w);
}

size_t
recovery_run_errors(const struct recovery_run *r)
{
	size_t n = r->run->errors.n + r->executor->errors.n +
	    r->framework->errors.n;

	for (size_t t = 0; t < r->run->n_tasks; t++)
		n += r->run->tasks[t].errors.n;
	return n;
}

const char *
recovery_process_name(const struct recovery_run *r)
{
	return r->run->pid ? proc_identity_name(r->identity) : "none";
}

json_t *
recovery_run_json(const struct recovery_plan *p, const struct recovery_run *r)
{
	struct jsonw w;
	size_t n;
	char *s;
	json_t *o;

	jw_init(&w, NULL);
	recovery_run_write(&w, p, r);
	if ((s = jw_take(&w, &n)) == NULL)
		return NULL;
	o = json_loadb(s, n, 0, NULL);
	free(s);
	return o;
}
