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
#include "workdir.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: executor-kill [--grace DUR] [--force] < recover-lines\n"
	    "       executor-kill [--grace DUR] [--force] -d WORK -f FRAMEWORK -e EXECUTOR [-r RUN]\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	static const struct option longopts[] = {
		{ "work-dir", required_argument, NULL, 'd' },
		{ "framework", required_argument, NULL, 'f' },
		{ "executor", required_argument, NULL, 'e' },
		{ "run", required_argument, NULL, 'r' },
		{ "grace", required_argument, NULL, 'g' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ckpt_ids ids = { 0 };
	struct targets t;
	struct ckpt_error e;
	const char *work = NULL;
	long long grace = 5000;
	int ch, rc, failed = 0, refused = 0, forged = 0;
	bool force = false;

	while ((ch = getopt_long(argc, argv, "d:f:e:r:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': work = optarg; break;
		case 'f': ids.framework = optarg; break;
		case 'e': ids.executor = optarg; break;
		case 'r': ids.run = optarg; break;
		case 'g':
			if (cli_duration(optarg, &grace) < 0)
				errx(EX_USAGE, "--grace: '%s' is not a duration",
				    optarg);
			break;
		case 'F': force = true; break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': cli_version(); return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if ((rc = targets_load(path_work_dir(work), &ids, &t, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct target *x = &t.v[i];
		pid_t pid = x->pid;
		unsigned long long start = x->start_time;
		time_t bound = x->pid_mtime;
		enum proc_identity id = pid > 0 ? proc_identify(pid, start,
		    bound, x->run_id) : PROC_GONE;
		const char *result;
		char msg[PATH_MAX * 2 + 200] = "";

		if (x->reboot)
			id = PROC_GONE;	/* pids of another boot: never signal */
		if (x->refused) {
			/* The line disagrees with the checkpoint. */
			result = "refused";
			snprintf(msg, sizeof(msg), "%s", x->why);
			forged++;
		} else if (id == PROC_SAME && !force && x->work_dir &&
		    workdir_locked(x->work_dir) == 1) {
			/* A running agent owns it: killing it behind the
			 * agent's back makes the agent report it lost. */
			result = "refused";
			snprintf(msg, sizeof(msg), "a running agent owns %s "
			    "(its lock is held): not signalled; use the agent's "
			    "kill, or --force", x->work_dir);
			refused++;
		} else if (id == PROC_GONE)
			result = "gone";
		else if (id == PROC_RECYCLED) {
			result = "refused";
			snprintf(msg, sizeof(msg), "pid %ld is not the "
			    "checkpointed executor (pid recycled): not signalled",
			    (long)pid);
		} else if ((rc = proc_terminate(pid, start, bound,
		    x->run_id, grace)) == 0)
			result = "killed";
		else {
			result = "failed";
			snprintf(msg, sizeof(msg), "pid %ld: %s", (long)pid,
			    rc == -ESRCH ? "identity changed" : "survived SIGKILL");
			failed++;
		}
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o}",
		    "type", "kill", "framework_id", x->framework_id,
		    "executor_id", x->executor_id, "run_id", x->run_id,
		    "pid", pid > 0 ? json_integer(pid) : json_null(),
		    "result", result, "message", msg[0] ? jw_text(msg) :
		    json_null());
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		fflush(stdout);
		json_decref(o);
	}
	targets_free(&t);
	return failed ? 1 : forged ? EX_DATAERR : refused ? EX_TEMPFAIL : EX_OK;
}
