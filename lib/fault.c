#include "fault.h"

#ifdef CKPT_FAULT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The one piece of mutable state of this module: steps taken so far. */
static long fault_steps;

int
fault_point(const char *op, const char *path)
{
	const char *step = getenv("CKPT_FAULT_STEP");
	const char *mode = getenv("CKPT_FAULT_MODE");
	const char *log = getenv("CKPT_FAULT_LOG");
	const char *match = getenv("CKPT_FAULT_MATCH");
	const char *only = getenv("CKPT_FAULT_OP");	/* that op only */

	fault_steps++;
	if (log != NULL) {
		FILE *fp = fopen(log, "ae");
		if (fp != NULL) {
			fprintf(fp, "%ld %s %s\n", fault_steps, op, path);
			fclose(fp);
		}
	}
	if (match != NULL && *match != '\0') {
		if (strstr(path, match) == NULL ||
		    (only != NULL && strcmp(only, op) != 0))
			return 0;
	} else if (step == NULL || atol(step) != fault_steps)
		return 0;
	if (mode == NULL || strcmp(mode, "crash") == 0)
		_exit(99);
	errno = strcmp(mode, "enospc") == 0 ? ENOSPC : EIO;
	return -1;
}
#endif
