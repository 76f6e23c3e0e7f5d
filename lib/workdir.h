/*
 * workdir.h: the host's boot id and the work dir's writer lock.
 * Only the process holding the lock (an flock on meta/agent.lock) may
 * write a work dir's state; readers never take it.
 */
#ifndef CKPT_WORKDIR_H
#define CKPT_WORKDIR_H

#include <stddef.h>

#include "error.h"
#include "paths.h"

/* The running kernel's boot id (36 characters). */
int bootid_current(char *buf, size_t len, struct ckpt_error *e);
/* The checkpointed boot id of work: 0, -ENOENT when none. */
int bootid_read(const char *work, char *buf, size_t len,
    struct ckpt_error *e);
int bootid_write(const char *work, const char *id, struct ckpt_error *e);

/* Take the lock of work (creating meta/): the fd, or -EAGAIN when
 * another process holds it (the error names its pid when known). */
/* meta/versions: a line appended (synced) per agent start, line. */
int workdir_version_note(const char *work, const char *line,
    struct ckpt_error *e);
/* meta/capabilities: the capabilities (version.h) the dir's tasks use,
 * one per line.  Check: 0, or -EPROTONOSUPPORT naming those this build
 * lacks (nothing changed).  Record: name added (durable) unless there. */
int workdir_caps_check(const char *work, struct ckpt_error *e);
int workdir_caps_record(const char *work, const char *name,
    struct ckpt_error *e);
/* Every task of the dir killed (--recover=cleanup): none needed. */
int workdir_caps_clear(const char *work, struct ckpt_error *e);

int workdir_lock(const char *work, struct ckpt_error *e);
/* 1 when some process holds the lock of work now, 0 when none. */
int workdir_locked(const char *work);
/* A work dir a writer may use: owned by us (or root) and not writable by
 * group or others: 0, or -EPERM naming the problem. */
int workdir_check(const char *work, struct ckpt_error *e);
/* 0 when no component of path below work is a symbolic link (the
 * components that do not exist yet are fine); -ELOOP otherwise. */
int workdir_no_links(const char *work, const char *path, struct ckpt_error *e);
/* The directory of kind (paths.h) for ids inside work, opened from work
 * one component at a time without following a link (at.h): its fd, or
 * a negative code (-ENOENT, -ELOOP...) with e naming the path. */
int workdir_open_dir(const char *work, int kind, const struct ckpt_ids *ids,
    struct ckpt_error *e);
/* Read a small text file (pid files, boot id): trailing newline cut. */
int text_read(const char *path, char *buf, size_t len, struct ckpt_error *e);

#endif
