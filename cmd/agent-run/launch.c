/*
 * launch.c: `launch [--checkpoint] [--name NAME] [--user USER] FRAMEWORK
 * EXECUTOR TASK -- ARGV...`, in four steps: parse, checkpoint (into the
 * turn's batch), spawn (the executor is held before exec), announce.
 * The executor is let go only after the commit has made its framework,
 * executor, run, task and pid durable (commit.c): launches sent together
 * share their sync barriers.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <sys/random.h>
#include <signal.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "proc.h"
#include "spawn.h"
#include "uuid.h"
#include "workdir.h"

struct launch {
	struct ckpt_ids ids;
	const char *name, *user;
	bool user_given;		/* --user: run the task as that user */
	bool checkpoint;
	struct cg_limits lim;		/* --cpus --mem --disk --pids */
	const char *health[8];		/* --health-*, as given (health_opts) */
	char **argv;
	char run[UUID_TEXT], sock[PATH_MAX];
	uint8_t secret[SECRET_LEN];
};

/* A checkpointed task uses capability cap, which older releases lack:
 * meta/capabilities says so (durable) before the task starts, so that
 * they refuse the dir instead of misreading it. */
static int
uses(struct agent *a, const char *cap, struct ckpt_error *e)
{
	char word[80];

	snprintf(word, sizeof(word), " %s ", cap);
	if (strstr(a->caps_noted, word))
		return 0;
	if (workdir_caps_record(a->o->work, cap, e) < 0)
		return -1;
	if (strlen(a->caps_noted) + strlen(word) < sizeof(a->caps_noted))
		strlcat(a->caps_noted, word, sizeof(a->caps_noted));
	return 0;
}

/* Checkpoints before sandboxes: below --disk-reserve of free space on
 * the work dir's file system a launch is refused (running tasks' updates
 * go on being checkpointed). */
static bool
below_reserve(struct agent *a)
{
	struct statvfs v;
	char msg[PATH_MAX + 256];
	long long avail;

	if (a->o->bounds.disk_reserve <= 0 || statvfs(a->o->work, &v) < 0)
		return false;
	avail = (long long)v.f_bavail * (long long)v.f_frsize;
	/* The reserve whole (meta/reserve, reserve.c) and a quarter of it
	 * free beside; without a reserve file, all of it free. */
	if (reserve_refill(a) && avail >= (a->reserve_fd >= 0 ?
	    a->o->bounds.disk_reserve / 4 : a->o->bounds.disk_reserve))
		return false;
	snprintf(msg, sizeof(msg), "%s: %lld KiB free, and the %lld KiB kept "
	    "for checkpoints (--disk-reserve) not whole", a->o->work,
	    avail / 1024, a->o->bounds.disk_reserve / 1024);
	emit_error(a, "launch: refused: %s", msg, NULL);
	return true;
}

/* The health check's options, passed to the executor as they are once
 * checked here. */
static const char *const health_opts[8] = { "--health-cmd", "--health-tcp",
    "--health-http", "--health-delay", "--health-interval",
    "--health-timeout", "--health-grace", "--health-failures" };

/* A --health-* option: 1 taken (the value checked), 0 not one, -1 wrong
 * (said). */
static int
health_option(struct agent *a, struct launch *l, const char *opt,
    const char *val)
{
	struct ckpt_error e;
	struct command words;
	char msg[700], *end;
	long long ms;
	long v;
	int i = 0;

	while (i < 8 && strcmp(opt, health_opts[i]) != 0)
		i++;
	if (i == 8)
		return 0;
	msg[0] = '\0';
	if (i < 3 && (l->health[0] || l->health[1] || l->health[2]))
		snprintf(msg, sizeof(msg), "one health check: --health-cmd, "
		    "--health-tcp or --health-http");
	else if (i == 0) {
		if (command_parse(val, &words, &e) < 0 || words.argc == 0)
			snprintf(msg, sizeof(msg), "--health-cmd: %s", words.argc ?
			    e.reason : "no words");
		command_free(&words);
	} else if (i < 3) {
		v = strtol(val, &end, 10);
		if (v < 1 || v > 65535 || (*end && !(i == 2 && *end == '/')))
			snprintf(msg, sizeof(msg), "%s: '%.100s' is not PORT%s",
			    opt, val, i == 2 ? "[/PATH]" : "");
	} else if (i < 7) {
		if (cli_duration(opt, val, &ms, &e) < 0)
			snprintf(msg, sizeof(msg), "%s", e.reason);
	} else if ((v = strtol(val, &end, 10)) < 1 || v > 1000 || *end)
		snprintf(msg, sizeof(msg), "--health-failures: '%.100s' is not "
		    "a count from 1 to 1000", val);
	if (msg[0]) {
		emit_error(a, "launch: %s", msg, NULL);
		return -1;
	}
	l->health[i] = val;
	return 1;
}

