/*
 * walker.c: the walker's own: the paths its errors name, a recovery
 * error fatal or noted, directory listings, and the small files (walker.h).
 */
#include "walker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "at.h"
#include "paths.h"
#include "proc.h"
#include "record.h"
#include "taskstate.h"

/* ---- errors and paths ---- */


/* A recovery error: fatal when strict, else noted on the node. */
int
wk_problem(struct walker *w, struct state_errors *l)
{
	struct ckpt_error *e = w->e;

	if (w->o->strict || e->code == -ENOMEM)
		return e->code ? e->code : -EBADMSG;
	return state_error_add(l, e);
}

/* Enter subdirectory name (for error paths): the old length. */
size_t
wk_push(struct walker *w, const char *name)
{
	size_t old = w->len;
	int n = snprintf(w->dir + w->len, sizeof(w->dir) - w->len, "/%s", name);

	if (n > 0 && (size_t)n < sizeof(w->dir) - w->len)
		w->len += (size_t)n;
	return old;
}

void
wk_pop(struct walker *w, size_t old)
{
	w->len = old;
	w->dir[old] = '\0';
}

const char *
wk_file(struct walker *w, const char *name)
{
	if (snprintf(w->file, sizeof(w->file), "%s/%s", w->dir, name) >=
	    (int)sizeof(w->file))
		w->file[sizeof(w->file) - 1] = '\0';
	return w->file;
}

/* ---- listing a directory ---- */


static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
wk_names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static pthread_mutex_t skipped_mu = PTHREAD_MUTEX_INITIALIZER;

/* An entry passed over: the visitor hears of it. */
void
wk_skipped(struct walker *w, const char *name, const char *why)
{
	char path[PATH_MAX + 256];

	if (w->v == NULL || w->v->skipped == NULL)
		return;
	snprintf(path, sizeof(path), "%.*s/%s", (int)w->len, w->dir, name);
	pthread_mutex_lock(&skipped_mu);
	w->v->skipped(w->v->ctx, path, why);
	pthread_mutex_unlock(&skipped_mu);
}

/* The subdirectories of fd that are ids (not '.'-names, not `latest`, no
 * links), sorted.  Read with getdents64 on fd itself: no second
 * descriptor, no DIR (fd is fresh, at offset 0, and is closed by the
 * caller). */
int
wk_names_list(struct walker *w, int fd, struct names *l)
{
	char buf[32768];
	size_t cap = 0;
	long n;

	memset(l, 0, sizeof(*l));
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n; ) {
			struct linux_dirent64 {
				uint64_t d_ino;
				int64_t d_off;
				unsigned short d_reclen;
				unsigned char d_type;
				char d_name[];
			} *d = (void *)(buf + off);
			struct stat st;
			off += d->d_reclen;
			/* (A temporary name: a write a crash cut short,
			 * never state, and no stray to report.) */
			if (d->d_name[0] == '.' || strcmp(d->d_name, "latest") == 0 ||
			    strstr(d->d_name, ".tmp.") != NULL)
				continue;
			if (d->d_type != DT_DIR && (d->d_type != DT_UNKNOWN ||
			    fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))) {
				wk_skipped(w, d->d_name, d->d_type == DT_LNK ?
				    "a symbolic link, not a directory: skipped" :
				    "not a directory: skipped");
				continue;
			}
			if (id_validate(d->d_name, "entry", NULL) < 0) {
				wk_skipped(w, d->d_name, "not a valid id: skipped");
				continue;
			}
			if (l->n == cap) {
				char **nv = reallocarray(l->v, cap ? 2 * cap : 16,
				    sizeof(*nv));
				if (nv == NULL)
					goto nomem;
				l->v = nv;
				cap = cap ? 2 * cap : 16;
			}
			if ((l->v[l->n] = strdup(d->d_name)) == NULL)
				goto nomem;
			l->n++;
		}
	}
	if (n < 0) {
		int err = errno;
		wk_names_free(l);
		return error_set(w->e, -err, w->dir, -1, "list: %s",
		    strerror(err));
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_names);
	return 0;
nomem:
	wk_names_free(l);
	return error_set(w->e, -ENOMEM, w->dir, -1, "out of memory");
}

/* Open subdirectory name of fd: its fd, -ENOENT when absent (fine),
 * or an error noted on l (fatal when strict). */
int
wk_sub_open(struct walker *w, int fd, const char *name, struct state_errors *l)
{
	int rc = at_open_dir(fd, name, wk_file(w, name), w->e);

	if (rc >= 0 || rc == -ENOENT)
		return rc;
	if ((rc = wk_problem(w, l)) < 0)
		return rc;
	return -ENOENT;
}

/* ---- reading the small files ---- */

/* A text file into a new string (NULL when absent); errors on l. */
int
wk_text_dup_at(struct walker *w, int fd, const char *name, char **out,
    struct state_errors *l)
{
	char buf[4096];
	int rc = fd < 0 ? -ENOENT :
	    at_read_text(fd, name, buf, sizeof(buf), wk_file(w, name), w->e);

	*out = NULL;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return wk_problem(w, l);
	return (*out = strdup(buf)) ? 0 : -ENOMEM;
}

/* Read an .info file: absent and empty are fine (NULL). */
int
wk_info_read(struct walker *w, int fd, const char *name,
    const ProtobufCMessageDescriptor *d, void *out, struct state_errors *l)
{
	int rc = record_read_fileat(fd, name, wk_file(w, name), d,
	    (ProtobufCMessage **)out, w->e);

	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? wk_problem(w, l) : 0;
}

/* Target of a `latest` link when it is a valid id, else NULL. */
int
wk_latest_read(struct walker *w, int fd, char **out, struct state_errors *l)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(fd, "latest", buf, sizeof(buf) - 1);

	*out = NULL;
	if (n < 0) {
		int err = errno;
		if (err == ENOENT)
			return 0;
		error_set(w->e, -EBADMSG, wk_file(w, "latest"), -1, "%s",
		    err == EINVAL ? "not a symbolic link" : strerror(err));
		return wk_problem(w, l);
	}
	buf[n] = '\0';
	if (id_validate(buf, "latest link target", NULL) < 0) {
		error_set(w->e, -EBADMSG, wk_file(w, "latest"), -1,
		    "latest link names '%s', not an id", buf);
		return wk_problem(w, l);
	}
	return (*out = strdup(buf)) ? 0 : -ENOMEM;
}

