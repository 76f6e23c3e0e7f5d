#include "version.h"

#include <stdio.h>
#include <string.h>

#ifndef VERSION
#define VERSION "0"
#endif


const char *
version_release(void)
{
	return VERSION;
}

const char *
version_line(const char *prog, bool protocol, char *buf, size_t len)
{
	if (protocol)
		snprintf(buf, len, "%s %s (executor protocol %d, speaks %d-%d; "
		    "work dir format %d)", prog, VERSION, PROTOCOL_MAX,
		    PROTOCOL_MIN, PROTOCOL_MAX, FORMAT_VERSION);
	else
		snprintf(buf, len, "%s %s", prog, VERSION);
	return buf;
}

int
version_shared(int peer_min, int peer_max)
{
	int hi = peer_max < PROTOCOL_MAX ? peer_max : PROTOCOL_MAX;
	int lo = peer_min > PROTOCOL_MIN ? peer_min : PROTOCOL_MIN;

	return hi >= lo ? hi : 0;
}

/* The features an older agent would misread, recorded in a work dir by
 * the first task that uses one. */
const char *const version_dir_capabilities[] = {
	"limits",	/* a task's resource limits (task.info resources,
			 * pids/task.limits, executor.exit memory-limit) */
#ifdef DIR_CAPABILITY_EXTRA
	DIR_CAPABILITY_EXTRA,
#endif
	NULL
};

bool
version_knows(const char *name)
{
	for (size_t i = 0; version_dir_capabilities[i]; i++)
		if (strcmp(version_dir_capabilities[i], name) == 0)
			return true;
	return false;
}
