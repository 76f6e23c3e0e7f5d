/*
 * update.h: building status updates (a fresh uuid each) and reading their
 * identity, for the executor (task states) and the agent (TASK_LOST and
 * states recovered from an exit file).
 */
#ifndef CKPT_UPDATE_H
#define CKPT_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "mesos.pb-c.h"

struct update_ids {
	const char *agent, *framework, *executor, *task;
};

/* A new update (free with mesos__status_update__free_unpacked), or NULL
 * when out of memory.  message may be NULL. */
Mesos__StatusUpdate *update_new(const struct update_ids *ids, int state,
    const char *message, int source);
/* The rule of every reader and writer of an update stream: an
 * acknowledged update of this state settles the stream (every update
 * still pending before it is superseded), as Mesos's status update
 * manager has it for a terminal update. */
bool update_ack_settles(int state);
/* The 16-byte uuid of u, or NULL. */
const uint8_t *update_uuid_bytes(const Mesos__StatusUpdate *u);
double update_now(void);
/* Milliseconds on the monotonic clock, for deadlines. */
long long monotonic_ms(void);

#endif
