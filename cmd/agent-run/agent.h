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
 * The files, in floors: a file calls only files of its floor or below
 * (agent-tools(7), "Inside the agent"):
 *
 *   main.c  attach.c                  options; --attach, the client
 *   loop.c                            the loop, signals, shutdown
 *   drivers.c                         connections, lines -> command()
 *   commands.c  launch.c  recover.c   what drivers ask; the start
 *   resources.c  metrics.c            what tasks may take, use; metrics
 *   commit.c                          group commit, then the effects
 *   runs.c                            a run's states: the table
 *   ends.c                            how a run ends (executor gone)
 *   pending.c  reserve.c              updates pending, their stream
 *   index.c                           runs by task, executor, timer, pid
 *   events.c                          the events, built once each
 *   out.c (out.h), log.c              the drivers' output queues; the log
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

#include "cgroup.h"
#include "channel.h"
#include "cli.h"
#include "contain.h"
#include "command.h"
#include "durable.h"
#include "error.h"
#include "mesos.pb-c.h"
#include "out.h"
#include "paths.h"
#include "session.h"
#include "state.h"

struct agent_options {
	const char *work;
	const char *agent_id;		/* for a new agent; NULL: generated */
	const char *hostname;		/* NULL: gethostname */
	bool cleanup;			/* --recover=cleanup */
	bool strict;
	long long recovery_timeout_ms;	/* given to each executor */
	long long reregister_timeout_ms;
	long long registration_timeout_ms;	/* a launched executor's first */
	struct cli_bounds bounds;	/* given to each executor; the
					 * disk reserve launches leave */
	long long grace_ms;
	const char *executor_path;	/* NULL: agent-executor beside us */
	char **launcher;		/* argv prefix for executors, or NULL */
	const char *log_path;		/* diagnostics; reopened on SIGHUP */
	const char *cgroup_root;	/* each run's cgroup below it, or NULL */
	const char *listen;		/* the control socket, or NULL */
	long long retry_ms;		/* first retry of a pending update */
	size_t driver_bound;		/* a driver's queue; 0: the default */
	int log_level;			/* --log-level; -1: the default */
	double res_cpus, res_mem, res_disk;	/* --resources (MB); -1: detect */
	bool oversubscribe;		/* launches beyond the total */
	bool best_effort_limits;	/* limits without cgroups: unenforced */
	long long disk_watch_ms;	/* given to each executor */
};

/* Run the agent: 0 once stopped, or a negative code: e says why, or is
 * empty when the agent said it already (a fatal error, as an event). */
int agent_main(const struct agent_options *o, struct ckpt_error *e);
/* agent-run --attach: drive the agent listening on path from stdin and
 * stdout (attach.c), an answer owed waited for timeout_ms at most (0:
 * forever), an agent that went away for retry_ms (0: not); returns the
 * exit status. */
int attach_main(const char *path, long long timeout_ms, long long retry_ms);
/* agent-run --attach SOCKET --metrics[=FORMAT] [--metrics-file FILE]:
 * the agent's metrics, as Prometheus text ("prometheus") or JSON
 * ("json"), on stdout or written whole into file (scrape.c); returns the
 * exit status. */
int metrics_main(const char *path, const char *format, const char *file,
    long long timeout_ms);

/* ---- inside the program ---- */

/* A run's state (runs.c holds the table of state by event). */
enum run_state {
	RUN_NEW,		/* made, nothing started */
	RUN_LAUNCHING,		/* forked, held before exec until the commit */
	RUN_CONNECTING,		/* connect() to its socket, with retries */
	RUN_REGISTERING,	/* REGISTER sent, HELLO awaited */
	RUN_CONNECTED,		/* updates flow */
	RUN_GONE,		/* the process is gone; updates may wait */
	RUN_FINISHING,		/* its sentinel is in the batch */
	RUN_DONE,		/* `terminated`; freed */
	RUN_INCOMPATIBLE,	/* no protocol shared: left alone */
	RUN_STATES
};

/* What happens to a run. */
enum run_event {
	EV_LAUNCH,		/* the executor is forked, held */
	EV_RECOVER,		/* recovered with a live executor */
	EV_RELEASE,		/* the commit let the held executor exec */
	EV_TIMER,		/* its timer is due */
	EV_CONNECT,		/* connect() worked (arg: the fd) */
	EV_LATE,		/* no answer by the deadline, not starved */
	EV_HELLO,		/* HELLO (arg: the updates it resends) */
	EV_INCOMPATIBLE,	/* refused, or no version shared (arg: why) */
	EV_UPDATE,		/* an update (arg: the StatusUpdate) */
	EV_EOF,			/* end of file or error on its socket */
	EV_REAPED,		/* our child, waited for */
	EV_REBOOT,		/* recovered from a previous boot */
	EV_SETTLED,		/* gone, terminal, every update acknowledged */
	EV_TERMINATED,		/* the sentinel is durable */
	EV_FREE,		/* the agent lets go of it */
	RUN_EVENTS
};

