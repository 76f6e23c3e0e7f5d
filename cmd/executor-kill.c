/* executor-kill: stop executors named by recover's lines or by ids;
 * never a process that is not the checkpointed one. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "jsonw.h"
#include "proc.h"
#include "targets.h"
#include "version.h"
#include "workdir.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: executor-kill [--grace DUR] [--force] [--summary] < recover-lines\n"
	    "       executor-kill [--grace DUR] [--force] [--summary] -d WORK -f FRAMEWORK -e EXECUTOR [-r RUN]\n");
	exit(status);
}

/* What killing x gives ("killed", "gone", "refused", "failed"), and
 * why in msg; counted in n[] (failed, refused by an agent's lock,
 * disagreeing with the checkpoint). */
enum { FAILED, REFUSED, FORGED, KILLED, GONE, OTHER };

static const char *
kill_one(const struct target *x, bool force, long long grace, char *msg,
    size_t len, int n[3])
{
	enum proc_identity id = x->pid > 0 ? proc_identify(x->pid,
	    x->start_time, x->pid_mtime, x->run_id) : PROC_GONE;
	int rc;

	if (x->reboot)
		id = PROC_GONE;	/* pids of another boot: never signal */
	if (x->refused) {
		/* The line disagrees with the checkpoint. */
		snprintf(msg, len, "%s", x->why);
		n[FORGED]++;
		return "refused";
	}
	if (id == PROC_SAME && !force && x->work_dir &&
	    workdir_locked(x->work_dir) == 1) {
		/* A running agent owns it: killing it behind the agent's back
		 * makes the agent report it lost. */
		snprintf(msg, len, "a running agent owns %s (its lock is held): "
		    "not signalled; use the agent's kill, or --force",
		    x->work_dir);
		n[REFUSED]++;
		return "refused";
	}
	if (id == PROC_GONE) {
		n[GONE]++;
		return "gone";
	}
	if (id == PROC_RECYCLED) {
		snprintf(msg, len, "pid %ld is not the checkpointed executor "
		    "(pid recycled): not signalled", (long)x->pid);
		n[OTHER]++;
		return "refused";
	}
	if ((rc = proc_terminate(x->pid, x->start_time, x->pid_mtime,
	    x->run_id, grace)) == 0) {
		n[KILLED]++;
		return "killed";
	}
	snprintf(msg, len, "pid %ld: %s", (long)x->pid, rc == -ESRCH ?
	    "identity changed" : "survived SIGKILL");
	n[FAILED]++;
	return "failed";
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	static const struct option longopts[] = {
		TARGET_OPTIONS,
		{ "grace", required_argument, NULL, 'g' },
		{ "force", no_argument, NULL, 'F' },
		{ "summary", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct target_choice choice = { NULL, { 0 } };
	struct targets t;
	struct ckpt_error e;
	long long grace = 5000;
	int ch, rc, n[6] = { 0 };
	bool force = false, summary = false;

	while ((ch = getopt_long(argc, argv, TARGET_OPTSTRING "h", longopts,
	    NULL)) != -1) {
		if (target_option(&choice, ch, optarg))
			continue;
		switch (ch) {
		case 'g':
			if (cli_duration("--grace", optarg, &grace, &e) < 0)
				errx(EX_USAGE, "%s", e.reason);
			break;
		case 'F': force = true; break;
		case 'Y': summary = true; break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': { char v[160]; puts(version_line(getprogname(), false, v, sizeof(v))); } return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if ((rc = targets_choose(&choice, &t, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	for (size_t i = 0; i < t.n; i++) {
		char msg[PATH_MAX * 2 + 200] = "";
		const char *result = kill_one(&t.v[i], force, grace, msg,
		    sizeof(msg), n);
		json_t *o = target_result("kill", &t.v[i], result, msg);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		fflush(stdout);
		json_decref(o);
	}
	targets_free(&t);
	/* One line whatever happened, for the log of a timer or cron. */
	if (summary)
		fprintf(stderr, "executor-kill: killed %d, gone %d, refused %d, "
		    "failed %d\n", n[KILLED], n[GONE], n[REFUSED] + n[FORGED] +
		    n[OTHER], n[FAILED]);
	return n[FAILED] ? 1 : n[FORGED] ? EX_DATAERR : n[REFUSED] ?
	    EX_TEMPFAIL : EX_OK;
}
