#include "fault.h"

#ifdef CKPT_FAULT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The one piece of mutable state of this module: steps taken so far
 * (the walk reads, and may repair, on several threads). */
static _Atomic long fault_steps;

int
fault_point(const char *op, const char *path)
{
	const char *step = getenv("CKPT_FAULT_STEP");
	const char *mode = getenv("CKPT_FAULT_MODE");
	const char *log = getenv("CKPT_FAULT_LOG");
	const char *match = getenv("CKPT_FAULT_MATCH");
	const char *only = getenv("CKPT_FAULT_OP");	/* that op only */

	long now = ++fault_steps;

	if (log != NULL) {
		FILE *fp = fopen(log, "ae");
		if (fp != NULL) {
			fprintf(fp, "%ld %s %s\n", now, op, path);
			fclose(fp);
		}
	}
	if (match != NULL && *match != '\0') {
		if (strstr(path, match) == NULL ||
		    (only != NULL && strcmp(only, op) != 0))
			return 0;
	} else if (step == NULL || atol(step) != now)
		return 0;
	if (mode == NULL || strcmp(mode, "crash") == 0)
		_exit(99);
	errno = strcmp(mode, "enospc") == 0 ? ENOSPC : EIO;
	return -1;
}
#endif
