/*
 * loop.c: the agent's loop.  Each turn: wait (epoll) for signals,
 * commands, executors' messages or the earliest timer; handle all that
 * is ready, writing checkpoints into the turn's batch; commit it
 * (agent_commit); then write what the driver reads.
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
#include "spawn.h"
#include "update.h"
#include "workdir.h"

/* Acknowledged in this turn (its ACK record, or that of the terminal
 * update that completes the stream, is in the batch, not yet in the
 * file)? */
bool
agent_acked_now(const struct agent *a, const struct aexec *x,
    const uint8_t u[16])
{
	for (size_t i = 0; i < a->n_acks; i++)
		if (a->acks[i].x == x && (a->acks[i].terminal ||
		    memcmp(a->acks[i].uuid, u, 16) == 0))
			return true;
	return false;
}

void
agent_defer_ack(struct agent *a, struct aexec *x, const uint8_t u[16],
    bool terminal)
{
	if (a->n_acks == a->cap_acks) {
		size_t cap = a->cap_acks ? a->cap_acks * 2 : 64;
		void *v = reallocarray(a->acks, cap, sizeof(*a->acks));
		if (v == NULL)
			abort();
		a->acks = v;
		a->cap_acks = cap;
	}
	a->acks[a->n_acks].x = x;
	a->acks[a->n_acks].terminal = terminal;
	memcpy(a->acks[a->n_acks++].uuid, u, 16);
}

/*
 * Group commit: everything this turn wrote becomes durable with a few
 * sync barriers (durable.h), then its effects leave: the events, the
 * acks to executors, launched executors let go.  Runs that are now
 * terminated get their sentinel in a second, smaller commit, then
 * `terminated`.  After a fatal error nothing leaves but the error.
 */
void
agent_commit(struct agent *a)
{
	struct ckpt_error e;
	long long now = monotonic_ms();
	struct aexec *x, *list;

	a->turn++;
	/* A full file system (a task's files): the reserve makes room. */
	while (!a->failed && dbatch_commit(&a->batch, &e) < 0)
		if (!a->batch.full || !reserve_give(a)) {
			fatal(a, "%s", "cannot make the checkpoints durable", &e);
			break;
		}
	if (a->failed) {
		dbatch_abort(&a->batch);
		a->n_acks = 0;
		return;
	}
	out_commit();
	for (size_t i = 0; i < a->n_acks; i++)
		if (a->acks[i].x->st == X_CONNECTED)
			x_send_ack(a, a->acks[i].x, a->acks[i].uuid);
	a->n_acks = 0;
	a->n_launches = 0;
	list = a->check;
	a->check = NULL;
	for (x = list; x; x = x->next_check) {
		x->check = false;
		if (x->hold_fd >= 0) {
			spawn_release(x->hold_fd);
			x->hold_fd = -1;
			if (x->st == X_CONNECTING) {
				x_deadline(a, x, now);
				x_timer(a, x, now + 5);
			}
		}
		x_finish(a, x);
	}
	if (a->failed)
		return;
	if (a->batch.n_ops > 0 && dbatch_commit(&a->batch, &e) < 0) {
		fatal(a, "%s", "cannot mark runs terminated", &e);
		dbatch_abort(&a->batch);
		return;
	}
	for (x = list; x; ) {
		struct aexec *next = x->next_check;
		if (x->finishing) {
			emit(x_json("terminated", x));
			x_free(a, x);
		}
		x = next;
	}
	out_commit();
}

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
			while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
				key.pid = pid;
				for (x = RB_NFIND(pid_tree, &a->children, &key);
				    x && x->pid == pid; x = next) {
					next = RB_NEXT(pid_tree, &a->children, x);
					RB_REMOVE(pid_tree, &a->children, x);
					x->launched = false;
					if (x->st == X_CONNECTING ||
					    x->st == X_WAIT_HELLO)
						x_gone(a, x, false);
				}
			}
		} else if (si.ssi_signo == SIGHUP) {
			if (a->o->log_path && log_open(a->o->log_path) < 0)
				a->quit = true;
		} else {
			emit(json_pack("{s:s, s:s}", "event", "stopped",
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
	/* What bounds it: descriptors (one socket per live executor, and
	 * room for the rest) and how tasks are contained. */
	emit(json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:I, s:I, s:s?}", "event",
	    a->is_new ? "registered" : "reregistered", "agent_id", a->id,
	    "elapsed_ms", (json_int_t)(monotonic_ms() - a->start_ms), "reconnected",
	    a->reconnected, "lost", a->lost, "killed", a->killed,
	    "descriptors", (json_int_t)a->nofile, "executors_max",
	    (json_int_t)(a->nofile > 48 ? a->nofile - 48 : 0), "cgroup_root",
	    a->o->cgroup_root));
}

