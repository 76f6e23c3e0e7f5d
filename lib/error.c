#include "error.h"

#include <stdlib.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sysexits.h>

int
error_set(struct ckpt_error *e, int code, const char *path, long long offset,
    const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	e->offset = offset;
	strlcpy(e->path, path ? path : "", sizeof(e->path));
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	return code;
}

void
error_clear(struct ckpt_error *e)
{
	if (e != NULL) {
		e->path[0] = e->reason[0] = '\0';
		e->offset = -1;
		e->code = 0;
	}
}

const char *
error_format(const struct ckpt_error *e, char *buf, size_t len)
{
	char off[48] = "";

	if (e->offset >= 0)
		snprintf(off, sizeof(off), "offset %lld: ", e->offset);
	snprintf(buf, len, "%s%s%s%s", e->path, e->path[0] ? ": " : "", off,
	    e->reason);
	return buf;
}

void
error_print(const struct ckpt_error *e)
{
	char buf[PATH_MAX + 600];

	fprintf(stderr, "%s: %s\n", getprogname(),
	    error_format(e, buf, sizeof(buf)));
}

int
error_exit_code(int code)
{
	switch (-code) {
	case 0:
		return EX_OK;
	case EINVAL:
		return EX_USAGE;
	case EBADMSG:
	case EPROTO:
	case EILSEQ:
	case EMLINK:
		return EX_DATAERR;
	case ENOENT:
		return EX_NOINPUT;
	case EAGAIN:
	case EBUSY:
		return EX_TEMPFAIL;
	case EEXIST:
	case ENOTDIR:
	case EISDIR:
	case EROFS:
		return EX_CANTCREAT;
	case EPROTONOSUPPORT:
		return EX_PROTOCOL;
	case ESRCH:
	case ECONNREFUSED:
	case ETIMEDOUT:
		return EX_UNAVAILABLE;
	case ENOMEM:
		return EX_OSERR;
	case EPERM:
	case EACCES:
		return EX_NOPERM;
	default:
		return EX_IOERR;
	}
}
