/*
 * loop.c: the agent's loop.  Each turn: wait (epoll) for signals,
 * commands, executors' messages or the earliest timer; handle all that
 * is ready, writing checkpoints into the turn's batch; commit it
 * (agent_commit, commit.c); then write what the drivers read.
 *
 * Executors' sockets sit in their own epoll set (xep), itself watched by
 * the main one: when the driver lets more than OUT_BOUND bytes of events
 * pile up, xep is taken out of the main set and executors wait (they
 * keep their updates) while commands are still read.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "agent.h"
#include "checkpoint.h"
#include "proc.h"
#include "update.h"
#include "version.h"
#include "workdir.h"

/* Diagnostics to path (line-buffered): at start, and again on SIGHUP so
 * that a rotated log is let go. */
static int
log_open(const char *path)
{
	if (freopen(path, "a", stderr) == NULL)
		return -1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	return 0;
}

static void
signals(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			struct aexec key = { .pid = 0 }, *x, *next;
			pid_t pid;
			int status;
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				key.pid = pid;
				for (x = RB_NFIND(pid_tree, &a->children, &key);
				    x && x->pid == pid; x = next) {
					next = RB_NEXT(pid_tree, &a->children, x);
					RB_REMOVE(pid_tree, &a->children, x);
					x->launched = false;
					run_event(a, x, EV_REAPED, &status);
				}
			}
		} else if (si.ssi_signo == SIGHUP) {
			if (a->o->log_path && log_open(a->o->log_path) < 0)
				a->quit = true;
		} else {
			emit(&a->dr, json_pack("{s:s, s:s}", "event", "stopped",
			    "signal", strsignal((int)si.ssi_signo)));
			a->quit = true;
		}
	}
}

static void
announce_if_ready(struct agent *a)
{
	if (a->announced || a->n_waiting > 0)
		return;
	a->announced = true;
	a->m.recovery_ms = monotonic_ms() - a->start_ms;
	log_line(&a->log, LOG_INFO, "%s agent %s (agent-run %s, work dir %s): "
	    "reconnected %d, lost %d, killed %d, incompatible %d, in %lld ms",
	    a->is_new ?
	    "registered" : "reregistered", a->id, version_release(), a->o->work,
	    a->reconnected, a->lost, a->killed, a->incompatible,
	    monotonic_ms() - a->start_ms);
	/* What bounds it: descriptors (one socket per live executor, and
	 * room for the rest) and how tasks are contained.  Kept: a driver
	 * that attaches later is told it first (drivers.c). */
	a->summary = json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:I, "
	    "s:I, s:s?}",
	    "event", a->is_new ? "registered" : "reregistered", "agent_id",
	    a->id, "version", version_release(), "elapsed_ms", (json_int_t)(monotonic_ms() - a->start_ms),
	    "reconnected", a->reconnected, "lost", a->lost, "killed", a->killed,
	    "incompatible", a->incompatible, "descriptors", (json_int_t)a->nofile, "executors_max",
	    (json_int_t)(a->nofile > 48 ? a->nofile - 48 : 0), "cgroup_root",
	    a->o->cgroup_root);
	/* What tasks may take, and what they were given (Mesos's units:
	 * mem and disk in MB). */
	json_object_set_new(a->summary, "resources", resources_json(a, false));
	json_object_set_new(a->summary, "allocated", resources_json(a, true));
	emit(&a->dr, json_incref(a->summary));
}

static void
finish_shutdown(struct agent *a)
{
	struct ckpt_error e;
	struct aexec *x;

	RB_FOREACH(x, executor_tree, &a->executors) {
		struct ckpt_ids ids = x_ids(x, a->id);
		if (!run_current(x))
			continue;
		if (run_live(x->st) && x->pid > 0)
			proc_terminate(x->pid, x->start, x->bound, x->run, 0);
		/* Updates not yet acknowledged keep the run: the next agent
		 * delivers them again, and reconcile knows the task. */
		if (x->n_pending > 0 || (x->task && !x->terminal))
			continue;
		if (x->checkpoint && checkpoint_sentinel(&a->batch, a->o->work,
		    &ids, &e) < 0) {
			fatal(a, "cannot mark run %s terminated", x->run, &e);
			return;
		}
	}
	emit(&a->dr, json_pack("{s:s}", "event", "shutdown"));
	agent_commit(a);
	a->quit = true;
}

