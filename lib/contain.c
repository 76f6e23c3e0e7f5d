#include "contain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The parent and state of pid from /proc/PID/stat: 0, or -1. */
static int
proc_parent(pid_t pid, pid_t *ppid, char *state)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command may hold anything: fields follow its last ')'. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1, " %c %d", state,
	    ppid) != 2)
		return -1;
	return 0;
}

struct kin {
	pid_t pid, parent;
};

/* The children of pid (every thread's), appended to *v. */
static void
children(pid_t pid, struct kin **v, size_t *n, size_t *cap)
{
	char path[64];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char file[320];
		long c;
		FILE *fp;
		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "/proc/%ld/task/%s/children",
		    (long)pid, de->d_name);
		if ((fp = fopen(file, "re")) == NULL)
			continue;
		while (fscanf(fp, "%ld", &c) == 1) {
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				struct kin *nv = reallocarray(*v, nc, sizeof(**v));
				if (nv == NULL)
					break;
				*v = nv;
				*cap = nc;
			}
			(*v)[(*n)++] = (struct kin){ (pid_t)c, pid };
		}
		fclose(fp);
	}
	closedir(d);
}

/* Signal k.pid through a pidfd opened while it still is a live child
 * of k.parent (so that a pid recycled meanwhile is never signalled). */
static int
signal_kin(struct kin k, int sig)
{
	int fd = (int)syscall(SYS_pidfd_open, k.pid, 0), rc = 0;
	pid_t ppid;
	char st;

	if (fd < 0)
		return 0;
	if (proc_parent(k.pid, &ppid, &st) == 0 && ppid == k.parent &&
	    st != 'Z')
		rc = syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0;
	close(fd);
	return rc;
}

/* Signal (or only count) every live process of the tree: how many. */
static int
each(const struct contain *c, int sig, int count_only)
{
	pid_t self = getpid();
	struct kin *v = NULL;
	size_t n = 0, cap = 0;
	int done = 0;

	if (c->cgroup) {
		char path[4096];
		FILE *fp;
		long pid;
		int fd;
		if (sig == SIGKILL && !count_only) {	/* all at once */
			snprintf(path, sizeof(path), "%s/cgroup.kill", c->cgroup);
			if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
				bool ok = write(fd, "1", 1) == 1;
				close(fd);
				if (ok)
					return each(c, 0, 1);
			}
		}
		snprintf(path, sizeof(path), "%s/cgroup.procs", c->cgroup);
		if ((fp = fopen(path, "re")) == NULL)
			return 0;
		while (fscanf(fp, "%ld", &pid) == 1)
			if (pid != self && (count_only ||
			    kill((pid_t)pid, sig) == 0))
				done++;
		fclose(fp);
		return done;
	}
	/* Breadth first from us down the children lists: the tree only. */
	children(self, &v, &n, &cap);
	for (size_t i = 0; i < n && n < 100000; i++) {
		pid_t ppid;
		char st;
		if (proc_parent(v[i].pid, &ppid, &st) < 0 || st == 'Z' ||
		    ppid != v[i].parent)
			continue;
		if (count_only)
			done++;
		else
			done += signal_kin(v[i], sig);
		children(v[i].pid, &v, &n, &cap);
	}
	free(v);
	return done;
}

int
contain_signal(const struct contain *c, int sig)
{
	return each(c, sig, 0);
}

int
contain_count(const struct contain *c)
{
	return each(c, 0, 1);
}

int
contain_init(struct contain *c, const char *cgroup_root, const char *name,
    struct ckpt_error *e)
{
	char path[4096];

	c->cgroup = NULL;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (cgroup_root == NULL)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", cgroup_root, name) >=
	    (int)sizeof(path))
		return error_set(e, -ENAMETOOLONG, cgroup_root, -1,
		    "cgroup path too long");
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return error_set(e, -errno, path, -1, "cannot make the task's "
		    "cgroup: %s", strerror(errno));
	if ((c->cgroup = strdup(path)) == NULL)
		return error_set(e, -ENOMEM, path, -1, "out of memory");
	return 0;
}

