/* recover: print the recovery plan an agent would follow on this work dir. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <libsmartcols.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <unistd.h>

#include "channel.h"
#include "checkpoint.h"
#include "cli.h"
#include "gc.h"
#include "paths.h"
#include "quarantine.h"
#include "recovery.h"
#include "session.h"
#include "update.h"
#include "version.h"
#include "walk.h"
#include "workdir.h"

/* How --gc says what it removes: paths NUL-separated (-0), JSON lines,
 * or words. */
struct gc_out {
	int nul, json, dry;
	size_t n;			/* paths removed (or to be) */
};

/* --gc: an entry passed over is reported, never followed. */
static void
gc_skipped(void *ctx, const char *path, const char *why)
{
	char shown[PATH_MAX + 256];

	(void)ctx;
	warnx("%s: %s (not collected)", cli_shown(path, shown, sizeof(shown)),
	    why);
}

static void
gc_print(void *ctx, const char *path)
{
	struct gc_out *o = ctx;

	o->n++;
	if (o->nul) {
		fputs(path, stdout);
		putchar('\0');
	} else if (o->json) {
		json_t *j = json_pack("{s:s, s:o, s:b}", "type", "gc", "path",
		    jw_text(path), "removed", !o->dry);
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else
		printf("%s %s\n", o->dry ? "would remove" : "removed", path);
}

/* Mesos's --gc_disk_headroom: the delay shrinks as the disk fills,
 * delay * max(0, 1 - headroom - used), used the fraction of the work
 * dir's file system in use. */
static long long
gc_delay(const char *work, long long delay, double headroom)
{
	struct statvfs v;
	double used, k;

	if (statvfs(work, &v) < 0 || v.f_blocks == 0)
		return delay;
	used = 1.0 - (double)v.f_bavail / (double)v.f_blocks;
	k = 1.0 - headroom - used;
	return k <= 0 ? 0 : (long long)((double)delay * k);
}

struct print {
	int table, orphans, none;	/* none: an agent holds the work dir */
	time_t now;
	size_t waiting;			/* --orphans: within their deadline */
	size_t n;			/* runs printed */
	struct libscols_table *t;	/* --table: sized once every row is in */
	struct jsonw w;			/* --json lines */
};

static int
print_run(void *ctx, const struct recovery_plan *p, const struct recovery_run *r)
{
	struct print *pr = ctx;

	if (pr->orphans && (pr->none || r->identity != PROC_SAME))
		return 0;
	/* An executor still within its recovery timeout waits for an agent
	 * (one restarting, say): not an orphan yet. */
	if (pr->orphans && r->run->deadline > pr->now) {
		pr->waiting++;
		return 0;
	}
	pr->n++;
	if (pr->table) {
		struct libscols_line *l = scols_table_new_line(pr->t, NULL);
		char pid[24], pending[24], errors[24];
		snprintf(pid, sizeof(pid), "%lld", (long long)r->run->pid);
		snprintf(pending, sizeof(pending), "%zu", r->pending);
		snprintf(errors, sizeof(errors), "%zu", recovery_run_errors(r));
		if (l == NULL || scols_line_set_data(l, 0, r->framework->id) ||
		    scols_line_set_data(l, 1, r->executor->id) ||
		    scols_line_set_data(l, 2, r->run->id) ||
		    scols_line_set_data(l, 3, pid) ||
		    scols_line_set_data(l, 4, recovery_process_name(r)) ||
		    scols_line_set_data(l, 5, recovery_action_name(r->action)) ||
		    scols_line_set_data(l, 6, pending) ||
		    scols_line_set_data(l, 7, errors))
			err(EX_OSERR, "table");
	} else {
		recovery_run_write(&pr->w, p, r);
		jw_raw(&pr->w, "\n", 1);
	}
	return 0;
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: recover [-d WORK] [--strict | --no-strict] [--repair] [--orphans]\n"
	    "               [--json | --table] [--framework ID]... [--executor ID]...\n"
	    "               [--task ID]... [--state STATE]... [--unacked]\n"
	    "               [--exit-status] [--summary]\n"
	    "       recover [-d WORK] --gc [DELAY] [--disk-headroom FRACTION]\n"
	    "               [--dry-run] [-0 | --print0 | --json] [--summary]\n"
	    "       recover [-d WORK] --quarantine RUN\n"
	    "       recover [-d WORK] --upgrade-executors [--executor-path PATH]\n"
	    "               [--summary]\n");
	exit(status);
}

