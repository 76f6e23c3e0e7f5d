#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "at.h"
#include "fault.h"

static int
fail(struct ckpt_error *e, const char *path, const char *what)
{
	int saved = errno;

	return error_set(e, -saved, path, -1, "%s: %s", what, strerror(saved));
}

static void
dir_of(const char *path, char *dir)
{
	char tmp[PATH_MAX];

	strlcpy(tmp, path, sizeof(tmp));
	strlcpy(dir, dirname(tmp), PATH_MAX);
}

int
durable_fsync_dir(const char *dir, struct ckpt_error *e)
{
	int fd, rc = 0;

	if (fault_point("fsync", dir) < 0)
		return fail(e, dir, "fsync directory");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(e, dir, "open directory");
	if (fsync(fd) < 0)
		rc = fail(e, dir, "fsync directory");
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
durable_write(const char *path, const void *buf, size_t len,
    struct ckpt_error *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return error_set(e, -ENAMETOOLONG, path, -1, "path too long");
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return fail(e, path, "create temporary file");
	if (fault_point("write", path) < 0 || write_all(fd, buf, len) < 0) {
		rc = fail(e, path, "write");
		goto out;
	}
	if (fault_point("fsync", path) < 0 || fsync(fd) < 0) {
		rc = fail(e, path, "fsync");
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = fail(e, path, "close");
		goto out;
	}
	fd = -1;
	if (fault_point("rename", path) < 0 || rename(tmp, path) < 0) {
		rc = fail(e, path, "rename");
		goto out;
	}
	dir_of(path, dir);
	return durable_fsync_dir(dir, e);
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int
durable_append(const char *path, const void *buf, size_t len,
    struct ckpt_error *e)
{
	char dir[PATH_MAX];
	int fd, rc = 0, created = 0;
	struct stat st;

	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		created = 1;
	}
	if (fd < 0)
		return fail(e, path, "open for append");
	if (fstat(fd, &st) < 0) {
		rc = fail(e, path, "stat");
		goto out;
	}
	if (fault_point("write", path) < 0 || write_all(fd, buf, len) < 0) {
		rc = fail(e, path, "append");
		/* Leave no partial record: cut back to where we began. */
		if (ftruncate(fd, st.st_size) == 0)
			fdatasync(fd);
		goto out;
	}
	if (fault_point("fsync", path) < 0 || fdatasync(fd) < 0) {
		rc = fail(e, path, "fdatasync");
		goto out;
	}
	if (created) {
		dir_of(path, dir);
		rc = durable_fsync_dir(dir, e);
	}
out:
	close(fd);
	return rc;
}

int
durable_mkdirs(const char *path, struct ckpt_error *e)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	int rc;

	strlcpy(buf, path, sizeof(buf));
	dir_of(buf, dir);
	/* A directory that exists may have been made by a process that died
	 * before syncing it into its parent: sync it now, or what is written
	 * below it may be durable while its name is not. */
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return error_set(e, -ENOTDIR, path, -1, "not a directory");
		if ((rc = durable_fsync_dir(dir, e)) < 0)
			error_set(e, rc, path, -1, "sync into %s: %s", dir,
			    strerror(-rc));
		return rc;
	}
	if (errno != ENOENT)
		return fail(e, path, "stat");
	if (strcmp(dir, path) != 0 && (rc = durable_mkdirs(dir, e)) < 0)
		return rc;
	if (fault_point("mkdir", path) < 0 ||
	    (mkdir(path, 0700) < 0 && errno != EEXIST))
		return fail(e, path, "mkdir");
	return durable_fsync_dir(dir, e);
}

int
durable_symlink(const char *target, const char *linkpath,
    struct ckpt_error *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", linkpath,
	    (long)getpid()) >= (int)sizeof(tmp))
		return error_set(e, -ENAMETOOLONG, linkpath, -1,
		    "path too long");
	unlink(tmp);
	if (fault_point("symlink", linkpath) < 0 || symlink(target, tmp) < 0)
		return fail(e, linkpath, "symlink");
	if (fault_point("rename", linkpath) < 0 || rename(tmp, linkpath) < 0) {
		int rc = fail(e, linkpath, "rename");
		unlink(tmp);
		return rc;
	}
	dir_of(linkpath, dir);
	return durable_fsync_dir(dir, e);
}

int
durable_truncate_at(int dirfd, const char *name, const char *path, off_t len,
    struct ckpt_error *e)
{
	int fd, rc = 0;

	if ((fd = at_open_file(dirfd, name, O_WRONLY, path, e)) < 0)
		return fd;
	if (fault_point("truncate", path) < 0 || ftruncate(fd, len) < 0)
		rc = fail(e, path, "truncate");
	else if (fsync(fd) < 0)
		rc = fail(e, path, "fsync");
	close(fd);
	return rc;
}

int
durable_truncate(const char *path, off_t len, struct ckpt_error *e)
{
	return durable_truncate_at(AT_FDCWD, path, path, len, e);
}

int
durable_unlink(const char *path, struct ckpt_error *e)
{
	char dir[PATH_MAX];

	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : fail(e, path, "unlink");
	dir_of(path, dir);
	return durable_fsync_dir(dir, e);
}
