/*
 * walker.h: inside the walk (walk.h), not for its users.  walk.c walks
 * agents and frameworks; walker.c holds the walker's paths and errors,
 * directory listings and the small files; walk_nodes.c reads an
 * executor's runs and tasks; walk_ahead.c reads executors ahead on worker
 * threads.
 */
#ifndef CKPT_WALKER_H
#define CKPT_WALKER_H

#include <limits.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "state.h"
#include "walk.h"

struct walker {
	const struct state_options *o;
	const struct walk_filter *f;
	const struct walk_visitor *v;
	struct ckpt_error *e;
	char dir[PATH_MAX];	/* the directory being read, for errors */
	size_t len;
	char file[PATH_MAX];	/* dir/name, for errors */
};

struct names {
	char **v;
	size_t n;
};

struct slot {
	struct state_executor x;
	struct state_errors errors;	/* for the framework's list */
	struct ckpt_error e;		/* when rc < 0 */
	int rc;		/* read_executor's, or sub_open's */
	bool none;	/* not there, or not kept by the filter */
	bool done;
};

struct ahead;

#define CALL(w, fn, ...) ((w)->v->fn ? (w)->v->fn((w)->v->ctx, __VA_ARGS__) : 0)

/* walker.c */
/* A recovery error (w->e): fatal when strict, else noted on l. */
int wk_problem(struct walker *w, struct state_errors *l);
/* Enter subdirectory name (for error paths): the old length. */
size_t wk_push(struct walker *w, const char *name);
void wk_pop(struct walker *w, size_t old);
/* dir/name, for errors. */
const char *wk_file(struct walker *w, const char *name);
void wk_names_free(struct names *l);
/* An entry passed over: the visitor hears of it. */
void wk_skipped(struct walker *w, const char *name, const char *why);
/* The subdirectories of fd that are ids, sorted. */
int wk_names_list(struct walker *w, int fd, struct names *l);
/* Subdirectory name of fd: its fd, -ENOENT when absent (fine), or an
 * error noted on l (fatal when strict). */
int wk_sub_open(struct walker *w, int fd, const char *name,
    struct state_errors *l);
/* A text file into a new string (NULL when absent); errors on l. */
int wk_text_dup_at(struct walker *w, int fd, const char *name, char **out,
    struct state_errors *l);
/* An .info file: absent and empty are fine (NULL). */
int wk_info_read(struct walker *w, int fd, const char *name,
    const ProtobufCMessageDescriptor *d, void *out, struct state_errors *l);
/* Target of a `latest` link when it is a valid id, else NULL. */
int wk_latest_read(struct walker *w, int fd, char **out,
    struct state_errors *l);

/* walk_nodes.c: executor name below xs (its fd) into x: 1 kept, 0 not
 * kept by the filter, or a negative code. */
int wk_read_executor(struct walker *w, int fd, struct state_executor *x);

/* walk_ahead.c */
struct ahead *wk_ahead_start(const struct walker *w, int xs, struct names *l);
struct slot *wk_ahead_get(struct ahead *ah, struct walker *w, int xs,
    struct names *l, size_t i, struct slot *here);
void wk_ahead_put(struct ahead *ah, struct slot *sl);
void wk_ahead_stop(struct ahead *ah);
int wk_errors_move(struct state_errors *l, struct state_errors *from);

#endif
