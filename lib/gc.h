/*
 * gc.h: garbage collection of terminated runs.  A run is collectable when
 * its executor.sentinel is older than a delay; its meta directory and its
 * sandbox are removed without following any symbolic link.  Only runs an
 * agent has marked terminated are touched, and an agent never writes to a
 * terminated run again, so collecting is safe while an agent runs; when no
 * agent runs, the work dir's lock is held for the duration.
 */
#ifndef CKPT_GC_H
#define CKPT_GC_H

#include <stdbool.h>
#include <time.h>

#include "error.h"

/* Called for each directory collected (or that would be, dry_run). */
typedef void (*gc_cb)(void *ctx, const char *path);

/* Collect runs terminated before `before`.  Returns the number of runs,
 * or a negative code (the error names the path). */
int gc_runs(const char *work, time_t before, bool dry_run, gc_cb cb,
    void *ctx, struct ckpt_error *e);
/* rm -r of path, never following a symbolic link: 0 or -errno. */
int gc_remove_tree(const char *path, struct ckpt_error *e);

#endif
