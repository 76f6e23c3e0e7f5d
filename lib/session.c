#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "record.h"

int
session_register(struct channel *c, const char *agent_id,
    const uint8_t *secret)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER;
	m.agent_id = (char *)agent_id;
	if (secret != NULL) {
		m.has_secret = 1;
		m.secret.len = SECRET_LEN;
		m.secret.data = (uint8_t *)secret;
	}
	return channel_send(c, &m);
}

bool
session_hello(const Agentproto__ExecutorMessage *m, int *resends)
{
	if (m->type != AGENTPROTO__EXECUTOR_MESSAGE__TYPE__HELLO)
		return false;
	*resends = m->has_pending && m->pending > 0 ? m->pending : 0;
	return true;
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

bool
session_proven(const Agentproto__ExecutorMessage *m, const uint8_t *secret)
{
	if (secret == NULL)
		return true;
	return m->type == AGENTPROTO__EXECUTOR_MESSAGE__TYPE__REGISTER &&
	    m->has_secret && m->secret.len == SECRET_LEN &&
	    memcmp(m->secret.data, secret, SECRET_LEN) == 0;
}

uint8_t *
session_hello_frame(pid_t task, size_t pending, size_t extra, size_t *len)
{
	Agentproto__ExecutorMessage m = AGENTPROTO__EXECUTOR_MESSAGE__INIT;
	uint8_t *frame, *all;

	m.type = AGENTPROTO__EXECUTOR_MESSAGE__TYPE__HELLO;
	m.has_task_pid = 1;
	m.task_pid = task;
	m.has_pending = 1;
	m.pending = (int32_t)pending;
	if (record_encode(&m.base, &frame, len) < 0)
		return NULL;
	if ((all = realloc(frame, *len + extra)) == NULL)
		free(frame);
	return all;
}