static const struct option longopts[] = {
	{ "work-dir", required_argument, NULL, 'd' },
	{ "strict", no_argument, NULL, 'X' },
	{ "no-strict", no_argument, NULL, 'S' },
	WALK_FILTER_OPTIONS,
	{ "repair", no_argument, NULL, 'r' },
	{ "orphans", no_argument, NULL, 'o' },
	{ "json", no_argument, NULL, 'j' },
	{ "table", no_argument, NULL, 'T' },
	{ "gc", optional_argument, NULL, 'g' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "print0", no_argument, NULL, '0' },
	{ "disk-headroom", required_argument, NULL, 'H' },
	{ "exit-status", no_argument, NULL, 'E' },
	{ "summary", no_argument, NULL, 'Y' },
	{ "quarantine", required_argument, NULL, 'Q' },
	{ "upgrade-executors", no_argument, NULL, 'U' },
	{ "executor-path", required_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *work;
	const char *quarantine;		/* --quarantine RUN */
	int upgrade;			/* --upgrade-executors */
	const char *executor_path;	/* ... into this agent-executor */
	struct state_options so;
	struct walk_filter filter;
	int orphans, table, gc, dry, nul, json, exit_status, summary;
	long long delay;		/* --gc: Mesos's default, one week */
	double headroom;		/* Mesos's default */
};

static void
parse(struct args *g, int argc, char *argv[])
{
	struct ckpt_error e;
	char *end;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:f:e:t:h0", longopts, NULL)) != -1) {
		if ((rc = walk_filter_option(&g->filter, ch, optarg, &e)) < 0)
			errx(EX_USAGE, "%s", e.reason);
		if (rc > 0)
			continue;
		switch (ch) {
		case 'd': g->work = optarg; break;
		case 'X': g->so.strict = true; break;
		case 'S': g->so.strict = false; break;
		case 'r': g->so.repair = true; break;
		case 'o': g->orphans = 1; break;
		case 'j': g->table = 0; g->json = 1; break;
		case 'T': g->table = 1; break;
		case 'g':
			g->gc = 1;
			if (optarg == NULL && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			if (optarg && cli_duration("--gc", optarg, &g->delay, &e) < 0)
				errx(EX_USAGE, "%s", e.reason);
			break;
		case 'n': g->dry = 1; break;
		case 'E': g->exit_status = 1; break;
		case 'Y': g->summary = 1; break;
		case 'Q': g->quarantine = optarg; break;
		case 'U': g->upgrade = 1; break;
		case 'P': g->executor_path = optarg; break;
		case '0': g->nul = 1; break;
		case 'H':
			g->headroom = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(g->headroom >= 0 &&
			    g->headroom <= 1))
				errx(EX_USAGE, "--disk-headroom: '%s' is not a "
				    "fraction from 0 to 1", optarg);
			break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': { char v[160]; puts(version_line(getprogname(), false, v, sizeof(v))); } exit(EX_OK);
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if ((g->work = path_work_dir(g->work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	if ((g->dry || g->nul) && !g->gc)
		errx(EX_USAGE, "--dry-run and --print0 go with --gc");
	if (!g->gc && (g->headroom != 0.1))
		errx(EX_USAGE, "--disk-headroom goes with --gc");
	if (g->executor_path && !g->upgrade)
		errx(EX_USAGE, "--executor-path goes with --upgrade-executors");
	if (g->nul && g->json && g->gc)
		errx(EX_USAGE, "--print0 and --json: one or the other");
}

/* recover --quarantine RUN: a damaged run set aside (quarantine.h), said
 * as one JSON line. */
static int
quarantine_main(const struct args *g)
{
	struct quarantine q;
	struct ckpt_error e;
	json_t *tasks = json_array(), *o;
	int rc;

	if ((rc = workdir_check(g->work, &e)) < 0 ||
	    (rc = quarantine_run(g->work, g->quarantine, 5000, &q, &e)) < 0) {
		json_decref(tasks);
		error_print(&e);
		return error_exit_code(rc);
	}
	for (size_t i = 0; i < q.n_tasks; i++)
		json_array_append_new(tasks, jw_text(q.tasks[i]));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "type",
	    "quarantine", "run_id", jw_text(g->quarantine), "framework_id",
	    jw_text(q.framework), "executor_id", jw_text(q.executor), "tasks",
	    tasks, "reason", jw_text(q.reason), "moved_to", jw_text(q.moved_to),
	    "executor", q.executor_result);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

/* recover --gc: the terminated runs older than the delay, removed. */
static int
gc_main(const struct args *g)
{
	struct gc_out out = { g->nul, g->json, g->dry, 0 };
	struct ckpt_error e;
	long long delay = gc_delay(g->work, g->delay, g->headroom);
	int rc;

	rc = gc_runs(g->work, time(NULL) - (time_t)(delay / 1000), g->dry,
	    gc_print, gc_skipped, &out, &e);
	if (rc < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	if (g->summary)
		fprintf(stderr, "recover: gc: %s %zu path%s (what terminated "
		    "more than %llds ago)\n", g->dry ? "would remove" :
		    "removed", out.n, out.n == 1 ? "" : "s", delay / 1000);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

/* Columns as wide as their widest cell (Mesos ids are 40 characters and
 * more): libsmartcols, as lsblk and findmnt. */
static struct libscols_table *
table_new(void)
{
	static const char *const cols[] = { "FRAMEWORK", "EXECUTOR", "RUN",
	    "PID", "PROCESS", "ACTION", "PENDING", "ERRORS" };
	struct libscols_table *t = scols_new_table();

	if (t == NULL)
		err(EX_OSERR, "table");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		if (scols_table_new_column(t, cols[i], 0, i >= 3 && i != 4 &&
		    i != 5 ? SCOLS_FL_RIGHT : 0) == NULL)
			err(EX_OSERR, "table");
	return t;
}

/* --orphans --summary: one line on stderr, whatever was found: how many
 * orphans, how many executors still wait for an agent, or why none were
 * looked for (who holds the work dir). */
static void
orphans_summary(const struct args *g, const struct print *pr)
{
	char path[PATH_MAX], text[32] = "", comm[64] = "?";
	long pid = 0;

	if (pr->none) {
		snprintf(path, sizeof(path), "%s/meta/agent.lock", g->work);
		if (cli_read_text(path, text, sizeof(text), NULL) == 0)
			pid = atol(text);
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		if (pid <= 0 || cli_read_text(path, comm, sizeof(comm), NULL) < 0)
			strlcpy(comm, "?", sizeof(comm));
		fprintf(stderr, "recover: orphans: skipped: the work dir is held by "
		    "%s (pid %ld)%s\n", comm, pid, strcmp(comm, "recover") == 0 ?
		    ": gc running" : strcmp(comm, "agent-run") == 0 ?
		    ": an agent runs" : "");
		return;
	}
	fprintf(stderr, "recover: orphans: %zu; %zu executor%s within %s "
	    "recovery timeout, waiting for an agent\n", pr->n, pr->waiting,
	    pr->waiting == 1 ? "" : "s", pr->waiting == 1 ? "its" : "their");
}

/* The plan, as a table or JSON lines. */
static int
plan_main(struct args *g)
{
	struct ckpt_error e;
	int rc;

	g->so.deadlines = true;
	g->so.versions = true;
	g->so.limits = true;
	/* --repair writes: only into a work dir a writer may use. */
	if (g->so.repair && (rc = workdir_check(g->work, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	/* An orphan: a live executor while no agent holds the work dir. */
	struct print pr = { g->table, g->orphans, g->orphans &&
	    workdir_locked(g->work), time(NULL), 0, 0, NULL, { 0 } };
	/* What --orphans prints is killed: nothing leaves unless the whole
	 * work dir was read, strictly (a damaged run could hide its
	 * executor's agent, or make a live one look orphaned). */
	if (g->orphans)
		g->so.strict = true;
	jw_init(&pr.w, g->orphans ? NULL : stdout);
	if (g->table)
		pr.t = table_new();
	struct recovery_visitor v = { .ctx = &pr, .run = print_run };
	rc = recovery_walk(g->work, &g->so, &g->filter, false, &v, NULL, &e);
	if (g->orphans && rc == 0) {
		size_t n;
		char *text = jw_take(&pr.w, &n);
		if (text == NULL || fwrite(text, 1, n, stdout) != n)
			err(EX_IOERR, "stdout");
		free(text);
	} else if (jw_flush(&pr.w) < 0)
		errc(EX_IOERR, -pr.w.error, "stdout");
	jw_free(&pr.w);
	if (rc < 0) {
		fflush(stdout);
		if (g->orphans)
			strlcat(e.reason, " (--orphans: nothing is listed, so "
			    "nothing is killed, until the work dir reads whole)",
			    sizeof(e.reason));
		error_print(&e);
		return error_exit_code(rc);
	}
	if (pr.t != NULL) {
		scols_print_table(pr.t);
		scols_unref_table(pr.t);
	}
	if (fflush(stdout) != 0)
		err(EX_IOERR, "stdout");
	if (g->summary && g->orphans)
		orphans_summary(g, &pr);
	/* As grep and jq -e: no run in the plan is 1. */
	return g->exit_status && pr.n == 0 ? 1 : EX_OK;
}

/* --upgrade-executors: while no agent runs (the work dir's lock held
 * meanwhile), each live executor, proven, re-execs itself into the
 * installed agent-executor, keeping its task (agent-executor(1)).  One
 * JSON line per run. */
struct upgrading {
	const char *path;		/* the agent-executor to become */
	struct jsonw w;
	size_t upgraded, skipped, failed;
};

/* The executor of run r, registered as a tool (its recovery deadline
 * runs on): 0, or -1 with why. */
static int
upgrade_one(struct upgrading *u, const struct recovery_plan *p,
    const struct recovery_run *r, struct session_peer *before,
    struct session_peer *after, char *why, size_t len)
{
	long long deadline = monotonic_ms() + 5000;
	uint8_t secret[SECRET_LEN];
	bool proven = r->run->secret && secret_parse(r->run->secret,
	    secret) == 0;
	struct ckpt_error e;
	struct channel c;
	int fd, resends, rc = -1;

	if ((fd = channel_connect(r->run->socket, &e)) < 0)
		return snprintf(why, len, "%s", e.reason), -1;
	channel_init(&c, fd);
	if (session_register(&c, p->agent_id, proven ? secret : NULL,
	    true) < 0) {
		snprintf(why, len, "the executor closed the connection");
		goto out;
	}
	/* Its HELLO (what follows it, never acknowledged, stays queued). */
	for (;;) {
		struct pollfd pf = { c.fd, POLLIN | (c.out_len ? POLLOUT : 0), 0 };
		Agentproto__ExecutorMessage *m;
		long long left = deadline - monotonic_ms();
		enum session_answer a = SESSION_OTHER;
		int more = 1;
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
			snprintf(why, len, "no HELLO within 5 s");
			goto out;
		}
		if (pf.revents & POLLOUT)
			channel_flush(&c);
		if (pf.revents & (POLLIN | POLLHUP | POLLERR))
			more = channel_fill(&c);
		while (a == SESSION_OTHER && channel_next(&c, &m) > 0) {
			a = session_answer(m, &resends, before, why, len);
			agentproto__executor_message__free_unpacked(m, NULL);
		}
		if (a == SESSION_INCOMPATIBLE)
			goto out;
		if (a == SESSION_HELLO)
			break;
		if (more <= 0) {
			snprintf(why, len, "the executor closed the connection "
			    "(a stranger to it: no secret?)");
			goto out;
		}
	}
	if (strstr(before->capabilities, "reexec") == NULL) {
		snprintf(why, len, "agent-executor %s cannot re-exec itself: it "
		    "keeps its code until its task ends", before->version);
		rc = 1;
		goto out;
	}
	rc = session_upgrade(&c, u->path, monotonic_ms() + 15000, after, why,
	    len);
out:
	channel_close(&c);
	return rc;
}

static int
upgrade_run(void *ctx, const struct recovery_plan *p,
    const struct recovery_run *r)
{
	struct upgrading *u = ctx;
	struct session_peer before = { 0 }, after = { 0 };
	char why[PATH_MAX + 300];
	int rc;

	if (r->identity != PROC_SAME || r->run->socket == NULL ||
	    r->run->completed)
		return 0;
	rc = upgrade_one(u, p, r, &before, &after, why, sizeof(why));
	jw_object(&u->w, NULL);
	jw_string(&u->w, "run_id", r->run->id);
	jw_string(&u->w, "framework_id", r->framework->id);
	jw_string(&u->w, "executor_id", r->executor->id);
	jw_string(&u->w, "task_id", r->run->n_tasks ? r->run->tasks[0].id :
	    NULL);
	jw_int(&u->w, "pid", r->run->pid);
	jw_string(&u->w, "from", before.version[0] ? before.version : NULL);
	if (rc == 0) {
		jw_string(&u->w, "to", after.version);
		u->upgraded++;
	} else {
		jw_string(&u->w, rc > 0 ? "skipped" : "error", why);
		if (rc > 0)
			u->skipped++;
		else
			u->failed++;
	}
	jw_end(&u->w);
	jw_raw(&u->w, "\n", 1);
	return jw_flush(&u->w) < 0 ? -EIO : 0;
}

static int
upgrade_main(struct args *g)
{
	struct upgrading u = { .path = g->executor_path };
	struct recovery_visitor v = { .ctx = &u, .run = upgrade_run };
	char self[PATH_MAX], *dir, path[PATH_MAX + 32];
	struct ckpt_error e;
	ssize_t n;
	int lock, rc;

	if (u.path == NULL) {
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
			err(EX_OSERR, "/proc/self/exe");
		self[n] = '\0';
		dir = dirname(self);
		snprintf(path, sizeof(path), "%s/agent-executor", dir);
		u.path = path;
	}
	if (access(u.path, X_OK) < 0)
		err(EX_NOINPUT, "--upgrade-executors: %s", u.path);
	/* No agent meanwhile: it would take the executors' connections. */
	if ((lock = workdir_lock(g->work, &e)) < 0) {
		if (lock == -EAGAIN || lock == -EBUSY)
			strlcat(e.reason, " (an agent runs: ask it, `upgrade`)",
			    sizeof(e.reason));
		error_print(&e);
		return error_exit_code(lock);
	}
	g->so.strict = true;
	g->so.secrets = true;
	jw_init(&u.w, stdout);
	rc = recovery_walk(g->work, &g->so, &g->filter, false, &v, NULL, &e);
	if (jw_flush(&u.w) < 0)
		errc(EX_IOERR, -u.w.error, "stdout");
	jw_free(&u.w);
	close(lock);
	if (rc < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	if (g->summary)
		fprintf(stderr, "recover: upgrade-executors: %zu upgraded into "
		    "%s, %zu cannot be, %zu failed\n", u.upgraded, u.path,
		    u.skipped, u.failed);
	return u.failed ? 1 : EX_OK;
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	struct args g = { .so = { .strict = true }, .table = isatty(1),
	    .delay = 7LL * 24 * 3600 * 1000, .headroom = 0.1 };
	int rc;

	parse(&g, argc, argv);
	rc = g.quarantine ? quarantine_main(&g) : g.gc ? gc_main(&g) :
	    g.upgrade ? upgrade_main(&g) : plan_main(&g);
	walk_filter_free(&g.filter);
	return rc;
}
