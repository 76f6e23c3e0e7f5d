/*
 * agent.h: the agent, the body of the agent-run program (it prints
 * events and exits; it is not library code).  On start it takes the
 * work dir's lock, recovers (recovery.h) and reconnects to live
 * executors, each with a bounded wait, or kills them (cleanup); then it
 * serves: commands on stdin (command.h), events on stdout as JSON lines.
 *
 * One epoll loop, no threads.  Each turn of the loop takes everything
 * that is ready (commands, executors' messages, timers), writes every
 * checkpoint it needs into one batch (durable.h), commits the batch
 * (group commit: a few sync barriers for all of it), and only then lets
 * its effects out: events, acknowledgements to executors, launched
 * executors allowed to exec.  No event leaves before its record is
 * durable; no ack reaches an executor before the ACK record is durable.
 *
 * Files: main.c (options), loop.c (the loop, signals, commit), events.c
 * (the output queue), executors.c (the life of an executor run: its
 * state machine, updates, acks), launch.c, commands.c, recover.c.
 */
#ifndef CKPT_AGENT_H
#define CKPT_AGENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/types.h>
#include <time.h>

#include "channel.h"
#include "command.h"
#include "durable.h"
#include "error.h"
#include "mesos.pb-c.h"
#include "paths.h"
#include "state.h"

struct agent_options {
	const char *work;
	const char *agent_id;		/* for a new agent; NULL: generated */
	const char *hostname;		/* NULL: gethostname */
	bool cleanup;			/* --recover=cleanup */
	bool strict;
	long long recovery_timeout_ms;	/* given to each executor */
	long long reregister_timeout_ms;
	long long grace_ms;
	const char *executor_path;	/* NULL: agent-executor beside us */
	char **launcher;		/* argv prefix for executors, or NULL */
	const char *log_path;		/* diagnostics; reopened on SIGHUP */
	const char *cgroup_root;	/* each run's cgroup below it, or NULL */
};

/* Run the agent; returns its exit status (sysexits.h). */
int agent_main(const struct agent_options *o);

/* ---- inside the program ---- */

/* An executor run's state; see the table in executors.c. */
enum xstate { X_CONNECTING, X_WAIT_HELLO, X_CONNECTED, X_GONE, X_DONE };

/* An update forwarded and not yet acknowledged. */
struct pend {
	RB_ENTRY(pend) by_uuid;
	TAILQ_ENTRY(pend) in_x;
	struct aexec *x;
	uint8_t uuid[16];
	int state;
};

/* One executor run (with its one task) that this agent looks after. */
struct aexec {
	RB_ENTRY(aexec) by_task, by_executor, by_timer, by_pid;
	TAILQ_ENTRY(aexec) in_lru;	/* streams kept open */
	struct aexec *next_check;	/* after the commit (loop.c) */
	char *framework, *executor, *run, *task;
	bool checkpoint, recovered, launched;
	pid_t pid;
	unsigned long long start;
	time_t bound;
	char *socket;
	bool has_secret, warned_pid;
	uint8_t secret[16];		/* proves this agent to the executor */
	struct channel ch;
	enum xstate st;
	long long timer;		/* when x_on_timer runs; 0: never */
	long long deadline;		/* connecting: unresponsive after */
	long long retry_ms;
	int state;			/* latest task state, -1: none */
	bool terminal;
	int resends;			/* updates HELLO said it sends again */
	TAILQ_HEAD(, pend) pending;
	size_t n_pending;
	int stream_fd;			/* task.updates, open for appending */
	unsigned long stream_turn;	/* last written in this turn */
	char *stream_path;
	int hold_fd;			/* launched, held before exec */
	bool check, finishing;
	uint32_t ep_events;		/* registered with epoll */
};

RB_HEAD(pend_tree, pend);
RB_HEAD(task_tree, aexec);
RB_HEAD(executor_tree, aexec);
RB_HEAD(timer_tree, aexec);
RB_HEAD(pid_tree, aexec);
RB_PROTOTYPE(pend_tree, pend, by_uuid, pend_cmp)
RB_PROTOTYPE(task_tree, aexec, by_task, task_cmp)
RB_PROTOTYPE(executor_tree, aexec, by_executor, executor_cmp)
RB_PROTOTYPE(timer_tree, aexec, by_timer, timer_cmp)
RB_PROTOTYPE(pid_tree, aexec, by_pid, pid_cmp)

