/*
 * durable.h: writes that survive a crash at any point.
 * A replaced file is written to a temporary file in the same directory,
 * fsynced, renamed over the target, and the directory fsynced; an append
 * is fsynced before the call returns; every directory created is fsynced
 * into its parent.  On error nothing partial is left behind.
 */
#ifndef CKPT_DURABLE_H
#define CKPT_DURABLE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

int durable_write(const char *path, const void *buf, size_t len,
    struct ckpt_error *e);
int durable_append(const char *path, const void *buf, size_t len,
    struct ckpt_error *e);
/* mkdir -p, mode 0700, each new directory fsynced into its parent, and
 * the parent of an existing one fsynced too (its maker may have died
 * before it did). */
int durable_mkdirs(const char *path, struct ckpt_error *e);
/* Make linkpath a symlink to target, atomically replacing it. */
int durable_symlink(const char *target, const char *linkpath,
    struct ckpt_error *e);
/* Cut path to len bytes and fsync it (repair of a torn tail). */
int durable_truncate(const char *path, off_t len, struct ckpt_error *e);
/* The same for name below dirfd (at.h rules); path names it in errors. */
int durable_truncate_at(int dirfd, const char *name, const char *path,
    off_t len, struct ckpt_error *e);
int durable_fsync_dir(const char *dir, struct ckpt_error *e);
/* Remove path (a file) and fsync its directory; absent is fine. */
int durable_unlink(const char *path, struct ckpt_error *e);

#endif
