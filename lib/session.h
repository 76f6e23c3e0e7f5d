/*
 * session.h: the handshake between an agent and an executor, both sides,
 * in one place (agent-run, agent-executor and executor-reconnect use it).
 *
 *   agent                          executor
 *   REGISTER agent_id [secret]
 *     protocol_min..protocol,
 *     version, capabilities     ->
 *                               <-  HELLO task_pid pending=N protocol
 *                                   version capabilities, then the N
 *                                   updates not yet acknowledged
 *                               <-  or REFUSED reason (no version shared)
 *   ACK uuid                    ->  (after the ACK record is durable)
 *
 * An executor given a secret takes a connection as its agent's only once
 * its REGISTER carries that secret; a stranger changes nothing and is
 * told nothing.  A proven agent that shares no protocol version with the
 * executor is refused, with a reason naming both (version.h); the agent
 * then leaves that executor alone.  A peer whose messages carry no
 * protocol version speaks version 1 (the releases before 0.2.0).
 */
#ifndef CKPT_SESSION_H
#define CKPT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"

/* What a peer said of itself. */
struct session_peer {
	int protocol;		/* the version shared (HELLO), or 0 */
	char version[32];	/* its release; "before 0.2.0" for version 1 */
	char capabilities[128];	/* space-separated, maybe "" */
};

/* The agent's side. */
/* REGISTER as agent_id, proven with secret (SECRET_LEN bytes; NULL: an
 * older run, whose executor asks for none); tool: a tool, not an agent
 * (the executor's recovery deadline runs on): 0, or -errno. */
int session_register(struct channel *c, const char *agent_id,
    const uint8_t *secret, bool tool);
enum session_answer {
	SESSION_OTHER,		/* not an answer to REGISTER */
	SESSION_HELLO,		/* registered: *resends updates follow */
	SESSION_INCOMPATIBLE,	/* refused, or a version not shared: why */
};
/* What m, the executor's message, answers to REGISTER.  For HELLO,
 * *resends is how many updates it sends again after it; peer (may be
 * NULL) is filled for HELLO and REFUSED. */
enum session_answer session_answer(const Agentproto__ExecutorMessage *m,
    int *resends, struct session_peer *peer, char *why, size_t len);
/* Acknowledge the update uuid: 0, or -errno. */
int session_ack(struct channel *c, const uint8_t uuid[16]);
/* On a registered connection (fd blocking or not), ask the executor to
 * re-exec into path, and wait until deadline_ms (monotonic) for its HELLO
 * as the new image (peer: its release) or its refusal: 0, or -1 with
 * why (it carries on as it was, or it is gone). */
int session_upgrade(struct channel *c, const char *path,
    long long deadline_ms, struct session_peer *peer, char *why,
    size_t len);

/* The executor's side. */
enum session_verdict {
	SESSION_STRANGER,	/* not a REGISTER with the secret: ignore */
	SESSION_PROVEN,		/* the agent; peer->protocol is the one used */
	SESSION_REFUSE,		/* the agent, but no version shared: why */
};
/* Is m a REGISTER that proves the agent (secret NULL: anyone of our uid
 * or root, as before secrets), and does it share a version with us? */
enum session_verdict session_judge(const Agentproto__ExecutorMessage *m,
    const uint8_t *secret, struct session_peer *peer, char *why,
    size_t len);
/* REFUSED, saying why: 0, or -errno. */
int session_refuse(struct channel *c, const char *why);
/* HELLO in protocol for the task's pid and the updates that follow it:
 * the frame (malloc'ed, room for extra bytes after it), or NULL. */
uint8_t *session_hello_frame(pid_t task, size_t pending, int protocol,
    size_t extra, size_t *len);

#endif
