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
/* "1500ms", "2s", "15min", "1h", "3" (seconds) into milliseconds: 0, or
 * -EINVAL. */
int cli_duration(const char *text, long long *ms);

#endif
