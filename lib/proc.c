#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One read of /proc/PID/stat: the start time (field 22) and the state
 * (field 3).  The command name may hold spaces and ')': the fields are
 * counted from the last ')'. */
static int
stat_read(pid_t pid, unsigned long long *start, char *state)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -ESRCH;
	*state = p[2];
	p++;
	for (int field = 3; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return -ESRCH;
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

int
proc_start_time(pid_t pid, unsigned long long *start)
{
	char state;

	return stat_read(pid, start, &state);
}


time_t
proc_start_wall(pid_t pid)
{
	unsigned long long start, btime = 0;
	char line[256];
	FILE *fp;

	if (proc_start_time(pid, &start) < 0)
		return -1;
	if ((fp = fopen("/proc/stat", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(fp);
	return (time_t)(btime + start / (unsigned long long)sysconf(_SC_CLK_TCK));
}

bool
proc_shows_run(pid_t pid, const char *run)
{
	char path[64], buf[8192], cwd[PATH_MAX];
	size_t rl;
	ssize_t n;
	int fd;

	if (run == NULL || (rl = strlen(run)) == 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
		for (ssize_t i = 0; n > 0 && i + (ssize_t)rl <= n; i++)
			if (memcmp(buf + i, run, rl) == 0)
				return true;
	}
	snprintf(path, sizeof(path), "/proc/%ld/cwd", (long)pid);
	if ((n = readlink(path, cwd, sizeof(cwd) - 1)) > 0) {
		cwd[n] = '\0';
		const char *p = strstr(cwd, "/runs/");
		for (; p; p = strstr(p + 1, "/runs/"))
			if (strncmp(p + 6, run, rl) == 0 &&
			    (p[6 + rl] == '\0' || p[6 + rl] == '/'))
				return true;
	}
	return false;
}

enum proc_identity
proc_identify(pid_t pid, unsigned long long start, time_t bound_mtime,
    const char *run)
{
	unsigned long long now;
	char state;

	if (pid <= 1 || stat_read(pid, &now, &state) < 0 || state == 'Z' ||
	    state == 'X')
		return PROC_GONE;
	if (start != 0)
		return now == start ? PROC_SAME : PROC_RECYCLED;
	/* No start time: it must have started before its pid was written
	 * (one second of slack for the clock's granularity). */
	if (bound_mtime > 0 && proc_start_wall(pid) <= bound_mtime + 1 &&
	    proc_shows_run(pid, run))
		return PROC_SAME;
	return PROC_RECYCLED;
}

const char *
proc_identity_name(enum proc_identity id)
{
	switch (id) {
	case PROC_SAME:
		return "same";
	case PROC_RECYCLED:
		return "recycled";
	default:
		return "gone";
	}
}

int
proc_pidfd_verified(pid_t pid, unsigned long long start, time_t bound,
    const char *run)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return errno == ENOSYS ? -2 : -1;
	/* The pidfd pins this process; if it is still the one we proved,
	 * every later signal through fd reaches it and nothing else. */
	if (proc_identify(pid, start, bound, run) != PROC_SAME) {
		close(fd);
		return -1;
	}
	return fd;
#else
	(void)pid;
	(void)start;
	(void)bound;
	(void)run;
	return -2;
#endif
}

int
proc_signal(int pidfd, pid_t pid, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	(void)pidfd;
#endif
	if (pid <= 1) {
		errno = ESRCH;
		return -1;
	}
	return kill(pid, sig);
}

/* Pidfds of the processes whose session is sid (sid itself excluded). */
static int
session_pidfds(pid_t sid, int *fds, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		char path[64], buf[512], *p;
		pid_t pid = (pid_t)atol(de->d_name);
		ssize_t len;
		int fd, field;
		long session;

		if (pid <= 1 || pid == sid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if ((p = strrchr(buf, ')')) == NULL)
			continue;
		p++;
		/* fields after ')': 3 state, 4 ppid, 5 pgrp, 6 session */
		for (field = 3; field < 6 && p != NULL; field++)
			p = strchr(p + 1, ' ');
		if (p == NULL || (session = atol(p + 1)) != (long)sid)
			continue;
#ifdef SYS_pidfd_open
		if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) >= 0)
			fds[n++] = fd;
#endif
	}
	closedir(d);
	return n;
}

static bool
wait_gone(int pidfd, pid_t pid, unsigned long long start, long long ms)
{
	for (long long waited = 0;; waited += 10) {
		if (pidfd >= 0) {
			struct pollfd p = { pidfd, POLLIN, 0 };
			if (poll(&p, 1, 10) > 0)
				return true;
		} else {
			if (proc_identify(pid, start, 0, NULL) != PROC_SAME)
				return true;
			usleep(10000);
		}
		if (waited >= ms)
			return false;
	}
}

int
proc_terminate(pid_t pid, unsigned long long start, time_t bound,
    const char *run, long long grace_ms)
{
	int fd, members[256], n;
	bool gone;

	if (proc_identify(pid, start, bound, run) != PROC_SAME)
		return -ESRCH;
	fd = proc_pidfd_verified(pid, start, bound, run);
	if (fd == -1)
		return -ESRCH;
	n = session_pidfds(pid, members, 256);
	if (start == 0 && proc_start_time(pid, &start) < 0)
		start = 0;
	proc_signal(fd, pid, SIGTERM);
	gone = wait_gone(fd, pid, start, grace_ms);
	if (!gone)
		proc_signal(fd, pid, SIGKILL);
	for (int i = 0; i < n; i++) {
		proc_signal(members[i], 0, SIGKILL);
		close(members[i]);
	}
	if (!gone)
		gone = wait_gone(fd, pid, start, 2000);
	if (fd >= 0)
		close(fd);
	return gone ? 0 : -ETIMEDOUT;
}

int
proc_cpu_ns(pid_t pid, unsigned long long *ran, unsigned long long *waited)
{
	char path[64], buf[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu", ran, waited) == 2 ? 0 : -1;
}
