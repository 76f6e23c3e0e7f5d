/* ckpt-inspect: show a work dir (or one checkpoint file); never writes. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "cli.h"
#include "inspect.h"
#include "paths.h"
#include "version.h"

/* What a run of ckpt-inspect does: one verb. */
enum verb { VERB_TREE, VERB_JSON, VERB_LINES, VERB_VERIFY, VERB_UPDATES,
    VERB_FILE };

static const struct walk_visitor *const visitors[] = {
	[VERB_TREE] = &show_tree, [VERB_JSON] = &show_json,
	[VERB_LINES] = &show_lines, [VERB_VERIFY] = &check_verify,
	[VERB_UPDATES] = &check_updates,
};

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: ckpt-inspect [-d WORK] [--json | --json-lines] [--framework ID]...\n"
	    "                    [--executor ID]... [--task ID]... [--state STATE]...\n"
	    "                    [--unacked] [--verify] [--updates] [--exit-status]\n"
	    "       ckpt-inspect --file FILE [--type agent|framework|executor|task|updates]\n");
	exit(status);
}

static const struct option longopts[] = {
	{ "work-dir", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "json-lines", no_argument, NULL, 'l' },
	WALK_FILTER_OPTIONS,
	{ "verify", no_argument, NULL, 'v' },
	{ "updates", no_argument, NULL, 'U' },
	{ "file", required_argument, NULL, 'F' },
	{ "type", required_argument, NULL, 'T' },
	{ "exit-status", no_argument, NULL, 'E' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *work, *file, *type;
	struct walk_filter filter;
	bool json, lines, verify, updates, exit_status;
};

/* The verb the options ask for (--verify and --updates before the
 * output formats, which --updates also takes). */
static enum verb
parse(struct args *g, int argc, char *argv[])
{
	struct ckpt_error e;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:jf:e:t:h", longopts, NULL)) != -1) {
		if ((rc = walk_filter_option(&g->filter, ch, optarg, &e)) < 0)
			errx(EX_USAGE, "%s", e.reason);
		if (rc > 0)
			continue;
		switch (ch) {
		case 'd': g->work = optarg; break;
		case 'j': g->json = true; g->lines = false; break;
		case 'l': g->lines = true; g->json = false; break;
		case 'v': g->verify = true; break;
		case 'U': g->updates = true; break;
		case 'F': g->file = optarg; break;
		case 'T': g->type = optarg; break;
		case 'E': g->exit_status = true; break;
		case 'h': usage(stdout, EX_OK); break;
		case 'V': { char v[160]; puts(version_line(getprogname(), false, v, sizeof(v))); } exit(EX_OK);
		default: usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EX_USAGE);
	if (g->file != NULL)
		return VERB_FILE;
	if (g->type != NULL)
		errx(EX_USAGE, "--type goes with --file");
	if ((g->work = path_work_dir(g->work)) == NULL)
		errx(EX_USAGE, "no work dir: give -d WORK or set AGENT_WORK_DIR");
	return g->verify ? VERB_VERIFY : g->updates ? VERB_UPDATES : g->json ?
	    VERB_JSON : g->lines ? VERB_LINES : VERB_TREE;
}

/* --exit-status: how many executors the filter kept. */
static int
count_executor(void *ctx, struct state_agent *a, struct state_framework *f,
    struct state_executor *x)
{
	struct inspect *in = ctx;

	in->shown++;
	return in->inner.executor ? in->inner.executor(ctx, a, f, x) : 0;
}

/* A verb that walks the work dir with its visitor. */
static int
walk_verb(const struct args *g, enum verb verb)
{
	struct state_options so = { .strict = false, .versions = true,
	    .limits = true };
	struct inspect in = { .work = g->work, .json = g->json || g->lines };
	struct walk_visitor v = *visitors[verb];
	struct ckpt_error e;
	int rc;

	v.ctx = &in;
	if (g->exit_status) {
		in.inner = v;
		v.executor = count_executor;
	}
	jw_init(&in.out, stdout);
	rc = walk(g->work, &so, &g->filter, &v, &e);
	if (jw_flush(&in.out) < 0)
		errc(EX_IOERR, -in.out.error, "stdout");
	jw_free(&in.out);
	if (rc < 0) {
		fflush(stdout);
		error_print(&e);
		return error_exit_code(rc);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		err(EX_IOERR, "stdout");
	if (in.problems)
		return EX_DATAERR;
	/* As grep and jq -e: nothing matched is 1. */
	return g->exit_status && in.shown == 0 ? 1 : EX_OK;
}

int
main(int argc, char *argv[])
{
	(void)cli_std_fds();	/* before anything is opened */
	struct args g = { .work = NULL };
	enum verb verb = parse(&g, argc, argv);
	int rc;

	rc = verb == VERB_FILE ? decode_file(g.file, g.type) :
	    walk_verb(&g, verb);
	walk_filter_free(&g.filter);
	return rc;
}
