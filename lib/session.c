#include "session.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "record.h"
#include "update.h"
#include "version.h"

/* What this build can do, said in REGISTER and HELLO. */
static char *capabilities[] = { "refuse", "reexec" };
#define N_CAPABILITIES (sizeof(capabilities) / sizeof(capabilities[0]))

static void
say_self(Agentproto__ExecutorMessage *m)
{
	m->version = (char *)version_release();
	m->n_capabilities = N_CAPABILITIES;
	m->capabilities = capabilities;
}

static void
peer_of(const Agentproto__ExecutorMessage *m, int protocol,
    struct session_peer *p)
{
	if (p == NULL)
		return;
	p->protocol = protocol;
	snprintf(p->version, sizeof(p->version), "%s", m->version ?
	    m->version : "before 0.2.0");
	p->capabilities[0] = '\0';
	for (size_t i = 0; i < m->n_capabilities; i++) {
		if (i)
			strlcat(p->capabilities, " ", sizeof(p->capabilities));
		strlcat(p->capabilities, m->capabilities[i],
		    sizeof(p->capabilities));
	}
}

int
session_register(struct channel *c, const char *agent_id,
    const uint8_t *secret, bool tool)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER;
	m.agent_id = (char *)agent_id;
	if (secret != NULL) {
		m.has_secret = 1;
		m.secret.len = SECRET_LEN;
		m.secret.data = (uint8_t *)secret;
	}
	m.has_protocol_min = m.has_protocol = 1;
	m.protocol_min = PROTOCOL_MIN;
	m.protocol = PROTOCOL_MAX;
	m.has_tool = tool;
	m.tool = tool;
	say_self(&m);
	return channel_send(c, &m);
}

int
session_upgrade(struct channel *c, const char *path, long long deadline_ms,
    struct session_peer *peer, char *why, size_t len)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	int resends, more = 1;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPGRADE;
	m.path = (char *)path;
	if (channel_send(c, &m) < 0)
		return snprintf(why, len, "the executor closed the connection"),
		    -1;
	while (more > 0) {
		struct pollfd p = { c->fd, POLLIN | (c->out_len ? POLLOUT : 0),
		    0 };
		Agentproto__ExecutorMessage *r;
		long long left = deadline_ms - monotonic_ms();
		int rc;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return snprintf(why, len, "no answer to UPGRADE in time"),
			    -1;
		if (p.revents & POLLOUT)
			channel_flush(c);
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			more = channel_fill(c);
		while ((rc = channel_next(c, &r)) > 0) {
			enum session_answer a = session_answer(r, &resends, peer,
			    why, len);
			bool failed = r->type ==
			    AGENTPROTO__EXECUTOR_MESSAGE__TYPE__UPGRADE_FAILED;
			if (failed)
				snprintf(why, len, "%s", r->reason ? r->reason :
				    "the executor carries on as it was");
			agentproto__executor_message__free_unpacked(r, NULL);
			if (a == SESSION_HELLO)
				return 0;	/* the new image */
			if (failed || a == SESSION_INCOMPATIBLE)
				return -1;
		}
		if (rc < 0)
			return snprintf(why, len, "a malformed message"), -1;
	}
	return snprintf(why, len, "the executor closed the connection"), -1;
}

enum session_answer
session_answer(const Agentproto__ExecutorMessage *m, int *resends,
    struct session_peer *peer, char *why, size_t len)
{
	int protocol = m->has_protocol ? m->protocol : 1;

	switch (m->type) {
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__HELLO:
		*resends = m->has_pending && m->pending > 0 ? m->pending : 0;
		peer_of(m, protocol, peer);
		if (version_shared(protocol, protocol) != 0)
			return SESSION_HELLO;
		snprintf(why, len, "its executor (agent-executor %s) answered "
		    "in executor protocol %d; this agent-run %s speaks %d-%d",
		    m->version ? m->version : "before 0.2.0", protocol,
		    version_release(), PROTOCOL_MIN, PROTOCOL_MAX);
		return SESSION_INCOMPATIBLE;
	case AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REFUSED:
		peer_of(m, 0, peer);
		snprintf(why, len, "%s", m->reason ? m->reason :
		    "its executor refused this agent");
		return SESSION_INCOMPATIBLE;
	default:
		return SESSION_OTHER;
	}
}

int
session_ack(struct channel *c, const uint8_t uuid[16])
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__ACK;
	m.has_uuid = 1;
	m.uuid.len = 16;
	m.uuid.data = (uint8_t *)uuid;
	return channel_send(c, &m);
}

enum session_verdict
session_judge(const Agentproto__ExecutorMessage *m, const uint8_t *secret,
    struct session_peer *peer, char *why, size_t len)
{
	int hi, lo, shared;

	if (m->type != AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER)
		return secret == NULL ? SESSION_PROVEN : SESSION_STRANGER;
	if (secret != NULL && (!m->has_secret || m->secret.len != SECRET_LEN ||
	    memcmp(m->secret.data, secret, SECRET_LEN) != 0))
		return SESSION_STRANGER;
	hi = m->has_protocol ? m->protocol : 1;
	lo = m->has_protocol_min ? m->protocol_min : hi;
	shared = version_shared(lo, hi);
	peer_of(m, shared, peer);
	if (shared != 0)
		return SESSION_PROVEN;
	snprintf(why, len, "agent-run %s speaks executor protocol %d-%d; this "
	    "agent-executor %s speaks %d-%d: no version shared",
	    m->version ? m->version : "before 0.2.0", lo, hi, version_release(),
	    PROTOCOL_MIN, PROTOCOL_MAX);
	return SESSION_REFUSE;
}

int
session_refuse(struct channel *c, const char *why)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REFUSED;
	m.reason = (char *)why;
	say_self(&m);
	m.n_capabilities = 0;
	return channel_send(c, &m);
}

uint8_t *
session_hello_frame(pid_t task, size_t pending, int protocol, size_t extra,
    size_t *len)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	uint8_t *frame, *all;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__HELLO;
	m.has_task_pid = 1;
	m.task_pid = task;
	m.has_pending = 1;
	m.pending = (int32_t)pending;
	m.has_protocol = 1;
	m.protocol = protocol;
	say_self(&m);
	if (record_encode(&m.base, &frame, len) < 0)
		return NULL;
	if ((all = realloc(frame, *len + extra)) == NULL)
		free(frame);
	return all;
}