static void
finish_shutdown(struct agent *a)
{
	struct ckpt_error e;
	struct aexec *x;

	RB_FOREACH(x, executor_tree, &a->executors) {
		struct ckpt_ids ids = x_ids(x, a->id);
		if (x->finishing)
			continue;
		if (x->st != X_GONE && x->pid > 0)
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
	emit(json_pack("{s:s}", "event", "shutdown"));
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
		out_flush(false);
		agent_commit(a);	/* what announce_if_ready queued */
		drivers_feed(a);	/* pending updates, to who attached */
		out_flush(false);
		drivers_poll(a);
		if (a->quit)
			break;
		ep_set(a, a->xep, EPOLLIN, TAG_EXECUTORS, &a->xep_on,
		    out_queued() <= OUT_BOUND);
		if ((x = RB_MIN(timer_tree, &a->timers)) != NULL)
			wait = x->timer > now ? x->timer - now : 0;
		if ((p = RB_MIN(retry_tree, &a->retries)) != NULL &&
		    (wait < 0 || p->retry_at - now < wait))
			wait = p->retry_at > now ? p->retry_at - now : 0;
		if (a->shutting_down && (wait < 0 || wait > 100))
			wait = 100;
		if (drivers_lines_waiting())
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
		    x->timer <= now)
			x_on_timer(a, x, now);
		if (!a->quit)
			retry_due(a, now);
		agent_commit(a);
	}
}

int
agent_main(const struct agent_options *o)
{
	struct agent a = { .o = o, .start_ms = monotonic_ms() };
	struct ckpt_error e;
	sigset_t mask;
	int lock, rc;

	RB_INIT(&a.tasks);
	RB_INIT(&a.executors);
	RB_INIT(&a.timers);
	RB_INIT(&a.children);
	RB_INIT(&a.frameworks);
	RB_INIT(&a.pending);
	RB_INIT(&a.retries);
	RB_INIT(&a.by_seq);
	TAILQ_INIT(&a.lru);
	dbatch_init(&a.batch);
	a.nofile = nofile();
	signal(SIGPIPE, SIG_IGN);
	if (o->log_path && log_open(o->log_path) < 0) {
		warn("%s", o->log_path);
		return EX_CANTCREAT;
	}
	/* The diagnostics log (stderr holds errors only) says what bounds
	 * this agent; the registered event says it too. */
	if (o->log_path)
		fprintf(stderr, "agent-run: %zu descriptors allowed (RLIMIT_NOFILE, "
		    "raised to its hard limit): room for about %zu live "
		    "executors; tasks contained %s%s\n", a.nofile,
		    a.nofile > 48 ? a.nofile - 48 : 0, o->cgroup_root ?
		    "in cgroups below " : "without cgroups (no writable "
		    "cgroup2 hierarchy, or --cgroup-root none)", o->cgroup_root ?
		    o->cgroup_root : "");
	if ((rc = workdir_check(o->work, &e)) < 0 ||
	    (rc = durable_mkdirs(o->work, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	if ((lock = workdir_lock(o->work, &e)) < 0) {
		error_print(&e);
		return error_exit_code(lock);
	}
	char sock[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/sock", o->work);
	mkdir(sock, 0700);
	reserve_open(&a);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	a.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	a.ep = epoll_create1(EPOLL_CLOEXEC);
	a.xep = epoll_create1(EPOLL_CLOEXEC);
	if (a.signal_fd < 0 || a.ep < 0 || a.xep < 0) {
		warn("signalfd/epoll");
		return EX_OSERR;
	}
	if ((rc = drivers_init(&a)) != 0) {
		close(lock);
		return rc;
	}
	if ((rc = recover(&a)) != EX_OK) {
		drivers_free(&a);
		return rc;
	}
	if (o->cleanup) {
		emit(json_pack("{s:s, s:i}", "event", "cleanup", "killed",
		    a.killed));
		agent_commit(&a);
		a.quit = true;
	}
	serve(&a);
	struct aexec *x, *next;
	RB_FOREACH_SAFE(x, executor_tree, &a.executors, next)
		x_free(&a, x);
	frameworks_free(&a);
	contain_marks_free(&a.marks);
	dbatch_abort(&a.batch);
	free(a.acks);
	close(a.signal_fd);
	close(a.ep);
	close(a.xep);
	drivers_free(&a);
	close(lock);
	return a.status;
}
