#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

static void
redirect(const char *path, int to, int flags)
{
	int fd = open(path ? path : "/dev/null", path ? flags : O_RDWR, 0600);

	if (fd >= 0 && fd != to) {
		dup2(fd, to);
		close(fd);
	}
}

/* Close every descriptor from 3 up but the (up to three) kept ones. */
static void
close_others(int a, int b, int c)
{
	int keep[3] = { a, b, c }, lo = 3;

	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (int i = 0; i < 3; i++) {
		if (keep[i] < lo)
			continue;
		if (keep[i] > lo)
			close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	close_range((unsigned)lo, ~0U, 0);
}

/* In the child: only what is safe after fork. */
static void
child(const struct spawn *s, int hold, int report)
{
	const int app = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	sigset_t none;
	char go;
	int err;

	/* At once, not only at exec: a child held before exec must not keep
	 * the parent's descriptors (the work dir's lock above all: a
	 * restarted agent would find it still taken). */
	if (s->out_fds) {
		dup2(s->out_fd, 1);
		dup2(s->err_fd, 2);
	}
	close_others(hold, report, s->fd3);
	if (s->session)
		setsid();
	else
		setpgid(0, 0);
	if (s->death_signal)
		prctl(PR_SET_PDEATHSIG, s->death_signal);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (s->cgroup) {
		char path[4096];
		int fd;
		snprintf(path, sizeof(path), "%s/cgroup.procs", s->cgroup);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 ||
		    write(fd, "0", 1) != 1) {
			err = errno;
			if (!s->cgroup_optional)
				goto fail;
		}
		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; s->limit_cgroups && s->limit_cgroups[i]; i++) {
		char path[4096];
		int fd;
		snprintf(path, sizeof(path), "%s/cgroup.procs",
		    s->limit_cgroups[i]);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 ||
		    write(fd, "0", 1) != 1) {
			err = errno;
			goto fail;
		}
		close(fd);
	}
	if (s->set_user && (setgroups((size_t)s->n_groups, s->groups) < 0 ||
	    setgid(s->gid) < 0 || setuid(s->uid) < 0)) {
		err = errno;
		goto fail;
	}
	if (s->dir && chdir(s->dir) < 0) {
		err = errno;
		goto fail;
	}
	redirect(NULL, 0, O_RDONLY);
	if (!s->out_fds) {
		redirect(s->out, 1, app);
		redirect(s->err, 2, app);
	}
	fcntl(0, F_SETFD, 0);
	fcntl(1, F_SETFD, 0);
	fcntl(2, F_SETFD, 0);
	if (hold >= 0 && read(hold, &go, 1) != 1)
		_exit(75);	/* the parent gave up on us */
	/* Nothing of the parent's leaks past exec; fd 3 is given on. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (s->fd3 >= 0) {
		if (s->fd3 != 3)
			dup2(s->fd3, 3);
		fcntl(3, F_SETFD, 0);
	}
	execvp(s->argv[0], s->argv);
	err = errno;
fail:
	if (report < 0 || write(report, &err, sizeof(err)) != sizeof(err)) {
		const char *m = strerror(err);
		if (write(2, "cannot execute ", 15) > 0 &&
		    write(2, s->argv[0], strlen(s->argv[0])) > 0 &&
		    write(2, ": ", 2) > 0 && write(2, m, strlen(m)) > 0)
			(void)!write(2, "\n", 1);
	}
	_exit(127);
}

pid_t
spawn_start(const struct spawn *s, int *hold_fd, int *exec_fd,
    struct ckpt_error *e)
{
	int hold[2] = { -1, -1 }, report[2] = { -1, -1 };
	pid_t pid;

	if ((s->hold && pipe2(hold, O_CLOEXEC) < 0) ||
	    (exec_fd && pipe2(report, O_CLOEXEC) < 0)) {
		error_set(e, -errno, s->argv[0], -1, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		error_set(e, -errno, s->argv[0], -1, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		if (hold[1] >= 0)
			close(hold[1]);
		if (report[0] >= 0)
			close(report[0]);
		child(s, hold[0], report[1]);
	}
	if (hold[0] >= 0)
		close(hold[0]);
	if (report[1] >= 0)
		close(report[1]);
	if (hold_fd)
		*hold_fd = hold[1];
	if (exec_fd)
		*exec_fd = report[0];
	return pid;
fail:
	for (int i = 0; i < 2; i++) {
		if (hold[i] >= 0)
			close(hold[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	return -1;
}

void
spawn_release(int hold_fd)
{
	if (hold_fd < 0)
		return;
	if (write(hold_fd, "g", 1) != 1) {
		/* the child is gone already; it will be reaped */
	}
	close(hold_fd);
}

int
spawn_exec_error(int exec_fd)
{
	ssize_t n;
	int err = 0;

	while ((n = read(exec_fd, &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(exec_fd);
	return n == sizeof(err) ? err : 0;
}