/* --cpus N, --mem SIZE, --disk SIZE (a bare number is MB, as in Mesos),
 * --pids N into lim: 1 taken, 0 not one of them, or 1 with lim->cpus
 * set to -1 when the value is wrong (said). */
static int
resource_option(struct agent *a, const char *opt, const char *val,
    struct cg_limits *lim)
{
	char *end;
	long long b;

	if (strcmp(opt, "--cpus") == 0) {
		double v = strtod(val, &end);
		if (*end == '\0' && v > 0 && v <= 4096) {
			lim->cpus = v;
			return 1;
		}
	} else if (strcmp(opt, "--mem") == 0 || strcmp(opt, "--disk") == 0) {
		if ((b = cg_size_mb(val)) >= (1 << 20) ||
		    (b > 0 && opt[2] == 'd')) {
			*(opt[2] == 'm' ? &lim->mem : &lim->disk) = b;
			return 1;
		}
	} else if (strcmp(opt, "--pids") == 0) {
		long v = strtol(val, &end, 10);
		if (*end == '\0' && v >= 1 && v <= 1 << 22) {
			lim->pids = v;
			return 1;
		}
	} else
		return 0;
	char msg[300];
	snprintf(msg, sizeof(msg), "%s: '%.100s' is not a valid value (--cpus N "
	    "above 0; --mem and --disk a size: MB bare, or with K, M, G; --mem "
	    "1M at least; --pids N from 1)", opt, val);
	emit_error(a, "launch: %s", msg, NULL);
	lim->cpus = -1;
	return 1;
}

/* Limits that need cgroups need them here (or --best-effort-limits), and
 * what is asked must fit what is left (or --oversubscribe). */
static bool
limits_usable(struct agent *a, const struct launch *l)
{
	char why[700];

	if ((l->lim.cpus > 0 || l->lim.mem > 0 || l->lim.pids > 0) &&
	    !a->cg_ok && !a->o->best_effort_limits) {
		emit_error(a, "launch: refused: the task's limits cannot be "
		    "enforced: %s (agent-run --best-effort-limits runs such "
		    "tasks unenforced)", a->cg_why, NULL);
		return false;
	}
	if (!resources_fit(a, &l->lim, why, sizeof(why))) {
		char msg[800];
		snprintf(msg, sizeof(msg), "launch of task %s: refused: %s",
		    l->ids.task, why);
		emit_error(a, "%s", msg, NULL);
		return false;
	}
	return true;
}

