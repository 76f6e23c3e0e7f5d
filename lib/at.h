/*
 * at.h: opening what lies inside a work dir relative to a directory fd,
 * so that no symbolic link is ever followed and no FIFO or device ever
 * blocks a reader.  A directory is opened with O_NOFOLLOW|O_DIRECTORY at
 * every component; a checkpoint file with O_NOFOLLOW|O_NONBLOCK and is
 * then required to be a regular file.  `path` arguments only name the
 * thing in errors.
 */
#ifndef CKPT_AT_H
#define CKPT_AT_H

#include <stddef.h>

#include <sys/types.h>

#include "error.h"

/* The directory name below dirfd: its fd, or a negative code (-ENOENT
 * when absent, -ELOOP for a symbolic link, -ENOTDIR). */
int at_open_dir(int dirfd, const char *name, const char *path,
    struct ckpt_error *e);
/* Walk rel ("a/b/c") from dirfd one component at a time, each opened as
 * at_open_dir does: the fd of the last directory. */
int at_open_dirs(int dirfd, const char *rel, const char *path,
    struct ckpt_error *e);
/* The regular file name below dirfd, opened with flags (O_RDONLY,
 * O_WRONLY...) and O_NONBLOCK (which a regular file ignores; a FIFO is
 * never waited for): its fd and, when size is not NULL, its size; or
 * -ENOENT, -ELOOP, -EBADMSG for anything but a regular file (a FIFO, a
 * socket, a device). */
int at_open_file(int dirfd, const char *name, int flags, const char *path,
    off_t *size, struct ckpt_error *e);
/* A small text file (pid files, boot id) into buf, trailing newline and
 * blanks cut: 0, or what at_open_file returns. */
int at_read_text(int dirfd, const char *name, char *buf, size_t len,
    const char *path, struct ckpt_error *e);

#endif
