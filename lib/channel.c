#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "record.h"

void
channel_init(struct channel *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
}

void
channel_close(struct channel *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	channel_init(c, -1);
}

static int
reserve(uint8_t **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	uint8_t *nb;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((nb = realloc(*buf, n)) == NULL)
		return -ENOMEM;
	*buf = nb;
	*cap = n;
	return 0;
}

int
channel_flush(struct channel *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOTCONN)
				return 0;
			return -errno;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	return 0;
}

int
channel_send_raw(struct channel *c, const uint8_t *buf, size_t len)
{
	size_t sent = 0;

	if (c->fd < 0)
		return -ENOTCONN;
	if (c->out_len == 0) {
		/* Nothing queued: straight to the socket, and only what it
		 * does not take now is kept (no buffer per connection). */
		ssize_t n;
		while ((n = send(c->fd, buf, len, MSG_NOSIGNAL)) < 0 &&
		    errno == EINTR)
			;
		if (n < 0 && errno != EAGAIN && errno != ENOTCONN)
			return -errno;
		sent = n > 0 ? (size_t)n : 0;
	}
	if (sent < len) {
		if (reserve(&c->out, &c->out_cap, c->out_len + len - sent) < 0)
			return -ENOMEM;
		memcpy(c->out + c->out_len, buf + sent, len - sent);
		c->out_len += len - sent;
	}
	return channel_flush(c);
}

int
channel_send(struct channel *c, const Agentproto__ExecutorMessage *m)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (c->fd < 0)
		return -ENOTCONN;
	if ((rc = record_encode(&m->base, &buf, &len)) < 0)
		return rc;
	rc = channel_send_raw(c, buf, len);
	free(buf);
	return rc;
}

int
channel_fill(struct channel *c)
{
	for (;;) {
		ssize_t n;
		if (reserve(&c->in, &c->in_cap, c->in_len + 4096) < 0)
			return -ENOMEM;
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -errno;
		}
		if (n == 0)
			return 0;
		c->in_len += (size_t)n;
		if (c->in_len > RECORD_MAX + 4)
			return -EBADMSG;
		if ((size_t)n < 4096)
			return 1;
	}
}

int
channel_decode(const uint8_t *buf, size_t len, Agentproto__ExecutorMessage **m)
{
	*m = NULL;
	if (record_checksum(buf, len) < 0)
		return -EBADMSG;
	*m = agentproto__executor_message__unpack(NULL, len, buf);
	return *m ? 0 : -EBADMSG;
}

int
channel_next(struct channel *c, Agentproto__ExecutorMessage **m)
{
	const uint8_t *body;
	size_t len, used;
	int rc = record_parse(c->in, c->in_len, &body, &len, &used);

	if (rc <= 0)
		return rc;
	rc = channel_decode(body, len, m);
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	return rc < 0 ? rc : 1;
}

static int
address(const char *path, struct sockaddr_un *sa, struct ckpt_error *e)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return error_set(e, -ENAMETOOLONG, path, -1,
		    "socket path longer than %zu bytes",
		    sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

int
channel_listen(const char *path, struct ckpt_error *e)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, rc;

	if ((rc = address(path, &sa, e)) < 0)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return error_set(e, -errno, path, -1, "socket: %s",
		    strerror(errno));
	unlink(path);
	old = umask(077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		rc = error_set(e, -errno, path, -1, "bind: %s", strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int
channel_connect(const char *path, struct ckpt_error *e)
{
	struct sockaddr_un sa;
	int fd, rc;

	if ((rc = address(path, &sa, e)) < 0)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return error_set(e, -errno, path, -1, "socket: %s",
		    strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		rc = error_set(e, -errno, path, -1, "connect: %s",
		    strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

long
channel_peer_uid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -1;
	return (long)cr.uid;
}

void
channel_trim(struct channel *c)
{
	if (c->in_len == 0) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	if (c->out_len == 0) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}