static int
parse(struct agent *a, struct command *c, struct launch *l)
{
	const char *ids_v[3];
	struct ckpt_error e;
	int i = 1, n = 0, hr;
	uint8_t rid[16];

	struct passwd *me = getpwuid(geteuid());

	l->user = me ? me->pw_name : "root";
	for (; i < c->argc && strcmp(c->argv[i], "--") != 0; i++) {
		if (strcmp(c->argv[i], "--checkpoint") == 0)
			l->checkpoint = true;
		else if (strcmp(c->argv[i], "--name") == 0 && i + 1 < c->argc)
			l->name = c->argv[++i];
		else if (strcmp(c->argv[i], "--user") == 0 && i + 1 < c->argc) {
			l->user = c->argv[++i];
			l->user_given = true;
		} else if (i + 1 < c->argc && resource_option(a, c->argv[i],
		    c->argv[i + 1], &l->lim) != 0) {
			if (l->lim.cpus < 0)
				return -1;	/* said */
			i++;
		} else if (i + 1 < c->argc && (hr = health_option(a, l,
		    c->argv[i], c->argv[i + 1])) != 0) {
			if (hr < 0)
				return -1;	/* said */
			i++;
		}
		else if (c->argv[i][0] == '-' || n == 3) {
			emit_error(a, "launch: unexpected '%s' (usage: launch "
			    "[--checkpoint] [--name NAME] [--user USER] [--cpus N] "
			    "[--mem SIZE] [--disk SIZE] [--pids N] FRAMEWORK "
			    "EXECUTOR TASK -- ARGV...)",
			    c->argv[i], NULL);
			return -1;
		} else
			ids_v[n++] = c->argv[i];
	}
	if (n != 3 || i + 1 >= c->argc) {
		emit_error(a, "launch: %s", "usage: launch [--checkpoint] [--name "
		    "NAME] [--user USER] [--cpus N] [--mem SIZE] [--disk SIZE] "
		    "[--pids N] FRAMEWORK EXECUTOR TASK -- ARGV...", NULL);
		return -1;
	}
	l->argv = c->argv + i + 1;
	if (l->user_given && geteuid() != 0) {
		emit_error(a, "launch: --user %s: only an agent running as root "
		    "runs tasks as another user", l->user, NULL);
		return -1;
	}
	if (l->user_given && getpwnam(l->user) == NULL) {
		emit_error(a, "launch: --user %s: no such user", l->user, NULL);
		return -1;
	}
	uuid_generate(rid);
	uuid_format(rid, l->run);
	l->ids = (struct ckpt_ids){ a->id, ids_v[0], ids_v[1], l->run, ids_v[2] };
	if (ids_validate(&l->ids, &e) < 0) {
		emit_error(a, "launch: %s", e.reason, NULL);
		return -1;
	}
	if (find_executor(a, l->ids.framework, l->ids.executor) ||
	    find_task(a, l->ids.framework, l->ids.task)) {
		emit_error(a, "launch: executor or task already running in "
		    "framework %s", l->ids.framework, NULL);
		return -1;
	}
	if (below_reserve(a) || !limits_usable(a, l))
		return -1;
	snprintf(l->sock, sizeof(l->sock), "%s/sock/%.8s%.4s", a->o->work,
	    l->run, l->run + 9);
	if (strlen(l->sock) >= 108) {
		emit_error(a, "launch: socket path %s is too long (108 bytes at "
		    "most): use a shorter work dir", l->sock, NULL);
		return -1;
	}
	return 0;
}

static int
fw_cmp(struct afw *a, struct afw *b)
{
	return strcmp(a->id, b->id);
}

RB_GENERATE(fw_tree, afw, by_id, fw_cmp)

/* framework.info as this agent last wrote it has this user?  (Rewriting
 * it for every task costs a file created, synced and renamed over the
 * old one per launch: on ext4 without a journal each deleted inode is
 * then skipped over by every file created for minutes.) */
static bool
fw_written(struct agent *a, const char *id, const char *user)
{
	struct afw key = { .id = (char *)id };
	struct afw *f = RB_FIND(fw_tree, &a->frameworks, &key);

	return f && strcmp(f->user, user) == 0;
}

static void
fw_note(struct agent *a, const char *id, const char *user)
{
	struct afw key = { .id = (char *)id };
	struct afw *f = RB_FIND(fw_tree, &a->frameworks, &key);
	char *u = strdup(user);

	if (u == NULL || (f == NULL && ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->id = strdup(id)) == NULL)))
		abort();	/* as x_new: out of memory */
	if (f->user == NULL)
		RB_INSERT(fw_tree, &a->frameworks, f);
	free(f->user);
	f->user = u;
}

void
frameworks_free(struct agent *a)
{
	struct afw *f, *next;

	RB_FOREACH_SAFE(f, fw_tree, &a->frameworks, next) {
		RB_REMOVE(fw_tree, &a->frameworks, f);
		free(f->id);
		free(f->user);
		free(f);
	}
}

/* Exhaustion is per request: out of descriptors, processes or memory,
 * a launch is refused, not the agent stopped. */
static bool
per_request(int code)
{
	return code == -EMFILE || code == -ENFILE || code == -EAGAIN ||
	    code == -ENOMEM;
}

/* A launch holds up to a dozen descriptors until the commit, and the
 * commit needs a few of its own: a launch begins only with this many
 * free (checked by taking them). */
#define FDS_PER_LAUNCH	32

