/*
 * statejson.h: nodes of the state tree as JSON objects (jansson), the one
 * rendering shared by ckpt-inspect, recover and agent-run.
 */
#ifndef CKPT_STATEJSON_H
#define CKPT_STATEJSON_H

#include <jansson.h>

#include "proc.h"
#include "state.h"

json_t *statejson_errors(const struct state_errors *l);
/* A task's summary: id, state, counts, pending uuids, torn tail, errors. */
json_t *statejson_task(const struct state_task *t, int verbose);
/* A run without its tasks: id, latest, completed, pid, alive, exit. */
json_t *statejson_run(const struct state_run *r);
/* Identity of a run's executor process now. */
enum proc_identity statejson_identity(const struct state_run *r);
/* A pending update of the state tree: uuid, state, timestamp, offset. */
json_t *statejson_pending(const struct state_pending *p);
/* A pending update as an event-shaped object (uuid, state, ...). */
json_t *statejson_update(const Mesos__StatusUpdate *u);

#endif
