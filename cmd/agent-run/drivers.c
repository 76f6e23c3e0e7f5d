/*
 * drivers.c: who drives the agent.  A driver sends commands (one per
 * line) and reads events (JSON lines): the agent's stdin and stdout, and
 * every connection on the control socket (--listen, or a socket systemd
 * passes).  Every event goes to each driver; the answer to a command goes
 * to the driver that sent it, naming the command by its line number on
 * that connection and the id the driver gave it (`@ID command ...`).
 *
 * Each driver has its own output queue, written only as fast as it
 * reads.  What is queued leaves only once committed (out_commit(), after
 * the turn's checkpoints are durable).  A queue is bounded: the agent's
 * own stdout without --listen is waited for (past OUT_BOUND unread the
 * loop stops reading executors, which keep their updates); any other
 * driver past the bound is disconnected, with the reason logged, and
 * gets every pending update again when it attaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "jsonw.h"
#include "command.h"

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

static TAILQ_HEAD(, driver) drivers = TAILQ_HEAD_INITIALIZER(drivers);
static unsigned long serials;
static size_t bound = 4 << 20;		/* a socket driver's queue */
static size_t total;			/* queued to drivers not waited for */
/* All of them together: two drivers' worth (8 MiB at least). */
#define TOTAL_BOUND	(bound * 2 > (8u << 20) ? bound * 2 : (8u << 20))
static int listen_fd = -1;
static char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static bool listen_bound;		/* ours to unlink at the end */

/* The command being done: where its answer goes. */
static struct {
	struct driver *d;
	unsigned long line;
	const char *id;
	bool answered;
} cur;

static void
log_driver(const struct driver *d, const char *what)
{
	if (d->stdio)
		fprintf(stderr, "agent-run: stdin/stdout: %s\n", what);
	else
		fprintf(stderr, "agent-run: driver %lu (pid %ld, uid %ld): %s\n",
		    d->serial, (long)d->pid, (long)d->uid, what);
}

static struct driver *
driver_new(int in, int out)
{
	struct driver *d = calloc(1, sizeof(*d));

	if (d == NULL)
		abort();
	d->serial = ++serials;
	d->in = in;
	d->out = out;
	d->pid = -1;
	d->uid = (uid_t)-1;
	TAILQ_INSERT_TAIL(&drivers, d, link);
	return d;
}

static void
driver_close(struct agent *a, struct driver *d)
{
	if (d->ep_in || d->ep_out)
		epoll_ctl(a->ep, EPOLL_CTL_DEL, d->in, NULL);
	if (!d->stdio)
		close(d->in);
	TAILQ_REMOVE(&drivers, d, link);
	if (!d->waited)
		total -= d->olen;
	if (cur.d == d)
		cur.d = NULL;
	free(d->ibuf);
	free(d->obuf);
	free(d);
}

/* Done with d: nothing more is read from it or written to it. */
static void
driver_drop(struct driver *d, const char *why)
{
	if (d->gone)
		return;
	if (why != NULL)
		log_driver(d, why);
	d->gone = d->eof = true;
	if (!d->waited)
		total -= d->olen;
	d->ohead = d->olen = d->oready = d->ilen = 0;
	free(d->obuf);		/* its memory goes now, not when closed */
	d->obuf = NULL;
	d->ocap = 0;
}

/* ---- the output queues ---- */

static bool driver_lines_waiting(const struct driver *d);

/* Does d, not reading, hold more than its bound of events committed
 * and unread (or more than 64 KiB while all drivers together hold more
 * than TOTAL_BOUND)?  Then it is disconnected: true. */
static bool
behind(struct driver *d)
{
	char why[200];

	if (d->waited || d->gone || (d->oready <= bound &&
	    (total <= TOTAL_BOUND || d->oready <= 65536)))
		return false;
	snprintf(why, sizeof(why), "%zu bytes of events unread (bound %zu); "
	    "disconnected: it gets every pending update again when it "
	    "attaches (all drivers: %zu bytes, bound %zu)", d->oready, bound,
	    total, (size_t)TOTAL_BOUND);
	driver_drop(d, why);
	return true;
}

