/*
 * log.h: the agent's diagnostics (the lowest floor, with out.h).  One
 * line each, with a syslog priority: under journald (stderr is the
 * journal's stream, JOURNAL_STREAM) as "<N>text", so that journald sees
 * the levels; elsewhere as "agent-run: text".  --log-level picks what is
 * written: error, warning, notice (drivers come and go, what is skipped:
 * the default on a terminal or a pipe), info (the story: starts and
 * recoveries, stops, launches, kills, ends: the default under journald
 * and with --log), debug (every change of a run's state).
 */
#ifndef AGENT_LOG_H
#define AGENT_LOG_H

#include <stdbool.h>
#include <syslog.h>

struct log {
	int level;		/* LOG_ERR .. LOG_DEBUG: what is written */
	bool journal;		/* stderr is journald's stream */
};

/* level: a LOG_ priority, or -1 for the default (info under journald or
 * with a log file, else notice). */
void log_setup(struct log *l, int level, bool file);
/* "error", "warning", "notice", "info", "debug": its priority, or -1. */
int log_level_parse(const char *name);
void log_line(const struct log *l, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
