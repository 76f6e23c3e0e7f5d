/*
 * out.c: the drivers' output queues (out.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonw.h"
#include "out.h"

void
out_init(struct drivers *ds, size_t bound, const struct log *log)
{
	ds->log = log;
	TAILQ_INIT(&ds->list);
	ds->bound = bound ? bound : 4 << 20;
	ds->listen_fd = -1;
}

size_t
out_total_bound(const struct drivers *ds)
{
	return ds->bound * 2 > (8u << 20) ? ds->bound * 2 : (8u << 20);
}

bool
driver_lines_waiting(const struct driver *d)
{
	return !d->gone && d->ilen > 0 && memchr(d->ibuf, '\n', d->ilen);
}

void
log_driver(const struct drivers *ds, const struct driver *d, int prio,
    const char *what)
{
	if (d->stdio)
		log_line(ds->log, prio, "stdin/stdout: %s", what);
	else
		log_line(ds->log, prio, "driver %lu (pid %ld, uid %ld): %s",
		    d->serial, (long)d->pid, (long)d->uid, what);
}

struct driver *
driver_new(struct drivers *ds, int in, int out)
{
	struct driver *d = calloc(1, sizeof(*d));

	if (d == NULL)
		abort();
	d->serial = ++ds->serials;
	d->in = in;
	d->out = out;
	d->pid = -1;
	d->uid = (uid_t)-1;
	TAILQ_INSERT_TAIL(&ds->list, d, link);
	return d;
}

/* d is closed: forgotten, its memory freed. */
void
driver_forget(struct drivers *ds, struct driver *d)
{
	TAILQ_REMOVE(&ds->list, d, link);
	if (!d->waited)
		ds->total -= d->olen;
	if (ds->cur.d == d)
		ds->cur.d = NULL;
	free(d->ibuf);
	free(d->obuf);
	free(d);
}

void
driver_drop(struct drivers *ds, struct driver *d, const char *why)
{
	if (d->gone)
		return;
	if (why != NULL)
		log_driver(ds, d, LOG_WARNING, why);
	d->gone = d->eof = true;
	if (!d->waited)
		ds->total -= d->olen;
	d->ohead = d->olen = d->oready = d->ilen = 0;
	free(d->obuf);		/* its memory goes now, not when closed */
	d->obuf = NULL;
	d->ocap = 0;
}

/* ---- the output queues ---- */


/* Does d, not reading, hold more than its bound of events committed
 * and unread (or more than 64 KiB while all drivers together hold more
 * than out_total_bound(ds))?  Then it is disconnected: true. */
static bool
behind(struct drivers *ds, struct driver *d)
{
	char why[200];

	if (d->waited || d->gone || (d->oready <= ds->bound &&
	    (ds->total <= out_total_bound(ds) || d->oready <= 65536)))
		return false;
	snprintf(why, sizeof(why), "%zu bytes of events unread (bound %zu); "
	    "disconnected: it gets every pending update again when it "
	    "attaches (all drivers: %zu bytes, bound %zu)", d->oready, ds->bound,
	    ds->total, (size_t)out_total_bound(ds));
	driver_drop(ds, d, why);
	return true;
}

/* owed: an answer, or a pending update it attached to (not an event
 * every driver gets). */
static void
queue(struct drivers *ds, struct driver *d, const char *text, size_t n,
    bool owed)
{
	if (d->gone)
		return;
	/* A connection whose input has ended and whose lines are all done
	 * gets nothing new but what it is owed: it drains, then is closed
	 * (drivers_poll). */
	if (!owed && !d->stdio && d->eof && !driver_lines_waiting(d))
		return;
	/* Committed and not read past the bound (or past a share of it
	 * while all queues together are past theirs): let go before more
	 * is queued. */
	if (behind(ds, d))
		return;
	/* Moved down when what is written already is at least what is
	 * left (each byte moves less than once on average), else grown. */
	if (d->ohead + d->olen + n > d->ocap && d->ohead > 0 &&
	    d->ohead >= d->olen) {
		memmove(d->obuf, d->obuf + d->ohead, d->olen);
		d->ohead = 0;
	}
	/* Grown by a quarter (64 KiB at least), not doubled: twenty queues
	 * near their bound would otherwise hold twice the total bound. */
	if (d->ohead + d->olen + n > d->ocap) {
		size_t need = d->ohead + d->olen + n;
		size_t cap = need + (need / 4 > 65536 ? need / 4 : 65536);
		if ((d->obuf = realloc(d->obuf, cap)) == NULL)
			abort();
		d->ocap = cap;
	}
	memcpy(d->obuf + d->ohead + d->olen, text, n);
	d->olen += n;
	if (!d->waited)
		ds->total += n;
}

