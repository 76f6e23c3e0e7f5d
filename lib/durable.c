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

/* ---- batches ---- */

void
dbatch_init(struct dbatch *b)
{
	memset(b, 0, sizeof(*b));
	b->fs_fd = -1;
}

static void
obj_release(struct dbatch_obj *o)
{
	if (o->own && o->fd >= 0)
		close(o->fd);
	free(o->dir);
	free(o->path);
}

static void
objs_release(struct dbatch *b)
{
	for (size_t i = 0; i < b->n_obj; i++)
		obj_release(&b->obj[i]);
	b->n_obj = 0;
	b->all = false;
}

/* Something the next barrier must sync: the file fd (closed after it if
 * own) or the directory dir; path names it. */
static int
add_obj(struct dbatch *b, int fd, bool own, const char *dir, const char *path,
    struct ckpt_error *e)
{
	struct dbatch_obj o = { fd, own, dir ? strdup(dir) : NULL, strdup(path) };

	if (o.path == NULL || (dir && o.dir == NULL)) {
		obj_release(&o);
		return error_set(e, -ENOMEM, path, -1, "out of memory");
	}
	b->n_ops++;
	for (size_t i = 0; !b->all && i < b->n_obj; i++)
		if ((fd >= 0 && b->obj[i].fd == fd) || (dir && b->obj[i].dir &&
		    strcmp(b->obj[i].dir, dir) == 0)) {
			obj_release(&o);
			return 0;
		}
	if (!b->all && (b->n_obj < DBATCH_FEW || (b->n_obj < DBATCH_MANY &&
	    b->fs_fd >= 0))) {
		b->obj[b->n_obj++] = o;
		return 0;
	}
	/* Many: a syncfs may do them all (barrier()); its file system. */
	if (b->fs_fd < 0) {
		char d[PATH_MAX];
		if (dir)
			strlcpy(d, dir, sizeof(d));
		else
			dir_of(path, d);
		strlcpy(b->fs_path, d, sizeof(b->fs_path));
		if ((b->fs_fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			int rc = fail(e, d, "open directory");
			obj_release(&o);
			return rc;
		}
		if (b->n_obj < DBATCH_MANY) {
			b->obj[b->n_obj++] = o;
			return 0;
		}
	}
	objs_release(b);
	obj_release(&o);
	b->all = true;
	return 0;
}

/* Has the host little dirty data (its own writeback a syncfs would wait
 * for), for a barrier of n objects?  See durable.h. */
static bool
host_quiet(size_t n)
{
#ifdef CKPT_FAULT
	(void)n;
	return false;	/* every object's own fault point */
#else
	char line[128];
	long long kb, dirty = 0;
	FILE *fp = fopen("/proc/meminfo", "re");

	if (fp == NULL)
		return false;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Dirty: %lld", &kb) == 1 ||
		    sscanf(line, "Writeback: %lld", &kb) == 1)
			dirty += kb;
	fclose(fp);
	return dirty <= 4096 + 8 * (long long)n;
#endif
}

/* Sync what is owed: one by one, or the whole file system at once. */
static int
barrier(struct dbatch *b, struct ckpt_error *e)
{
	int rc = 0;

	if (!b->all && b->n_obj > DBATCH_FEW && host_quiet(b->n_obj)) {
		objs_release(b);
		b->all = true;
	}
	if (b->all) {
		b->syncs++;
		if (fault_point("fsync", "(syncfs)") < 0 || syncfs(b->fs_fd) < 0)
			rc = fail(e, b->fs_path, "syncfs (its file system)");
	}
	for (size_t i = 0; rc == 0 && !b->all && i < b->n_obj; i++) {
		struct dbatch_obj *o = &b->obj[i];
		b->syncs++;
		if (o->dir)
			rc = durable_fsync_dir(o->dir, e);
		else if (fault_point("fsync", o->path) < 0 ||
		    (o->own ? fsync(o->fd) : fdatasync(o->fd)) < 0)
			rc = fail(e, o->path, o->own ? "fsync" : "fdatasync");
	}
	objs_release(b);
	return rc;
}

