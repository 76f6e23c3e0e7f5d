/*
 * log.c: the agent's diagnostics (log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* Is stderr the stream systemd gave us to the journal (JOURNAL_STREAM,
 * "DEVICE:INODE")? */
static bool
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return env != NULL && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_setup(struct log *l, int level, bool file)
{
	l->journal = !file && stderr_is_journal();
	l->level = level >= 0 ? level : l->journal || file ? LOG_INFO :
	    LOG_NOTICE;
}

int
log_level_parse(const char *name)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

void
log_line(const struct log *l, int prio, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	if (l != NULL && prio > l->level)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (l != NULL && l->journal)
		fprintf(stderr, "<%d>%s\n", prio, text);
	else
		fprintf(stderr, "agent-run: %s\n", text);
}
