#include "gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "state.h"
#include "workdir.h"

static int
remove_at(int parent, const char *name, struct ckpt_error *e, const char *top)
{
	struct stat st;
	int fd, rc = 0;
	DIR *d;
	struct dirent *de;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_set(e, -errno, top, -1,
		    "stat %s: %s", name, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
			return error_set(e, -errno, top, -1, "unlink %s: %s",
			    name, strerror(errno));
		return 0;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		rc = error_set(e, -errno, top, -1, "open %s: %s", name,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = remove_at(dirfd(d), de->d_name, e, top);
	closedir(d);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = error_set(e, -errno, top, -1, "rmdir %s: %s", name,
		    strerror(errno));
	return rc;
}

int
gc_remove_tree(const char *path, struct ckpt_error *e)
{
	return remove_at(AT_FDCWD, path, e, path);
}

int
gc_runs(const char *work, time_t before, bool dry_run, gc_cb cb, void *ctx,
    struct ckpt_error *e)
{
	struct state_options so = { .strict = false };
	struct state *s;
	int rc, n = 0, lock;

	/* No agent: hold the lock so that none starts meanwhile.  An agent:
	 * it never touches a terminated run again. */
	lock = dry_run ? -1 : workdir_lock(work, NULL);
	if ((rc = state_read(work, &so, &s, e)) < 0) {
		if (lock >= 0)
			close(lock);
		return rc;
	}
	for (size_t a = 0; rc == 0 && a < s->n_agents; a++)
	for (size_t f = 0; rc == 0 && f < s->agents[a].n_frameworks; f++) {
		const struct state_framework *fw = &s->agents[a].frameworks[f];
		for (size_t x = 0; rc == 0 && x < fw->n_executors; x++)
		for (size_t r = 0; rc == 0 && r < fw->executors[x].n_runs; r++) {
			const struct state_run *run = &fw->executors[x].runs[r];
			struct ckpt_ids ids = { s->agents[a].id, fw->id,
			    fw->executors[x].id, run->id, NULL };
			char meta[PATH_MAX], box[PATH_MAX], sentinel[PATH_MAX];
			struct stat st;
			if (!run->completed)
				continue;
			path_build(sentinel, sizeof(sentinel), work,
			    PATH_SENTINEL, &ids, NULL);
			if (lstat(sentinel, &st) < 0 || st.st_mtime > before)
				continue;
			path_build(meta, sizeof(meta), work, PATH_RUN, &ids, NULL);
			path_build(box, sizeof(box), work, PATH_SANDBOX, &ids, NULL);
			n++;
			if (access(box, F_OK) == 0) {
				if (cb)
					cb(ctx, box);
				if (!dry_run)
					rc = gc_remove_tree(box, e);
			}
			if (cb)
				cb(ctx, meta);
			if (!dry_run && rc == 0)
				rc = gc_remove_tree(meta, e);
		}
	}
	state_free(s);
	if (lock >= 0)
		close(lock);
	return rc < 0 ? rc : n;
}
