#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "at.h"
#include "paths.h"
#include "proc.h"
#include "record.h"
#include "taskstate.h"
#include "walker.h"


static int
walk_framework(struct walker *w, struct state_agent *a, int fd,
    struct state_framework *f)
{
	bool lazy = w->f && (w->f->n_executor || walk_filter_by_task(w->f));
	bool shown = false;
	struct names l = { 0 };
	int rc, xs;

	if ((rc = wk_info_read(w, fd, "framework.info",
	    &mesos__framework_info__descriptor, &f->info, &f->errors)) < 0 ||
	    (rc = wk_text_dup_at(w, fd, "framework.pid", &f->pid, &f->errors)) < 0)
		return rc;
	if (!lazy) {
		if ((rc = CALL(w, framework, a, f)) < 0)
			return rc;
		shown = true;
	}
	if ((xs = wk_sub_open(w, fd, "executors", &f->errors)) < 0) {
		rc = xs == -ENOENT ? 0 : xs;
		goto out;
	}
	size_t old = wk_push(w, "executors");
	if ((rc = wk_names_list(w, xs, &l)) < 0)
		rc = wk_problem(w, &f->errors);
	struct ahead *ah = rc == 0 ? wk_ahead_start(w, xs, &l) : NULL;
	struct slot here;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct slot *sl = wk_ahead_get(ah, w, xs, &l, i, &here);
		struct state_executor *x = &sl->x;
		/* What it noted on the framework: in order, as if read here. */
		if ((rc = wk_errors_move(&f->errors, &sl->errors)) < 0)
			error_set(w->e, rc, w->dir, -1, "out of memory");
		else if (sl->none)
			rc = 0;
		else if ((rc = sl->rc) < 0)
			*w->e = sl->e;
		else if (rc > 0) {
			rc = 0;
			if (!shown) {
				shown = true;
				rc = CALL(w, framework, a, f);
			}
			if (rc == 0)
				rc = CALL(w, executor, a, f, x);
		}
		wk_ahead_put(ah, sl);
	}
	wk_ahead_stop(ah);
	wk_names_free(&l);
	wk_pop(w, old);
	close(xs);
out:
	if (rc == 0 && shown)
		rc = CALL(w, framework_end, a, f);
	return rc;
}

static int
walk_agent(struct walker *w, struct state *s, int fd, struct state_agent *a)
{
	struct names l = { 0 };
	int rc, fs;

	if ((rc = wk_info_read(w, fd, "slave.info", &mesos__slave_info__descriptor,
	    &a->info, &a->errors)) < 0 || (rc = CALL(w, agent, s, a)) < 0)
		return rc;
	if ((fs = wk_sub_open(w, fd, "frameworks", &a->errors)) < 0) {
		rc = fs == -ENOENT ? 0 : fs;
		goto out;
	}
	size_t old = wk_push(w, "frameworks");
	if ((rc = wk_names_list(w, fs, &l)) < 0)
		rc = wk_problem(w, &a->errors);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct state_framework f = { 0 };
		int ffd;
		if (!walk_filter_framework(w->f, l.v[i]))
			continue;
		if ((ffd = wk_sub_open(w, fs, l.v[i], &a->errors)) < 0) {
			rc = ffd == -ENOENT ? 0 : ffd;
			continue;
		}
		size_t fold = wk_push(w, l.v[i]);
		f.id = l.v[i];
		l.v[i] = NULL;
		rc = walk_framework(w, a, ffd, &f);
		wk_pop(w, fold);
		close(ffd);
		state_framework_clear(&f);
	}
	wk_names_free(&l);
	wk_pop(w, old);
	close(fs);
out:
	return rc < 0 ? rc : CALL(w, agent_end, s, a);
}

/* An agent directory that holds frameworks: something a new agent would
 * abandon.  Its slave.info's modification time (or the directory's) in
 * *mtime. */