static bool
fds_left(int n)
{
	int fds[FDS_PER_LAUNCH], k = 0;
	bool ok;

	while (k < n && (fds[k] = fcntl(2, F_DUPFD_CLOEXEC, 3)) >= 0)
		k++;
	ok = k == n;
	while (k > 0)
		close(fds[--k]);
	return ok;
}

/* Remove path and then its parents while they are empty, up to (not
 * including) the directory `keep` levels above path. */
static void
rmdirs(char *path, int levels)
{
	for (int i = 0; i < levels && rmdir(path) == 0; i++) {
		char *slash = strrchr(path, '/');
		if (slash == NULL || slash == path)
			return;
		*slash = '\0';
	}
}

/* Refuse launch l (e says why): what it wrote into the batch since m is
 * taken back and the directories it made are removed, so that nothing of
 * it is left for a later agent to report lost. */
static void
refuse(struct agent *a, const struct launch *l, const struct dbatch_mark *m,
    const struct ckpt_error *e)
{
	char path[PATH_MAX];

	dbatch_rollback(&a->batch, m);
	/* Descriptors held by this turn's batch (its files, until synced)
	 * and held launches come back at the commit: the launch waits for
	 * the next turn rather than being refused. */
	bool again = a->n_launches > 0 && (e->code == -EMFILE ||
	    e->code == -ENFILE);
	if (path_build(path, sizeof(path), a->o->work, PATH_TASK, &l->ids,
	    NULL) == 0)
		rmdirs(path, 2);		/* tasks/T, tasks */
	if (path_build(path, sizeof(path), a->o->work, PATH_RUN, &l->ids,
	    NULL) == 0) {
		strlcat(path, "/pids", sizeof(path));
		rmdirs(path, 1);
		path_build(path, sizeof(path), a->o->work, PATH_RUN, &l->ids, NULL);
		rmdirs(path, 4);		/* R, runs, E, executors */
	}
	if (path_build(path, sizeof(path), a->o->work, PATH_SANDBOX, &l->ids,
	    NULL) == 0)
		rmdirs(path, 4);
	if (again) {
		a->defer = true;
		a->n_launches = LAUNCH_BATCH;	/* commit first */
		return;
	}
	emit_error(a, "launch of task %s: refused, nothing done", l->ids.task, e);
}

/* Framework, executor, run and task into the batch before the executor
 * starts (a framework that does not checkpoint pays a sandbox only). */
