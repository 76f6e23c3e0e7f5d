/*
 * link.c: the agent's connection.  A new connection replaces the agent's
 * only once it has proven itself (REGISTER with the run's secret); the
 * executor answers HELLO, followed by every update not yet acknowledged,
 * then takes acks and the agent's KILL and SHUTDOWN.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec.h"
#include "session.h"
#include "state.h"

static void
agent_gone(struct executor *x)
{
	channel_close(&x->agent);
	x->registered = false;
	x_event(x, XE_AGENT_GONE, NULL);
}

/* HELLO and the updates it is followed by, in one write: at an agent's
 * restart, 10,000 executors answer at once. */
static void
hello(struct executor *x)
{
	size_t extra = 0, n;
	uint8_t *all;

	if (!x->tool)
		x->away_deadline = 0;
	x->registered = true;
	for (size_t i = 0; i < x->nq; i++)
		extra += x->q[i].len;
	if ((all = session_hello_frame(x->task, x->nq, x->protocol, extra,
	    &n)) == NULL)
		abort();	/* out of memory */
	for (size_t i = 0; i < x->nq; i++) {
		memcpy(all + n, x->q[i].frame, x->q[i].len);
		n += x->q[i].len;
	}
	if (channel_send_raw(&x->agent, all, n) < 0)
		agent_gone(x);
	free(all);
}

/* A message on the candidate connection: it becomes the agent's only
 * by a REGISTER that proves itself; anything else closes it. */
void
candidate(struct executor *x)
{
	Agentproto__ExecutorMessage *m;
	int more = channel_fill(&x->cand), r;

	if ((r = channel_next(&x->cand, &m)) > 0) {
		struct session_peer peer;
		char why[256];
		switch (session_judge(m, x->has_secret ? x->secret : NULL, &peer,
		    why, sizeof(why))) {
		case SESSION_PROVEN:
			channel_close(&x->agent);	/* replaced */
			x->agent = x->cand;
			channel_init(&x->cand, -1);
			x->registered = false;
			x->protocol = peer.protocol;
			x->tool = m->has_tool && m->tool;
			hello(x);
			break;
		case SESSION_REFUSE:
			/* Said on both sides; the agent leaves us alone, and
			 * the current one (if any) stays. */
			logmsg("refused agent: %s", why);
			session_refuse(&x->cand, why);
			channel_flush(&x->cand);
			channel_close(&x->cand);
			break;
		case SESSION_STRANGER:
			logmsg("%s", "refused a connection that did not prove "
			    "itself with the run's secret");
			channel_close(&x->cand);
			break;
		}
		agentproto__executor_message__free_unpacked(m, NULL);
		return;
	}
	if (r < 0 || more <= 0)
		channel_close(&x->cand);
}

/* The agent asks us to become the agent-executor at path (its own);
 * if we cannot, we carry on, and say why. */
static void
upgrade(struct executor *x, const char *path)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	char why[PATH_MAX + 300];

	if (x->st == T_ENDED) {
		snprintf(why, sizeof(why), "%s", "upgrade: the task has ended "
		    "(nothing to carry over)");
	} else
		handoff_upgrade(x, path, why, sizeof(why));
	logmsg("%s", why);
	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPGRADE_FAILED;
	m.reason = why;
	if (channel_send(&x->agent, &m) < 0)
		agent_gone(x);
}

void
resumed(struct executor *x)
{
	if (x->agent.fd >= 0 && x->registered)
		hello(x);
}

static void
agent_message(struct executor *x, Agentproto__ExecutorMessage *m)
{
	long long grace = m->grace_ms;

	switch (m->type) {
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER:
		hello(x);
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__ACK:
		if (m->has_uuid)
			ack(x, m->uuid.data, m->uuid.len);
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__KILL:
		x_event(x, XE_KILL, m->has_grace_ms ? &grace : NULL);
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__SHUTDOWN:
		x_event(x, XE_SHUTDOWN, m->has_grace_ms ? &grace : NULL);
		break;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPGRADE:
		upgrade(x, m->path);
		break;
	default:
		break;
	}
}

void
accept_agent(struct executor *x)
{
	int fd = accept4(x->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	long uid;

	if (fd < 0)
		return;
	uid = channel_peer_uid(fd);
	if (uid != 0 && uid != (long)getuid()) {
		char who[32];
		snprintf(who, sizeof(who), "%ld", uid);
		logmsg("refused a connection from uid %s", who);
		close(fd);
		return;
	}
	/* The current agent stays until the new one proves itself. */
	channel_close(&x->cand);
	channel_init(&x->cand, fd);
}

/* The run's secret, handed over by the agent on a pipe. */
void
read_secret(struct executor *x, int fd)
{
	char text[2 * SECRET_LEN + 2] = "";
	ssize_t n;

	while ((n = read(fd, text, sizeof(text) - 1)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n >= 2 * SECRET_LEN) {
		text[2 * SECRET_LEN] = '\0';
		x->has_secret = secret_parse(text, x->secret) == 0;
	}
	if (!x->has_secret)
		logmsg("%s", "no valid secret on --secret-fd: connections "
		    "are refused");
	x->has_secret = true;	/* an unreadable secret proves nothing */
}

/* The agent's connection is ready (revents): write, read, act. */
void
agent_io(struct executor *x, short revents)
{
	Agentproto__ExecutorMessage *m;
	int more = 1, rc;

	if (revents & POLLOUT)
		channel_flush(&x->agent);
	if (revents & (POLLIN | POLLHUP | POLLERR))
		more = channel_fill(&x->agent);
	while (x->agent.fd >= 0 && (rc = channel_next(&x->agent, &m)) != 0) {
		if (rc < 0) {
			more = rc;
			break;
		}
		agent_message(x, m);
		agentproto__executor_message__free_unpacked(m, NULL);
	}
	if (more <= 0 && x->agent.fd >= 0)
		agent_gone(x);
}