/* owed: an answer, or a pending update it attached to (not an event
 * every driver gets). */
static void
queue(struct driver *d, const char *text, size_t n, bool owed)
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
	if (behind(d))
		return;
	/* Moved down when what is written already is at least what is
	 * left (each byte moves less than once on average), else grown. */
	if (d->ohead + d->olen + n > d->ocap && d->ohead > 0 &&
	    d->ohead >= d->olen) {
		memmove(d->obuf, d->obuf + d->ohead, d->olen);
		d->ohead = 0;
	}
	if (d->ohead + d->olen + n > d->ocap) {
		size_t cap = d->ocap ? d->ocap : 65536;
		while (cap < d->ohead + d->olen + n)
			cap *= 2;
		if ((d->obuf = realloc(d->obuf, cap)) == NULL)
			abort();
		d->ocap = cap;
	}
	memcpy(d->obuf + d->ohead + d->olen, text, n);
	d->olen += n;
	if (!d->waited)
		total += n;
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
emit_text(const char *text, size_t n)
{
	struct driver *d;

	TAILQ_FOREACH(d, &drivers, link)
		queue(d, text, n, false);
}

void
emit(json_t *o)
{
	size_t n;
	char *text = line_of(o, &n);

	emit_text(text, n);
	free(text);
}

void
emit_text_to(struct driver *d, const char *text, size_t n)
{
	if (d != NULL)
		queue(d, text, n, true);
}

void
emit_to(struct driver *d, json_t *o)
{
	size_t n;
	char *text = line_of(o, &n);

	if (d != NULL)
		queue(d, text, n, true);
	free(text);
}

/* The answer to the command being done (every event when there is
 * none): it names the command. */
void
answer(json_t *o)
{
	if (cur.d == NULL) {
		emit(o);
		return;
	}
	json_object_set_new(o, "line", json_integer((json_int_t)cur.line));
	json_object_set_new(o, "id", cur.id ? json_string(cur.id) : json_null());
	cur.answered = true;
	emit_to(cur.d, o);
}

bool
answered(void)
{
	return cur.d == NULL || cur.answered;
}

struct driver *
answer_driver(void)
{
	return cur.d;
}

void
answer_id(const char *id)
{
	cur.id = id;
}

/* Write what d takes now of its committed bytes (all of them with wait,
 * or when its output cannot be polled). */
static void
driver_flush(struct driver *d, bool wait)
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
		driver_drop(d, d->stdio ? NULL : "gone (write failed)");
		return;
	}
	/* What was written is dropped from the head; the rest moves down
	 * only when more is queued than fits behind it (queue()), so a big
	 * queue read 64 KiB at a time is not moved once per write. */
	d->ohead += done;
	d->olen -= done;
	if (!d->waited)
		total -= done;
	d->oready -= done;
	if (d->olen == 0)
		d->ohead = 0;
	/* Committed and still not read: past the bound it is let go. */
	behind(d);
}

int
out_flush(bool wait)
{
	struct driver *d;

	TAILQ_FOREACH(d, &drivers, link)
		driver_flush(d, wait);
	return 0;
}

/* Bytes queued to a driver the agent waits for. */
size_t
out_queued(void)
{
	struct driver *d;
	size_t n = 0;

	TAILQ_FOREACH(d, &drivers, link)
		if (d->waited && d->olen > n)
			n = d->olen;
	return n;
}

void
out_commit(void)
{
	struct driver *d;

	TAILQ_FOREACH(d, &drivers, link)
		d->oready = d->olen;
}

void
out_drop_uncommitted(void)
{
	struct driver *d;

	TAILQ_FOREACH(d, &drivers, link) {
		if (!d->waited)
			total -= d->olen - d->oready;
		d->olen = d->oready;
	}
}

/* Is any driver there to read events? */
bool
drivers_attached(void)
{
	struct driver *d;

	TAILQ_FOREACH(d, &drivers, link)
		if (!d->gone)
			return true;
	return false;
}

/* ---- the control socket ---- */

/* The socket systemd passed (LISTEN_FDS), if any: fd 3, a listening
 * Unix stream socket.  0 and listen_fd set, 1 when none was passed, or
 * -1 after a message. */