static int
checkpoint(struct agent *a, const struct launch *l,
    const struct dbatch_mark *m)
{
	const struct ckpt_ids *ids = &l->ids;
	struct dbatch *b = &a->batch;
	struct ckpt_error e;
	char path[PATH_MAX];

	if (!l->checkpoint) {
		if (path_build(path, sizeof(path), a->o->work, PATH_SANDBOX, ids,
		    &e) < 0 || dbatch_mkdirs(b, path, &e) < 0) {
			if (per_request(e.code))
				refuse(a, l, m, &e);
			else
				fatal(a, "launch of task %s", ids->task, &e);
			return -1;
		}
		return 0;
	}
	Mesos__FrameworkInfo fi = MESOS__FRAMEWORK_INFO__INIT;
	Mesos__FrameworkID fid = MESOS__FRAMEWORK_ID__INIT;
	Mesos__ExecutorInfo ei = MESOS__EXECUTOR_INFO__INIT;
	Mesos__ExecutorID xid = MESOS__EXECUTOR_ID__INIT;
	Mesos__CommandInfo ci = MESOS__COMMAND_INFO__INIT;
	Mesos__Task ti = MESOS__TASK__INIT;
	Mesos__TaskID tid = MESOS__TASK_ID__INIT;
	Mesos__SlaveID sid = MESOS__SLAVE_ID__INIT;
	fid.value = (char *)ids->framework;
	xid.value = (char *)ids->executor;
	tid.value = (char *)ids->task;
	sid.value = a->id;
	fi.user = (char *)l->user;
	fi.name = (char *)ids->framework;
	fi.id = &fid;
	fi.has_checkpoint = fi.checkpoint = 1;
	ci.value = l->argv[0];
	for (ci.n_arguments = 0; l->argv[ci.n_arguments]; ci.n_arguments++)
		;
	ci.arguments = l->argv;
	ci.has_shell = 1;
	ci.shell = 0;
	ei.executor_id = &xid;
	ei.framework_id = &fid;
	ei.command = &ci;
	ti.name = (char *)(l->name ? l->name : ids->task);
	ti.task_id = &tid;
	ti.framework_id = &fid;
	ti.executor_id = &xid;
	ti.slave_id = &sid;
	ti.state = MESOS__TASK_STATE__TASK_STAGING;
	/* Its resources, as Mesos checkpoints them: scalars, mem and disk
	 * in MB (and ours, pids). */
	Mesos__Resource r[4], *rp[4];
	Mesos__Value__Scalar sc[4];
	const char *rn[4] = { "cpus", "mem", "disk", "pids" };
	double rv[4] = { l->lim.cpus, (double)l->lim.mem / (1 << 20),
	    (double)l->lim.disk / (1 << 20), (double)l->lim.pids };
	for (int i = 0; i < 4; i++) {
		if (!(rv[i] > 0))
			continue;
		mesos__resource__init(&r[ti.n_resources]);
		mesos__value__scalar__init(&sc[ti.n_resources]);
		sc[ti.n_resources].value = rv[i];
		r[ti.n_resources].name = (char *)rn[i];
		r[ti.n_resources].type = MESOS__VALUE__TYPE__SCALAR;
		r[ti.n_resources].scalar = &sc[ti.n_resources];
		rp[ti.n_resources] = &r[ti.n_resources];
		ti.n_resources++;
	}
	ti.resources = rp;
	if ((!fw_written(a, ids->framework, l->user) && checkpoint_info(b,
	    a->o->work, PATH_FRAMEWORK_INFO, ids, &fi.base, &e) < 0) ||
	    checkpoint_secret(b, a->o->work, ids, l->secret, &e) < 0 ||
	    checkpoint_info(b, a->o->work, PATH_EXECUTOR_INFO, ids, &ei.base, &e) < 0 ||
	    checkpoint_run(b, a->o->work, ids, &e) < 0 ||
	    checkpoint_info(b, a->o->work, PATH_TASK_INFO, ids, &ti.base, &e) < 0 ||
	    checkpoint_text(b, a->o->work, PATH_EXECUTOR_SOCKET, ids, l->sock, &e) < 0) {
		if (per_request(e.code))
			refuse(a, l, m, &e);
		else
			fatal(a, "launch of task %s: cannot checkpoint",
			    ids->task, &e);
		return -1;
	}
	fw_note(a, ids->framework, l->user);
	/* Limits are what an agent before them would misread. */
	if (ti.n_resources > 0 && uses(a, "limits", &e) < 0) {
		fatal(a, "launch of task %s", ids->task, &e);
		return -1;
	}
#ifdef DIR_CAPABILITY_EXTRA
	/* A feature no release knows (a test build's): every checkpointed
	 * launch uses it. */
	if (uses(a, DIR_CAPABILITY_EXTRA, &e) < 0) {
		fatal(a, "launch of task %s", ids->task, &e);
		return -1;
	}
#endif
	return 0;
}

char *
executor_binary(const struct agent_options *o)
{
	char self[PATH_MAX], *dir, *path;
	ssize_t n;

	if (o->executor_path)
		return strdup(o->executor_path);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return strdup("agent-executor");
	self[n] = '\0';
	dir = dirname(self);
	if (asprintf(&path, "%s/agent-executor", dir) < 0)
		return NULL;
	return path;
}

/* The executor's argv: the launcher's, then the executor's options, then
 * the task's. */