void
dbatch_mark(const struct dbatch *b, struct dbatch_mark *m)
{
	m->n_ren = b->n_ren;
	m->n_obj = b->n_obj;
	m->all = b->all;
}

void
dbatch_rollback(struct dbatch *b, const struct dbatch_mark *m)
{
	while (b->n_ren > m->n_ren) {
		struct dbatch_rename *r = &b->ren[--b->n_ren];
		unlink(r->tmp);
		free(r->tmp);
		free(r->path);
	}
	/* (Past the point where one syncfs does all, nothing to take back:
	 * it syncs what is there.) */
	while (!b->all && b->n_obj > m->n_obj)
		obj_release(&b->obj[--b->n_obj]);
}

static void
renames_free(struct dbatch *b, size_t from)
{
	for (size_t i = 0; i < b->n_ren; i++) {
		if (i >= from)
			unlink(b->ren[i].tmp);
		free(b->ren[i].tmp);
		free(b->ren[i].path);
	}
	free(b->ren);
	b->ren = NULL;
	b->n_ren = b->cap_ren = 0;
}

static int write_apps(struct dbatch *b, struct ckpt_error *e);
static void apps_free(struct dbatch *b);

int
dbatch_commit(struct dbatch *b, struct ckpt_error *e)
{
	char dir[PATH_MAX];
	size_t i = 0;
	int rc = 0;

	b->full = false;
	rc = write_apps(b, e);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		b->full = true;	/* the caller may make room: see durable.h */
		return rc;
	}
	apps_free(b);
	if (rc == 0 && (b->n_obj > 0 || b->all))
		rc = barrier(b, e);
	for (; rc == 0 && i < b->n_ren; i++) {
		struct dbatch_rename *r = &b->ren[i];
		if (fault_point("rename", r->path) < 0 ||
		    rename(r->tmp, r->path) < 0) {
			rc = fail(e, r->path, "rename");
			break;
		}
		dir_of(r->path, dir);
		if ((rc = add_obj(b, -1, false, dir, r->path, e)) < 0)
			i++;
	}
	if (rc == 0 && (b->n_obj > 0 || b->all))
		rc = barrier(b, e);
	objs_release(b);
	renames_free(b, i);
	if (b->fs_fd >= 0)
		close(b->fs_fd);
	b->fs_fd = -1;
	b->n_ops = 0;
	return rc;
}

void
dbatch_abort(struct dbatch *b)
{
	apps_free(b);
	objs_release(b);
	renames_free(b, 0);
	if (b->fs_fd >= 0)
		close(b->fs_fd);
	b->fs_fd = -1;
	b->n_ops = 0;
}

static int
add_rename(struct dbatch *b, const char *tmp, const char *path,
    struct ckpt_error *e)
{
	if (b->n_ren == b->cap_ren) {
		size_t cap = b->cap_ren ? b->cap_ren * 2 : 8;
		struct dbatch_rename *r = reallocarray(b->ren, cap, sizeof(*r));
		if (r == NULL)
			return error_set(e, -ENOMEM, path, -1, "out of memory");
		b->ren = r;
		b->cap_ren = cap;
	}
	b->ren[b->n_ren].tmp = strdup(tmp);
	b->ren[b->n_ren].path = strdup(path);
	if (b->ren[b->n_ren].tmp == NULL || b->ren[b->n_ren].path == NULL) {
		free(b->ren[b->n_ren].tmp);
		free(b->ren[b->n_ren].path);
		return error_set(e, -ENOMEM, path, -1, "out of memory");
	}
	b->n_ren++;
	b->n_ops++;
	return 0;
}

