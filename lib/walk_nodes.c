/*
 * walk_nodes.c: an executor's runs and tasks, read from the work dir
 * (walker.h): pids, infos, the update streams replayed.
 */
#include "walker.h"

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

/* ---- the nodes ---- */

static int
read_task(struct walker *w, int fd, struct state_task *t)
{
	int rc;

	t->latest_state = -1;
	if ((rc = wk_info_read(w, fd, "task.info", &mesos__task__descriptor,
	    &t->info, &t->errors)) < 0)
		return rc;
	rc = state_replay_updates(fd, "task.updates", wk_file(w, "task.updates"),
	    (w->o->repair ? REPLAY_REPAIR : 0) |
	    (w->o->messages ? REPLAY_MESSAGES : 0), t, NULL, NULL, w->e);
	return rc < 0 ? wk_problem(w, &t->errors) : 0;
}

static int
read_pids(struct walker *w, int run, struct state_run *r)
{
	char *text = NULL;
	struct stat st;
	int fd = wk_sub_open(w, run, "pids", &r->errors), rc;
	size_t old;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	old = wk_push(w, "pids");
	if ((rc = wk_text_dup_at(w, fd, "forked.pid", &text, &r->errors)) < 0)
		goto out;
	if (text && text[0]) {
		const char *err = NULL;
		r->pid = (pid_t)strtonum(text, 1, 1 << 30, &err);
		if (err != NULL) {
			r->pid = 0;
			error_set(w->e, -EBADMSG, wk_file(w, "forked.pid"), -1,
			    "pid '%s' is %s", text, err);
			if ((rc = wk_problem(w, &r->errors)) < 0)
				goto out;
		}
		if (fstatat(fd, "forked.pid", &st, AT_SYMLINK_NOFOLLOW) == 0)
			r->pid_mtime = st.st_mtime;
	}
	free(text);
	text = NULL;
	if ((rc = wk_text_dup_at(w, fd, "forked.start", &text, &r->errors)) < 0)
		goto out;
	if (text)
		r->start_time = strtoull(text, NULL, 10);
	if ((rc = wk_text_dup_at(w, fd, "libprocess.pid", &r->libprocess_pid,
	    &r->errors)) < 0)
		goto out;
	rc = wk_text_dup_at(w, fd, "executor.socket", &r->socket, &r->errors);
	if (rc == 0 && w->o->deadlines) {
		char buf[32];
		struct ckpt_error ignored;
		if (at_read_text(fd, "executor.deadline", buf, sizeof(buf),
		    "executor.deadline", &ignored) == 0)
			r->deadline = (time_t)strtoll(buf, NULL, 10);
	}
	if (rc == 0 && w->o->versions) {
		char buf[1024];
		struct ckpt_error ignored;
		if (at_read_text(fd, "task.check", buf, sizeof(buf),
		    "task.check", &ignored) == 0 &&
		    (r->check = strdup(buf)) == NULL)
			rc = -ENOMEM;
		if (rc == 0 && at_read_text(fd, "task.health", buf, sizeof(buf),
		    "task.health", &ignored) == 0 &&
		    (r->health = strdup(buf)) == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0 && w->o->limits) {
		char buf[8192];
		struct ckpt_error ignored;
		if (at_read_text(fd, "task.limits", buf, sizeof(buf),
		    "task.limits", &ignored) == 0 &&
		    (r->limits = strdup(buf)) == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0 && w->o->versions) {
		char buf[64];
		struct ckpt_error ignored;
		if (at_read_text(fd, "executor.version", buf, sizeof(buf),
		    "executor.version", &ignored) == 0 &&
		    (r->version = strdup(buf)) == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0 && w->o->secrets) {
		char buf[128];
		struct ckpt_error ignored;
		if (at_read_text(fd, "executor.secret", buf, sizeof(buf),
		    "executor.secret", &ignored) == 0 &&
		    (r->secret = strdup(buf)) == NULL)
			rc = -ENOMEM;
	}
out:
	free(text);
	wk_pop(w, old);
	close(fd);
	return rc;
}

/* A run set aside (quarantine.h) has no tasks directory but a
 * `quarantined` file: why, where, and its tasks (ids only). */
static int
read_quarantined(struct walker *w, int fd, struct state_run *r)
{
	char text[16384], *line, *save = NULL;
	struct ckpt_error ignored;
	size_t n = 0;

	if (at_read_text(fd, "quarantined", text, sizeof(text),
	    wk_file(w, "quarantined"), &ignored) < 0)
		return 0;
	if ((r->tasks = calloc(16, sizeof(*r->tasks))) == NULL)
		return -ENOMEM;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "reason ", 7) == 0 && r->quarantined == NULL &&
		    (r->quarantined = strdup(line + 7)) == NULL)
			return -ENOMEM;
		if (strncmp(line, "task ", 5) == 0 && n < 16 &&
		    id_validate(line + 5, "task", NULL) == 0) {
			if ((r->tasks[n].id = strdup(line + 5)) == NULL)
				return -ENOMEM;
			r->tasks[n++].latest_state = -1;
		}
	}
	r->n_tasks = n;
	if (r->quarantined == NULL &&
	    (r->quarantined = strdup("set aside")) == NULL)
		return -ENOMEM;
	return 0;
}

