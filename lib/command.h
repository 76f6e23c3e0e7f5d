/*
 * command.h: agent-run's command lines, split into words like a shell
 * would split them but without running anything: blanks separate words,
 * 'single quotes' are literal, "double quotes" allow \" and \\, and a
 * backslash outside quotes escapes the next character.  A '#' at the
 * start of a word begins a comment.
 */
#ifndef CKPT_COMMAND_H
#define CKPT_COMMAND_H

#include "error.h"

#define COMMAND_MAX_LINE 65536
#define COMMAND_MAX_WORDS 4096

struct command {
	int argc;
	char **argv;		/* argv[argc] == NULL */
};

/* 0 and c filled (argc 0 for a blank or comment line), or -EINVAL with
 * the reason and the byte offset in the line. */
int command_parse(const char *line, struct command *c, struct ckpt_error *e);
void command_free(struct command *c);

#endif
