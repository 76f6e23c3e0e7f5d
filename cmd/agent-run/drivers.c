/*
 * drivers.c: the drivers' connections (out.h has their queues): the
 * agent's stdin and stdout, and every connection on the control socket
 * (--listen, or a socket systemd passes).  Each whole line a driver sends
 * is one command (commands.c), answered to that driver, naming the
 * command by its line number on that connection and the id the driver
 * gave it (`@ID command ...`).  A driver that attaches is fed the updates
 * pending then, as it reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "command.h"

static void
driver_close(struct agent *a, struct driver *d)
{
	if (d->ep_in || d->ep_out)
		epoll_ctl(a->ep, EPOLL_CTL_DEL, d->in, NULL);
	if (!d->stdio)
		close(d->in);
	driver_forget(&a->dr, d);
}

/* The socket systemd passed (LISTEN_FDS), if any: fd 3, a listening
 * Unix stream socket.  0 with listen_fd set, 1 when none was passed, or
 * a negative code (e says why). */
static int
listen_inherited(struct drivers *ds, struct ckpt_error *e)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int yes = 0, type = 0, dom = 0;
	socklen_t l = sizeof(int);

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return 1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (atoi(fds) != 1) {
		error_set(e, -EINVAL, "LISTEN_FDS", -1, "%s: expected exactly "
		    "one socket", fds);
		unsetenv("LISTEN_FDS");
		return e->code;
	}
	unsetenv("LISTEN_FDS");
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &yes, &l) < 0 || !yes ||
	    getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
	    type != SOCK_STREAM ||
	    getsockopt(3, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_UNIX)
		return error_set(e, -EINVAL, "fd 3 (LISTEN_FDS)", -1, "not a "
		    "listening Unix stream socket");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	ds->listen_fd = 3;
	return 0;
}

/* The directory of a socket path (0700, made when absent), ours and
 * writable by nobody else: 0, or a negative code. */
static int
listen_dir(const char *path, struct ckpt_error *e)
{
	char dir[108], *slash;
	struct stat st;

	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	else
		strlcpy(dir, slash ? "/" : ".", sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return error_set(e, -errno, dir, -1, "--listen: %s",
		    strerror(errno));
	if (stat(dir, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022))
		return error_set(e, -EACCES, dir, -1, "--listen: the socket's "
		    "directory must be ours and writable by nobody else (mode "
		    "0700)");
	return 0;
}

/* Bind path (0600 in a directory only we may write): 0, or a negative
 * code (e says why). */
static int
listen_bind(struct drivers *ds, const char *path, struct ckpt_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(e, -EINVAL, path, -1, "--listen: longer than a "
		    "socket path may be (%zu bytes)", sizeof(sa.sun_path) - 1);
	strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if (listen_dir(path, e) < 0)
		return e->code;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return error_set(e, -EEXIST, path, -1, "--listen: exists "
			    "and is not a socket");
		/* A socket nobody answers on is an old agent's: replace it. */
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return error_set(e, -EBUSY, path, -1, "--listen: another "
			    "agent listens there");
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return error_set(e, -errno, path, -1, "--listen: socket: %s",
		    strerror(errno));
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		error_set(e, errno == EADDRINUSE ? -EEXIST : -errno, path, -1,
		    "--listen: %s", strerror(errno));
		umask(old);
		close(fd);
		return e->code;
	}
	umask(old);
	ds->listen_fd = fd;
	strlcpy(ds->listen_path, path, sizeof(ds->listen_path));
	ds->listen_bound = true;
	return 0;
}

/* Every driver that attached is given the updates pending then, marked
 * redelivered, a few at a time: no more is queued while it has half its
 * bound unread, so a burst of them never makes a reading driver late.
 * Called just after a commit: what is fed is durable, and leaves now. */
void
drivers_feed(struct agent *a)
{
	struct drivers *ds = &a->dr;
	struct pend key = { .seq = 0 }, *p;
	struct driver *d;
	size_t low = ds->bound / 2 < 65536 ? ds->bound / 2 : 65536;

	TAILQ_FOREACH(d, &ds->list, link) {
		while (!d->gone && d->catch_next < d->catch_end &&
		    d->olen < low) {
			key.seq = d->catch_next;
			if ((p = RB_NFIND(seq_tree, &a->by_seq, &key)) == NULL ||
			    p->seq >= d->catch_end) {
				d->catch_next = d->catch_end;
				break;
			}
			pend_emit(a, p, true, d);
			d->catch_next = p->seq + 1;
		}
		d->oready = d->olen;
	}
}

