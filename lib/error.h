/*
 * error.h: the one error record every library call fills.
 * Library code never prints: it returns a negative errno-style code and
 * describes the failure here (the file, the byte offset, the reason);
 * the binary prints it once as "PROG: path: offset N: reason".
 */
#ifndef CKPT_ERROR_H
#define CKPT_ERROR_H

#include <limits.h>
#include <stdio.h>

struct ckpt_error {
	char path[PATH_MAX];
	long long offset;	/* -1: no offset to report */
	char reason[512];
	int code;		/* negative errno-style code */
};

/* Fill e (may be NULL) and return code, which must be negative. */
int error_set(struct ckpt_error *e, int code, const char *path,
    long long offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void error_clear(struct ckpt_error *e);
/* "path: offset N: reason" into buf. */
const char *error_format(const struct ckpt_error *e, char *buf, size_t len);
/* Print "PROG: path: offset N: reason" to stderr. */
void error_print(const struct ckpt_error *e);
/* Map a negative code to a sysexits.h exit status. */
int error_exit_code(int code);

#endif