static void
ep_set(struct agent *a, int fd, uint32_t events, uint64_t tag, bool *on,
    bool want)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	if (want != *on && epoll_ctl(a->ep, want ? EPOLL_CTL_ADD :
	    EPOLL_CTL_DEL, fd, &ev) == 0)
		*on = want;
}

/* The descriptors the agent may hold (raised to the hard limit): one
 * socket per live executor, and open streams in what is left. */
static size_t
nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur > 1 << 20)
		return 1 << 20;
	return (size_t)r.rlim_cur;
}

static void
serve(struct agent *a)
{
	struct epoll_event evs[256];
	struct epoll_event sev = { .events = EPOLLIN, .data.u64 = TAG_SIGNAL };

	epoll_ctl(a->ep, EPOLL_CTL_ADD, a->signal_fd, &sev);
	while (!a->quit) {
		long long now = monotonic_ms(), wait = -1;
		struct aexec *x;
		struct pend *p;
		int n;

		announce_if_ready(a);
		if (a->shutting_down && (a->n_live == 0 ||
		    now >= a->shutdown_deadline)) {
			finish_shutdown(a);
			break;
		}
		out_flush(&a->dr, false);
		agent_commit(a);	/* what announce_if_ready queued */
		drivers_feed(a);	/* pending updates, to who attached */
		out_flush(&a->dr, false);
		drivers_poll(a);
		if (a->quit)
			break;
		ep_set(a, a->xep, EPOLLIN, TAG_EXECUTORS, &a->xep_on,
		    out_queued(&a->dr) <= OUT_BOUND);
		if ((x = RB_MIN(timer_tree, &a->timers)) != NULL)
			wait = x->timer > now ? x->timer - now : 0;
		if ((p = RB_MIN(retry_tree, &a->retries)) != NULL &&
		    (wait < 0 || p->retry_at - now < wait))
			wait = p->retry_at > now ? p->retry_at - now : 0;
		if (a->shutting_down && (wait < 0 || wait > 100))
			wait = 100;
		if (drivers_lines_waiting(&a->dr))
			wait = 0;
		n = epoll_wait(a->ep, evs, 256, wait > 0x7fffffff ? 0x7fffffff :
		    (int)wait);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n && !a->quit; i++) {
			switch (evs[i].data.u64) {
			case TAG_SIGNAL:
				signals(a);
				break;
			case TAG_EXECUTORS: {
				struct epoll_event xe[256];
				int m = epoll_wait(a->xep, xe, 256, 0);
				for (int j = 0; j < m && !a->quit; j++) {
					x = xe[j].data.ptr;
					if (x->ch.fd < 0)
						continue;
					if (xe[j].events & EPOLLOUT)
						x_flush(a, x);
					if (x->ch.fd >= 0 && (xe[j].events &
					    (EPOLLIN | EPOLLHUP | EPOLLERR)))
						x_read(a, x);
				}
				break;
			}
			default:	/* stdin, stdout, the socket, a driver */
				drivers_event(a, evs[i].data.u64, evs[i].events);
				break;
			}
		}
		if (!a->quit)
			drivers_run_lines(a);
		now = monotonic_ms();
		while (!a->quit && (x = RB_MIN(timer_tree, &a->timers)) &&
		    x->timer <= now) {
			x_timer(a, x, 0);
			run_event(a, x, EV_TIMER, &now);
		}
		if (!a->quit)
			retry_due(a, now);
		agent_commit(a);
	}
}

/* The work dir checked, made and locked, the signals and the epoll sets
 * open: 0, or a negative code (e says why). */
