/*
 * attach.c: agent-run --attach SOCKET, the client of the control socket,
 * for scripts, ssh and people.  Commands from stdin go to the agent;
 * events come to stdout, exactly as when driving the agent on its stdin.
 * It exits 0 once its input has ended and every command it sent has been
 * answered (an answer names its line; the agent then closes the
 * connection), 69 when no agent listens, or none answers a command
 * within --timeout (a socket-activated agent that cannot start), 77 when
 * the agent refuses it, 75 when the agent went away before its input
 * ended or with commands unanswered ("gone", not "done"), 65 when its
 * input ended in a line without a newline (never carried out), 74 when
 * stdout cannot be written.  With --retry it waits for an agent that went
 * away (or is not there yet) to come back, and attaches again.
 *
 * Nothing blocks: stdin is read only while what it gave has been sent
 * (at most QUEUE bytes wait), and events are read all the while, so a
 * driver that sends much and reads late is not disconnected for it.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "agent.h"
#include "command.h"
#include "update.h"

#define QUEUE	(1 << 20)

struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + n)
			cap *= 2;
		if ((b->p = realloc(b->p, cap)) == NULL)
			err(EX_OSERR, "realloc");
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_take(struct buf *b, size_t n)
{
	if (b->len > n)
		memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* Is this line a command, one the agent answers (a blank line or a
 * comment is not)? */
static bool
is_command(const char *line, size_t n)
{
	struct ckpt_error e;
	struct command c;
	char *s;
	bool yes;

	if (n == 0)
		return false;
	if (n > COMMAND_MAX_LINE || memchr(line, '\0', n) != NULL)
		return true;
	if ((s = strndup(line, n)) == NULL)
		err(EX_OSERR, "strndup");
	yes = command_parse(s, &c, &e) < 0 || c.argc > 0;
	command_free(&c);
	free(s);
	return yes;
}

/* Count the commands among the lines of p (n bytes), line holding the
 * start of a line not yet ended (no more of it than shows it too long). */
static void
count_lines(struct buf *line, const char *p, size_t n, unsigned long *sent)
{
	size_t s = 0, keep;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		keep = i - s;
		if (line->len + keep > COMMAND_MAX_LINE + 1)
			keep = COMMAND_MAX_LINE + 1 - line->len;
		buf_add(line, p + s, keep);
		*sent += is_command(line->p, line->len);
		line->len = 0;
		s = i + 1;
	}
	keep = n - s;
	if (line->len + keep > COMMAND_MAX_LINE + 1)
		keep = COMMAND_MAX_LINE + 1 - line->len;
	buf_add(line, p + s, keep);
}

/* A connection to the agent at path: its fd (non-blocking), or -errno. */
static int
try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, saved;

	if (strlen(path) >= sizeof(sa.sun_path))
		errx(EX_USAGE, "--attach %s: longer than a socket path may be",
		    path);
	strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		err(EX_OSERR, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		saved = errno;
		close(fd);
		return -saved;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Connected within wait_ms (0: one try; agents restarting or socket
 * activation come and go): the fd, or exit 69 (77 when refused). */
static int
connect_to(const char *path, long long wait_ms)
{
	long long until = monotonic_ms() + wait_ms, pause = 50;
	int fd;

	while ((fd = try_connect(path)) < 0 && fd != -EACCES &&
	    monotonic_ms() < until) {
		usleep((useconds_t)pause * 1000);
		pause = pause * 2 > 1000 ? 1000 : pause * 2;
	}
	if (fd >= 0)
		return fd;
	warnx("--attach %s: cannot connect: %s%s", path, strerror(-fd),
	    fd == -EACCES ? "" : wait_ms > 0 ? " (no agent came back within "
	    "--retry)" : " (is an agent listening there? agent-run --listen)");
	exit(fd == -EACCES ? EX_NOPERM : EX_UNAVAILABLE);
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			warn("stdout");
			exit(EX_IOERR);
		}
		p += w;
		n -= (size_t)w;
	}
}

struct attach {
	const char *path;
	int fd;
	struct buf out, in, line;	/* to the agent, from it, a line read */
	struct buf wline;		/* the line being written to the agent */
	unsigned long sent;		/* commands queued, still to answer */
	unsigned long written;		/* ... of them written on this connection */
	unsigned long answers;		/* answers read on this connection */
	unsigned long lost;		/* unanswered by an agent that went away */
	bool in_eof, half_closed, refused, cut, broken, timed_out;
	long long timeout_ms;		/* for an answer, while one is owed */
	long long retry_ms;		/* --retry: for the agent to come back */
	long long quiet_since;		/* last heard, or first owed, then */
	char chunk[65536];
};

/* What stdin gives, queued for the agent, its commands counted. */
static void
from_stdin(struct attach *a)
{
	ssize_t n = read(STDIN_FILENO, a->chunk, sizeof(a->chunk));

	if (n < 0 && errno != EINTR && errno != EAGAIN)
		n = 0;
	if (n == 0) {
		a->in_eof = true;
		/* A last line without its newline is not a command: the agent
		 * refuses it (one answer). */
		if (a->line.len > 0) {
			warnx("stdin: the last line has no newline: the agent "
			    "will not carry it out");
			a->sent++;
			a->cut = true;
			a->line.len = 0;
		}
	}
	if (a->sent == a->answers)
		a->quiet_since = monotonic_ms();	/* an answer is owed from now */
	count_lines(&a->line, a->chunk, n > 0 ? (size_t)n : 0, &a->sent);
	if (n > 0)
		buf_add(&a->out, a->chunk, (size_t)n);
}

