/*
 * session.h: the handshake between an agent and an executor, both sides,
 * in one place (agent-run, agent-executor and executor-reconnect use it).
 *
 *   agent                          executor
 *   REGISTER agent_id [secret]  ->
 *                               <-  HELLO task_pid pending=N, then the N
 *                                   updates not yet acknowledged
 *   ACK uuid                    ->  (after the ACK record is durable)
 *
 * An executor given a secret takes a connection as its agent's only once
 * its REGISTER carries that secret; a stranger changes nothing.  The
 * place where a versioned handshake belongs.
 */
#ifndef CKPT_SESSION_H
#define CKPT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"

/* The agent's side. */
/* REGISTER as agent_id, proven with secret (SECRET_LEN bytes; NULL: an
 * older run, whose executor asks for none): 0, or -errno. */
int session_register(struct channel *c, const char *agent_id,
    const uint8_t *secret);
/* Is m the executor's HELLO?  Then *resends is how many updates it sends
 * again after it. */
bool session_hello(const Agentproto__ExecutorMessage *m, int *resends);
/* Acknowledge the update uuid: 0, or -errno. */
int session_ack(struct channel *c, const uint8_t uuid[16]);

/* The executor's side. */
/* Does m prove the agent: a REGISTER with secret (NULL: anyone of our
 * uid or root, as before secrets)? */
bool session_proven(const Agentproto__ExecutorMessage *m,
    const uint8_t *secret);
/* HELLO framed for the task's pid and the updates that follow it: the
 * frame (malloc'ed, room for extra bytes after it), or NULL. */
uint8_t *session_hello_frame(pid_t task, size_t pending, size_t extra,
    size_t *len);

#endif