static int
read_run(struct walker *w, int fd, struct state_run *r)
{
	struct names l;
	char *text = NULL;
	int rc, tasks;

	r->completed = faccessat(fd, "executor.sentinel", F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
	if ((rc = read_pids(w, fd, r)) < 0 ||
	    (rc = wk_text_dup_at(w, fd, "executor.exit", &text, &r->errors)) < 0)
		return rc;
	if (r->pid > 0)
		r->identity = proc_identify(r->pid, r->start_time, r->pid_mtime,
		    r->id);
	if (text && exit_parse(text, &r->exit_kind, &r->exit_value) < 0) {
		error_set(w->e, -EBADMSG, wk_file(w, "executor.exit"), -1,
		    "unreadable exit status '%s'", text);
		if ((rc = wk_problem(w, &r->errors)) < 0) {
			free(text);
			return rc;
		}
	}
	free(text);
	if ((tasks = wk_sub_open(w, fd, "tasks", &r->errors)) < 0)
		return tasks == -ENOENT ? read_quarantined(w, fd, r) : tasks;
	size_t old = wk_push(w, "tasks");
	if ((rc = wk_names_list(w, tasks, &l)) < 0)
		rc = wk_problem(w, &r->errors);
	else if (l.n > 0 && (r->tasks = calloc(l.n, sizeof(*r->tasks))) == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct state_task *t = &r->tasks[r->n_tasks];
		int tfd;
		if (!walk_filter_task_id(w->f, l.v[i]))
			continue;
		if ((tfd = wk_sub_open(w, tasks, l.v[i], &r->errors)) < 0) {
			rc = tfd == -ENOENT ? 0 : tfd;
			continue;
		}
		size_t told = wk_push(w, l.v[i]);
		t->id = l.v[i];
		l.v[i] = NULL;
		r->n_tasks++;
		rc = read_task(w, tfd, t);
		/* executor.exit, and the stream has no end: the task ended
		 * while no agent ran, its final update is still to come. */
		if (rc == 0 && !t->terminal && r->exit_kind != EXIT_NONE) {
			t->ended = true;
			t->end_state = exit_state(r->exit_kind, r->exit_value);
		}
		wk_pop(w, told);
		close(tfd);
		if (rc == 0 && !walk_task_matches(w->f, t)) {
			state_task_clear(t);
			r->n_tasks--;
		}
	}
	wk_names_free(&l);
	wk_pop(w, old);
	close(tasks);
	return rc;
}

/* Read executor x (its id set) below fd; then drop what the filter does
 * not keep.  1 when it is to be shown, 0 not, or a negative code. */
int
wk_read_executor(struct walker *w, int fd, struct state_executor *x)
{
	struct names l = { 0 };
	int rc, runs;

	if ((rc = wk_info_read(w, fd, "executor.info",
	    &mesos__executor_info__descriptor, &x->info, &x->errors)) < 0)
		return rc;
	if ((runs = wk_sub_open(w, fd, "runs", &x->errors)) < 0)
		return runs == -ENOENT ? 1 : runs;
	size_t old = wk_push(w, "runs");
	if ((rc = wk_latest_read(w, runs, &x->latest_run, &x->errors)) < 0)
		goto out;
	if ((rc = wk_names_list(w, runs, &l)) < 0) {
		rc = wk_problem(w, &x->errors);
		goto out;
	}
	x->latest_dangling = x->latest_run != NULL;
	if (l.n > 0 && (x->runs = calloc(l.n, sizeof(*x->runs))) == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		struct state_run *r = &x->runs[x->n_runs];
		int rfd;
		if (x->latest_run && strcmp(x->latest_run, l.v[i]) == 0)
			x->latest_dangling = false;
		if ((rfd = wk_sub_open(w, runs, l.v[i], &x->errors)) < 0) {
			rc = rfd == -ENOENT ? 0 : rfd;
			continue;
		}
		size_t rold = wk_push(w, l.v[i]);
		r->id = l.v[i];
		l.v[i] = NULL;
		r->latest = x->latest_run && strcmp(x->latest_run, r->id) == 0;
		x->n_runs++;
		rc = read_run(w, rfd, r);
		wk_pop(w, rold);
		close(rfd);
		if (rc == 0 && walk_filter_by_task(w->f) && r->n_tasks == 0) {
			state_run_clear(r);
			x->n_runs--;
		}
	}
out:
	wk_names_free(&l);
	wk_pop(w, old);
	close(runs);
	if (rc < 0)
		return rc;
	return !walk_filter_by_task(w->f) || x->n_runs > 0;
}