struct agent {
	const struct agent_options *o;
	char id[ID_MAX + 1];
	struct task_tree tasks;		/* live runs by (task, framework) */
	struct executor_tree executors;	/* ... by (framework, executor) */
	struct timer_tree timers;
	struct pid_tree children;	/* executors we forked, not reaped */
	struct pend_tree pending;	/* by uuid */
	TAILQ_HEAD(, aexec) lru;	/* open streams, least recent first */
	size_t n_streams, nofile;	/* streams open; descriptors allowed */
	unsigned long turn;		/* commits so far */
	size_t n_live;			/* not gone */
	size_t n_waiting;		/* recovered, not yet connected */
	struct dbatch batch;		/* this turn's checkpoints */
	size_t n_launches;		/* in this turn's batch */
	struct aexec *check;		/* to look at after the commit */
	struct { struct aexec *x; uint8_t uuid[16]; bool terminal; } *acks;
	size_t n_acks, cap_acks;	/* to forward after the commit */
	int ep, xep, signal_fd;
	bool stdin_polled, xep_on;
	char *in;
	size_t in_len, in_cap;
	bool quit, failed, shutting_down, announced, is_new;
	int status;
	long long start_ms, shutdown_deadline;
	int reconnected, lost, killed;
};

/* events.c: the output queue.  emit() queues; what is queued leaves only
 * once out_commit() has marked it (after the batch is durable). */
#define OUT_BOUND	(256 * 1024)
void out_init(void);
int out_flush(bool wait);
size_t out_queued(void);
bool out_waiting(void);		/* committed bytes not yet written */
void out_commit(void);
void out_drop_uncommitted(void);
void out_free(void);
void emit(json_t *o);
json_t *x_json(const char *event, const struct aexec *x);
void emit_error(const char *fmt, const char *arg, const struct ckpt_error *e);
void fatal(struct agent *a, const char *fmt, const char *arg,
    const struct ckpt_error *e);
json_t *update_event(const struct aexec *x, int state, const uint8_t uuid[16],
    double timestamp, const char *message, const char *source);

/* executors.c */
struct aexec *x_new(struct agent *a, const char *f, const char *e,
    const char *r, const char *t);
struct ckpt_ids x_ids(const struct aexec *x, const char *agent);
void x_set_state(struct agent *a, struct aexec *x, enum xstate st);
void x_timer(struct agent *a, struct aexec *x, long long when);
void x_on_timer(struct agent *a, struct aexec *x, long long now);
void x_read(struct agent *a, struct aexec *x);
void x_gone(struct agent *a, struct aexec *x, bool reboot);
int x_checkpoint_ack(struct agent *a, struct aexec *x, const uint8_t uuid[16],
    const char *text);
void x_add_pending(struct agent *a, struct aexec *x, const uint8_t uuid[16],
    int state);
void x_check(struct agent *a, struct aexec *x);
void x_send(struct agent *a, struct aexec *x,
    Agentproto__ExecutorMessage *m);
void x_send_ack(struct agent *a, struct aexec *x, const uint8_t uuid[16]);
void x_flush(struct agent *a, struct aexec *x);
void x_finish(struct agent *a, struct aexec *x);
void x_free(struct agent *a, struct aexec *x);
void x_watch(struct agent *a, struct aexec *x);
struct aexec *find_task(struct agent *a, const char *framework,
    const char *task);
struct aexec *find_executor(struct agent *a, const char *framework,
    const char *executor);
struct pend *find_pending(struct agent *a, const uint8_t uuid[16]);
void ack_pending(struct agent *a, struct pend *p);

/* launch.c, commands.c, recover.c */
void cmd_launch(struct agent *a, struct command *c);
void command(struct agent *a, const char *line);
int recover(struct agent *a);

/* loop.c */
void agent_commit(struct agent *a);
void agent_defer_ack(struct agent *a, struct aexec *x, const uint8_t u[16],
    bool terminal);
bool agent_acked_now(const struct agent *a, const struct aexec *x,
    const uint8_t u[16]);

#endif
