/*
 * executor.c: the executor's loop (executor.h): one poll loop, signals
 * through a signalfd, no threads; the task's states are states.c's.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "exec.h"
#include "update.h"

static void
signals(struct executor *x)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(x->signal_fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			/* From pid 1: the system stops it (its shutdown, or its
			 * scope stopped), not an operator's kill: said, and
			 * after a reboot the next agent reports the task lost. */
			if (si.ssi_pid == 1) {
				logmsg("%s", "stopped by the system (pid 1: a "
				    "shutdown, or its scope stopped)");
				x->system_stop = true;
			}
			x_event(x, XE_SHUTDOWN, NULL);
		}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == x->task)
			x_event(x, XE_EXITED, &status);
		else
			health_reaped(x, pid, status);
}

/* The deadlines that have passed, as events; the time until the next
 * one (ms), or -1. */
static long long
deadlines(struct executor *x)
{
	long long now = monotonic_ms(), next = -1;

	if (x->away_deadline && now >= x->away_deadline && x->agent.fd < 0)
		x_event(x, XE_AWAY, NULL);
	if (x->kill_deadline && now >= x->kill_deadline)
		x_event(x, XE_GRACE, NULL);
	if (x->away_deadline && x->agent.fd < 0)
		next = x->away_deadline - now;
	if (x->kill_deadline && (next < 0 || x->kill_deadline - now < next))
		next = x->kill_deadline - now;
	long long lim = limits_watch(x, now);
	if (lim >= 0 && (next < 0 || lim < next))
		next = lim;
	long long hw = health_watch(x, now);
	if (hw >= 0 && (next < 0 || hw < next))
		next = hw;
	return next < 0 ? -1 : next > 0 ? next : 0;
}

/* One turn: wait for what is ready, then act on it.  0, or -1 when the
 * wait fails. */
static int
turn(struct executor *x, long long wait)
{
	struct pollfd p[7] = {
		{ x->signal_fd, POLLIN, 0 }, { x->listen_fd, POLLIN, 0 },
		{ x->agent.fd, POLLIN | (x->agent.out_len ? POLLOUT : 0), 0 },
		{ x->status_fd, POLLIN, 0 }, { x->cand.fd, POLLIN, 0 },
		{ x->logs[0].in, POLLIN, 0 }, { x->logs[1].in, POLLIN, 0 },
	};

	if (poll(p, 7, wait > 0x7fffffff ? 0x7fffffff : (int)wait) < 0)
		return errno == EINTR ? 0 : -1;
	/* The task's output, 4 MiB a turn each: the pipe slows it. */
	for (int i = 0; i < 2; i++)
		if (p[5 + i].revents && x->logs[i].in == p[5 + i].fd)
			tasklog_drain(&x->logs[i], 4 << 20);
	/* Progress lines before the end, so they precede it. */
	if (p[3].revents && x->status_fd >= 0)
		status_lines(x);
	if (p[0].revents)
		signals(x);
	if (p[4].revents && x->cand.fd == p[4].fd)
		candidate(x);
	if (p[1].revents)
		accept_agent(x);
	if (x->agent.fd >= 0 && p[2].fd == x->agent.fd && p[2].revents)
		agent_io(x, p[2].revents);
	return 0;
}

static void
leave(struct executor *x)
{
	if (x->agent.fd >= 0)
		channel_flush(&x->agent);
	channel_close(&x->agent);
	channel_close(&x->cand);
	health_fini(x);
	reap_tree(x);
	close_logs(x);
	free(x->latest);
	if (x->status_fd >= 0)
		close(x->status_fd);
	close(x->listen_fd);
	unlink(x->o->socket);
	updates_free(x);
	free(x->q);
}

int
executor_main(const struct executor_options *o, struct ckpt_error *e)
{
	struct executor x = { .o = o, .listen_fd = -1, .status_fd = -1,
	    .hc = { .out = -1 },
	    .kill_reason = -1 };
	sigset_t mask;

	channel_init(&x.agent, -1);
	channel_init(&x.cand, -1);
	/* Upgraded in place: the state of the image before (handoff.c). */
	if (o->resume_fd >= 0 && o->resume_check) {
		int rc = handoff_resume(&x, o->resume_fd, true, e);
		updates_free(&x);
		free(x.q);
		return rc < 0 ? EX_DATAERR : EX_OK;
	}
	if (o->resume_fd >= 0 && handoff_resume(&x, o->resume_fd, false, e) < 0)
		return EX_DATAERR;	/* (checked first by the image before) */
	if (o->resume_fd >= 0)
		close(o->resume_fd);
	else if (o->secret_fd >= 0)
		read_secret(&x, o->secret_fd);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((x.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return error_set(e, -errno, "signalfd", -1, "%s",
		    strerror(errno)), EX_OSERR;
	if (o->resume_fd >= 0) {
		note_version(&x);
		resumed(&x);	/* HELLO again, as the new release */
	}
	else {
		if ((x.listen_fd = channel_listen(o->socket, e)) < 0)
			return EX_CANTCREAT;
		char why[2 * PATH_MAX];
		if (start_task(&x, why, sizeof(why), e) < 0)
			x_event(&x, XE_FAILED, why);
		else
			health_start(&x);
		x.away_deadline = monotonic_ms() + (o->checkpoint ?
		    o->recovery_timeout_ms : o->register_timeout_ms);
	}
	/* Until the task has ended and its updates are acknowledged (or it
	 * is to leave at its end). */
	for (;;) {
		long long wait = deadlines(&x);
		if (x.st == T_ENDED && (x.nq == 0 || x.exiting))
			break;
		if (turn(&x, wait) < 0)
			break;
	}
	leave(&x);
	return EX_OK;
}
