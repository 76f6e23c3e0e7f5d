#include "workdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "at.h"
#include "durable.h"
#include "paths.h"
#include "version.h"

static int meta_open(const char *work, struct ckpt_error *e);

int
text_read(const char *path, char *buf, size_t len, struct ckpt_error *e)
{
	return at_read_text(AT_FDCWD, path, buf, len, path, e);
}

int
bootid_current(char *buf, size_t len, struct ckpt_error *e)
{
	const char *path = getenv("CKPT_BOOT_ID_SOURCE");

	return text_read(path ? path : "/proc/sys/kernel/random/boot_id", buf,
	    len, e);
}

int
bootid_read(const char *work, char *buf, size_t len, struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, PATH_BOOT_ID, NULL, e)) < 0)
		return rc;
	return text_read(path, buf, len, e);
}

int
bootid_write(const char *work, const char *id, struct ckpt_error *e)
{
	char path[PATH_MAX], line[128];
	int rc, n;

	if ((rc = meta_open(work, e)) < 0)
		return rc;	/* meta/ a planted link: nothing written */
	close(rc);
	if ((rc = path_build(path, sizeof(path), work, PATH_BOOT_ID, NULL, e)) < 0)
		return rc;
	n = snprintf(line, sizeof(line), "%s\n", id);
	return durable_write(path, line, (size_t)n, e);
}

int
workdir_version_note(const char *work, const char *line,
    struct ckpt_error *e)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = meta_open(work, e)) < 0)
		return rc;
	close(rc);
	if ((rc = path_build(path, sizeof(path), work, PATH_VERSIONS, NULL,
	    e)) < 0)
		return rc;
	/* A line per start: past 64 KiB the file starts again (the
	 * latest starts are what an incident needs). */
	if (stat(path, &st) == 0 && st.st_size > 65536)
		return durable_write(path, line, strlen(line), e);
	return durable_append(path, line, strlen(line), e);
}

static int
caps_read(const char *work, char *path, size_t plen, char *text,
    size_t tlen, struct ckpt_error *e)
{
	int rc;

	if ((rc = path_build(path, plen, work, PATH_CAPABILITIES, NULL, e)) < 0)
		return rc;
	text[0] = '\0';
	if ((rc = text_read(path, text, tlen, e)) < 0 && rc != -ENOENT)
		return rc;
	return 0;
}

int
workdir_caps_check(const char *work, struct ckpt_error *e)
{
	char path[PATH_MAX], text[4096], lacks[1024] = "", *save, *name;
	int rc;

	if ((rc = caps_read(work, path, sizeof(path), text, sizeof(text),
	    e)) < 0)
		return rc;
	for (name = strtok_r(text, "\n", &save); name;
	    name = strtok_r(NULL, "\n", &save)) {
		if (name[0] == '#' || name[0] == '\0' || version_knows(name))
			continue;
		if (lacks[0])
			strlcat(lacks, ", ", sizeof(lacks));
		strlcat(lacks, name, sizeof(lacks));
	}
	if (lacks[0] == '\0')
		return 0;
	return error_set(e, -EPROTONOSUPPORT, path, -1, "the work dir's tasks "
	    "use what release %s lacks: %s (a newer release recorded it; "
	    "recover with that release or a later one, or kill its tasks "
	    "and start afresh: --recover=cleanup)", version_release(), lacks);
}

int
workdir_caps_record(const char *work, const char *name,
    struct ckpt_error *e)
{
	char path[PATH_MAX], text[4096], line[256], *p;
	size_t n;
	int rc;

	if ((rc = caps_read(work, path, sizeof(path), text, sizeof(text),
	    e)) < 0)
		return rc;
	n = strlen(name);
	for (p = text; (p = strstr(p, name)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' ||
		    p[n] == '\0'))
			return 0;	/* there already */
	if (text[0] == '\0')
		snprintf(text, sizeof(text), "# what recovering this work dir "
		    "needs: an agent-run that lacks one refuses to start\n");
	else
		strlcat(text, "\n", sizeof(text));
	snprintf(line, sizeof(line), "%s\n", name);
	if (strlcat(text, line, sizeof(text)) >= sizeof(text))
		return error_set(e, -ENOSPC, path, -1, "too many capabilities");
	return durable_write(path, text, strlen(text), e);
}

int
workdir_caps_clear(const char *work, struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, PATH_CAPABILITIES, NULL,
	    e)) < 0)
		return rc;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	return durable_unlink(path, e);
}

/* meta/ of the work dir (made if absent), opened without following a
 * link planted in its place: its fd, or an error naming it. */
