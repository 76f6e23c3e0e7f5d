/* agent-run: the agent, driven by commands on stdin (see agent.h). */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "contain.h"
#include "cli.h"
#include "command.h"
#include "paths.h"
#include "version.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: agent-run [-d WORK] [--agent-id ID] [--hostname NAME]\n"
	    "                 [--recover=reconnect|cleanup] [--strict | --no-strict]\n"
	    "                 [--recovery-timeout DUR] [--grace DUR]\n"
	    "                 [--executor-reregistration-timeout DUR]\n"
	    "                 [--executor PATH] [--launcher 'PROGRAM ARGS...']\n"
	    "                 [--log FILE] [--cgroup-root DIR|auto|none]\n"
	    "                 [--listen SOCKET] [--update-retry-interval DUR]\n"
	    "                 [--driver-queue BYTES] [--disk-reserve SIZE]\n"
	    "                 [--executor-registration-timeout DUR]\n"
	    "                 [--task-log-max SIZE] [--task-log-keep N]\n"
	    "                 [--log-level error|warning|notice|info|debug]\n"
	    "                 [--resources 'cpus:N;mem:MB;disk:MB'] [--oversubscribe]\n"
	    "                 [--best-effort-limits] [--disk-watch-interval DUR]\n"
	    "       agent-run --attach SOCKET [--timeout DUR] [--retry DUR]\n"
	    "       agent-run --attach SOCKET --metrics[=prometheus|json]\n"
	    "                 [--metrics-file FILE] [--timeout DUR]\n"
	    "commands on stdin (or the socket), one per line, [@ID] first;\n"
	    "events on stdout as JSON lines:\n"
	    "  launch [--checkpoint] [--name NAME] [--user USER] [--cpus N] [--mem SIZE]\n"
	    "         [--disk SIZE] [--pids N] FRAMEWORK EXECUTOR TASK -- ARGV...\n"
	    "  kill [FRAMEWORK] TASK | ack UUID | reconcile [TASK...] | usage [TASK...]\n"
	    "  metrics | upgrade [TASK...] | shutdown | ping\n");
	exit(status);
}

/* The cgroup v2 directory under which each run gets its own: as given
 * (it must be one: a cgroup.procs beside it), or `auto`: agent-run below
 * the cgroup2 mount, made if absent.  NULL after a message. */
static const char *
cgroup_root(const char *arg, bool quiet)
{
	static char buf[PATH_MAX];
	char probe[PATH_MAX + 16];

	/* Each executor's task below the executor's own cgroup: a delegated
	 * scope per executor under systemd (the shipped unit), which
	 * `systemctl restart agent-run` never touches. */
	if (strcmp(arg, "self") == 0) {
		if (contain_cgroup2_mount(buf, sizeof(buf)) < 0) {
			warnx("--cgroup-root self: no cgroup2 file system is "
			    "mounted (see /proc/self/mountinfo)");
			return NULL;
		}
		return "self";
	}
	if (strcmp(arg, "auto") == 0) {
		if (contain_cgroup2_mount(buf, sizeof(buf)) < 0) {
			if (!quiet)
				warnx("--cgroup-root auto: no cgroup2 file system "
				    "is mounted (see /proc/self/mountinfo)");
			return NULL;
		}
		strlcat(buf, "/agent-run", sizeof(buf));
		if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
			if (!quiet)
				warn("--cgroup-root auto: %s", buf);
			return NULL;
		}
	} else if (realpath(arg, buf) == NULL) {
		warn("--cgroup-root: %s", arg);
		return NULL;
	}
	snprintf(probe, sizeof(probe), "%s/cgroup.procs", buf);
	if (access(probe, W_OK) < 0 && quiet)
		return NULL;
	if (access(probe, W_OK) < 0) {
		warnx("--cgroup-root: %s is not a writable cgroup v2 directory "
		    "(%s: %s); under systemd, use a delegated subtree "
		    "(Delegate=yes)", buf, probe, strerror(errno));
		return NULL;
	}
	return buf;
}

/* A duration or a size (ch): set in o, or exit 64 naming the option;
 * false when ch is neither. */