static char **
executor_argv(struct agent *a, const struct launch *l, char *exe,
    char num[10][32])
{
	char *rt = num[0], *gr = num[1], *lm = num[2], *lk = num[3],
	    *dr = num[4], *lc = num[5], *lmem = num[6], *ld = num[7],
	    *lp = num[8], *lw = num[9];
	const struct agent_options *o = a->o;
	const struct ckpt_ids *ids = &l->ids;
	const struct cli_bounds def = CLI_BOUNDS_DEFAULT;
	size_t nl = 0, na = 0, k = 0;

	snprintf(rt, 32, "%lldms", o->recovery_timeout_ms);
	snprintf(gr, 32, "%lldms", o->grace_ms);
	snprintf(lm, 32, "%lld", o->bounds.log_max);
	snprintf(lk, 32, "%lld", o->bounds.log_keep);
	snprintf(dr, 32, "%lld", o->bounds.disk_reserve);
	snprintf(lc, 32, "%g", l->lim.cpus);
	snprintf(lmem, 32, "%lld", l->lim.mem);
	snprintf(ld, 32, "%lld", l->lim.disk);
	snprintf(lp, 32, "%lld", l->lim.pids);
	snprintf(lw, 32, "%lldms", o->disk_watch_ms);
	const char *fixed[] = { exe, "-d", o->work, "--secret-fd", "3",
	    "--agent", a->id,
	    "--framework", ids->framework, "--executor", ids->executor, "--run",
	    ids->run, "--task", ids->task, "--socket", l->sock,
	    "--recovery-timeout", rt, "--grace", gr,
	    o->bounds.log_max != def.log_max ? "--task-log-max" : NULL,
	    o->bounds.log_max != def.log_max ? lm : NULL,
	    o->bounds.log_keep != def.log_keep ? "--task-log-keep" : NULL,
	    o->bounds.log_keep != def.log_keep ? lk : NULL,
	    o->bounds.disk_reserve != def.disk_reserve ? "--disk-reserve" : NULL,
	    o->bounds.disk_reserve != def.disk_reserve ? dr : NULL,
	    /* absent options are NULL, skipped below */
	    o->cgroup_root ? "--cgroup-root" : NULL, o->cgroup_root,
	    l->user_given ? "--user" : NULL, l->user_given ? l->user : NULL,
	    l->checkpoint ? "--checkpoint" : NULL,
	    l->lim.cpus > 0 ? "--cpus" : NULL, l->lim.cpus > 0 ? lc : NULL,
	    l->lim.mem > 0 ? "--mem" : NULL, l->lim.mem > 0 ? lmem : NULL,
	    l->lim.disk > 0 ? "--disk" : NULL, l->lim.disk > 0 ? ld : NULL,
	    l->lim.pids > 0 ? "--pids" : NULL, l->lim.pids > 0 ? lp : NULL,
	    l->lim.disk > 0 ? "--disk-watch-interval" : NULL,
	    l->lim.disk > 0 ? lw : NULL,
	    o->best_effort_limits && (l->lim.cpus > 0 || l->lim.mem > 0 ||
	    l->lim.pids > 0) ? "--best-effort-limits" : NULL, "--" };
	const size_t nf = sizeof(fixed) / sizeof(fixed[0]);
	while (o->launcher && o->launcher[nl])
		nl++;
	while (l->argv[na])
		na++;
	char **v = calloc(nl + nf + na + 16 + 1, sizeof(char *));
	if (v == NULL)
		abort();
	for (size_t j = 0; j < nl; j++)
		v[k++] = o->launcher[j];
	for (size_t j = 0; j < nf - 1; j++)
		if (fixed[j])
			v[k++] = (char *)fixed[j];
	for (size_t j = 0; j < 8; j++)
		if (l->health[j]) {
			v[k++] = (char *)health_opts[j];
			v[k++] = (char *)l->health[j];
		}
	v[k++] = "--";
	for (size_t j = 0; j < na; j++)
		v[k++] = l->argv[j];
	return v;
}