static void
listen_accept(struct agent *a)
{
	struct drivers *ds = &a->dr;
	struct ucred cred;
	socklen_t l = sizeof(cred);
	struct driver *d;
	char why[200];
	int fd;

	while ((fd = accept4(ds->listen_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0) {
			close(fd);
			continue;
		}
		if (cred.uid != geteuid() && cred.uid != 0) {
			static const char refused[] = "{\"event\":\"refused\","
			    "\"message\":\"only the agent's uid or root may "
			    "drive it\"}\n";
			log_line(ds->log, LOG_WARNING, "control socket: refused pid "
			    "%ld, uid %ld (only uid %ld or root may connect)",
			    (long)cred.pid, (long)cred.uid, (long)geteuid());
			(void)!write(fd, refused, sizeof(refused) - 1);
			close(fd);
			continue;
		}
		d = driver_new(ds, fd, fd);
		d->pid = cred.pid;
		d->uid = cred.uid;
		d->poll_in = d->nonblocking = true;
		snprintf(why, sizeof(why), "attached");
		log_driver(ds, d, LOG_NOTICE, why);
		/* What happened at the start, for a driver that was not there. */
		if (a->summary != NULL)
			emit_to(ds, d, json_incref(a->summary));
		d->catch_end = a->pend_seq;
	}
}

int
drivers_init(struct agent *a, struct ckpt_error *e)
{
	struct drivers *ds = &a->dr;
	struct driver *d;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_STDIN };
	struct stat st;
	int rc;

	d = driver_new(ds, STDIN_FILENO, STDOUT_FILENO);
	d->stdio = true;
	d->waited = a->o->listen == NULL;
	if (fstat(STDOUT_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		int fl = fcntl(STDOUT_FILENO, F_GETFL);
		if (fl >= 0 && fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK) == 0)
			d->nonblocking = true;
	}
	/* A file or /dev/null cannot be polled: it is always ready. */
	d->poll_in = epoll_ctl(a->ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0;
	d->ep_in = d->poll_in;
	if ((rc = listen_inherited(ds, e)) < 0)
		return rc;
	if (rc == 1 && a->o->listen != NULL &&
	    (rc = listen_bind(ds, a->o->listen, e)) < 0)
		return rc;
	if (ds->listen_fd >= 0) {
		d->waited = false;
		ev.data.u64 = TAG_LISTEN;
		epoll_ctl(a->ep, EPOLL_CTL_ADD, ds->listen_fd, &ev);
	}
	return 0;
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

/* Are d's next lines held until it reads (its queue, or all, past the
 * bound)? */
static bool
held(const struct drivers *ds, const struct driver *d)
{
	return !d->waited && (d->olen > ds->bound ||
	    ds->total > out_total_bound(ds));
}

bool
drivers_lines_waiting(const struct drivers *ds)
{
	struct driver *d;

	TAILQ_FOREACH(d, &ds->list, link)
		if ((driver_lines_waiting(d) && !held(ds, d)) ||
		    (!d->poll_in && !d->eof))
			return true;
	return false;
}

/* The whole lines d has sent, a batch of launches at most. */
static void
driver_lines(struct agent *a, struct driver *d)
{
	struct drivers *ds = &a->dr;
	char *nl, *p = d->ibuf;
	size_t left = d->ilen;

	/* After a fatal error nothing more is done: one error, then exit.
	 * The bounds hold before a line's answers are queued: a driver
	 * whose queue is past its bound, or while all are past theirs, has
	 * its next lines wait (it waits in its write) until it reads. */
	while (!a->quit && !d->gone && a->n_launches < LAUNCH_BATCH &&
	    !held(ds, d) &&
	    left > 0 && (nl = memchr(p, '\n', left)) != NULL) {
		*nl = '\0';
		ds->cur.d = d;
		ds->cur.line = ++d->line;
		ds->cur.id = NULL;
		ds->cur.answered = false;
		if (d->discarding) {
			d->discarding = false;
			emit_error(a, "command: %s", "line too long; discarded",
			    NULL);
		} else if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			emit_error(a, "command: %s", "NUL byte in the line", NULL);
		else
			command(a, p);
		ds->cur.d = NULL;
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
		log_driver(ds, d, LOG_WARNING, what);
		ds->cur.d = d;
		ds->cur.line = ++d->line;
		ds->cur.id = NULL;
		ds->cur.answered = false;
		emit_error(a, "command: %s", "the last line has no newline: "
		    "not carried out", NULL);
		ds->cur.d = NULL;
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
	struct drivers *ds = &a->dr;
	struct driver *d;

	TAILQ_FOREACH(d, &ds->list, link) {
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
	struct drivers *ds = &a->dr;
	struct driver *d;

	if (tag == TAG_LISTEN) {
		listen_accept(a);
		return;
	}
	if (tag == TAG_STDIN || tag == TAG_STDOUT) {
		TAILQ_FOREACH(d, &ds->list, link)
			if (d->stdio)
				break;
	} else
		d = (struct driver *)(uintptr_t)tag;
	if (d == NULL || d->gone)
		return;
	if (tag == TAG_STDOUT) {
		if (events & (EPOLLERR | EPOLLHUP))
			driver_drop(ds, d, NULL);	/* nobody reads stdout */
		else
			driver_flush(ds, d, false);
		return;
	}
	if ((events & EPOLLOUT) && !d->stdio)
		driver_flush(ds, d, false);
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
	struct drivers *ds = &a->dr;
	struct driver *d, *next;

	TAILQ_FOREACH_SAFE(d, &ds->list, link, next) {
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
			    ds->listen_fd < 0 && !a->shutting_down)
				a->quit = true;
			continue;
		}
		if (d->gone || (d->eof && !driver_lines_waiting(d) &&
		    d->olen == 0 && d->catch_next >= d->catch_end)) {
			if (!d->gone)
				log_driver(ds, d, LOG_NOTICE, "detached");
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
	struct drivers *ds = &a->dr;
	struct driver *d;

	out_flush(ds, true);
	while ((d = TAILQ_FIRST(&ds->list)) != NULL)
		driver_close(a, d);
	if (ds->listen_fd >= 0) {
		close(ds->listen_fd);
		if (ds->listen_bound)
			unlink(ds->listen_path);
		ds->listen_fd = -1;
	}
}