static bool
option_amount(struct agent_options *o, int ch, const char *arg)
{
	struct ckpt_error e;
	long long n = 0;
	int rc;

	if ((rc = cli_bounds_option(&o->bounds, ch, arg, &e)) != 0) {
		if (rc < 0)
			errx(EX_USAGE, "%s", e.reason);
		return true;
	}
	switch (ch) {
	case 'R': rc = cli_duration("--recovery-timeout", arg,
	    &o->recovery_timeout_ms, &e); break;
	case 'g': rc = cli_duration("--grace", arg, &o->grace_ms, &e); break;
	case 'T': rc = cli_duration("--executor-reregistration-timeout", arg,
	    &o->reregister_timeout_ms, &e); break;
	case 'G': rc = cli_duration("--executor-registration-timeout", arg,
	    &o->registration_timeout_ms, &e); break;
	case 'U':
		rc = cli_duration("--update-retry-interval", arg, &o->retry_ms, &e);
		if (rc == 0 && o->retry_ms <= 0)
			errx(EX_USAGE, "--update-retry-interval: must be more "
			    "than 0");
		break;
	case 'Q':
		rc = cli_size("--driver-queue", arg, 4096, &n, &e);
		o->driver_bound = (size_t)n;
		break;
	case 'K':
		rc = cli_duration("--disk-watch-interval", arg,
		    &o->disk_watch_ms, &e);
		if (rc == 0 && o->disk_watch_ms < 100)
			errx(EX_USAGE, "--disk-watch-interval: 100ms at least");
		break;
	default:
		return false;
	}
	if (rc < 0)
		errx(EX_USAGE, "%s", e.reason);
	return true;
}