/* An update forwarded and not yet acknowledged: what its event needs to
 * be sent again (to a driver that attaches, and with backoff while
 * drivers are attached). */
struct pend {
	RB_ENTRY(pend) by_uuid, by_retry, by_seq;
	unsigned long long seq;		/* order of arrival */
	TAILQ_ENTRY(pend) in_x;
	struct aexec *x;
	uint8_t uuid[16];
	int state;
	bool from_agent;		/* source: agent (else executor) */
	int reason;			/* its status's reason, or -1 */
	int healthy;			/* its status's `healthy`, or -1 */
	double timestamp;
	char *message;			/* or NULL */
	long long retry_at, retry_ms;
};

/* One executor run (with its one task) that this agent looks after. */
struct aexec {
	RB_ENTRY(aexec) by_task, by_executor, by_timer, by_pid;
	TAILQ_ENTRY(aexec) in_lru;	/* streams kept open */
	struct aexec *next_check;	/* after the commit (commit.c) */
	char *framework, *executor, *run, *task;
	bool checkpoint, recovered, launched;
	pid_t pid;
	unsigned long long start;
	time_t bound;
	char *socket;
	char *quarantined;		/* set aside: why (quarantine.h) */
	bool has_secret, warned_pid;
	uint8_t secret[16];		/* proves this agent to the executor */
	struct channel ch;
	enum run_state st;		/* changed by run_event() alone */
	long long timer;		/* when EV_TIMER comes; 0: never */
	long long deadline;		/* connecting: unresponsive after */
	unsigned long long cpu_mark;	/* its CPU time (ns) when asked */
	unsigned long long wait_mark;	/* ... and its time waiting for one */
	int extensions;			/* deadlines moved: it was starved */
	long long retry_ms;
	int state;			/* latest task state, -1: none */
	bool terminal;
	int resends;			/* updates HELLO said it sends again */
	struct session_peer peer;	/* its executor, as HELLO said */
	struct cg_limits res;		/* what its task was given */
	int healthy;			/* its last health, -1: none known */
	bool upgrading;			/* UPGRADE sent, HELLO awaited */
	char upgrade_from[32];		/* ... its release before */
	char *incompatible;		/* why it is left alone, or NULL */
	TAILQ_HEAD(, pend) pending;
	size_t n_pending;
	int stream_fd;			/* task.updates, open for appending */
	unsigned long stream_turn;	/* last written in this turn */
	char *stream_path;
	int hold_fd;			/* launched, held before exec */
	bool check;
	uint32_t ep_events;		/* registered with epoll */
};

/* A framework whose framework.info this agent has written (in a batch
 * that is durable, or fails the agent): launches of its tasks with the
 * same user do not write it again (Mesos checkpoints a framework when it
 * is added, not per task). */
struct afw {
	RB_ENTRY(afw) by_id;
	char *id, *user;
};

RB_HEAD(pend_tree, pend);
RB_HEAD(retry_tree, pend);
RB_HEAD(seq_tree, pend);
RB_HEAD(task_tree, aexec);
RB_HEAD(executor_tree, aexec);
RB_HEAD(timer_tree, aexec);
RB_HEAD(pid_tree, aexec);
RB_HEAD(fw_tree, afw);
RB_PROTOTYPE(pend_tree, pend, by_uuid, pend_cmp)
RB_PROTOTYPE(retry_tree, pend, by_retry, retry_cmp)
RB_PROTOTYPE(seq_tree, pend, by_seq, seq_cmp)
RB_PROTOTYPE(task_tree, aexec, by_task, task_cmp)
RB_PROTOTYPE(executor_tree, aexec, by_executor, executor_cmp)
RB_PROTOTYPE(timer_tree, aexec, by_timer, timer_cmp)
RB_PROTOTYPE(pid_tree, aexec, by_pid, pid_cmp)
RB_PROTOTYPE(fw_tree, afw, by_id, fw_cmp)

/* An acknowledgement whose ACK record is in this turn's batch: sent to
 * the executor after the commit. */
struct deferred_ack {
	struct aexec *x;
	uint8_t uuid[16];
	bool terminal;
};

