/*
 * channel.h: ExecutorMessages over a non-blocking Unix stream socket,
 * framed like checkpoint records.  Sends are buffered and never block;
 * reads return whole messages only.  One mechanism for agent-run,
 * agent-executor and executor-reconnect.
 */
#ifndef CKPT_CHANNEL_H
#define CKPT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "executor.pb-c.h"

struct channel {
	int fd;
	uint8_t *in, *out;
	size_t in_len, in_cap, out_len, out_cap;
};

void channel_init(struct channel *c, int fd);
void channel_close(struct channel *c);
/* Queue m and write what the socket takes: 0, or -errno (peer gone). */
int channel_send(struct channel *c, const Agentproto__ExecutorMessage *m);
/* Queue an already framed message (record_encode's output). */
int channel_send_raw(struct channel *c, const uint8_t *buf, size_t len);
/* Give back the buffers while nothing is queued either way (thousands
 * of idle connections then cost no buffer memory). */
void channel_trim(struct channel *c);
/* Write queued bytes: 0, or -errno. */
int channel_flush(struct channel *c);
/* Read what is available: 1 data read, 0 EOF (peer closed), -errno. */
int channel_fill(struct channel *c);
/* The next whole message: 1 and *m (free with
 * agentproto__executor_message__free_unpacked), 0 none yet, -EBADMSG. */
int channel_next(struct channel *c, Agentproto__ExecutorMessage **m);

/* Listening socket at path (mode 0600), non-blocking. */
int channel_listen(const char *path, struct ckpt_error *e);
/* Non-blocking connect to path: the fd (connected or in progress). */
int channel_connect(const char *path, struct ckpt_error *e);
/* uid of the peer of fd, or -1. */
long channel_peer_uid(int fd);

/* Decode one message body (for the fuzzer and tests). */
int channel_decode(const uint8_t *buf, size_t len,
    Agentproto__ExecutorMessage **m);

#endif