int
dbatch_write(struct dbatch *b, const char *path, const void *buf, size_t len,
    struct ckpt_error *e)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return error_set(e, -ENAMETOOLONG, path, -1, "path too long");
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return fail(e, path, "create temporary file");
	if (fault_point("write", path) < 0 || write_all(fd, buf, len) < 0) {
		rc = fail(e, path, "write");
		close(fd);
		unlink(tmp);
		return rc;
	}
	if ((rc = add_rename(b, tmp, path, e)) < 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	return add_obj(b, fd, true, NULL, path, e);
}

int
dbatch_symlink(struct dbatch *b, const char *target, const char *linkpath,
    struct ckpt_error *e)
{
	static unsigned serial;
	char tmp[PATH_MAX];
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", linkpath,
	    (long)getpid(), serial++) >= (int)sizeof(tmp))
		return error_set(e, -ENAMETOOLONG, linkpath, -1,
		    "path too long");
	unlink(tmp);
	if (fault_point("symlink", linkpath) < 0 || symlink(target, tmp) < 0)
		return fail(e, linkpath, "symlink");
	if ((rc = add_rename(b, tmp, linkpath, e)) < 0)
		unlink(tmp);
	return rc;
}

int
dbatch_mkdirs(struct dbatch *b, const char *path, struct ckpt_error *e)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc;

	dir_of(path, dir);
	/* A directory that exists may have been made by a process that died
	 * before syncing it into its parent: sync it now, or what is written
	 * below it may be durable while its name is not. */
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return error_set(e, -ENOTDIR, path, -1, "not a directory");
		return add_obj(b, -1, false, dir, path, e);
	}
	if (errno != ENOENT)
		return fail(e, path, "stat");
	if (strcmp(dir, path) != 0 && (rc = dbatch_mkdirs(b, dir, e)) < 0)
		return rc;
	if (fault_point("mkdir", path) < 0 ||
	    (mkdir(path, 0700) < 0 && errno != EEXIST))
		return fail(e, path, "mkdir");
	return add_obj(b, -1, false, dir, path, e);
}

int
dbatch_open_append(struct dbatch *b, const char *path, struct ckpt_error *e)
{
	const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK;
	char dir[PATH_MAX];
	struct stat st;
	int fd, rc;

	fd = open(path, flags);
	if (fd < 0 && errno == ENOENT) {
		if ((fd = open(path, flags | O_CREAT | O_EXCL, 0600)) >= 0) {
			dir_of(path, dir);
			if ((rc = add_obj(b, -1, false, dir, path, e)) < 0) {
				close(fd);
				return rc;
			}
		}
	}
	if (fd < 0)
		return errno == ELOOP ? error_set(e, -ELOOP, path, -1,
		    "is a symbolic link") : fail(e, path, "open for append");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = S_ISREG(st.st_mode) ? fail(e, path, "stat") :
		    error_set(e, -EBADMSG, path, -1, "not a regular file");
		close(fd);
		return rc;
	}
	fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	return fd;
}

int
dbatch_append(struct dbatch *b, int fd, const char *path, const void *buf,
    size_t len, struct ckpt_error *e)
{
	struct dbatch_app *a = NULL;

	for (size_t i = b->n_app; i-- > 0; )
		if (b->app[i].fd == fd) {
			a = &b->app[i];
			break;
		}
	if (a == NULL) {
		if (b->n_app == b->cap_app) {
			size_t cap = b->cap_app ? b->cap_app * 2 : 16;
			struct dbatch_app *v = reallocarray(b->app, cap, sizeof(*v));
			if (v == NULL)
				return error_set(e, -ENOMEM, path, -1,
				    "out of memory");
			b->app = v;
			b->cap_app = cap;
		}
		a = &b->app[b->n_app];
		*a = (struct dbatch_app){ .fd = fd, .path = strdup(path) };
		if (a->path == NULL)
			return error_set(e, -ENOMEM, path, -1, "out of memory");
		b->n_app++;
	}
	if (a->len + len > a->cap) {
		size_t cap = a->cap ? a->cap : 512;
		while (cap < a->len + len)
			cap *= 2;
		char *v = realloc(a->buf, cap);
		if (v == NULL)
			return error_set(e, -ENOMEM, path, -1, "out of memory");
		a->buf = v;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, buf, len);
	a->len += len;
	b->n_ops++;
	return 0;
}

