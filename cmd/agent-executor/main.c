/* agent-executor: own one task, outlive the agent (see executor.h). */
#include <err.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "executor.h"
#include "version.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: agent-executor -d WORK --agent ID --framework ID --executor ID\n"
	    "                      --run ID --task ID --socket PATH [--checkpoint]\n"
	    "                      [--recovery-timeout DUR] [--grace DUR]\n"
	    "                      [--register-timeout DUR] [--secret-fd FD]\n"
	    "                      [--cgroup-root DIR] [--user USER]\n"
	    "                      [--task-log-max SIZE] [--task-log-keep N]\n"
	    "                      [--disk-reserve SIZE] [--cpus N] [--mem SIZE]\n"
	    "                      [--disk SIZE] [--pids N] [--disk-watch-interval DUR]\n"
	    "                      [--best-effort-limits]\n"
	    "                      [--health-cmd WORDS | --health-tcp PORT |\n"
	    "                       --health-http PORT[/PATH]] [--health-delay DUR]\n"
	    "                      [--health-interval DUR] [--health-timeout DUR]\n"
	    "                      [--health-grace DUR] [--health-failures N]\n"
	    "                      [--resume FD | --resume-check FD]\n"
	    "                      -- ARGV...\n");
	exit(status);
}

/* --user: the task runs as that user (its groups too), with its HOME,
 * USER and LOGNAME; the sandbox (our working directory) becomes its. */
static int
task_user(struct executor_options *o)
{
	struct passwd *pw = getpwnam(o->user);

	if (pw == NULL) {
		warnx("--user %s: no such user", o->user);
		return EX_NOUSER;
	}
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	o->n_groups = (int)(sizeof(o->groups) / sizeof(o->groups[0]));
	if (getgrouplist(o->user, pw->pw_gid, o->groups, &o->n_groups) < 0)
		o->n_groups = (int)(sizeof(o->groups) / sizeof(o->groups[0]));
	if (chown(".", pw->pw_uid, pw->pw_gid) < 0) {
		warn("--user %s: the sandbox", o->user);
		return EX_NOPERM;
	}
	setenv("HOME", pw->pw_dir, 1);
	setenv("USER", pw->pw_name, 1);
	setenv("LOGNAME", pw->pw_name, 1);
	return EX_OK;
}


