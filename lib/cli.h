/*
 * cli.h: what every binary's main shares: reading its JSON or text input
 * (a file, or stdin), durations.
 */
#ifndef CKPT_CLI_H
#define CKPT_CLI_H

#include <stddef.h>

#include "error.h"


/* All of file (or stdin) as text, at most len-1 bytes, newline cut. */
int cli_read_text(const char *file, char *buf, size_t len,
    struct ckpt_error *e);
/* Each of fds 0, 1 and 2 that is closed is opened on /dev/null, so that
 * nothing opened later (a lock, a checkpoint) takes its number.  Called
 * first thing in every main.  0, or -errno. */
int cli_std_fds(void);
/* The one duration parser: "1500ms", "2s", "15min", "1h", "7d", "3"
 * (seconds) into milliseconds: 0, or -EINVAL with e naming the option
 * (opt) and the text. */
int cli_duration(const char *opt, const char *text, long long *ms,
    struct ckpt_error *e);
/* The one size parser: "4096", "64K", "10M", "2G" (powers of 1024) into
 * bytes, min at least: 0, or -EINVAL with e naming opt and the text. */
int cli_size(const char *opt, const char *text, long long min,
    long long *bytes, struct ckpt_error *e);
/* A whole number from min to max: 0, or -EINVAL with e naming opt. */
int cli_count(const char *opt, const char *text, long long min,
    long long max, long long *n, struct ckpt_error *e);
/* What bounds a task's output, one option table for agent-run (which
 * gives them to each executor) and agent-executor: --task-log-max (its
 * stdout and stderr rotated at), --task-log-keep (rotated files kept),
 * --disk-reserve (free bytes its output never takes). */
struct cli_bounds {
	long long log_max, log_keep, disk_reserve;
};
/* The defaults, the same in both: an agent passes only what differs,
 * so that an executor of an older release (without these options) runs
 * the tasks of an agent that bounds nothing new. */
#define CLI_BOUNDS_DEFAULT { .log_max = 10 << 20, .log_keep = 2, \
	.disk_reserve = 64 << 20 }
enum { CLI_OPT_LOG_MAX = 0x201, CLI_OPT_LOG_KEEP, CLI_OPT_DISK_RESERVE };
#define CLI_BOUNDS_OPTIONS \
	{ "task-log-max", required_argument, NULL, CLI_OPT_LOG_MAX }, \
	{ "task-log-keep", required_argument, NULL, CLI_OPT_LOG_KEEP }, \
	{ "disk-reserve", required_argument, NULL, CLI_OPT_DISK_RESERVE }
/* Option ch (with arg) into b: 1 taken, 0 not one of them, or -EINVAL
 * with e naming it. */
int cli_bounds_option(struct cli_bounds *b, int ch, const char *arg,
    struct ckpt_error *e);
/* text with each control byte as '?', into buf: a name may hold
 * anything, and nothing of it may steer a terminal. */
const char *cli_shown(const char *text, char *buf, size_t len);

/* A time (seconds since the epoch) as people read it: ISO 8601 in local
 * time with milliseconds and the offset, "2023-11-14T22:13:20.500+00:00"
 * (like journalctl -o short-iso-precise); "-" for 0.  Into buf (at
 * least 40 bytes). */
const char *cli_time_iso(double t, char *buf, size_t len);

#endif
