#include "tasklog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int
open_file(struct tasklog *t, int flags)
{
	struct stat st;

	/* Not O_APPEND: splice refuses a file opened for appending; the
	 * position is set to the end instead. */
	t->out = open(t->name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    flags, 0600);
	if (t->out < 0)
		return -errno;
	if (t->own)
		(void)!fchown(t->out, t->uid, t->gid);
	if (fstat(t->out, &st) < 0)
		return -errno;
	t->size = st.st_size;
	lseek(t->out, 0, SEEK_END);
	return 0;
}

int
tasklog_open(struct tasklog *t, const char *name, int in, long long max,
    int keep)
{
	t->name = name;
	t->in = in;
	t->max = max > 0 ? max : LLONG_MAX;
	t->keep = keep;
	t->err = 0;
	fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
	return open_file(t, 0);
}

/* Free bytes on the sandbox's file system (LLONG_MAX: no reserve kept). */
static long long
free_bytes(const struct tasklog *t)
{
	struct statvfs v;

	if (t->reserve <= 0 || t->out < 0 || fstatvfs(t->out, &v) < 0)
		return LLONG_MAX;
	return (long long)v.f_bavail * (long long)v.f_frsize;
}

/* NAME.K-1 -> NAME.K, ..., NAME -> NAME.1; a new, empty NAME. */
static void
rotate(struct tasklog *t)
{
	char from[64], to[64];

	if (t->keep <= 0) {
		if (ftruncate(t->out, 0) == 0)
			t->size = 0;
		lseek(t->out, 0, SEEK_SET);
		return;
	}
	close(t->out);
	t->out = -1;
	for (int k = t->keep; k > 1; k--) {
		snprintf(from, sizeof(from), "%s.%d", t->name, k - 1);
		snprintf(to, sizeof(to), "%s.%d", t->name, k);
		rename(from, to);
	}
	snprintf(to, sizeof(to), "%s.1", t->name);
	rename(t->name, to);
	if (open_file(t, O_TRUNC) < 0) {
		t->err = errno;
		t->size = 0;	/* no file: what comes is dropped (counted) */
	}
}

/* What the pipe holds, copied by hand (splice not possible): n bytes or
 * less, -1 with errno. */
static ssize_t
copy(struct tasklog *t, size_t n, bool drop)
{
	char buf[65536];
	ssize_t r = read(t->in, buf, n < sizeof(buf) ? n : sizeof(buf));

	if (r > 0 && (drop || t->out < 0))
		t->dropped += r;
	if (r <= 0 || t->out < 0 || drop)
		return r;
	for (ssize_t w = 0, k; w < r; w += k)
		if ((k = write(t->out, buf + w, (size_t)(r - w))) < 0) {
			t->err = errno;	/* the bytes are dropped, not the task */
			break;
		}
	return r;
}

int
tasklog_drain(struct tasklog *t, long long budget)
{
	while (t->in >= 0 && budget > 0) {
		long long room = t->max - t->size;
		size_t n;
		ssize_t r;

		if (room <= 0 && t->out >= 0) {
			rotate(t);
			continue;
		}
		n = (size_t)(room < budget ? room : budget);
		if (n > (1 << 20))
			n = 1 << 20;
		/* Checkpoints before sandboxes: the output is dropped rather
		 * than take the space kept for the agent's checkpoints. */
		long long avail = free_bytes(t);
		if (avail < t->reserve + (long long)n) {
			r = copy(t, n, true);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return 1;
			if (r <= 0) {
				close(t->in);
				t->in = -1;
				return 0;
			}
			budget -= r;
			continue;
		}
		r = t->out >= 0 ? splice(t->in, NULL, t->out, NULL, n,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK) : -1;
		if (r < 0 && (t->out < 0 || errno == EINVAL || errno == ENOSPC ||
		    errno == EIO || errno == EDQUOT || errno == EFBIG)) {
			if (t->out >= 0 && errno != EINVAL)
				t->err = errno;
			r = copy(t, n, false);
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 1;
		if (r <= 0) {
			close(t->in);
			t->in = -1;
			return 0;
		}
		t->size += r;
		budget -= r;
	}
	return t->in >= 0;
}

void
tasklog_close(struct tasklog *t)
{
	if (t->in >= 0)
		close(t->in);
	if (t->out >= 0)
		close(t->out);
	t->in = t->out = -1;
}
