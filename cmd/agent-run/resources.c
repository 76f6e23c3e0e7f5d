/*
 * resources.c: what tasks may take, in Mesos's terms.  The agent's total
 * (--resources 'cpus:N;mem:M;disk:D', M and D in MB; by default the
 * host's, less what Mesos leaves to the system) and what its tasks are
 * given; a launch that does not fit is refused, naming the resource,
 * unless --oversubscribe.  Where limit cgroups go (lib/cgroup.h: the
 * executor makes and owns them), the cgroups no run owns, and `usage`:
 * Mesos's ResourceStatistics per task, from its cgroups, or from /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "jsonw.h"
#include "workdir.h"

static const char *const res_names[3] = { "cpus", "mem", "disk" };

/* MemTotal, in MB (0: unknown). */
static double
mem_total_mb(void)
{
	char line[256];
	long long kb = 0;
	FILE *fp = fopen("/proc/meminfo", "re");

	while (fp && fgets(line, sizeof(line), fp) && kb == 0)
		sscanf(line, "MemTotal: %lld kB", &kb);
	if (fp)
		fclose(fp);
	return (double)kb / 1024;
}

void
resources_init(struct agent *a)
{
	const struct agent_options *o = a->o;
	struct statvfs v;
	struct ckpt_error e;
	double mem = mem_total_mb(), disk = 0;

	if (statvfs(o->work, &v) == 0)
		disk = (double)v.f_blocks * (double)v.f_frsize / (1 << 20);
	/* As Mesos: what the system keeps, 1 GB of memory and 5 GB of disk
	 * at most, half at most. */
	a->total[0] = o->res_cpus >= 0 ? o->res_cpus :
	    (double)sysconf(_SC_NPROCESSORS_ONLN);
	a->total[1] = o->res_mem >= 0 ? o->res_mem : mem - (mem / 2 < 1024 ?
	    mem / 2 : 1024);
	a->total[2] = o->res_disk >= 0 ? o->res_disk : disk - (disk / 2 <
	    5120 ? disk / 2 : 5120);
	const char *root = o->cgroup_root && strcmp(o->cgroup_root, "self") ?
	    o->cgroup_root : NULL;
	a->cg_ok = cg_where(&a->cg, root, &e) == 0;
	if (!a->cg_ok)
		error_format(&e, a->cg_why, sizeof(a->cg_why));
	log_line(&a->log, LOG_INFO, "resources: cpus %g, mem %.0f MB, disk "
	    "%.0f MB%s; task limits %s%s", a->total[0], a->total[1],
	    a->total[2], o->oversubscribe ? " (oversubscribed)" : "",
	    a->cg_ok ? (a->cg.v2 ? "in cgroup v2" : "in cgroup v1") :
	    "cannot be enforced: ", a->cg_ok ? "" : a->cg_why);
}

static void
asked(const struct cg_limits *l, double v[3])
{
	v[0] = l->cpus;
	v[1] = (double)l->mem / (1 << 20);
	v[2] = (double)l->disk / (1 << 20);
}

bool
resources_fit(struct agent *a, const struct cg_limits *want, char *why,
    size_t len)
{
	double v[3];

	asked(want, v);
	for (int i = 0; i < 3; i++) {
		double left = a->total[i] - a->allocated[i];
		if (v[i] <= 0 || a->o->oversubscribe || v[i] <= left + 1e-9)
			continue;
		snprintf(why, len, "%s: %g asked, %g free of %g%s (--oversubscribe "
		    "launches it anyway)", res_names[i], v[i], left > 0 ? left :
		    0, a->total[i], i ? " MB" : "");
		return false;
	}
	return true;
}

void
resources_take(struct agent *a, struct aexec *x)
{
	double v[3];

	asked(&x->res, v);
	for (int i = 0; i < 3; i++)
		a->allocated[i] += v[i];
}

void
resources_give(struct agent *a, struct aexec *x)
{
	double v[3];

	asked(&x->res, v);
	for (int i = 0; i < 3; i++)
		a->allocated[i] -= v[i];
	memset(&x->res, 0, sizeof(x->res));
}

json_t *
resources_json(const struct agent *a, bool allocated)
{
	const double *v = allocated ? a->allocated : a->total;

	return json_pack("{s:f, s:f, s:f}", "cpus", v[0], "mem", v[1] < 0 ? 0 :
	    v[1], "disk", v[2] < 0 ? 0 : v[2]);
}

/* ---- orphans ---- */

static int
cmp_str(const void *p, const void *q)
{
	return strcmp(*(char *const *)p, *(char *const *)q);
}