struct agent {
	const struct agent_options *o;
	char id[ID_MAX + 1];
	struct log log;			/* diagnostics (log.h) */
	struct drivers dr;		/* who drives it (out.h) */
	struct task_tree tasks;		/* live runs by (task, framework) */
	struct executor_tree executors;	/* ... by (framework, executor) */
	struct timer_tree timers;
	struct pid_tree children;	/* executors we forked, not reaped */
	struct fw_tree frameworks;	/* framework.info written */
	struct pend_tree pending;	/* by uuid */
	struct retry_tree retries;	/* pending, by when sent again */
	struct seq_tree by_seq;		/* pending, in order of arrival */
	unsigned long long pend_seq;	/* the next pending update's seq */
	TAILQ_HEAD(, aexec) lru;	/* open streams, least recent first */
	size_t n_streams, nofile;	/* streams open; descriptors allowed */
	unsigned long turn;		/* commits so far */
	size_t n_live;			/* not gone */
	size_t n_waiting;		/* recovered, not yet connected */
	struct dbatch batch;		/* this turn's checkpoints */
	size_t n_launches;		/* in this turn's batch */
	bool defer;			/* the command waits for the next turn */
	bool warned_fds;		/* "out of descriptors" said once */
	int reserve_fd;			/* meta/reserve (reserve.c), or -1 */
	struct contain_marks marks;	/* read at marks_turn (stop_orphans) */
	unsigned long marks_turn;
	bool marks_read;
	struct aexec *check;		/* to look at after the commit */
	struct deferred_ack *acks;	/* to send after the commit */
	size_t n_acks, cap_acks;
	int ep, xep, signal_fd;
	bool xep_on;
	bool quit, failed, shutting_down, announced, is_new;
	int code;			/* why it stopped: 0, or -errno */
	long long start_ms, shutdown_deadline;
	int reconnected, lost, killed, incompatible;
	struct metrics {		/* counters since the start (metrics.c) */
		unsigned long long valid_updates, invalid_updates;
		unsigned long long executors_terminated;
		unsigned long long terminal[16];	/* by TaskState */
		unsigned long long updates_synced;	/* in committed batches */
		unsigned long long recovery_errors;
		long long recovery_ms;			/* -1: not yet */
	} m;
	double total[3], allocated[3];	/* cpus, mem MB, disk MB */
	bool cg_ok;			/* limit cgroups can be made */
	char cg_why[600];		/* ... else why not */
	struct cg_where cg;		/* ... where (resources.c) */
	char caps_noted[256];		/* " cap " each recorded (launch.c) */
	json_t *summary;		/* (re)registered, for late drivers */
	char boot_id[64];		/* of this boot, as recovered */
	double up_since;		/* seconds since the epoch */
};

/* Epoll tags of the main set (a driver's connection is tagged with its
 * struct driver pointer). */
enum { TAG_SIGNAL = 1, TAG_STDIN, TAG_STDOUT, TAG_EXECUTORS, TAG_LISTEN };

/* Launches in one batch at most: each holds a child waiting to exec. */
#define LAUNCH_BATCH	128

/* events.c: each event built in one place. */
json_t *x_json(const char *event, const struct aexec *x);
/* fmt (with arg), then what e says: logged, and the answer to the
 * command being done (an event for every driver when there is none). */
void emit_error(struct agent *a, const char *fmt, const char *arg,
    const struct ckpt_error *e);
/* A checkpoint could not be written: one error, then the agent stops. */
void fatal(struct agent *a, const char *fmt, const char *arg,
    const struct ckpt_error *e);
void update_emit(struct agent *a, const struct aexec *x, int state,
    const uint8_t uuid[16], double timestamp, const char *message,
    const char *source, int reason, int healthy, bool redelivered,
    struct driver *d);
/* The event of a pending update, as it was first sent, for every driver
 * (d NULL) or for d. */
void pend_emit(struct agent *a, const struct pend *p, bool redelivered,
    struct driver *d);
void reconnected_emit(struct agent *a, const struct aexec *x);

/* index.c: runs by task, executor, timer and pid. */
struct aexec *x_new(struct agent *a, const char *f, const char *e,
    const char *r, const char *t);
void x_unindex(struct agent *a, struct aexec *x);
struct ckpt_ids x_ids(const struct aexec *x, const char *agent);
void x_timer(struct agent *a, struct aexec *x, long long when);
/* Look at x again after this turn's commit (commit.c). */
void x_check(struct agent *a, struct aexec *x);
struct aexec *find_task(struct agent *a, const char *framework,
    const char *task);
struct aexec *find_executor(struct agent *a, const char *framework,
    const char *executor);
bool run_live(enum run_state st);
/* Neither finishing nor done: a run commands can name. */
bool run_current(const struct aexec *x);

