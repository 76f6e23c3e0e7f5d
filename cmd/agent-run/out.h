/*
 * out.h: who drives the agent, and the queues of what they read (the
 * agent's lowest floor: it calls nothing of the agent's).
 *
 * A driver sends commands (one per line) and reads events (JSON lines):
 * the agent's stdin and stdout, and every connection on the control
 * socket.  Each driver has its own output queue, written only as fast as
 * it reads.  emit() queues for every driver; answer() for the one whose
 * command is being done (drivers.c sets `cur`).  What is queued leaves
 * only once out_commit() has marked it, after the turn's checkpoints are
 * durable.  A queue is bounded: the agent's own stdout without --listen
 * is waited for (past OUT_BOUND unread the loop stops reading executors);
 * any other driver past its bound is disconnected, with the reason
 * logged, and gets every pending update again when it attaches.
 */
#ifndef AGENT_OUT_H
#define AGENT_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "log.h"

#define OUT_BOUND	(256 * 1024)

struct driver {
	TAILQ_ENTRY(driver) link;
	unsigned long serial;		/* for the log: driver N */
	int in, out;			/* 0 and 1, or the one socket */
	bool stdio, waited;		/* waited: never disconnected */
	bool poll_in;			/* in can be polled (not a file) */
	bool nonblocking;		/* out can be polled */
	bool eof, gone, discarding;
	pid_t pid;
	uid_t uid;
	char *ibuf;
	size_t ilen, icap;
	unsigned long line;		/* lines taken so far */
	char *obuf;			/* the queue starts at ohead */
	size_t ohead, olen, oready, ocap; /* queued; of them, committed */
	bool ep_in, ep_out;
	/* Catching up: the updates pending when it attached (seq below
	 * catch_end), fed as it reads; newer ones reach it as events. */
	unsigned long long catch_next, catch_end;
};

struct drivers {
	TAILQ_HEAD(, driver) list;
	unsigned long serials;
	size_t bound;			/* a socket driver's queue */
	size_t total;			/* queued to drivers not waited for */
	const struct log *log;		/* the agent's diagnostics */
	int listen_fd;			/* the control socket, or -1 */
	char listen_path[108];
	bool listen_bound;		/* ours to unlink at the end */
	/* The command being done: where its answer goes. */
	struct {
		struct driver *d;
		unsigned long line;
		const char *id;
		bool answered;
	} cur;
};

void out_init(struct drivers *ds, size_t bound, const struct log *log);
/* All of them together: two drivers' worth (8 MiB at least). */
size_t out_total_bound(const struct drivers *ds);
struct driver *driver_new(struct drivers *ds, int in, int out);
/* Done with d: nothing more is read from it or written to it. */
void driver_drop(struct drivers *ds, struct driver *d, const char *why);
void driver_forget(struct drivers *ds, struct driver *d);
void log_driver(const struct drivers *ds, const struct driver *d, int prio,
    const char *what);
/* Has d whole lines not yet done? */
bool driver_lines_waiting(const struct driver *d);
/* Write what d takes now of its committed bytes (all of them with wait,
 * or when its output cannot be polled). */
void driver_flush(struct drivers *ds, struct driver *d, bool wait);

void out_flush(struct drivers *ds, bool wait);
/* Bytes queued to a driver the agent waits for. */
size_t out_queued(const struct drivers *ds);
void out_commit(struct drivers *ds);
void out_drop_uncommitted(struct drivers *ds);
/* Is any driver there to read events? */
bool drivers_attached(const struct drivers *ds);
/* Drivers attached, and the bytes queued to them all (*queued). */
size_t drivers_count(const struct drivers *ds, size_t *queued);

void emit(struct drivers *ds, json_t *o);
/* A line already written (its newline included), for every driver. */
void emit_text(struct drivers *ds, const char *text, size_t n);
void emit_to(struct drivers *ds, struct driver *d, json_t *o);
void emit_text_to(struct drivers *ds, struct driver *d, const char *text,
    size_t n);
/* The answer to the command being done (every event when there is none):
 * it names the command. */
void answer(struct drivers *ds, json_t *o);
bool answered(const struct drivers *ds);

#endif
