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
#include "record.h"

struct state_task;

/* cb, when not NULL, sees every record with its offset and whether its
 * update is acknowledged later in the stream (after a first pass). */
typedef void (*state_update_cb)(void *ctx, long long offset,
    const Mesos__StatusUpdateRecord *rec, bool acked);

/* Replay name below dirfd (path names it in errors) into t.  0 (an absent
 * stream is an empty one), or -EBADMSG, -EIO, -ENOMEM. */
int state_replay_updates(int dirfd, const char *name, const char *path,
    bool repair, struct state_task *t, state_update_cb cb, void *ctx,
    struct ckpt_error *e);
/* Forget what a replay filled in (pending, counts, flags). */
void state_task_reset(struct state_task *t);
/* The update of the UPDATE record at offset of the stream r reads (free
 * with mesos__status_update__free_unpacked).  Offsets taken in stream
 * order are read from the reader's window, one open and one read for
 * all of a stream's pending updates. */
int state_update_read(struct record_reader *r, long long offset,
    Mesos__StatusUpdate **out, struct ckpt_error *e);
/* Is the update with this uuid in the stream at path: 0 no, 1 yes and
 * pending, 2 yes and acknowledged. */
int state_update_known(const char *path, const uint8_t uuid[16]);

#endif