static bool
agent_has_frameworks(int slaves, const char *id, time_t *mtime)
{
	struct stat st;
	struct dirent *d;
	bool any = false;
	DIR *dir;
	int fd = openat(slaves, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC), fs;

	if (fd < 0)
		return false;
	*mtime = fstatat(fd, "slave.info", &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstat(fd, &st) == 0 ? st.st_mtime : 0;
	fs = openat(fd, "frameworks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	close(fd);
	if (fs < 0 || (dir = fdopendir(fs)) == NULL) {
		if (fs >= 0)
			close(fs);
		return false;
	}
	while (!any && (d = readdir(dir)) != NULL)
		any = d->d_name[0] != '.';
	closedir(dir);
	return any;
}

/*
 * slaves/latest names the agent to recover.  When it is missing or names
 * no directory while agent directories with frameworks exist, starting
 * as a new agent would abandon their tasks and unacknowledged updates:
 * strict, a recovery error naming the link; non-strict, the newest such
 * directory is taken as the latest, and the error says so.
 */
static int
latest_agent(struct walker *w, struct state *s, int slaves, struct names *l,
    const char **latest)
{
	char list[256] = "";
	const char *newest = NULL;
	time_t newest_t = 0, t;
	size_t n = 0;

	*latest = s->latest_agent;
	for (size_t i = 0; i < l->n; i++)
		if (s->latest_agent && strcmp(l->v[i], s->latest_agent) == 0)
			return 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!agent_has_frameworks(slaves, l->v[i], &t))
			continue;
		if (n++ < 4)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
			    "%s%s", n > 1 ? ", " : "", l->v[i]);
		if (newest == NULL || t >= newest_t)
			newest = l->v[i], newest_t = t;
	}
	if (newest == NULL)
		return 0;	/* nothing to abandon: a new agent is right */
	error_set(w->e, -EBADMSG, wk_file(w, "latest"), -1, "%s while %zu agent "
	    "director%s with frameworks exist%s (%s%s): a new agent would "
	    "abandon their tasks; %s", s->latest_agent ? "names no agent "
	    "directory" : "is missing", n, n == 1 ? "y" : "ies", n == 1 ? "s" :
	    "", list, n > 4 ? ", ..." : "", w->o->strict ? "restore the link "
	    "(ln -sfn AGENT_ID) or use --no-strict to recover the newest" :
	    "recovering the newest");
	if (w->o->strict)
		return -EBADMSG;
	snprintf(w->e->reason + strlen(w->e->reason), sizeof(w->e->reason) -
	    strlen(w->e->reason), ", %s", newest);
	*latest = newest;
	return state_error_add(&s->errors, w->e);
}

/* The agents listed in l (below slaves), latest the one to recover. */
static int
walk_agents(struct walker *w, struct state *s, int slaves, struct names *l,
    const char *latest)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		struct state_agent a = { 0 };
		int afd;
		a.latest = strcmp(latest, l->v[i]) == 0;
		if (w->o->latest_only && !a.latest)
			continue;
		if ((afd = wk_sub_open(w, slaves, l->v[i], &s->errors)) < 0) {
			rc = afd == -ENOENT ? 0 : afd;
			continue;
		}
		size_t old = wk_push(w, l->v[i]);
		a.id = l->v[i];
		l->v[i] = NULL;
		rc = walk_agent(w, s, afd, &a);
		wk_pop(w, old);
		close(afd);
		state_agent_clear(&a);
	}
	return rc;
}

int
walk(const char *work, const struct state_options *o,
    const struct walk_filter *filter, const struct walk_visitor *v,
    struct ckpt_error *e)
{
	struct walker w = { .o = o, .f = filter, .v = v, .e = e };
	struct state s = { 0 };
	struct names l = { 0 };
	const char *newest = NULL;
	char latest[ID_MAX + 1] = "";
	int wfd, meta = -1, slaves = -1, rc;

	if ((wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return error_set(e, errno == ENOTDIR ? -ENOENT : -errno, work,
		    -1, "%s", errno == ENOTDIR ? "not a directory" :
		    strerror(errno));
	strlcpy(w.dir, work, sizeof(w.dir));
	w.len = strlen(w.dir);
	if ((meta = at_open_dir(wfd, "meta", wk_file(&w, "meta"), e)) < 0) {
		rc = meta == -ENOENT ? error_set(e, -ENOENT, work, -1,
		    "no checkpoint (no meta/ directory)") : meta;
		goto out;
	}
	if ((s.work = strdup(work)) == NULL) {
		rc = error_set(e, -ENOMEM, work, -1, "out of memory");
		goto out;
	}
	wk_push(&w, "meta");
	if ((rc = wk_text_dup_at(&w, meta, "boot_id", &s.boot_id, &s.errors)) < 0)
		goto out;
	if ((slaves = wk_sub_open(&w, meta, "slaves", &s.errors)) < 0 &&
	    slaves != -ENOENT) {
		rc = slaves;
		goto out;
	}
	if (slaves >= 0) {
		wk_push(&w, "slaves");
		if ((rc = wk_latest_read(&w, slaves, &s.latest_agent, &s.errors)) < 0)
			goto out;
		if ((rc = wk_names_list(&w, slaves, &l)) < 0 &&
		    (rc = wk_problem(&w, &s.errors)) < 0)
			goto out;
		if ((rc = latest_agent(&w, &s, slaves, &l, &newest)) < 0)
			goto out;
		if (newest)
			strlcpy(latest, newest, sizeof(latest));
	}
	if ((rc = CALL(&w, begin, &s)) < 0 ||
	    (rc = walk_agents(&w, &s, slaves, &l, latest)) < 0)
		goto out;
	rc = CALL(&w, end, &s);
out:
	wk_names_free(&l);
	if (slaves >= 0)
		close(slaves);
	if (meta >= 0)
		close(meta);
	close(wfd);
	state_errors_clear(&s.errors);
	free(s.boot_id);
	free(s.latest_agent);
	free(s.work);
	return rc < 0 ? rc : 0;
}
