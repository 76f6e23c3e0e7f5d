/*
 * replay.h: replaying one task.updates stream (FORMAT.md) into a task's
 * summary: counts, latest state, and the updates still pending, in stream
 * order.  Linear in the stream: each record is read, checked (one CRC)
 * and unpacked once; pending updates are kept in a hash set by uuid.  A
 * torn tail (a short record, or a last record that fails and ends in
 * zero bytes: an append whose data never landed) is never an error; it
 * is reported with the offset where the whole records end, and with
 * `repair` cut away.  A whole record that fails is corruption (-EBADMSG,
 * naming the file and offset).
 */
#ifndef CKPT_REPLAY_H
#define CKPT_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "mesos.pb-c.h"

struct state_task;

/* cb, when not NULL, sees every record with its offset and whether its
 * update is acknowledged later in the stream (after a first pass). */
typedef void (*state_update_cb)(void *ctx, long long offset,
    const Mesos__StatusUpdateRecord *rec, bool acked);

/* Replay name below dirfd (path names it in errors) into t.  0 (an absent
 * stream is an empty one), or -EBADMSG, -EIO, -ENOMEM.  flags:
 * REPLAY_REPAIR truncates a torn tail; REPLAY_MESSAGES keeps each pending
 * update's message. */
#define REPLAY_REPAIR	1u
#define REPLAY_MESSAGES	2u
int state_replay_updates(int dirfd, const char *name, const char *path,
    unsigned flags, struct state_task *t, state_update_cb cb, void *ctx,
    struct ckpt_error *e);
/* Forget what a replay filled in (pending, counts, flags). */
void state_task_reset(struct state_task *t);
/* Is the update with this uuid in the stream at path: 0 no, 1 yes and
 * pending, 2 yes and acknowledged. */
int state_update_known(const char *path, const uint8_t uuid[16]);

#endif
