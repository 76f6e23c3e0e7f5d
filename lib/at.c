#include "at.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *
kind_of(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" :
	    S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISDIR(m) ?
	    "a directory" : "not a regular file";
}

static int
open_error(struct ckpt_error *e, const char *path, int err, const char *what)
{
	if (err == ELOOP)
		return error_set(e, -ELOOP, path, -1, "a symbolic link, not %s",
		    what);
	if (err == ENOTDIR)
		return error_set(e, -ENOTDIR, path, -1, "not a directory");
	return error_set(e, -err, path, -1, "%s", strerror(err));
}

/*
 * Reading never writes: read-only opens ask for O_NOATIME, so that the
 * first read of a file written since its last read does not dirty its
 * inode (relatime), a journal write per file.  An agent restarted right
 * after launching 10,000 tasks spent a third of its start on it.
 * O_NOATIME is for the owner or root only: anyone else opens without it.
 */
static int
open_read(int dirfd, const char *name, int flags)
{
	int fd;

	if ((flags & O_ACCMODE) != O_RDONLY)
		return openat(dirfd, name, flags);
	if ((fd = openat(dirfd, name, flags | O_NOATIME)) < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd;
}

int
at_open_dir(int dirfd, const char *name, const char *path,
    struct ckpt_error *e)
{
	int fd = open_read(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);

	return fd >= 0 ? fd : open_error(e, path, errno, "a directory");
}

int
at_open_dirs(int dirfd, const char *rel, const char *path,
    struct ckpt_error *e)
{
	/* path ends with rel: errors name the path up to the component. */
	size_t plen = strlen(path), rlen = strlen(rel);
	size_t base = plen >= rlen ? plen - rlen : 0;
	char comp[NAME_MAX + 1], shown[PATH_MAX];
	const char *p = rel;
	int fd = -1, next;

	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0) {
			p++;
			continue;
		}
		if (n > NAME_MAX)
			next = error_set(e, -ENAMETOOLONG, path, -1,
			    "component too long");
		else {
			memcpy(comp, p, n);
			comp[n] = '\0';
			snprintf(shown, sizeof(shown), "%.*s",
			    (int)(base + (size_t)(p - rel) + n), path);
			next = at_open_dir(fd >= 0 ? fd : dirfd, comp, shown, e);
		}
		if (fd >= 0)
			close(fd);
		if (next < 0)
			return next;
		fd = next;
		p += n;
	}
	return fd >= 0 ? fd : openat(dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
}

int
at_open_file(int dirfd, const char *name, int flags, const char *path,
    off_t *size, struct ckpt_error *e)
{
	struct stat st;
	int fd = open_read(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY), rc;

	if (fd < 0)
		return open_error(e, path, errno, "a checkpoint file");
	if (fstat(fd, &st) < 0)
		rc = error_set(e, -errno, path, -1, "stat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = error_set(e, -EBADMSG, path, -1, "%s, not a checkpoint "
		    "file: refused", kind_of(st.st_mode));
	else {
		if (size != NULL)
			*size = st.st_size;
		return fd;
	}
	close(fd);
	return rc;
}

int
at_read_text(int dirfd, const char *name, char *buf, size_t len,
    const char *path, struct ckpt_error *e)
{
	ssize_t n;
	int fd;

	if ((fd = at_open_file(dirfd, name, O_RDONLY, path, NULL, e)) < 0)
		return fd;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return error_set(e, -errno, path, -1, "read: %s",
		    strerror(errno));
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}
