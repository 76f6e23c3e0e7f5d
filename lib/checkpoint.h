/*
 * checkpoint.h: writing each kind of checkpoint into a work dir, the one
 * path every writer (ckpt-write, agent-run) takes.  Every id is validated
 * before the file system is touched; every write is durable (durable.h);
 * on error nothing partial is left behind.  Each call takes a batch
 * (durable.h): NULL makes the call durable before it returns; otherwise
 * the write is durable once the caller's dbatch_commit returns 0.
 */
#ifndef CKPT_CHECKPOINT_H
#define CKPT_CHECKPOINT_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <sys/types.h>

#include "durable.h"
#include "error.h"
#include "mesos.pb-c.h"
#include "paths.h"

/* Write message m as the one record of the .info file of kind (creating
 * the directories above it). */
int checkpoint_info(struct dbatch *b, const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const ProtobufCMessage *m,
    struct ckpt_error *e);
/* slave.info plus the slaves/latest link. */
int checkpoint_agent(struct dbatch *b, const char *work, const char *agent,
    const Mesos__SlaveInfo *info, struct ckpt_error *e);
/* A small text file of kind (pid files, framework.pid, exit status). */
/* A note, not a checkpoint: text written whole under kind (a temporary
 * file renamed over it) but not synced: after a power cut it may be
 * absent, which its readers take as "nothing noted".  0, or -errno. */
int checkpoint_note(const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const char *text, struct ckpt_error *e);
int checkpoint_text(struct dbatch *b, const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const char *text, struct ckpt_error *e);
/* The run's directories (meta and sandbox) and the runs/latest link. */
int checkpoint_run(struct dbatch *b, const char *work, const struct ckpt_ids *ids,
    struct ckpt_error *e);
/* forked.pid and its start time (ours, beside it). */
int checkpoint_pid(struct dbatch *b, const char *work,
    const struct ckpt_ids *ids, pid_t pid, unsigned long long start,
    struct ckpt_error *e);
/* Append an UPDATE record (the update must carry its uuid), on its own. */
int checkpoint_update(const char *work, const struct ckpt_ids *ids,
    const Mesos__StatusUpdate *u, struct ckpt_error *e);
/* Append an ACK record for uuid. */
int checkpoint_ack(const char *work, const struct ckpt_ids *ids,
    const uint8_t uuid[16], struct ckpt_error *e);
/* pids/executor.secret (0600): what an agent proves itself with when it
 * connects to the run's executor; secret_load reads it back (-ENOENT:
 * none, a run of an older agent). */
#define SECRET_LEN	16
int checkpoint_secret(struct dbatch *b, const char *work,
    const struct ckpt_ids *ids, const uint8_t secret[SECRET_LEN],
    struct ckpt_error *e);
int secret_load(const char *work, const struct ckpt_ids *ids,
    uint8_t secret[SECRET_LEN], struct ckpt_error *e);
/* SECRET_LEN bytes as hex (2 * SECRET_LEN + 1 bytes), and back: 0, -1. */
void secret_format(const uint8_t secret[SECRET_LEN], char *text);
int secret_parse(const char *text, uint8_t secret[SECRET_LEN]);
/* executor.sentinel: the run has terminated. */
int checkpoint_sentinel(struct dbatch *b, const char *work,
    const struct ckpt_ids *ids, struct ckpt_error *e);
/* A task's update stream kept open: the validated path into path (size
 * bytes), the file created if absent, an fd for appending. */
int checkpoint_stream_open(struct dbatch *b, const char *work,
    const struct ckpt_ids *ids, char *path, size_t size, struct ckpt_error *e);
int checkpoint_stream_update(struct dbatch *b, int fd, const char *path,
    const Mesos__StatusUpdate *u, struct ckpt_error *e);
int checkpoint_stream_ack(struct dbatch *b, int fd, const char *path,
    const uint8_t uuid[16], struct ckpt_error *e);

#endif
