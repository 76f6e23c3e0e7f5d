/*
 * fault.h: crash and error injection for tests.  In a build with
 * -DCKPT_FAULT, every durable step counts itself; when the count reaches
 * $CKPT_FAULT_STEP the process _exits (CKPT_FAULT_MODE=crash, default) or
 * the step fails with EIO or ENOSPC.  $CKPT_FAULT_LOG, when set, receives
 * one line per step ("N op path").  $CKPT_FAULT_MATCH instead picks the
 * first step whose path contains that text.  In other builds it costs nothing.
 */
#ifndef CKPT_FAULT_H
#define CKPT_FAULT_H

#ifdef CKPT_FAULT
/* 0 to go on, -1 with errno set to fail the step; may not return. */
int fault_point(const char *op, const char *path);
#else
static inline int
fault_point(const char *op, const char *path)
{
	(void)op;
	(void)path;
	return 0;
}
#endif

#endif