static int
meta_open(const char *work, struct ckpt_error *e)
{
	char path[PATH_MAX];
	int wfd, fd, rc;

	if ((rc = path_build(path, sizeof(path), work, PATH_META, NULL, e)) < 0)
		return rc;
	if ((wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT || (rc = durable_mkdirs(path, e)) < 0)
			return errno == ENOENT ? rc : error_set(e, -errno, work,
			    -1, "%s", strerror(errno));
		if ((wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return error_set(e, -errno, work, -1, "%s",
			    strerror(errno));
	}
	fd = openat(wfd, "meta", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* The lock is not state: an existing meta/ is not synced
		 * again for it (the writes that follow make their
		 * directories durable). */
		if ((rc = durable_mkdirs(path, e)) < 0) {
			close(wfd);
			return rc;
		}
		fd = openat(wfd, "meta", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	}
	rc = errno;
	close(wfd);
	if (fd < 0)
		return error_set(e, -rc, path, -1, rc == ELOOP || rc == ENOTDIR ?
		    "not a directory (a symbolic link inside the work dir?): "
		    "refused" : "%s", strerror(rc));
	return fd;
}

int
workdir_lock(const char *work, struct ckpt_error *e)
{
	char path[PATH_MAX], pid[32];
	int fd, mfd, rc, n;

	if ((mfd = meta_open(work, e)) < 0)
		return mfd;
	if ((rc = path_build(path, sizeof(path), work, PATH_LOCK, NULL, e)) < 0) {
		close(mfd);
		return rc;
	}
	fd = openat(mfd, "agent.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	rc = errno;
	close(mfd);
	if (fd < 0)
		return error_set(e, -rc, path, -1, "open lock: %s%s", strerror(rc),
		    rc == ELOOP ? " (a symbolic link inside the work dir: "
		    "refused)" : "");
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		if (saved == EWOULDBLOCK)
			return error_set(e, -EAGAIN, path, -1,
			    "work dir is locked by another agent%s%s",
			    pid[0] ? ", pid " : "", pid);
		return error_set(e, -saved, path, -1, "flock: %s",
		    strerror(saved));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		rc = error_set(e, -errno, path, -1, "write lock: %s",
		    strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int
workdir_locked(const char *work)
{
	char path[PATH_MAX];
	int fd, locked;

	if (path_build(path, sizeof(path), work, PATH_LOCK, NULL, NULL) < 0)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	locked = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}

int
workdir_check(const char *work, struct ckpt_error *e)
{
	struct stat st;

	if (lstat(work, &st) < 0)
		return errno == ENOENT ? 0 : error_set(e, -errno, work, -1, "%s",
		    strerror(errno));
	if (S_ISLNK(st.st_mode) && stat(work, &st) < 0)
		return error_set(e, -errno, work, -1, "%s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return error_set(e, -ENOTDIR, work, -1, "not a directory");
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return error_set(e, -EPERM, work, -1, "owned by uid %ld, not by "
		    "us (uid %ld): refused", (long)st.st_uid, (long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return error_set(e, -EPERM, work, -1, "writable by %s (mode "
		    "%03o): refused; chmod 0700 it", st.st_mode & S_IWOTH ?
		    "everyone" : "its group", st.st_mode & 0777);
	return 0;
}

int
workdir_no_links(const char *work, const char *path, struct ckpt_error *e)
{
	size_t n = strlen(work);
	char buf[PATH_MAX];
	struct stat st;

	if (strncmp(path, work, n) != 0 || strlcpy(buf, path, sizeof(buf)) >=
	    sizeof(buf))
		return 0;
	for (char *p = buf + n; *p; p++) {
		if (*p != '/' || p == buf + n)
			continue;
		*p = '\0';
		if (lstat(buf, &st) == 0 && S_ISLNK(st.st_mode))
			return error_set(e, -ELOOP, buf, -1, "a symbolic link "
			    "inside the work dir: refused");
		*p = '/';
	}
	if (lstat(buf, &st) == 0 && S_ISLNK(st.st_mode) && strstr(buf,
	    "/latest") == NULL)
		return error_set(e, -ELOOP, buf, -1, "a symbolic link inside "
		    "the work dir: refused");
	return 0;
}

int
workdir_open_dir(const char *work, int kind, const struct ckpt_ids *ids,
    struct ckpt_error *e)
{
	char rel[PATH_MAX], full[PATH_MAX];
	int wfd, fd, rc;

	if ((rc = path_build(rel, sizeof(rel), "", kind, ids, e)) < 0 ||
	    (rc = path_build(full, sizeof(full), work, kind, ids, e)) < 0)
		return rc;
	if ((wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return error_set(e, -errno, work, -1, "%s", strerror(errno));
	fd = at_open_dirs(wfd, rel, full, e);
	close(wfd);
	return fd;
}
