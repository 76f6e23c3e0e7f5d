/* recover: print the recovery plan an agent would follow on this work dir. */
#include <err.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "gc.h"
#include "paths.h"
#include "recovery.h"
#include "walk.h"
#include "workdir.h"

/* How --gc says what it removes: paths NUL-separated (-0), JSON lines,
 * or words. */
struct gc_out {
	int nul, json, dry;
};

/* --gc: an entry passed over is reported, never followed. */
static void
gc_skipped(void *ctx, const char *path, const char *why)
{
	char shown[PATH_MAX + 256];

	/* A name may hold anything: no control byte reaches a terminal. */
	strlcpy(shown, path, sizeof(shown));
	for (char *p = shown; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	path = shown;
	(void)ctx;
	warnx("%s: %s (not collected)", path, why);
}

static void
gc_print(void *ctx, const char *path)
{
	const struct gc_out *o = ctx;

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
	    "               [--exit-status]\n"
	    "       recover [-d WORK] --gc [DELAY] [--disk-headroom FRACTION]\n"
	    "               [--dry-run] [-0 | --print0 | --json]\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct state_options so = { .strict = true };
	struct walk_filter filter = { 0 };
	struct ckpt_error e;
	const char *work = NULL;
	int ch, rc, orphans = 0, table = isatty(1), gc = 0, dry = 0, nul = 0,
	    json = 0, exit_status = 0;
	long long delay = 7LL * 24 * 3600 * 1000;	/* Mesos: one week */
	double headroom = 0.1;				/* Mesos's default */
	char *end;

	while ((ch = getopt_long(argc, argv, "d:f:e:t:h0", longopts, NULL)) != -1) {
		if ((rc = walk_filter_option(&filter, ch, optarg, &e)) < 0)
			errx(EX_USAGE, "%s", e.reason);
		if (rc > 0)
			continue;
		switch (ch) {
		case 'd': work = optarg; break;
		case 'X': so.strict = true; break;
		case 'S': so.strict = false; break;
		case 'r': so.repair = true; break;
		case 'o': orphans = 1; break;
		case 'j': table = 0; json = 1; break;
		case 'T': table = 1; break;
		case 'g':
			gc = 1;
			if (optarg == NULL && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			if (optarg && cli_duration(optarg, &delay) < 0)
				errx(EX_USAGE, "--gc: '%s' is not a duration (like "
				    "7d, 36h, 30min; a bare number is seconds)",
				    optarg);
			break;
		case 'n': dry = 1; break;
		case 'E': exit_status = 1; break;
		case '0': nul = 1; break;
		case 'H':
			headroom = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(headroom >= 0 &&
			    headroom <= 1))
				errx(EX_USAGE, "--disk-headroom: '%s' is not a "
				    "fraction from 0 to 1", optarg);
			break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': cli_version(); return EX_OK;
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if ((work = path_work_dir(work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	if ((dry || nul) && !gc)
		errx(EX_USAGE, "--dry-run and --print0 go with --gc");
	if (!gc && (headroom != 0.1))
		errx(EX_USAGE, "--disk-headroom goes with --gc");
	if (gc) {
		struct gc_out out = { nul, json, dry };
		if (nul && json)
			errx(EX_USAGE, "--print0 and --json: one or the other");
		delay = gc_delay(work, delay, headroom);
		rc = gc_runs(work, time(NULL) - (time_t)(delay / 1000), dry,
		    gc_print, gc_skipped, &out, &e);
		if (rc < 0) {
			error_print(&e);
			return error_exit_code(rc);
		}
		return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
	}
	/* --repair writes: only into a work dir a writer may use. */
	if (so.repair && (rc = workdir_check(work, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	/* An orphan: a live executor while no agent holds the work dir. */
	struct print pr = { table, orphans, orphans && workdir_locked(work), 0,
	    NULL, { 0 } };
	jw_init(&pr.w, stdout);
	if (table) {
		static const char *const cols[] = { "FRAMEWORK", "EXECUTOR",
		    "RUN", "PID", "PROCESS", "ACTION", "PENDING", "ERRORS" };
		/* Columns as wide as their widest cell (Mesos ids are 40
		 * characters and more): libsmartcols, as lsblk and findmnt. */
		if ((pr.t = scols_new_table()) == NULL)
			err(EX_OSERR, "table");
		for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
			if (scols_table_new_column(pr.t, cols[i], 0, i >= 3 &&
			    i != 4 && i != 5 ? SCOLS_FL_RIGHT : 0) == NULL)
				err(EX_OSERR, "table");
	}
	struct recovery_visitor v = { .ctx = &pr, .run = print_run };
	rc = recovery_walk(work, &so, &filter, false, &v, NULL, &e);
	if (jw_flush(&pr.w) < 0)
		errc(EX_IOERR, -pr.w.error, "stdout");
	jw_free(&pr.w);
	if (rc < 0) {
		fflush(stdout);
		error_print(&e);
		return error_exit_code(rc);
	}
	walk_filter_free(&filter);
	if (pr.t != NULL) {
		scols_print_table(pr.t);
		scols_unref_table(pr.t);
	}
	if (fflush(stdout) != 0)
		err(EX_IOERR, "stdout");
	/* As grep and jq -e: no run in the plan is 1. */
	return exit_status && pr.n == 0 ? 1 : EX_OK;
}