/* pending.c: updates pending acknowledgement, and the run's stream. */
struct pend *x_add_pending(struct agent *a, struct aexec *x,
    const uint8_t uuid[16], int state, double timestamp, const char *message,
    bool from_agent);
struct pend *find_pending(struct agent *a, const uint8_t uuid[16]);
void ack_pending(struct agent *a, struct pend *p);
void pend_remove(struct agent *a, struct pend *p);
void retry_due(struct agent *a, long long now);
/* A new update for x: into the batch, forwarded after the commit. */
int x_update(struct agent *a, struct aexec *x, const Mesos__StatusUpdate *u,
    const char *source);
/* An update the agent makes itself (TASK_LOST, or what executor.exit
 * says). */
void x_generate(struct agent *a, struct aexec *x, int state,
    const char *message);
/* ... with Mesos's TaskStatus reason (-1: none). */
void x_generate_reason(struct agent *a, struct aexec *x, int state,
    const char *message, int reason);
int x_checkpoint_ack(struct agent *a, struct aexec *x, const uint8_t uuid[16],
    const char *text);
void x_close_stream(struct agent *a, struct aexec *x);
void agent_defer_ack(struct agent *a, struct aexec *x, const uint8_t u[16],
    bool terminal);
bool agent_acked_now(const struct agent *a, const struct aexec *x,
    const uint8_t u[16]);

/* resources.c: what tasks may take, and what they use. */
/* The agent's total (--resources, or the host's) and where limit
 * cgroups go; logged. */
void resources_init(struct agent *a);
/* Does want fit what is left (or --oversubscribe)?  Else why says which
 * resource, free against asked. */
bool resources_fit(struct agent *a, const struct cg_limits *want,
    char *why, size_t len);
/* x's resources (x->res) counted in, or out. */
void resources_take(struct agent *a, struct aexec *x);
void resources_give(struct agent *a, struct aexec *x);
/* {"cpus":..,"mem":..,"disk":..} of the total, or of what is allocated. */
json_t *resources_json(const struct agent *a, bool allocated);
/* Limit cgroups no run of this agent owns (an agent killed mid-launch):
 * their processes killed, the directories removed. */
void resources_orphans(struct agent *a);
/* usage [TASK ...]: a `usage` event per task, then `usage_done`. */
void cmd_usage(struct agent *a, struct command *c);

/* metrics.c: `metrics`, one event of counters and gauges. */
void cmd_metrics(struct agent *a, struct command *c);

/* reserve.c: --disk-reserve held in meta/reserve for checkpoints. */
void reserve_open(struct agent *a);
/* Make it whole again: true, or false (no room: launches wait). */
bool reserve_refill(struct agent *a);
/* Give a quarter of it back (the file system is full): true if any. */
bool reserve_give(struct agent *a);

/* ends.c: the executor is gone: its task's tree stopped (unless the
 * host rebooted), its end reported from executor.exit, or lost. */
void run_end(struct agent *a, struct aexec *x, bool reboot,
    const int *status);

/* runs.c: the one door of every change of a run's state. */
void run_event(struct agent *a, struct aexec *x, enum run_event ev,
    const void *arg);
const char *run_state_name(enum run_state st);
void x_send(struct agent *a, struct aexec *x,
    Agentproto__ExecutorMessage *m);
void x_send_ack(struct agent *a, struct aexec *x, const uint8_t uuid[16]);
void x_flush(struct agent *a, struct aexec *x);
/* Read what the executor has sent (without blocking) and act on it. */
void x_read(struct agent *a, struct aexec *x);
void x_free(struct agent *a, struct aexec *x);
/* Its time to answer starts now. */
void x_deadline(struct agent *a, struct aexec *x, long long now);

/* commit.c */
void agent_commit(struct agent *a);

/* launch.c, commands.c, recover.c */
void cmd_launch(struct agent *a, struct command *c);
/* The agent-executor this agent starts (and upgrades executors into):
 * --executor, or the one beside agent-run; malloc'ed. */
char *executor_binary(const struct agent_options *o);
void frameworks_free(struct agent *a);
void command(struct agent *a, const char *line);
int recover(struct agent *a, struct ckpt_error *e);

/* drivers.c: the connections; their queues are out.h's. */
int drivers_init(struct agent *a, struct ckpt_error *e);
bool drivers_lines_waiting(const struct drivers *ds);
void drivers_run_lines(struct agent *a);
void drivers_event(struct agent *a, uint64_t tag, uint32_t events);
void drivers_poll(struct agent *a);
void drivers_feed(struct agent *a);
void drivers_free(struct agent *a);

#endif