/* o as one JSON line (o is taken): its text, to free. */
static char *
line_of(json_t *o, size_t *n)
{
	struct jsonw w;
	char *text;

	/* The typing key of every tool's JSON lines, beside `event`. */
	if (json_object_get(o, "type") == NULL && json_object_get(o, "event"))
		json_object_set(o, "type", json_object_get(o, "event"));
	jw_init(&w, NULL);
	jw_json(&w, NULL, o);
	jw_raw(&w, "\n", 1);
	json_decref(o);
	if ((text = jw_take(&w, n)) == NULL)
		abort();
	return text;
}

void
emit_text(struct drivers *ds, const char *text, size_t n)
{
	struct driver *d;

	TAILQ_FOREACH(d, &ds->list, link)
		queue(ds, d, text, n, false);
}

void
emit(struct drivers *ds, json_t *o)
{
	size_t n;
	char *text = line_of(o, &n);

	emit_text(ds, text, n);
	free(text);
}

void
emit_text_to(struct drivers *ds, struct driver *d, const char *text,
    size_t n)
{
	if (d != NULL)
		queue(ds, d, text, n, true);
}

void
emit_to(struct drivers *ds, struct driver *d, json_t *o)
{
	size_t n;
	char *text = line_of(o, &n);

	if (d != NULL)
		queue(ds, d, text, n, true);
	free(text);
}

/* The answer to the command being done (every event when there is
 * none): it names the command. */
void
answer(struct drivers *ds, json_t *o)
{
	if (ds->cur.d == NULL) {
		emit(ds, o);
		return;
	}
	json_object_set_new(o, "line", json_integer((json_int_t)ds->cur.line));
	json_object_set_new(o, "id", ds->cur.id ? json_string(ds->cur.id) : json_null());
	ds->cur.answered = true;
	emit_to(ds, ds->cur.d, o);
}

bool
answered(const struct drivers *ds)
{
	return ds->cur.d == NULL || ds->cur.answered;
}

void
driver_flush(struct drivers *ds, struct driver *d, bool wait)
{
	size_t done = 0;

	while (!d->gone && done < d->oready) {
		ssize_t n = write(d->out, d->obuf + d->ohead + done,
		    d->oready - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait && d->nonblocking)
				break;
			struct pollfd p = { d->out, POLLOUT, 0 };
			poll(&p, 1, wait ? 5000 : -1);
			if (wait && !(p.revents & POLLOUT))
				break;
			continue;
		}
		/* EPIPE: nobody reads.  stdout is dropped, not the agent. */
		driver_drop(ds, d, d->stdio ? NULL : "gone (write failed)");
		return;
	}
	/* What was written is dropped from the head; the rest moves down
	 * only when more is queued than fits behind it (queue()), so a big
	 * queue read 64 KiB at a time is not moved once per write. */
	d->ohead += done;
	d->olen -= done;
	if (!d->waited)
		ds->total -= done;
	d->oready -= done;
	if (d->olen == 0)
		d->ohead = 0;
	/* Committed and still not read: past the bound it is let go. */
	behind(ds, d);
}

void
out_flush(struct drivers *ds, bool wait)
{
	struct driver *d;

	TAILQ_FOREACH(d, &ds->list, link)
		driver_flush(ds, d, wait);
}

/* Bytes queued to a driver the agent waits for. */
size_t
out_queued(const struct drivers *ds)
{
	struct driver *d;
	size_t n = 0;

	TAILQ_FOREACH(d, &ds->list, link)
		if (d->waited && d->olen > n)
			n = d->olen;
	return n;
}

void
out_commit(struct drivers *ds)
{
	struct driver *d;

	TAILQ_FOREACH(d, &ds->list, link)
		d->oready = d->olen;
}

void
out_drop_uncommitted(struct drivers *ds)
{
	struct driver *d;

	TAILQ_FOREACH(d, &ds->list, link) {
		if (!d->waited)
			ds->total -= d->olen - d->oready;
		d->olen = d->oready;
	}
}

/* Is any driver there to read events? */
size_t
drivers_count(const struct drivers *ds, size_t *queued)
{
	const struct driver *d;
	size_t n = 0;

	*queued = 0;
	TAILQ_FOREACH(d, &ds->list, link) {
		n++;
		*queued += d->olen;
	}
	return n;
}

bool
drivers_attached(const struct drivers *ds)
{
	struct driver *d;

	TAILQ_FOREACH(d, &ds->list, link)
		if (!d->gone)
			return true;
	return false;
}

