/*
 * targets.h: the executors a tool acts on, as recover's JSON lines (from
 * stdin) or named by ids on the command line (looked up in the work dir
 * the same way recover does).  Each target is recover's JSON object.
 */
#ifndef CKPT_TARGETS_H
#define CKPT_TARGETS_H

#include <jansson.h>
#include <stdio.h>

#include "error.h"
#include "paths.h"

struct targets {
	json_t **v;
	size_t n;
};

/* One JSON object per line of fp; -EBADMSG naming the line. */
int targets_read(FILE *fp, struct targets *t, struct ckpt_error *e);
/* The not-yet-terminated runs of framework/executor (and run when given)
 * in work. */
int targets_named(const char *work, const struct ckpt_ids *ids,
    struct targets *t, struct ckpt_error *e);
/* What a tool was asked to act on: the executor named by ids (framework
 * and executor both given, and work) or, when none is named, recover's
 * lines on stdin.  -EINVAL (usage) when the naming is incomplete. */
int targets_load(const char *work, const struct ckpt_ids *ids,
    struct targets *t, struct ckpt_error *e);
void targets_free(struct targets *t);
/* A field of a target, or a default. */
const char *target_str(json_t *t, const char *key);
long long target_int(json_t *t, const char *key);

#endif
