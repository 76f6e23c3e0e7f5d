/*
 * durable.h: writes that survive a crash at any point.
 * A replaced file is written to a temporary file in the same directory,
 * fsynced, renamed over the target, and the directory fsynced; an append
 * is fsynced before the call returns; every directory created is fsynced
 * into its parent.  On error nothing partial is left behind.
 */
#ifndef CKPT_DURABLE_H
#define CKPT_DURABLE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/*
 * A batch: many writes, one set of sync barriers (group commit).  Files
 * are written (a replaced one to its temporary name) and directories
 * made with no sync, appends gathered in memory; dbatch_commit writes
 * each file's appends in one write (so that a power cut can only tear
 * its tail, never leave a hole before a later record), then makes it
 * all durable in two barriers: (1) every file written and directory
 * changed is synced, (2) the renames are done and their directories
 * synced.  A barrier syncs exactly the objects it owes (fsync, fdatasync),
 * one by one.  One syncfs(2) of the file system does it instead when
 * that is cheaper and waits for nobody else: past DBATCH_FEW objects
 * while the host has little dirty data of anyone's (Dirty + Writeback in
 * /proc/meminfo at most 4 MiB + 8 KiB per object: a tenant's bulk writes
 * would make a syncfs wait for their writeback), and always past
 * DBATCH_MANY.  The plain durable_* calls below are a batch of one.
 * Nothing a batch wrote may be reported durable before dbatch_commit
 * returns 0.
 */
#define DBATCH_FEW	4
#define DBATCH_MANY	256

struct dbatch_obj {
	int fd;				/* a file to sync, or -1 */
	bool own;			/* close it after the barrier */
	char *dir;			/* a directory to fsync, or NULL */
	char *path;			/* names it in errors */
};

struct dbatch {
	int fs_fd;			/* any directory of the file system */
	char fs_path[PATH_MAX];		/* ... its path, for errors */
	bool all;			/* past DBATCH_MANY: syncfs */
	struct dbatch_obj obj[DBATCH_MANY];
	size_t n_obj;
	struct dbatch_rename { char *tmp, *path; } *ren;
	size_t n_ren, cap_ren;
	struct dbatch_app {		/* appends, one write per file */
		int fd;
		char *path;
		char *buf;
		size_t len, cap;
		bool written;		/* (a commit is tried again) */
	} *app;
	size_t n_app, cap_app;
	size_t n_ops;			/* anything written since the commit */
	bool full;			/* the commit stopped at a full file
					 * system, batch kept (dbatch_commit) */
	unsigned long long syncs;	/* fsync, fdatasync, syncfs calls made,
					 * since dbatch_init */
};

void dbatch_init(struct dbatch *b);
/* A point in the batch to come back to: what was added after it (files
 * written to their temporary names, objects to sync) is taken back by
 * dbatch_rollback (temporary files removed; directories made meanwhile
 * are the caller's to remove).  Only files and syncs: appends are not
 * taken back. */
struct dbatch_mark {
	size_t n_ren, n_obj;
	bool all;
};
void dbatch_mark(const struct dbatch *b, struct dbatch_mark *m);
void dbatch_rollback(struct dbatch *b, const struct dbatch_mark *m);
/* Make everything durable, then rename; 0, or the first error (the
 * temporary files are removed; what was appended stays, unsynced).
 * Except when an append finds the file system full (-ENOSPC, -EDQUOT):
 * then nothing of that append is left, the batch is kept as it is and
 * b->full says so, and the caller may make room and commit again (what
 * was appended already is not appended twice), or abort.  A full file
 * system met anywhere else (a sync, a rename) is an error like any. */
int dbatch_commit(struct dbatch *b, struct ckpt_error *e);
/* Forget it all, removing the temporary files. */
void dbatch_abort(struct dbatch *b);
int dbatch_write(struct dbatch *b, const char *path, const void *buf,
    size_t len, struct ckpt_error *e);
int dbatch_symlink(struct dbatch *b, const char *target,
    const char *linkpath, struct ckpt_error *e);
int dbatch_mkdirs(struct dbatch *b, const char *path, struct ckpt_error *e);
/* Open path for appending (created 0600 if absent, never through a
 * symbolic link, a regular file only): the fd, kept by the caller. */
int dbatch_open_append(struct dbatch *b, const char *path,
    struct ckpt_error *e);
/* Append to fd (from dbatch_open_append) at the commit: all of buf, or
 * nothing (a failed write is cut back).  fd must stay open until then. */
int dbatch_append(struct dbatch *b, int fd, const char *path,
    const void *buf, size_t len, struct ckpt_error *e);

int durable_write(const char *path, const void *buf, size_t len,
    struct ckpt_error *e);
int durable_append(const char *path, const void *buf, size_t len,
    struct ckpt_error *e);
/* mkdir -p, mode 0700, each new directory fsynced into its parent, and
 * the parent of an existing one fsynced too (its maker may have died
 * before it did). */
int durable_mkdirs(const char *path, struct ckpt_error *e);
/* Make linkpath a symlink to target, atomically replacing it. */
int durable_symlink(const char *target, const char *linkpath,
    struct ckpt_error *e);
/* Cut path to len bytes and fsync it (repair of a torn tail). */
int durable_truncate(const char *path, off_t len, struct ckpt_error *e);
/* The same for name below dirfd (at.h rules); path names it in errors. */
int durable_truncate_at(int dirfd, const char *name, const char *path,
    off_t len, struct ckpt_error *e);
int durable_fsync_dir(const char *dir, struct ckpt_error *e);
/* Remove path (a file) and fsync its directory; absent is fine. */
int durable_unlink(const char *path, struct ckpt_error *e);

#endif
