/*
 * reserve.c: checkpoints before sandboxes.  The agent holds --disk-reserve
 * bytes of the work dir's file system in meta/reserve (allocated, not
 * written).  When an append of a checkpoint finds the file system full
 * (a task filled its sandbox), a quarter of the reserve is given back and
 * the commit tried again: a task alone cannot stop the agent while any of
 * the reserve is left.  Launches are refused while the reserve is not
 * whole (and cannot be made whole again), so that the space goes to the
 * running tasks' checkpoints.  A file system that refuses to allocate
 * ahead (no fallocate) has no reserve: only the free-space check stands.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

/* The reserve's size now (its allocated bytes). */
static long long
held(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (long long)st.st_size : 0;
}

void
reserve_open(struct agent *a)
{
	char path[PATH_MAX];

	a->reserve_fd = -1;
	if (a->o->bounds.disk_reserve <= 0)
		return;
	snprintf(path, sizeof(path), "%s/meta/reserve", a->o->work);
	if ((a->reserve_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0)
		return;
	reserve_refill(a);
}

bool
reserve_refill(struct agent *a)
{
	long long want = a->o->bounds.disk_reserve;

	if (a->reserve_fd < 0)
		return true;
	if (held(a->reserve_fd) >= want)
		return true;
	/* All or nothing: a part allocated of what is wanted is given up. */
	if (fallocate(a->reserve_fd, 0, 0, want) == 0 && fsync(a->reserve_fd) == 0)
		return true;
	if (errno == EOPNOTSUPP) {
		close(a->reserve_fd);	/* no reserve on this file system */
		a->reserve_fd = -1;
		return true;
	}
	return false;
}

bool
reserve_give(struct agent *a)
{
	long long have, part = a->o->bounds.disk_reserve / 4;

	if (a->reserve_fd < 0 || (have = held(a->reserve_fd)) <= 0)
		return false;
	if (part < 65536)
		part = 65536;
	have = have > part ? have - part : 0;
	/* Freed blocks are reusable once the truncation is durable. */
	if (ftruncate(a->reserve_fd, have) < 0 || fsync(a->reserve_fd) < 0)
		return false;
	log_line(&a->log, LOG_INFO, "the work dir's file system is full: "
	    "%lld bytes of the reserve given to checkpoints, %lld left", part,
	    have);
	return true;
}
