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
	    "                 [--log-level info|debug]\n"
	    "       agent-run --attach SOCKET\n"
	    "commands on stdin (or the socket), one per line, [@ID] first;\n"
	    "events on stdout as JSON lines:\n"
	    "  launch [--checkpoint] [--name NAME] [--user USER] FRAMEWORK EXECUTOR TASK -- ARGV...\n"
	    "  kill [FRAMEWORK] TASK | ack UUID | reconcile [TASK...] | shutdown | ping\n");
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

static long long
duration(const char *opt, const char *text)
{
	long long ms;

	if (cli_duration(text, &ms) < 0)
		errx(EX_USAGE, "%s: '%s' is not a duration (like 500ms, 2s, 15min)",
		    opt, text);
	return ms;
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
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
		{ "listen", required_argument, NULL, 'A' },
		{ "attach", required_argument, NULL, 'c' },
		{ "update-retry-interval", required_argument, NULL, 'U' },
		{ "driver-queue", required_argument, NULL, 'Q' },
		{ "executor-registration-timeout", required_argument, NULL, 'G' },
		{ "task-log-max", required_argument, NULL, 'M' },
		{ "task-log-keep", required_argument, NULL, 'K' },
		{ "disk-reserve", required_argument, NULL, 'D' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_options o = { .strict = 1,
	    .recovery_timeout_ms = 15 * 60 * 1000, .reregister_timeout_ms = 2000,
	    .grace_ms = 3000, .retry_ms = 10000,
	    .registration_timeout_ms = 60000, .task_log_max = 10 << 20,
	    .task_log_keep = 2, .disk_reserve = 64 << 20 };
	struct command launcher = { 0 };
	struct ckpt_error e;
	const char *work = NULL, *attach = NULL, *errstr = NULL, *cgroup = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': work = optarg; break;
		case 'a':
			if (id_validate(optarg, "agent", &e) < 0)
				errx(EX_USAGE, "--agent-id: %s", e.reason);
			o.agent_id = optarg;
			break;
		case 'H': o.hostname = optarg; break;
		case 'r':
			if (strcmp(optarg, "reconnect") == 0)
				o.cleanup = 0;
			else if (strcmp(optarg, "cleanup") == 0)
				o.cleanup = 1;
			else
				errx(EX_USAGE, "--recover: '%s' is neither "
				    "reconnect nor cleanup", optarg);
			break;
		case 's': o.strict = 1; break;
		case 'S': o.strict = 0; break;
		case 'R': o.recovery_timeout_ms = duration("--recovery-timeout", optarg); break;
		case 'g': o.grace_ms = duration("--grace", optarg); break;
		case 'T': o.reregister_timeout_ms = duration(
		    "--executor-reregistration-timeout", optarg); break;
		case 'x': o.executor_path = optarg; break;
		case 'L':
			command_free(&launcher);
			if (command_parse(optarg, &launcher, &e) < 0 ||
			    launcher.argc == 0)
				errx(EX_USAGE, "--launcher: %s", launcher.argc ?
				    e.reason : "empty");
			o.launcher = launcher.argv;
			break;
		case 'l': o.log_path = optarg; break;
		case 'C': cgroup = optarg; break;
		case 'A': o.listen = optarg; break;
		case 'c': attach = optarg; break;
		case 'U':
			o.retry_ms = duration("--update-retry-interval", optarg);
			if (o.retry_ms <= 0)
				errx(EX_USAGE, "--update-retry-interval: must be "
				    "more than 0");
			break;
		case 'Q':
			o.driver_bound = (size_t)strtonum(optarg, 4096,
			    1LL << 40, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--driver-queue: '%s' is %s (bytes, "
				    "4096 at least)", optarg, errstr);
			break;
		case 'G': o.registration_timeout_ms = duration(
		    "--executor-registration-timeout", optarg); break;
		case 'M':
			if (cli_size(optarg, &o.task_log_max) < 0 ||
			    o.task_log_max < 4096)
				errx(EX_USAGE, "--task-log-max: '%s' is not a size "
				    "of 4096 bytes or more (like 64K, 10M)", optarg);
			break;
		case 'K':
			o.task_log_keep = (int)strtonum(optarg, 0, 1000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--task-log-keep: '%s' is %s (0 to "
				    "1000)", optarg, errstr);
			break;
		case 'D':
			if (cli_size(optarg, &o.disk_reserve) < 0)
				errx(EX_USAGE, "--disk-reserve: '%s' is not a size "
				    "(like 0, 512K, 64M, 1G)", optarg);
			break;
		case 'v':
			if (strcmp(optarg, "debug") == 0)
				o.debug = true;
			else if (strcmp(optarg, "info") == 0)
				o.debug = false;
			else
				errx(EX_USAGE, "--log-level: '%s' is neither info "
				    "nor debug", optarg);
			break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': cli_version(); return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if (attach != NULL)
		return attach_main(attach);
	if ((o.work = path_work_dir(work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	/* Containment by default: a cgroup per task wherever a writable
	 * cgroup2 hierarchy is (even one without controllers); else the
	 * subreaper and the run's mark (RUN_MARK), and a line says so. */
	if (cgroup == NULL)
		o.cgroup_root = cgroup_root("auto", true);
	else if (strcmp(cgroup, "none") != 0 &&
	    (o.cgroup_root = cgroup_root(cgroup, false)) == NULL)
		return EX_UNAVAILABLE;
	rc = agent_main(&o, &e);
	command_free(&launcher);
	/* An error the agent said already (as an event) leaves e empty. */
	if (rc < 0 && e.reason[0] != '\0')
		error_print(&e);
	return error_exit_code(rc);
}