static const struct option longopts[] = {
	{ "work-dir", required_argument, NULL, 'd' },
	{ "agent-id", required_argument, NULL, 'a' },
	{ "hostname", required_argument, NULL, 'H' },
	{ "recover", required_argument, NULL, 'r' },
	{ "strict", no_argument, NULL, 's' },
	{ "no-strict", no_argument, NULL, 'S' },
	{ "recovery-timeout", required_argument, NULL, 'R' },
	{ "grace", required_argument, NULL, 'g' },
	{ "executor-reregistration-timeout", required_argument, NULL, 'T' },
	{ "executor", required_argument, NULL, 'x' },
	{ "launcher", required_argument, NULL, 'L' },
	{ "cgroup-root", required_argument, NULL, 'C' },
	{ "log", required_argument, NULL, 'l' },
	{ "log-level", required_argument, NULL, 'v' },
	{ "listen", required_argument, NULL, 'A' },
	{ "attach", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 'W' },
	{ "retry", required_argument, NULL, 'Z' },
	{ "update-retry-interval", required_argument, NULL, 'U' },
	{ "driver-queue", required_argument, NULL, 'Q' },
	{ "executor-registration-timeout", required_argument, NULL, 'G' },
	{ "resources", required_argument, NULL, 'E' },
	{ "oversubscribe", no_argument, NULL, 'O' },
	{ "best-effort-limits", no_argument, NULL, 'B' },
	{ "disk-watch-interval", required_argument, NULL, 'K' },
	{ "metrics", optional_argument, NULL, 'M' },
	{ "metrics-file", required_argument, NULL, 'F' },
	CLI_BOUNDS_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* --resources 'cpus:N;mem:M;disk:D' (Mesos's syntax; M and D in MB, or
 * with K, M, G): into o, or exit 64 naming what is wrong. */
static void
resources_parse(struct agent_options *o, const char *arg)
{
	char *copy = strdup(arg), *save, *item;

	if (copy == NULL)
		err(EX_OSERR, "--resources");
	for (item = strtok_r(copy, ";", &save); item;
	    item = strtok_r(NULL, ";", &save)) {
		char *colon = strchr(item, ':'), *end;
		double v;
		if (colon == NULL)
			errx(EX_USAGE, "--resources: '%s' is not NAME:VALUE "
			    "(like 'cpus:4;mem:8192;disk:102400')", item);
		*colon++ = '\0';
		if (strcmp(item, "cpus") == 0) {
			v = strtod(colon, &end);
			if (*end != '\0' || !(v >= 0))
				errx(EX_USAGE, "--resources: cpus: '%s' is not a "
				    "number", colon);
			o->res_cpus = v;
		} else if (strcmp(item, "mem") == 0 || strcmp(item, "disk") == 0) {
			long long b = cg_size_mb(colon);
			if (b < 0)
				errx(EX_USAGE, "--resources: %s: '%s' is not a size "
				    "(MB, or with K, M, G)", item, colon);
			*(item[0] == 'm' ? &o->res_mem : &o->res_disk) =
			    (double)b / (1 << 20);
		} else
			errx(EX_USAGE, "--resources: '%s' is not one of cpus, "
			    "mem, disk", item);
	}
	free(copy);
}

/* What the command line asks besides the agent's options. */
struct args {
	const char *work, *attach, *cgroup;
	const char *metrics, *metrics_file;	/* --metrics[=FORMAT] */
	long long timeout_ms;		/* --attach: for an answer */
	long long retry_ms;		/* --attach: for an agent to come back */
	bool timeout_given;
	struct command launcher;
};

static void
option(struct agent_options *o, struct args *g, int ch, const char *arg)
{
	struct ckpt_error e;

	switch (ch) {
	case 'd': g->work = arg; break;
	case 'a':
		if (id_validate(arg, "agent", &e) < 0)
			errx(EX_USAGE, "--agent-id: %s", e.reason);
		o->agent_id = arg;
		break;
	case 'H': o->hostname = arg; break;
	case 'r':
		if (strcmp(arg, "reconnect") != 0 && strcmp(arg, "cleanup") != 0)
			errx(EX_USAGE, "--recover: '%s' is neither reconnect nor "
			    "cleanup", arg);
		o->cleanup = strcmp(arg, "cleanup") == 0;
		break;
	case 's': o->strict = 1; break;
	case 'S': o->strict = 0; break;
	case 'x': o->executor_path = arg; break;
	case 'L':
		command_free(&g->launcher);
		if (command_parse(arg, &g->launcher, &e) < 0 ||
		    g->launcher.argc == 0)
			errx(EX_USAGE, "--launcher: %s", g->launcher.argc ?
			    e.reason : "empty");
		o->launcher = g->launcher.argv;
		break;
	case 'l': o->log_path = arg; break;
	case 'v':
		if ((o->log_level = log_level_parse(arg)) < 0)
			errx(EX_USAGE, "--log-level: '%s' is not one of error, "
			    "warning, notice, info, debug", arg);
		break;
	case 'C': g->cgroup = arg; break;
	case 'E': resources_parse(o, arg); break;
	case 'O': o->oversubscribe = true; break;
	case 'M':
		g->metrics = arg ? arg : "prometheus";
		if (strcmp(g->metrics, "prometheus") != 0 &&
		    strcmp(g->metrics, "json") != 0)
			errx(EX_USAGE, "--metrics: '%s' is neither prometheus nor "
			    "json", g->metrics);
		break;
	case 'F': g->metrics_file = arg; break;
	case 'B': o->best_effort_limits = true; break;
	case 'A': o->listen = arg; break;
	case 'c': g->attach = arg; break;
	case 'W':
		if (cli_duration("--timeout", arg, &g->timeout_ms, &e) < 0)
			errx(EX_USAGE, "%s", e.reason);
		g->timeout_given = true;
		break;
	case 'Z':
		if (cli_duration("--retry", arg, &g->retry_ms, &e) < 0)
			errx(EX_USAGE, "%s", e.reason);
		g->timeout_given = true;
		break;
	case 'h': usage(stdout, EX_OK); break;
	case 'V': { char v[160]; puts(version_line(getprogname(), true, v, sizeof(v))); } exit(EX_OK);
	default:
		if (!option_amount(o, ch, arg))
			usage(stderr, EX_USAGE);
	}
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	struct agent_options o = { .strict = 1, .log_level = -1,
	    .recovery_timeout_ms = 15 * 60 * 1000, .reregister_timeout_ms = 2000,
	    .grace_ms = 3000, .retry_ms = 10000,
	    .registration_timeout_ms = 60000,
	    .bounds = CLI_BOUNDS_DEFAULT, .res_cpus = -1, .res_mem = -1,
	    .res_disk = -1, .disk_watch_ms = 15000 };
	struct args g = { .timeout_ms = 60000 };
	struct ckpt_error e;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1)
		option(&o, &g, ch, optarg);
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if ((g.metrics || g.metrics_file) && g.attach == NULL)
		errx(EX_USAGE, "--metrics and --metrics-file go with --attach");
	if (g.metrics_file && !g.metrics)
		g.metrics = "prometheus";
	if (g.attach != NULL && g.metrics != NULL)
		return metrics_main(g.attach, g.metrics, g.metrics_file,
		    g.timeout_given ? g.timeout_ms : 60000);
	if (g.attach != NULL)
		return attach_main(g.attach, g.timeout_ms, g.retry_ms);
	if (g.timeout_given)
		errx(EX_USAGE, "--timeout and --retry go with --attach");
	if ((o.work = path_work_dir(g.work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	/* Containment by default: a cgroup per task wherever a writable
	 * cgroup2 hierarchy is (even one without controllers); else the
	 * subreaper and the run's mark (RUN_MARK), and a line says so. */
	if (g.cgroup == NULL)
		o.cgroup_root = cgroup_root("auto", true);
	else if (strcmp(g.cgroup, "none") != 0 &&
	    (o.cgroup_root = cgroup_root(g.cgroup, false)) == NULL)
		return EX_UNAVAILABLE;
	rc = agent_main(&o, &e);
	command_free(&g.launcher);
	/* An error the agent said already (as an event) leaves e empty. */
	if (rc < 0 && e.reason[0] != '\0')
		error_print(&e);
	return error_exit_code(rc);
}
