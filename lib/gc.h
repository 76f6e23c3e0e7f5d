/*
 * gc.h: garbage collection of runs.  A run is collectable when its
 * executor.sentinel is older than a delay; or, when no agent runs, when
 * it was never marked terminated (its executor killed by a cleanup, or
 * lost) but nothing of it lives (executor, task, any process working in
 * its sandbox) and nothing was written to it for the delay; or when it
 * is a sandbox with no meta (a framework that does not checkpoint) that
 * no process works in, older than the delay.  Its meta directory and its
 * sandbox are removed.  Every directory is opened from the work dir one
 * component at a time without following a symbolic link (at.h), and a
 * work dir that fails workdir_check() (another user's, or writable by
 * others) is refused.  Removal is atomic and durable: the run is renamed
 * to a dot-name (".gc.RUN", which every reader skips), the parent is
 * fsynced, then the tree is deleted; a gc killed half-way leaves either
 * the whole run or an invisible dot-name that the next gc deletes.  Only
 * runs an agent has marked terminated are touched, and an agent never
 * writes to a terminated run again, so collecting is safe while an agent
 * runs; when no agent runs, the work dir's lock is held meanwhile.
 */
#ifndef CKPT_GC_H
#define CKPT_GC_H

#include <stdbool.h>
#include <time.h>

#include "error.h"

/* Called for each directory collected (or that would be, dry_run). */
typedef void (*gc_cb)(void *ctx, const char *path);
/* Called for each entry passed over, never followed (a symbolic link, not
 * a directory, not a valid id where a run's ancestors are): why. */
typedef void (*gc_skip_cb)(void *ctx, const char *path, const char *why);

/* Collect runs terminated before `before`.  Returns the number of runs,
 * or a negative code (the error names the path; -EPERM for a work dir
 * that fails the ownership check). */
int gc_runs(const char *work, time_t before, bool dry_run, gc_cb cb,
    gc_skip_cb skip, void *ctx, struct ckpt_error *e);

#endif
