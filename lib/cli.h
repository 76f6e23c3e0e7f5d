/*
 * cli.h: what every binary's main shares: reading its JSON or text input
 * (a file, or stdin), durations, the --version line.
 */
#ifndef CKPT_CLI_H
#define CKPT_CLI_H

#include <stddef.h>

#include "error.h"


/* All of file (or stdin) as text, at most len-1 bytes, newline cut. */
int cli_read_text(const char *file, char *buf, size_t len,
    struct ckpt_error *e);
void cli_version(void);
/* Each of fds 0, 1 and 2 that is closed is opened on /dev/null, so that
 * nothing opened later (a lock, a checkpoint) takes its number.  Called
 * first thing in every main.  0, or -errno. */
int cli_std_fds(void);
/* The one duration parser: "1500ms", "2s", "15min", "1h", "7d", "3"
 * (seconds) into milliseconds: 0, or -EINVAL with e naming the option
 * (opt) and the text. */
int cli_duration(const char *opt, const char *text, long long *ms,
    struct ckpt_error *e);
/* "4096", "64K", "10M", "2G" (powers of 1024) into bytes: 0, or -EINVAL. */
int cli_size(const char *text, long long *bytes);

/* A time (seconds since the epoch) as people read it: ISO 8601 in local
 * time with milliseconds and the offset, "2023-11-14T22:13:20.500+00:00"
 * (like journalctl -o short-iso-precise); "-" for 0.  Into buf (at
 * least 40 bytes). */
const char *cli_time_iso(double t, char *buf, size_t len);

#endif