static int
agent_open(struct agent *a, int *lock, struct ckpt_error *e)
{
	const struct agent_options *o = a->o;
	char sock[PATH_MAX];
	sigset_t mask;
	int rc;

	if (o->log_path && log_open(o->log_path) < 0)
		return error_set(e, -errno ? -errno : -EIO, o->log_path, -1,
		    "--log: %s", strerror(errno));
	log_setup(&a->log, o->log_level, o->log_path != NULL);
	/* What bounds this agent (the registered event says it too). */
	log_line(&a->log, LOG_INFO, "%zu descriptors allowed (RLIMIT_NOFILE, "
	    "raised to its hard limit): room for about %zu live executors; "
	    "tasks contained %s%s", a->nofile, a->nofile > 48 ?
	    a->nofile - 48 : 0, o->cgroup_root ? "in cgroups below " :
	    "without cgroups (no writable cgroup2 hierarchy, or --cgroup-root "
	    "none)", o->cgroup_root ? o->cgroup_root : "");
	/* What the dir's tasks use that this release lacks: refused before
	 * anything is changed, even the lock (--recover=cleanup kills them
	 * and starts afresh). */
	if ((rc = workdir_check(o->work, e)) < 0 ||
	    (!o->cleanup && (rc = workdir_caps_check(o->work, e)) < 0) ||
	    (rc = durable_mkdirs(o->work, e)) < 0 ||
	    (rc = *lock = workdir_lock(o->work, e)) < 0)
		return rc;
	snprintf(sock, sizeof(sock), "%s/sock", o->work);
	mkdir(sock, 0700);
	reserve_open(a);
	resources_init(a);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	a->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	a->xep = epoll_create1(EPOLL_CLOEXEC);
	if (a->signal_fd < 0 || a->ep < 0 || a->xep < 0)
		return error_set(e, -ENOMEM, "signalfd/epoll", -1, "%s",
		    strerror(errno));
	return 0;
}

static void
agent_close(struct agent *a)
{
	struct aexec *x, *next;

	RB_FOREACH_SAFE(x, executor_tree, &a->executors, next)
		x_free(a, x);
	frameworks_free(a);
	contain_marks_free(&a->marks);
	dbatch_abort(&a->batch);
	free(a->acks);
	json_decref(a->summary);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
	if (a->ep >= 0)
		close(a->ep);
	if (a->xep >= 0)
		close(a->xep);
}

int
agent_main(const struct agent_options *o, struct ckpt_error *e)
{
	struct agent a = { .o = o, .start_ms = monotonic_ms(),
	    .up_since = update_now(),
	    .signal_fd = -1, .ep = -1, .xep = -1 };
	int lock = -1, rc;

	error_clear(e);
	RB_INIT(&a.tasks);
	RB_INIT(&a.executors);
	RB_INIT(&a.timers);
	RB_INIT(&a.children);
	RB_INIT(&a.frameworks);
	RB_INIT(&a.pending);
	RB_INIT(&a.retries);
	RB_INIT(&a.by_seq);
	TAILQ_INIT(&a.lru);
	log_setup(&a.log, o->log_level, false);
	out_init(&a.dr, o->driver_bound, &a.log);
	dbatch_init(&a.batch);
	a.nofile = nofile();
	signal(SIGPIPE, SIG_IGN);
	if ((rc = agent_open(&a, &lock, e)) == 0 &&
	    (rc = drivers_init(&a, e)) == 0 && (rc = recover(&a, e)) == 0) {
		resources_orphans(&a);
		if (o->cleanup) {
			emit(&a.dr, json_pack("{s:s, s:i}", "event", "cleanup",
			    "killed", a.killed));
			agent_commit(&a);
			a.quit = true;
		}
		error_clear(e);		/* what stops it now is said as it happens */
		serve(&a);
		log_line(&a.log, LOG_INFO, "stopped: %zu "
		    "executors left running (the next agent reconnects them)",
		    a.n_live);
		rc = a.code;
	}
	agent_close(&a);
	drivers_free(&a);
	if (lock >= 0)
		close(lock);
	return rc;
}