static void
apps_free(struct dbatch *b)
{
	for (size_t i = 0; i < b->n_app; i++) {
		free(b->app[i].path);
		free(b->app[i].buf);
	}
	free(b->app);
	b->app = NULL;
	b->n_app = b->cap_app = 0;
}

/* Each file's gathered appends in one write, then owed to the barrier. */
static int
write_apps(struct dbatch *b, struct ckpt_error *e)
{
	for (size_t i = 0; i < b->n_app; i++) {
		struct dbatch_app *a = &b->app[i];
		struct stat st;
		int rc;

		if (a->written)
			continue;
		if (fstat(a->fd, &st) < 0)
			return fail(e, a->path, "stat");
		if (fault_point("write", a->path) < 0 ||
		    write_all(a->fd, a->buf, a->len) < 0) {
			rc = fail(e, a->path, "append");
			/* Leave no partial record: cut back to where we began. */
			if (ftruncate(a->fd, st.st_size) == 0)
				fdatasync(a->fd);
			return rc;
		}
		a->written = true;
		if ((rc = add_obj(b, a->fd, false, NULL, a->path, e)) < 0)
			return rc;
	}
	return 0;
}

/* ---- one durable change at a time: a batch of one ---- */

static int
commit_one(struct dbatch *b, int rc, struct ckpt_error *e)
{
	if (rc < 0) {
		dbatch_abort(b);
		return rc;
	}
	return dbatch_commit(b, e);
}

int
durable_write(const char *path, const void *buf, size_t len,
    struct ckpt_error *e)
{
	struct dbatch b;

	dbatch_init(&b);
	return commit_one(&b, dbatch_write(&b, path, buf, len, e), e);
}

int
durable_append(const char *path, const void *buf, size_t len,
    struct ckpt_error *e)
{
	struct dbatch b;
	int fd, rc;

	dbatch_init(&b);
	if ((fd = dbatch_open_append(&b, path, e)) < 0)
		return commit_one(&b, fd, e);
	rc = commit_one(&b, dbatch_append(&b, fd, path, buf, len, e), e);
	close(fd);
	return rc;
}

int
durable_mkdirs(const char *path, struct ckpt_error *e)
{
	struct dbatch b;
	int rc;

	dbatch_init(&b);
	rc = commit_one(&b, dbatch_mkdirs(&b, path, e), e);
	if (rc < 0 && strcmp(e->path, path) != 0) {
		char reason[sizeof(e->reason)], what[sizeof(e->path)];
		strlcpy(reason, e->reason, sizeof(reason));
		strlcpy(what, e->path, sizeof(what));
		error_set(e, rc, path, -1, "%.200s: %.300s", what, reason);
	}
	return rc;
}

int
durable_symlink(const char *target, const char *linkpath,
    struct ckpt_error *e)
{
	struct dbatch b;

	dbatch_init(&b);
	return commit_one(&b, dbatch_symlink(&b, target, linkpath, e), e);
}

int
durable_truncate_at(int dirfd, const char *name, const char *path, off_t len,
    struct ckpt_error *e)
{
	int fd, rc = 0;

	struct stat st;

	if ((fd = at_open_file(dirfd, name, O_WRONLY, path, NULL, e)) < 0)
		return fd;
	/* A hard link may name a file outside the work dir: never cut. */
	if (fstat(fd, &st) == 0 && st.st_nlink > 1) {
		close(fd);
		return error_set(e, -EMLINK, path, -1, "has %ld links (a hard "
		    "link to a file that may live outside the work dir): not "
		    "truncated", (long)st.st_nlink);
	}
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