static const struct option longopts[] = {
	{ "work-dir", required_argument, NULL, 'd' },
	{ "agent", required_argument, NULL, 'a' },
	{ "framework", required_argument, NULL, 'f' },
	{ "executor", required_argument, NULL, 'e' },
	{ "run", required_argument, NULL, 'r' },
	{ "task", required_argument, NULL, 't' },
	{ "socket", required_argument, NULL, 's' },
	{ "checkpoint", no_argument, NULL, 'c' },
	{ "recovery-timeout", required_argument, NULL, 'R' },
	{ "grace", required_argument, NULL, 'g' },
	{ "register-timeout", required_argument, NULL, 'G' },
	{ "secret-fd", required_argument, NULL, 'S' },
	{ "cgroup-root", required_argument, NULL, 'C' },
	{ "user", required_argument, NULL, 'u' },
	{ "resume", required_argument, NULL, 'Z' },
	{ "cpus", required_argument, NULL, 'P' },
	{ "mem", required_argument, NULL, 'M' },
	{ "disk", required_argument, NULL, 'D' },
	{ "pids", required_argument, NULL, 'N' },
	{ "disk-watch-interval", required_argument, NULL, 'W' },
	{ "best-effort-limits", no_argument, NULL, 'B' },
	{ "health-cmd", required_argument, NULL, 0x301 },
	{ "health-tcp", required_argument, NULL, 0x302 },
	{ "health-http", required_argument, NULL, 0x303 },
	{ "health-delay", required_argument, NULL, 0x304 },
	{ "health-interval", required_argument, NULL, 0x305 },
	{ "health-timeout", required_argument, NULL, 0x306 },
	{ "health-grace", required_argument, NULL, 0x307 },
	{ "health-failures", required_argument, NULL, 0x308 },
	{ "resume-check", required_argument, NULL, 'K' },
	CLI_BOUNDS_OPTIONS,
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* --health-cmd 'WORDS', --health-tcp PORT, --health-http PORT[/PATH]:
 * the check, or exit 64 naming what is wrong. */
static void
health_option(struct executor_options *o, int ch, const char *arg)
{
	struct health *h = &o->health;
	struct command *words = &h->words;
	struct ckpt_error e;
	char *end;
	long port;

	if (h->kind != HEALTH_NONE)
		errx(EX_USAGE, "one health check: --health-cmd, --health-tcp or "
		    "--health-http");
	if (ch == 0x301) {
		if (command_parse(arg, words, &e) < 0 || words->argc == 0)
			errx(EX_USAGE, "--health-cmd: %s", words->argc ?
			    e.reason : "no words");
		h->kind = HEALTH_COMMAND;
		h->argv = words->argv;
		snprintf(h->spec, sizeof(h->spec), "command %s\n", arg);
		return;
	}
	port = strtol(arg, &end, 10);
	if (port < 1 || port > 65535 || (*end != '\0' && !(ch == 0x303 &&
	    *end == '/')))
		errx(EX_USAGE, "%s: '%s' is not PORT%s", ch == 0x302 ?
		    "--health-tcp" : "--health-http", arg, ch == 0x303 ?
		    "[/PATH]" : "");
	h->kind = ch == 0x302 ? HEALTH_TCP : HEALTH_HTTP;
	h->port = (int)port;
	snprintf(h->path, sizeof(h->path), "%s", *end ? end : "/");
	snprintf(h->spec, sizeof(h->spec), "%s %s\n", ch == 0x302 ? "tcp" :
	    "http", arg);
}

/* Option ch (with arg) into o; exit 64 naming it when it is wrong. */
static void
option(struct executor_options *o, int ch, const char *arg)
{
	struct ckpt_error e;
	int rc;

	if ((rc = cli_bounds_option(&o->bounds, ch, arg, &e)) != 0) {
		if (rc < 0)
			errx(EX_USAGE, "%s", e.reason);
		return;
	}
	switch (ch) {
	case 'd': o->work = arg; break;
	case 'a': o->ids.agent = arg; break;
	case 'f': o->ids.framework = arg; break;
	case 'e': o->ids.executor = arg; break;
	case 'r': o->ids.run = arg; break;
	case 't': o->ids.task = arg; break;
	case 's': o->socket = arg; break;
	case 'c': o->checkpoint = 1; break;
	case 'R': rc = cli_duration("--recovery-timeout", arg,
	    &o->recovery_timeout_ms, &e); break;
	case 'g': rc = cli_duration("--grace", arg, &o->grace_ms, &e); break;
	case 'G': rc = cli_duration("--register-timeout", arg,
	    &o->register_timeout_ms, &e); break;
	case 'S': o->secret_fd = atoi(arg); break;
	case 'C': o->cgroup_root = arg; break;
	case 'u': o->user = arg; break;
	case 'Z': o->resume_fd = atoi(arg); break;
	case 'P': {
		char *end;
		o->limits.cpus = strtod(arg, &end);
		if (*end != '\0' || !(o->limits.cpus > 0))
			errx(EX_USAGE, "--cpus: '%s' is not a number of CPUs "
			    "above 0", arg);
		break;
	}
	case 'M': rc = cli_size("--mem", arg, 1 << 20, &o->limits.mem, &e);
		break;
	case 'D': rc = cli_size("--disk", arg, 1 << 20, &o->limits.disk, &e);
		break;
	case 'N': rc = cli_count("--pids", arg, 1, 1 << 22, &o->limits.pids,
	    &e); break;
	case 'W': rc = cli_duration("--disk-watch-interval", arg,
	    &o->disk_watch_ms, &e); break;
	case 'B': o->limits_best_effort = true; break;
	case 0x301: case 0x302: case 0x303:
		health_option(o, ch, arg);
		break;
	case 0x304: rc = cli_duration("--health-delay", arg,
	    &o->health.delay_ms, &e); break;
	case 0x305: rc = cli_duration("--health-interval", arg,
	    &o->health.interval_ms, &e); break;
	case 0x306: rc = cli_duration("--health-timeout", arg,
	    &o->health.timeout_ms, &e); break;
	case 0x307: rc = cli_duration("--health-grace", arg,
	    &o->health.grace_ms, &e); break;
	case 0x308: {
		long long n;
		rc = cli_count("--health-failures", arg, 1, 1000, &n, &e);
		o->health.failures = (int)n;
		break;
	}
	case 'K': o->resume_fd = atoi(arg); o->resume_check = true; break;
	case 'h': usage(stdout, EX_OK); break;
	case 'V': { char v[160]; puts(version_line(getprogname(), true, v, sizeof(v))); } exit(EX_OK);
	default: usage(stderr, EX_USAGE);
	}
	if (rc < 0)
		errx(EX_USAGE, "%s", e.reason);
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	struct executor_options o = { .secret_fd = -1, .resume_fd = -1,
	    .disk_watch_ms = 15000,
	    /* Mesos's HealthCheck defaults. */
	    .health = { .delay_ms = 15000, .interval_ms = 10000,
	    .timeout_ms = 20000, .grace_ms = 10000, .failures = 3 },
	    .recovery_timeout_ms = 15 * 60 * 1000,
	    .grace_ms = 3000, .register_timeout_ms = 10000,
	    .bounds = CLI_BOUNDS_DEFAULT };
	struct ckpt_error e;
	int ch, rc;

	error_clear(&e);
	while ((ch = getopt_long(argc, argv, "+d:h", longopts, NULL)) != -1)
		option(&o, ch, optarg);
	if (optind >= argc || o.work == NULL || o.socket == NULL ||
	    o.ids.agent == NULL || o.ids.framework == NULL ||
	    o.ids.executor == NULL || o.ids.run == NULL || o.ids.task == NULL)
		usage(stderr, EX_USAGE);
	if ((rc = ids_validate(&o.ids, &e)) < 0) {
		error_print(&e);
		return EX_USAGE;
	}
	o.argv = argv + optind;
	/* Our own argv, without a --resume of a previous upgrade: what an
	 * upgrade gives the new image again (handoff.c). */
	if ((o.self_argv = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return EX_OSERR;
	for (int i = 0, k = 0; i < argc; i++) {
		if (i < optind && (strcmp(argv[i], "--resume") == 0 ||
		    strcmp(argv[i], "--resume-check") == 0) && i + 1 < argc) {
			i++;
			continue;
		}
		o.self_argv[k++] = argv[i];
	}
	if (o.user != NULL && (rc = task_user(&o)) != EX_OK)
		return rc;
	rc = executor_main(&o, &e);
	if (rc != EX_OK)
		error_print(&e);
	free(o.self_argv);
	command_free(&o.health.words);
	return rc;
}
