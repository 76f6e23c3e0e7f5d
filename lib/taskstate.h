/*
 * taskstate.h: task states (Mesos's TaskState) by name, which are
 * terminal, how an executor's exit maps to one, and the one definition of
 * a task's effective state as the checkpoint knows it.  Every reader and
 * the agent use these; a state the checkpoint cannot tell is TASK_UNKNOWN
 * (Mesos's own value 13) everywhere.
 */
#ifndef CKPT_TASKSTATE_H
#define CKPT_TASKSTATE_H

#include <stdbool.h>

bool task_state_terminal(int state);
/* "TASK_RUNNING"; TASK_UNKNOWN for -1 or a value we do not know. */
const char *task_state_name(int state);
/* "running", "TASK_RUNNING", "task_running": the value, or -1. */
int task_state_parse(const char *text);

struct state_task;
/* The state of t: the one its executor.exit gives when the task ended
 * while no agent ran (its final update still to come), else its latest
 * checkpointed update's, else task.info's, else -1 (TASK_UNKNOWN). */
int task_effective_state(const struct state_task *t);

/* executor.exit, written by the executor: "exited N", "signaled N",
 * "lost REASON". */
enum exit_kind { EXIT_NONE, EXIT_CODE, EXIT_SIGNAL, EXIT_LOST,
    EXIT_MEMORY, EXIT_DISK };	/* ... killed over its memory, disk limit */
/* Mesos's TaskStatus reasons for a task over a limit. */
#define REASON_CONTAINER_LIMITATION_MEMORY	8
#define REASON_CONTAINER_LIMITATION_DISK	20
#define REASON_CONTAINER_LAUNCH_FAILED		21
#define REASON_TASK_HEALTH_CHECK_STATUS_UPDATED	29
/* "REASON_CONTAINER_LIMITATION_MEMORY", ..., or NULL (another). */
const char *task_reason_name(int reason);
int exit_parse(const char *text, enum exit_kind *kind, int *value);
int exit_state(enum exit_kind kind, int value);	/* the TaskState it means */

#endif