static int
listen_inherited(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int yes = 0, type = 0, dom = 0;
	socklen_t l = sizeof(int);

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return 1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (atoi(fds) != 1) {
		fprintf(stderr, "agent-run: LISTEN_FDS=%s: expected exactly one "
		    "socket\n", fds);
		return -1;
	}
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &yes, &l) < 0 || !yes ||
	    getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
	    type != SOCK_STREAM ||
	    getsockopt(3, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_UNIX) {
		fprintf(stderr, "agent-run: fd 3 (LISTEN_FDS): not a listening "
		    "Unix stream socket\n");
		return -1;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	listen_fd = 3;
	return 0;
}

/* Bind path (0600 in a directory only we may write, made 0700 when
 * absent): 0, or a sysexits code after a message. */
static int
listen_bind(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "agent-run: --listen %s: longer than a socket "
		    "path may be (%zu bytes)\n", path, sizeof(sa.sun_path) - 1);
		return 64;
	}
	strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	else
		strlcpy(dir, slash ? "/" : ".", sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "agent-run: --listen: %s: %s\n", dir,
		    strerror(errno));
		return 73;
	}
	if (stat(dir, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022)) {
		fprintf(stderr, "agent-run: --listen: %s: the socket's directory "
		    "must be ours and writable by nobody else (mode 0700)\n",
		    dir);
		return 77;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "agent-run: --listen %s: exists and is "
			    "not a socket\n", path);
			return 73;
		}
		/* A socket nobody answers on is an old agent's: replace it. */
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			fprintf(stderr, "agent-run: --listen %s: another agent "
			    "listens there\n", path);
			return 75;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return 71;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		umask(old);
		fprintf(stderr, "agent-run: --listen %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return 73;
	}
	umask(old);
	listen_fd = fd;
	strlcpy(listen_path, path, sizeof(listen_path));
	listen_bound = true;
	return 0;
}

/* Every driver that attached is given the updates pending then, marked
 * redelivered, a few at a time: no more is queued while it has half its
 * bound unread, so a burst of them never makes a reading driver late.
 * Called just after a commit: what is fed is durable, and leaves now. */
void
drivers_feed(struct agent *a)
{
	struct pend key = { .seq = 0 }, *p;
	struct driver *d;
	size_t low = bound / 2 < 65536 ? bound / 2 : 65536;

	TAILQ_FOREACH(d, &drivers, link) {
		while (!d->gone && d->catch_next < d->catch_end &&
		    d->olen < low) {
			key.seq = d->catch_next;
			if ((p = RB_NFIND(seq_tree, &a->by_seq, &key)) == NULL ||
			    p->seq >= d->catch_end) {
				d->catch_next = d->catch_end;
				break;
			}
			pend_emit(p, true, d);
			d->catch_next = p->seq + 1;
		}
		d->oready = d->olen;
	}
}

static void
listen_accept(struct agent *a)
{
	struct ucred cred;
	socklen_t l = sizeof(cred);
	struct driver *d;
	char why[200];
	int fd;

	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0) {
			close(fd);
			continue;
		}
		if (cred.uid != geteuid() && cred.uid != 0) {
			static const char refused[] = "{\"event\":\"refused\","
			    "\"message\":\"only the agent's uid or root may "
			    "drive it\"}\n";
			fprintf(stderr, "agent-run: control socket: refused pid "
			    "%ld, uid %ld (only uid %ld or root may connect)\n",
			    (long)cred.pid, (long)cred.uid, (long)geteuid());
			(void)!write(fd, refused, sizeof(refused) - 1);
			close(fd);
			continue;
		}
		d = driver_new(fd, fd);
		d->pid = cred.pid;
		d->uid = cred.uid;
		d->poll_in = d->nonblocking = true;
		snprintf(why, sizeof(why), "attached");
		log_driver(d, why);
		d->catch_end = a->pend_seq;
	}
}