/* Fork the executor, held before exec, and put its pid into the batch. */
static int
spawn(struct agent *a, const struct launch *l, struct aexec *x,
    const struct dbatch_mark *m)
{
	char sandbox[PATH_MAX], num[10][32];
	char *exe = executor_binary(a->o);
	char **argv = executor_argv(a, l, exe, num);
	/* A non-checkpointing framework's executor dies with its agent. */
	struct spawn s = { .argv = argv, .dir = sandbox, .err = "executor.log",
	    .fd3 = -1, .session = true, .hold = true,
	    .death_signal = l->checkpoint ? 0 : SIGTERM };
	char text[2 * SECRET_LEN + 2];
	struct ckpt_error e;
	int sp[2];
	pid_t pid;

	path_build(sandbox, sizeof(sandbox), a->o->work, PATH_SANDBOX, &l->ids,
	    NULL);
	/* The secret reaches the executor on a pipe (fd 3), never argv. */
	secret_format(l->secret, text);
	strlcat(text, "\n", sizeof(text));
	if (pipe2(sp, O_CLOEXEC) < 0) {
		error_set(&e, -errno, "pipe", -1, "%s", strerror(errno));
		free(exe);
		free(argv);
		refuse(a, l, m, &e);
		return -1;
	}
	/* (Short: the executor then refuses every connection.) */
	(void)!write(sp[1], text, strlen(text));
	close(sp[1]);
	s.fd3 = sp[0];
	pid = spawn_start(&s, &x->hold_fd, NULL, &e);
	if (s.fd3 >= 0)
		close(s.fd3);
	free(exe);
	free(argv);
	if (pid < 0) {
		refuse(a, l, m, &e);
		return -1;
	}
	x->pid = pid;
	x->launched = true;
	RB_INSERT(pid_tree, &a->children, x);
	proc_start_time(pid, &x->start);
	if (l->checkpoint && checkpoint_pid(&a->batch, a->o->work, &l->ids, pid,
	    x->start, &e) < 0) {
		if (!per_request(e.code)) {
			fatal(a, "launch of task %s: cannot checkpoint the pid",
			    l->ids.task, &e);
			return -1;
		}
		/* Never released: it exits (75) before exec, is reaped. */
		close(x->hold_fd);
		x->hold_fd = -1;
		refuse(a, l, m, &e);
		return -1;
	}
	return 0;
}

void
cmd_launch(struct agent *a, struct command *c)
{
	struct launch l = { .checkpoint = false };
	struct dbatch_mark m;
	struct aexec *x;

	if (parse(a, c, &l) < 0)
		return;
	if (getrandom(l.secret, SECRET_LEN, 0) != SECRET_LEN) {
		emit_error(a, "launch of task %s: no random bytes for its secret",
		    l.ids.task, NULL);
		return;
	}
	dbatch_mark(&a->batch, &m);
	if (!fds_left(FDS_PER_LAUNCH)) {
		struct ckpt_error e;
		error_set(&e, -EMFILE, a->o->work, -1, "fewer than %d descriptors "
		    "left (RLIMIT_NOFILE %zu): too many executors or drivers",
		    FDS_PER_LAUNCH, a->nofile);
		refuse(a, &l, &m, &e);
		return;
	}
	if (checkpoint(a, &l, &m) < 0)
		return;
	x = x_new(a, l.ids.framework, l.ids.executor, l.run, l.ids.task);
	x->checkpoint = l.checkpoint;
	x->res = l.lim;
	resources_take(a, x);
	memcpy(x->secret, l.secret, SECRET_LEN);
	x->has_secret = true;
	if ((x->socket = strdup(l.sock)) == NULL)
		abort();
	if (spawn(a, &l, x, &m) < 0) {
		if (a->failed)
			run_event(a, x, EV_EOF, NULL);
		else
			x_free(a, x);	/* refused: it never was */
		return;
	}
	/* Connecting starts once it is released, after the commit. */
	run_event(a, x, EV_LAUNCH, NULL);
	x_check(a, x);
	a->n_launches++;
	log_line(&a->log, LOG_INFO, "launch: task %s of framework %s (executor "
	    "%s, run %s): pid %ld", x->task, x->framework, x->executor, x->run,
	    (long)x->pid);
	json_t *ev = x_json("launched", x);
	json_object_set_new(ev, "pid", json_integer(x->pid));
	json_object_set_new(ev, "checkpoint", json_boolean(l.checkpoint));
	/* What it was given, in Mesos's units (mem and disk in MB). */
	json_t *res = json_object();
	if (l.lim.cpus > 0)
		json_object_set_new(res, "cpus", json_real(l.lim.cpus));
	if (l.lim.mem > 0)
		json_object_set_new(res, "mem", json_real((double)l.lim.mem /
		    (1 << 20)));
	if (l.lim.disk > 0)
		json_object_set_new(res, "disk", json_real((double)l.lim.disk /
		    (1 << 20)));
	if (l.lim.pids > 0)
		json_object_set_new(res, "pids", json_integer(l.lim.pids));
	if (json_object_size(res) > 0)
		json_object_set_new(ev, "resources", res);
	else
		json_decref(res);
	answer(&a->dr, ev);
}