void
resources_orphans(struct agent *a)
{
	size_t n = 0, cap = 64;
	char **runs = calloc(cap, sizeof(char *)), path[8300];
	struct aexec *x;

	if (!a->cg_ok || a->cg.v2 || runs == NULL) {
		free(runs);
		return;
	}
	RB_FOREACH(x, executor_tree, &a->executors) {
		if (n == cap && (runs = reallocarray(runs, cap *= 2,
		    sizeof(char *))) == NULL)
			abort();	/* out of memory */
		runs[n++] = x->run;
	}
	qsort(runs, n, sizeof(char *), cmp_str);
	for (int k = 0; k < CG_KINDS; k++) {
		struct dirent *d;
		DIR *dir;
		if (!a->cg.base[k][0])
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->cg.base[k], a->id);
		if ((dir = opendir(path)) == NULL)
			continue;
		while ((d = readdir(dir)) != NULL) {
			char *name = d->d_name;
			if (d->d_type != DT_DIR || name[0] == '.' ||
			    id_validate(name, "run", NULL) < 0 ||
			    bsearch(&name, runs, n, sizeof(char *), cmp_str))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", a->cg.base[k],
			    a->id, name);
			log_line(&a->log, LOG_NOTICE, "cgroup %s: no run of this "
			    "agent owns it: what runs in it is killed, and it "
			    "is removed", path);
			cg_destroy(path);
		}
		closedir(dir);
	}
	free(runs);
}

/* ---- usage ---- */

static long long
number_of(const char *text)
{
	return text[0] ? strtoll(text, NULL, 10) : -1;
}

static void
put_ll(json_t *o, const char *key, long long v)
{
	json_object_set_new(o, key, v >= 0 ? json_integer(v) : json_null());
}

static void
put_secs(json_t *o, const char *key, double v)
{
	json_object_set_new(o, key, v >= 0 ? json_real(v) : json_null());
}

/* The task's statistics: from its limit cgroups, else from /proc. */
static json_t *
statistics(struct agent *a, const struct aexec *x)
{
	struct ckpt_ids ids = x_ids(x, a->id);
	char path[PATH_MAX], text[8192];
	struct cg_usage u;
	struct cg_limits l;
	struct cg_set s = { 0 };
	long long disk = -1, task = 0;
	json_t *o;

	if (path_build(path, sizeof(path), a->o->work, PATH_TASK_LIMITS, &ids,
	    NULL) == 0 && text_read(path, text, sizeof(text), NULL) == 0 &&
	    cg_parse(text, &s, &l) == 0 && s.dir[CG_MEM] != NULL)
		cg_usage(&s, &u);
	else {
		if (path_build(path, sizeof(path), a->o->work, PATH_TASK_PID,
		    &ids, NULL) == 0 && text_read(path, text, sizeof(text),
		    NULL) == 0)
			task = number_of(text);
		cg_usage_proc(run_live(x->st) && task > 0 ? (pid_t)task : 0, &u);
	}
	cg_free(&s);
	if (path_build(path, sizeof(path), a->o->work, PATH_DISK_USAGE, &ids,
	    NULL) == 0 && text_read(path, text, sizeof(text), NULL) == 0)
		disk = number_of(text);
	o = json_pack("{s:f}", "timestamp", (double)time(NULL));
	put_ll(o, "processes", u.processes);
	put_ll(o, "threads", u.threads);
	put_secs(o, "cpus_user_time_secs", u.cpus_user_time_secs);
	put_secs(o, "cpus_system_time_secs", u.cpus_system_time_secs);
	json_object_set_new(o, "cpus_limit", x->res.cpus > 0 ?
	    json_real(x->res.cpus) : json_null());
	put_ll(o, "cpus_nr_throttled", u.cpus_nr_throttled);
	put_ll(o, "mem_rss_bytes", u.mem_rss_bytes);
	put_ll(o, "mem_total_bytes", u.mem_total_bytes);
	put_ll(o, "mem_limit_bytes", x->res.mem > 0 ? x->res.mem : -1);
	put_ll(o, "disk_used_bytes", disk);
	put_ll(o, "disk_limit_bytes", x->res.disk > 0 ? x->res.disk : -1);
	put_ll(o, "processes_limit", x->res.pids > 0 ? x->res.pids : -1);
	return o;
}

void
cmd_usage(struct agent *a, struct command *c)
{
	struct driver *d = a->dr.cur.d;
	struct aexec *x;
	int n = 0;

	RB_FOREACH(x, task_tree, &a->tasks) {
		bool named = c->argc == 1;
		for (int i = 1; i < c->argc && !named; i++)
			named = strcmp(x->task, c->argv[i]) == 0;
		if (!named || !run_current(x))
			continue;
		json_t *o = x_json("usage", x);
		json_object_set_new(o, "statistics", statistics(a, x));
		emit_to(&a->dr, d, o);
		n++;
	}
	/* A named task the agent does not run: said, as reconcile does. */
	for (int i = 1; i < c->argc; i++)
		if (find_task(a, NULL, c->argv[i]) == NULL) {
			emit_to(&a->dr, d, json_pack("{s:s, s:o, s:n, s:s}",
			    "event", "usage", "task_id", jw_text(c->argv[i]),
			    "statistics", "error", "no running task of that name"));
			n++;
		}
	answer(&a->dr, json_pack("{s:s, s:i}", "event", "usage_done", "tasks",
	    n));
}