int
drivers_init(struct agent *a)
{
	struct driver *d = driver_new(STDIN_FILENO, STDOUT_FILENO);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_STDIN };
	struct stat st;
	int rc;

	d->stdio = true;
	d->waited = a->o->listen == NULL;
	if (a->o->driver_bound > 0)
		bound = a->o->driver_bound;
	if (fstat(STDOUT_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		int fl = fcntl(STDOUT_FILENO, F_GETFL);
		if (fl >= 0 && fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
			d->nonblocking = true;
	}
	/* A file or /dev/null cannot be polled: it is always ready. */
	d->poll_in = epoll_ctl(a->ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0;
	d->ep_in = d->poll_in;
	if ((rc = listen_inherited()) < 0)
		return 71;
	if (rc == 1 && a->o->listen != NULL && (rc = listen_bind(a->o->listen)))
		return rc;
	if (listen_fd >= 0) {
		d->waited = false;
		ev.data.u64 = TAG_LISTEN;
		epoll_ctl(a->ep, EPOLL_CTL_ADD, listen_fd, &ev);
	}
	return 0;
}

bool
drivers_listening(void)
{
	return listen_fd >= 0;
}

/* ---- input ---- */

static void
driver_read(struct driver *d)
{
	ssize_t n;

	if (d->icap - d->ilen < 65536) {
		d->icap = d->icap ? d->icap * 2 : 131072;
		if ((d->ibuf = realloc(d->ibuf, d->icap)) == NULL)
			abort();
	}
	n = read(d->in, d->ibuf + d->ilen, d->icap - d->ilen - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* The end of its input: every whole line read is still done;
		 * a last line without its newline is not (driver_lines). */
		d->eof = true;
		return;
	}
	d->ilen += (size_t)n;
}

static bool
driver_lines_waiting(const struct driver *d)
{
	return !d->gone && d->ilen > 0 && memchr(d->ibuf, '\n', d->ilen);
}

/* Are d's next lines held until it reads (its queue, or all, past the
 * bound)? */
static bool
held(const struct driver *d)
{
	return !d->waited && (d->olen > bound || total > TOTAL_BOUND);
}

bool
drivers_lines_waiting(void)
{
	struct driver *d;

	TAILQ_FOREACH(d, &drivers, link)
		if ((driver_lines_waiting(d) && !held(d)) ||
		    (!d->poll_in && !d->eof))
			return true;
	return false;
}

/* The whole lines d has sent, a batch of launches at most. */
static void
driver_lines(struct agent *a, struct driver *d)
{
	char *nl, *p = d->ibuf;
	size_t left = d->ilen;

	/* After a fatal error nothing more is done: one error, then exit.
	 * The bounds hold before a line's answers are queued: a driver
	 * whose queue is past its bound, or while all are past theirs, has
	 * its next lines wait (it waits in its write) until it reads. */
	while (!a->quit && !d->gone && a->n_launches < LAUNCH_BATCH &&
	    !held(d) &&
	    left > 0 && (nl = memchr(p, '\n', left)) != NULL) {
		*nl = '\0';
		cur.d = d;
		cur.line = ++d->line;
		cur.id = NULL;
		cur.answered = false;
		if (d->discarding) {
			d->discarding = false;
			emit_error("command: %s", "line too long; discarded",
			    NULL);
		} else if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			emit_error("command: %s", "NUL byte in the line", NULL);
		else
			command(a, p);
		cur.d = NULL;
		if (a->defer) {
			/* Not taken: the same line again next turn. */
			a->defer = false;
			d->line--;
			*nl = '\n';
			break;
		}
		left -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	if (d->gone)
		return;
	if (d->eof && left > 0 && memchr(p, '\n', left) == NULL) {
		/* Cut short (the driver died mid-line, or its input ended
		 * without a newline): never carried out; logged, and
		 * answered should the driver still read. */
		char what[160];
		snprintf(what, sizeof(what), "a last line without its newline "
		    "was not carried out (%zu bytes: '%.*s%s')", left,
		    (int)(left < 60 ? left : 60), p, left > 60 ? "..." : "");
		for (char *q = what; *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = '?';
		log_driver(d, what);
		cur.d = d;
		cur.line = ++d->line;
		cur.id = NULL;
		cur.answered = false;
		emit_error("command: %s", "the last line has no newline: "
		    "not carried out", NULL);
		cur.d = NULL;
		left = 0;
	}
	if (left > 0)
		memmove(d->ibuf, p, left);
	d->ilen = left;
	if (d->ilen > COMMAND_MAX_LINE && !driver_lines_waiting(d)) {
		/* Its answer comes with its newline. */
		d->discarding = true;
		d->ilen = 0;
	}
}

void
drivers_run_lines(struct agent *a)
{
	struct driver *d;

	TAILQ_FOREACH(d, &drivers, link) {
		if (a->quit || a->n_launches >= LAUNCH_BATCH)
			break;
		if (!d->poll_in && !d->eof && !driver_lines_waiting(d))
			driver_read(d);
		driver_lines(a, d);
	}
}

/* An event on a driver's descriptor (tag, or the driver itself). */
void
drivers_event(struct agent *a, uint64_t tag, uint32_t events)
{
	struct driver *d;

	if (tag == TAG_LISTEN) {
		listen_accept(a);
		return;
	}
	if (tag == TAG_STDIN || tag == TAG_STDOUT) {
		TAILQ_FOREACH(d, &drivers, link)
			if (d->stdio)
				break;
	} else
		d = (struct driver *)(uintptr_t)tag;
	if (d == NULL || d->gone)
		return;
	if (tag == TAG_STDOUT) {
		if (events & (EPOLLERR | EPOLLHUP))
			driver_drop(d, NULL);	/* nobody reads stdout */
		else
			driver_flush(d, false);
		return;
	}
	if ((events & EPOLLOUT) && !d->stdio)
		driver_flush(d, false);
	/* Lines still to do come first: the driver waits in its write. */
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) &&
	    !driver_lines_waiting(d) && !d->eof)
		driver_read(d);
}

/* Epoll interest for what each driver needs now; drivers done with are
 * closed.  The agent's stdin at its end stops the agent unless it listens
 * (or is shutting down: what was asked is carried out first). */
void
drivers_poll(struct agent *a)
{
	struct driver *d, *next;

	TAILQ_FOREACH_SAFE(d, &drivers, link, next) {
		bool in = d->poll_in && !d->eof && !d->gone;
		/* Writable matters while committed bytes wait, and while it is
		 * catching up: more of what it is owed is fed as it drains. */
		bool out = d->nonblocking && !d->gone && (d->oready > 0 ||
		    d->catch_next < d->catch_end);
		struct epoll_event ev = { .data.ptr = d };

		if (d->stdio) {
			if (!in && d->ep_in) {
				epoll_ctl(a->ep, EPOLL_CTL_DEL, d->in, NULL);
				d->ep_in = false;
			}
			if (out != d->ep_out) {
				ev.events = EPOLLOUT;
				ev.data.u64 = TAG_STDOUT;
				if (epoll_ctl(a->ep, out ? EPOLL_CTL_ADD :
				    EPOLL_CTL_DEL, d->out, &ev) == 0)
					d->ep_out = out;
			}
			if (d->eof && !driver_lines_waiting(d) &&
			    listen_fd < 0 && !a->shutting_down)
				a->quit = true;
			continue;
		}
		if (d->gone || (d->eof && !driver_lines_waiting(d) &&
		    d->olen == 0 && d->catch_next >= d->catch_end)) {
			if (!d->gone)
				log_driver(d, "detached");
			driver_close(a, d);
			continue;
		}
		ev.events = (in ? EPOLLIN | EPOLLRDHUP : 0) | (out ? EPOLLOUT : 0);
		if (in != d->ep_in || out != d->ep_out) {
			if (epoll_ctl(a->ep, d->ep_in || d->ep_out ? EPOLL_CTL_MOD
			    : EPOLL_CTL_ADD, d->in, &ev) == 0) {
				d->ep_in = in;
				d->ep_out = out;
			}
		}
	}
}

void
drivers_free(struct agent *a)
{
	struct driver *d;

	out_flush(true);
	while ((d = TAILQ_FIRST(&drivers)) != NULL)
		driver_close(a, d);
	if (listen_fd >= 0) {
		close(listen_fd);
		if (listen_bound)
			unlink(listen_path);
		listen_fd = -1;
	}
}