void
contain_fini(struct contain *c)
{
	if (c->cgroup)
		rmdir(c->cgroup);
	free(c->cgroup);
	c->cgroup = NULL;
}

int
contain_cgroup2_mount(char *buf, size_t len)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int rc = -ENOENT;

	if (fp == NULL)
		return -errno;
	while (rc != 0 && fgets(line, sizeof(line), fp)) {
		char mnt[4096], *dash = strstr(line, " - ");
		if (dash && strncmp(dash, " - cgroup2 ", 11) == 0 &&
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			strlcpy(buf, mnt, len);
			rc = 0;
		}
	}
	fclose(fp);
	return rc;
}

int
contain_self_cgroup(char *buf, size_t len)
{
	char mnt[4096], line[4096];
	FILE *fp;
	int rc = -ENOENT;

	if (contain_cgroup2_mount(mnt, sizeof(mnt)) < 0 ||
	    (fp = fopen("/proc/self/cgroup", "re")) == NULL)
		return -ENOENT;
	while (rc != 0 && fgets(line, sizeof(line), fp))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if (snprintf(buf, len, "%s%s", mnt, strcmp(line + 3, "/") ?
			    line + 3 : "") < (int)len)
				rc = 0;
		}
	fclose(fp);
	return rc;
}

int
contain_cgroup_kill(const char *dir)
{
	struct contain c = { .cgroup = (char *)dir };
	char path[4096];
	int n = contain_count(&c), fd;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		if (write(fd, "1", 1) != 1)
			contain_signal(&c, SIGKILL);
		close(fd);
	} else if (errno == ENOENT && access(dir, F_OK) < 0)
		return -ENOENT;
	else
		contain_signal(&c, SIGKILL);
	/* Removed once empty (killed processes leave it within moments). */
	for (int i = 0; i < 20 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(2000);
	return n;
}

/* The run a process's environment marks (RUN_MARK=...), into run. */
static bool
mark_of(pid_t pid, char *run, size_t len)
{
	char path[64], buf[65536];
	size_t n = strlen(RUN_MARK);
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return false;
	buf[got] = '\0';
	for (char *p = buf; p < buf + got; p += strlen(p) + 1)
		if (strncmp(p, RUN_MARK, n) == 0 && p[n] == '=') {
			strlcpy(run, p + n + 1, len);
			return true;
		}
	return false;
}

static int
cmp_mark(const void *a, const void *b)
{
	return strcmp(((const struct contain_mark *)a)->run,
	    ((const struct contain_mark *)b)->run);
}

int
contain_marks_scan(struct contain_marks *m)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t cap = 0;
	char run[512];

	m->v = NULL;
	m->n = 0;
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 1 || pid == getpid() ||
		    !mark_of((pid_t)pid, run, sizeof(run)))
			continue;
		if (m->n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			struct contain_mark *nv = reallocarray(m->v, nc, sizeof(*nv));
			if (nv == NULL)
				break;
			m->v = nv;
			cap = nc;
		}
		if ((m->v[m->n].run = strdup(run)) == NULL)
			break;
		m->v[m->n++].pid = (pid_t)pid;
	}
	closedir(d);
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), cmp_mark);
	return 0;
}

int
contain_marks_kill(const struct contain_marks *m, const char *run)
{
	struct contain_mark key = { .run = (char *)run };
	const struct contain_mark *hit;
	size_t lo = 0, hi = m->n;
	int killed = 0;
	char now[512];

	/* The first entry of run (bsearch finds any). */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cmp_mark(&m->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hit = m->v + lo; hit < m->v + m->n && strcmp(hit->run, run) == 0;
	    hit++) {
		int fd = (int)syscall(SYS_pidfd_open, hit->pid, 0);
		if (fd < 0)
			continue;
		/* Still the marked process (read while the pidfd holds it). */
		if (mark_of(hit->pid, now, sizeof(now)) && strcmp(now, run) == 0 &&
		    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0)
			killed++;
		close(fd);
	}
	return killed;
}

void
contain_marks_free(struct contain_marks *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].run);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