static void
to_agent(struct attach *a)
{
	ssize_t n = write(a->fd, a->out.p, a->out.len);

	if (n > 0) {
		count_lines(&a->wline, a->out.p, (size_t)n, &a->written);
		buf_take(&a->out, (size_t)n);
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* The agent is gone: read the rest; with --retry what is not
		 * written waits for the next agent. */
		a->broken = true;
		if (a->retry_ms <= 0) {
			a->out.len = 0;
			a->in_eof = true;
		}
	}
}

/* The agent went away before the end: attach again (--retry), within
 * retry_ms, without sending a command twice: what it never answered is
 * counted lost, not sent again; a line it got cut short (never carried
 * out without its newline) goes again whole.  False: no retry. */
static bool
reattach(struct attach *a)
{
	struct buf rest = { 0 };

	if (a->retry_ms <= 0 || (a->in_eof && a->half_closed))
		return false;
	a->lost += a->written > a->answers ? a->written - a->answers : 0;
	a->sent -= a->written < a->sent ? a->written : a->sent;
	a->written = a->answers = 0;
	buf_add(&rest, a->wline.p, a->wline.len);
	buf_add(&rest, a->out.p, a->out.len);
	free(a->out.p);
	a->out = rest;
	a->wline.len = a->in.len = 0;
	close(a->fd);
	a->fd = connect_to(a->path, a->retry_ms);
	a->broken = a->half_closed = false;
	a->quiet_since = monotonic_ms();
	warnx("--attach %s: the agent went away; attached again%s", a->path,
	    a->lost ? " (commands it did not answer are not sent again)" : "");
	return true;
}

/* What the agent says, to stdout, whole lines, answers counted: false
 * once it has closed the connection. */
static bool
from_agent(struct attach *a)
{
	ssize_t n = read(a->fd, a->chunk, sizeof(a->chunk));
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	a->quiet_since = monotonic_ms();
	buf_add(&a->in, a->chunk, (size_t)n);
	while ((nl = memchr(a->in.p, '\n', a->in.len)) != NULL) {
		size_t len = (size_t)(nl - a->in.p) + 1;
		json_t *o = json_loadb(a->in.p, len - 1, 0, NULL);
		const char *ev = json_string_value(json_object_get(o, "event"));
		if (json_object_get(o, "line") != NULL)
			a->answers++;
		if (ev != NULL && strcmp(ev, "refused") == 0)
			a->refused = true;
		json_decref(o);
		write_all(STDOUT_FILENO, a->in.p, len);
		buf_take(&a->in, len);
	}
	return true;
}

/* The exit status, once the agent has closed the connection. */
static int
verdict(const struct attach *a, const char *path)
{
	if (a->refused) {
		warnx("--attach %s: the agent refused this connection", path);
		return EX_NOPERM;
	}
	if (a->lost > 0 || a->answers < a->sent) {
		warnx("--attach %s: the agent went away with %lu of %lu "
		    "commands unanswered", path, a->lost + a->sent - a->answers,
		    a->lost + a->sent);
		return EX_TEMPFAIL;
	}
	if (!a->in_eof) {
		warnx("--attach %s: the agent went away before the input ended "
		    "(stopped or restarting: attach again)", path);
		return EX_TEMPFAIL;
	}
	return a->cut ? EX_DATAERR : EX_OK;
}

/* How long poll may wait: until an owed answer is overdue, or -1. */
static int
wait_ms(const struct attach *a)
{
	long long left;

	if (a->sent == a->answers || a->timeout_ms <= 0)
		return -1;
	left = a->quiet_since + a->timeout_ms - monotonic_ms();
	return left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int
attach_main(const char *path, long long timeout_ms, long long retry_ms)
{
	struct attach a = { .path = path, .fd = connect_to(path, retry_ms),
	    .timeout_ms = timeout_ms, .retry_ms = retry_ms };
	int rc;

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = a.in_eof || a.out.len >= QUEUE ? -1 :
			  STDIN_FILENO, .events = POLLIN },
			{ .fd = a.fd, .events = POLLIN |
			  (a.out.len && !a.broken ? POLLOUT : 0) },
		};
		/* Our input is done: the agent answers what it got, then closes
		 * the connection, which ends this loop. */
		if (a.in_eof && a.out.len == 0 && !a.half_closed) {
			shutdown(a.fd, SHUT_WR);
			a.half_closed = true;
		}
		if (poll(p, 2, wait_ms(&a)) < 0) {
			if (errno == EINTR)
				continue;
			err(EX_OSERR, "poll");
		}
		if (wait_ms(&a) == 0) {
			warnx("--attach %s: no answer from the agent within %lld ms "
			    "(--timeout): it is not running, or cannot start "
			    "(journalctl -u agent-run)", path, a.timeout_ms);
			a.timed_out = true;
			break;
		}
		if (p[0].revents)
			from_stdin(&a);
		if (p[1].revents & POLLOUT)
			to_agent(&a);
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !from_agent(&a) && !reattach(&a))
			break;
	}
	close(a.fd);
	rc = a.timed_out ? EX_UNAVAILABLE : verdict(&a, path);
	free(a.out.p);
	free(a.in.p);
	free(a.line.p);
	free(a.wline.p);
	return rc;
}
