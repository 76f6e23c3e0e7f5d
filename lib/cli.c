#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
cli_read_text(const char *file, char *buf, size_t len, struct ckpt_error *e)
{
	FILE *fp = stdin;
	size_t n;

	if (file && strcmp(file, "-") != 0 && (fp = fopen(file, "re")) == NULL)
		return error_set(e, -errno, file, -1, "%s", strerror(errno));
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	if (fp != stdin)
		fclose(fp);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (memchr(buf, '\0', n))
		return error_set(e, -EBADMSG, file ? file : "stdin", -1,
		    "text contains NUL");
	return 0;
}

static int
bad_duration(const char *opt, const char *text, struct ckpt_error *e)
{
	return error_set(e, -EINVAL, "", -1, "%s: '%s' is not a duration (like "
	    "500ms, 2s, 15min, 7d; a bare number is seconds)", opt, text);
}

int
cli_duration(const char *opt, const char *text, long long *ms,
    struct ckpt_error *e)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = { { "ms", 1 }, { "", 1000 }, { "s", 1000 },
	    { "min", 60000 }, { "m", 60000 }, { "h", 3600000 },
	    { "d", 86400000 } };
	char *end;
	double v;

	/* Decimal digits (and one point) only: strtod would take "nan",
	 * "inf", "1e3" and hex. */
	size_t digits = strspn(text, "0123456789.");
	if (digits == 0 || strspn(text, "0123456789") == 0 ||
	    memchr(text, '.', digits) != memrchr(text, '.', digits))
		return bad_duration(opt, text, e);
	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end != text + digits || v < 0 || v > 1e9)
		return bad_duration(opt, text, e);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			*ms = (long long)(v * (double)units[i].ms);
			return 0;
		}
	return bad_duration(opt, text, e);
}

const char *
cli_time_iso(double t, char *buf, size_t len)
{
	time_t secs = (time_t)t;
	int ms = (int)((t - (double)secs) * 1000.0 + 0.5);
	struct tm tm;
	char date[32], zone[8];

	if (t <= 0 || localtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (ms >= 1000) {
		ms -= 1000;
		secs++;
		localtime_r(&secs, &tm);
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);	/* +0100 -> +01:00 */
	snprintf(buf, len, "%s.%03d%.3s:%.2s", date, ms, zone, zone + 3);
	return buf;
}

int
cli_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if ((n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)) < 0)
			return -errno;
		if (n != fd) {	/* a lower one was closed too: never here */
			close(n);
			return -EBADF;
		}
	}
	return 0;
}

static int
size_parse(const char *text, long long *bytes)
{
	static const char units[] = "KMGT";
	char *end;
	long long v;
	const char *u;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (end == text || errno != 0 || v < 0)
		return -EINVAL;
	if (*end != '\0') {
		if ((u = strchr(units, end[0])) == NULL || end[0] == '\0' ||
		    !(end[1] == '\0' || (end[1] == 'i' && end[2] == 'B' &&
		    end[3] == '\0') || (end[1] == 'B' && end[2] == '\0')))
			return -EINVAL;
		for (long i = 0; i <= u - units; i++) {
			if (v > LLONG_MAX / 1024)
				return -EINVAL;
			v *= 1024;
		}
	}
	*bytes = v;
	return 0;
}

int
cli_size(const char *opt, const char *text, long long min, long long *bytes,
    struct ckpt_error *e)
{
	long long v;

	if (size_parse(text, &v) < 0 || v < min)
		return error_set(e, -EINVAL, "", -1, "%s: '%s' is not a size of "
		    "%lld bytes or more (like 64K, 10M, 1G)", opt, text, min);
	*bytes = v;
	return 0;
}

int
cli_count(const char *opt, const char *text, long long min, long long max,
    long long *n, struct ckpt_error *e)
{
	const char *errstr = NULL;
	long long v = strtonum(text, min, max, &errstr);

	if (errstr != NULL)
		return error_set(e, -EINVAL, "", -1, "%s: '%s' is %s (%lld to "
		    "%lld)", opt, text, errstr, min, max);
	*n = v;
	return 0;
}

const char *
cli_shown(const char *text, char *buf, size_t len)
{
	strlcpy(buf, text, len);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

int
cli_bounds_option(struct cli_bounds *b, int ch, const char *arg,
    struct ckpt_error *e)
{
	int rc;

	switch (ch) {
	case CLI_OPT_LOG_MAX:
		rc = cli_size("--task-log-max", arg, 4096, &b->log_max, e);
		break;
	case CLI_OPT_LOG_KEEP:
		rc = cli_count("--task-log-keep", arg, 0, 1000, &b->log_keep, e);
		break;
	case CLI_OPT_DISK_RESERVE:
		rc = cli_size("--disk-reserve", arg, 0, &b->disk_reserve, e);
		break;
	default:
		return 0;
	}
	return rc < 0 ? rc : 1;
}
