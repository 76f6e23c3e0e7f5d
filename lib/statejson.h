/*
 * statejson.h: nodes of the state tree as JSON, the one rendering shared
 * by ckpt-inspect, recover and agent-run.  They are written with the
 * streaming writer (jsonw.h); *_members write into the object the
 * caller has open, so that a caller can add its own keys.
 */
#ifndef CKPT_STATEJSON_H
#define CKPT_STATEJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "jsonw.h"
#include "proc.h"
#include "state.h"

/* An array of errors ({path, reason, offset when known}). */
void statejson_errors(struct jsonw *w, const char *key,
    const struct state_errors *l);
/* The same errors as elements of the array open in w. */
void statejson_error_items(struct jsonw *w, const struct state_errors *l);
/* A task's summary: id, state, counts, pending updates, torn tail, the
 * task's info when verbose, errors. */
void statejson_task_members(struct jsonw *w, const struct state_task *t,
    bool verbose);
/* A run without its tasks: id, latest, completed, pid, alive, process,
 * start time, socket, exit when known, errors. */
void statejson_run_members(struct jsonw *w, const struct state_run *r);
/* How the run's executor ended ({how, value}), null when not known. */
void statejson_exit(struct jsonw *w, const char *key,
    const struct state_run *r);
/* Identity of a run's executor process now. */
enum proc_identity statejson_identity(const struct state_run *r);
/* A status update as an event-shaped jansson object (uuid, state,
 * message, timestamp), for callers that add keys and read them back. */
json_t *statejson_update(const Mesos__StatusUpdate *u);

#endif
