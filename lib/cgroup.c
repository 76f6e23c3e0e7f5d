#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[CG_KINDS] = { "memory", "cpu", "pids",
    "cpuacct" };

/* ---- small files ---- */

static int
put(const char *dir, const char *file, const char *text, struct ckpt_error *e)
{
	char path[4200];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 ||
	    write(fd, text, strlen(text)) < 0)
		rc = e ? error_set(e, -errno, path, -1, "cannot write '%s': %s",
		    text, strerror(errno)) : -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
get(const char *dir, const char *file, char *buf, size_t len)
{
	char path[4200];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if (dir == NULL)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

static long long
get_ll(const char *dir, const char *file)
{
	char buf[64];

	if (get(dir, file, buf, sizeof(buf)) < 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0)
		return 0;
	return strtoll(buf, NULL, 10);
}

/* "key value" lines (memory.stat, cpu.stat, memory.events): value of key. */
static long long
get_key(const char *dir, const char *file, const char *key)
{
	char buf[8192], *p;
	size_t n = strlen(key);

	if (get(dir, file, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

static long long
lines(const char *dir, const char *file)
{
	char path[4200], buf[4096];
	long long n = 0;
	FILE *fp;

	if (dir == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), fp))
		n++;
	fclose(fp);
	return n;
}

/* ---- where ---- */

/* The v1 hierarchies of the controllers: mount point and our path in
 * each, into base[k] as MOUNT/PATH/agent-run ("" where none).  One pass
 * over each /proc file. */
static void
v1_bases(char base[CG_KINDS][4096])
{
	char line[4096], mnt[CG_KINDS][4096] = { "" }, opts[1024];
	FILE *fp;

	for (int k = 0; k < CG_KINDS; k++)
		base[k][0] = '\0';
	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *dash = strstr(line, " - cgroup "), m[4096], *save;
		if (dash == NULL || sscanf(dash, " - cgroup %*s %1023s", opts) != 1 ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", m) != 1)
			continue;
		for (char *o = strtok_r(opts, ",", &save); o;
		    o = strtok_r(NULL, ",", &save))
			for (int k = 0; k < CG_KINDS; k++)
				if (strcmp(o, names[k]) == 0 && !mnt[k][0])
					strlcpy(mnt[k], m, sizeof(mnt[k]));
	}
	fclose(fp);
	if ((fp = fopen("/proc/self/cgroup", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char *ctl = strchr(line, ':'), *p, *save;
		if (ctl == NULL || (p = strchr(ctl + 1, ':')) == NULL)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		for (char *o = strtok_r(ctl + 1, ",", &save); o;
		    o = strtok_r(NULL, ",", &save))
			for (int k = 0; k < CG_KINDS; k++)
				if (strcmp(o, names[k]) == 0 && mnt[k][0] &&
				    snprintf(base[k], sizeof(base[k]), "%s%s/agent-run",
				    mnt[k], strcmp(p, "/") ? p : "") >=
				    (int)sizeof(base[k]))
					base[k][0] = '\0';
	}
	fclose(fp);
}

int
cg_where(struct cg_where *w, const char *v2_root, struct ckpt_error *e)
{
	char buf[1024];

	memset(w, 0, sizeof(*w));
	if (v2_root && get(v2_root, "cgroup.controllers", buf, sizeof(buf)) == 0 &&
	    strstr(buf, "memory") && strstr(buf, "cpu") && strstr(buf, "pids") &&
	    put(v2_root, "cgroup.subtree_control", "+memory +cpu +pids",
	    NULL) == 0) {
		w->v2 = true;
		for (int k = 0; k < CG_ACCT; k++)
			strlcpy(w->base[k], v2_root, sizeof(w->base[k]));
		return 0;
	}
	v1_bases(w->base);
	for (int k = 0; k < CG_KINDS; k++) {
		if (w->base[k][0] && (mkdir(w->base[k], 0755) == 0 ||
		    errno == EEXIST) && access(w->base[k], W_OK) == 0)
			continue;
		w->base[k][0] = '\0';
		if (k != CG_ACCT)
			return error_set(e, -ENOTSUP, v2_root ? v2_root :
			    "/sys/fs/cgroup", -1, "no cgroup can hold a %s limit "
			    "here: the cgroup2 root %s does not enable memory, "
			    "cpu and pids for its children, and no writable "
			    "cgroup v1 %s hierarchy is below this process's own "
			    "cgroup", names[k], v2_root ? v2_root : "(none)",
			    names[k]);
	}
	/* cpu and cpuacct mounted together: one directory. */
	if (strcmp(w->base[CG_ACCT], w->base[CG_CPU]) == 0)
		w->base[CG_ACCT][0] = '\0';
	return 0;
}

/* ---- a run's ---- */

int
cg_make(const struct cg_where *w, const char *group, const char *run,
    const struct cg_limits *l, struct cg_set *s, struct ckpt_error *e)
{
	char v[64], path[4200];
	int rc;

	memset(s, 0, sizeof(*s));
	s->v2 = w->v2;
	for (int k = 0; k < CG_KINDS; k++) {
		if (!w->base[k][0])
			continue;
		if (!w->v2) {
			snprintf(path, sizeof(path), "%s/%s", w->base[k], group);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s/%s/%s", w->base[k], group,
			    run);
		} else
			snprintf(path, sizeof(path), "%s/%s", w->base[k], run);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			rc = error_set(e, -errno, path, -1, "cannot make the "
			    "task's %s cgroup: %s", names[k], strerror(errno));
			cg_remove(s);
			return rc;
		}
		if ((s->dir[k] = strdup(path)) == NULL) {
			rc = error_set(e, -ENOMEM, path, -1, "out of memory");
			cg_remove(s);
			return rc;
		}
	}
	if (l->mem > 0) {
		snprintf(v, sizeof(v), "%lld", l->mem);
		if ((rc = put(s->dir[CG_MEM], s->v2 ? "memory.max" :
		    "memory.limit_in_bytes", v, e)) < 0)
			goto fail;
		/* Swap bounded too: none on v2; memory+swap = memory on v1
		 * (when swap is accounted at all). */
		if (s->v2)
			put(s->dir[CG_MEM], "memory.swap.max", "0", NULL);
		else
			put(s->dir[CG_MEM], "memory.memsw.limit_in_bytes", v, NULL);
	}
	if (l->cpus > 0) {
		long long quota = llround(l->cpus * 100000);
		long long weight = llround(l->cpus * 100);
		if (quota < 1000)
			quota = 1000;
		if (s->v2) {
			snprintf(v, sizeof(v), "%lld 100000", quota);
			rc = put(s->dir[CG_CPU], "cpu.max", v, e);
			snprintf(v, sizeof(v), "%lld", weight < 1 ? 1 :
			    weight > 10000 ? 10000 : weight);
			if (rc == 0)
				rc = put(s->dir[CG_CPU], "cpu.weight", v, e);
		} else {
			snprintf(v, sizeof(v), "%lld", quota);
			rc = put(s->dir[CG_CPU], "cpu.cfs_period_us", "100000", e);
			if (rc == 0)
				rc = put(s->dir[CG_CPU], "cpu.cfs_quota_us", v, e);
			snprintf(v, sizeof(v), "%lld", llround(l->cpus * 1024) <
			    2 ? 2 : llround(l->cpus * 1024));
			if (rc == 0)
				rc = put(s->dir[CG_CPU], "cpu.shares", v, e);
		}
		if (rc < 0)
			goto fail;
	}
	if (l->pids > 0) {
		snprintf(v, sizeof(v), "%lld", l->pids);
		if ((rc = put(s->dir[CG_PIDS], "pids.max", v, e)) < 0)
			goto fail;
	}
	return 0;
fail:
	cg_remove(s);
	return rc;
}

int
cg_read_limits(const struct cg_set *s, struct cg_limits *l)
{
	long long quota, mem;
	char buf[64];

	memset(l, 0, sizeof(*l));
	if (s->dir[CG_MEM] == NULL)
		return -ENOENT;
	mem = get_ll(s->dir[CG_MEM], s->v2 ? "memory.max" :
	    "memory.limit_in_bytes");
	l->mem = mem > 0 && mem < (1LL << 62) ? mem : 0;
	if (s->v2 && get(s->dir[CG_CPU], "cpu.max", buf, sizeof(buf)) == 0)
		quota = strncmp(buf, "max", 3) ? strtoll(buf, NULL, 10) : 0;
	else
		quota = get_ll(s->dir[CG_CPU], "cpu.cfs_quota_us");
	l->cpus = quota > 0 ? (double)quota / 100000 : 0;
	l->pids = get_ll(s->dir[CG_PIDS], "pids.max");
	if (l->pids < 0)
		l->pids = 0;
	return 0;
}

long long
cg_oom_kills(const struct cg_set *s)
{
	long long n = get_key(s->dir[CG_MEM], s->v2 ? "memory.events" :
	    "memory.oom_control", "oom_kill");

	return n > 0 ? n : 0;
}

void
cg_remove(struct cg_set *s)
{
	for (int k = 0; k < CG_KINDS; k++)
		if (s->dir[k] && (k == CG_MEM || !s->v2)) {
			for (int i = 0; i < 50 && rmdir(s->dir[k]) < 0 &&
			    errno == EBUSY; i++)
				usleep(2000);
		}
	cg_free(s);
}

void
cg_free(struct cg_set *s)
{
	for (int k = 0; k < CG_KINDS; k++) {
		free(s->dir[k]);
		s->dir[k] = NULL;
	}
}

void
cg_destroy(const char *dir)
{
	char path[4200], buf[32];
	FILE *fp;

	if (put(dir, "cgroup.kill", "1", NULL) < 0) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		if ((fp = fopen(path, "re")) != NULL) {
			while (fgets(buf, sizeof(buf), fp))
				if (atoi(buf) > 1)
					kill(atoi(buf), SIGKILL);
			fclose(fp);
		}
	}
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(5000);
}

/* ---- usage ---- */

void
cg_usage(const struct cg_set *s, struct cg_usage *u)
{
	const char *acct = s->dir[CG_ACCT] ? s->dir[CG_ACCT] : s->dir[CG_CPU];
	long long v;

	u->processes = lines(s->dir[CG_MEM], "cgroup.procs");
	u->threads = lines(s->dir[CG_MEM], s->v2 ? "cgroup.threads" : "tasks");
	u->pids_current = get_ll(s->dir[CG_PIDS], "pids.current");
	u->cpus_nr_throttled = get_key(s->dir[CG_CPU], "cpu.stat",
	    "nr_throttled");
	if (s->v2) {
		u->cpus_user_time_secs = (v = get_key(s->dir[CG_CPU], "cpu.stat",
		    "user_usec")) >= 0 ? (double)v / 1e6 : -1;
		u->cpus_system_time_secs = (v = get_key(s->dir[CG_CPU],
		    "cpu.stat", "system_usec")) >= 0 ? (double)v / 1e6 : -1;
		u->mem_total_bytes = get_ll(s->dir[CG_MEM], "memory.current");
		u->mem_rss_bytes = get_key(s->dir[CG_MEM], "memory.stat", "anon");
		u->mem_peak_bytes = get_ll(s->dir[CG_MEM], "memory.peak");
	} else {
		long hz = sysconf(_SC_CLK_TCK);
		u->cpus_user_time_secs = (v = get_key(acct, "cpuacct.stat",
		    "user")) >= 0 ? (double)v / (double)hz : -1;
		u->cpus_system_time_secs = (v = get_key(acct, "cpuacct.stat",
		    "system")) >= 0 ? (double)v / (double)hz : -1;
		u->mem_total_bytes = get_ll(s->dir[CG_MEM],
		    "memory.usage_in_bytes");
		u->mem_rss_bytes = get_key(s->dir[CG_MEM], "memory.stat",
		    "total_rss");
		u->mem_peak_bytes = get_ll(s->dir[CG_MEM],
		    "memory.max_usage_in_bytes");
	}
}

/* One process's ticks and pages into u; its children's pids into kids. */
static void
proc_add(pid_t pid, struct cg_usage *u, pid_t **kids, size_t *nk, size_t *ck)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;
	long threads, rss;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || (p = strrchr((buf[n] = '\0', buf), ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu %*d %*d %*d %*d %ld %*d %*u %*u %ld", &ut, &st, &threads,
	    &rss) != 4)
		return;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	u->processes++;
	u->threads += threads;
	u->cpus_user_time_secs += (double)ut / (double)hz;
	u->cpus_system_time_secs += (double)st / (double)hz;
	u->mem_rss_bytes += rss * page;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (p = strtok(buf, " \n"); p; p = strtok(NULL, " \n")) {
		if (*nk == *ck) {
			size_t cap = *ck ? 2 * *ck : 16;
			pid_t *more = reallocarray(*kids, cap, sizeof(**kids));
			if (more == NULL)
				return;	/* out of memory: what was counted */
			*kids = more;
			*ck = cap;
		}
		(*kids)[(*nk)++] = (pid_t)atoi(p);
	}
}

void
cg_usage_proc(pid_t pid, struct cg_usage *u)
{
	pid_t *todo = NULL;
	size_t n = 0, cap = 0;

	*u = (struct cg_usage){ .cpus_nr_throttled = -1, .mem_total_bytes = -1,
	    .mem_peak_bytes = -1, .pids_current = -1 };
	if (pid > 0)
		proc_add(pid, u, &todo, &n, &cap);
	while (n > 0)
		proc_add(todo[--n], u, &todo, &n, &cap);
	free(todo);
}

/* ---- pids/task.limits ---- */

int
cg_format(const struct cg_set *s, const struct cg_limits *l, char *buf,
    size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "cpus %g\nmem %lld\ndisk %lld\n"
	    "pids %lld\nv2 %d\n", l->cpus, l->mem, l->disk, l->pids, s->v2);

	for (int k = 0; k < CG_KINDS && n < len; k++)
		if (s->dir[k])
			n += (size_t)snprintf(buf + n, len - n, "dir %s %s\n",
			    names[k], s->dir[k]);
	return n < len ? 0 : -ENAMETOOLONG;
}

int
cg_parse(const char *text, struct cg_set *s, struct cg_limits *l)
{
	char *copy = strdup(text), *save, *line;
	int v2 = 0;

	memset(s, 0, sizeof(*s));
	memset(l, 0, sizeof(*l));
	if (copy == NULL)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char name[16], path[4096];
		if (sscanf(line, "cpus %lf", &l->cpus) == 1 ||
		    sscanf(line, "mem %lld", &l->mem) == 1 ||
		    sscanf(line, "disk %lld", &l->disk) == 1 ||
		    sscanf(line, "pids %lld", &l->pids) == 1 ||
		    sscanf(line, "v2 %d", &v2) == 1)
			continue;
		if (sscanf(line, "dir %15s %4095s", name, path) != 2)
			continue;
		for (int k = 0; k < CG_KINDS; k++)
			if (strcmp(name, names[k]) == 0 && s->dir[k] == NULL &&
			    (s->dir[k] = strdup(path)) == NULL) {
				free(copy);
				cg_free(s);
				return -ENOMEM;
			}
	}
	s->v2 = v2;
	free(copy);
	return 0;
}

long long
cg_size_mb(const char *text)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !(v > 0))
		return -1;
	switch (*end) {
	case '\0': v *= 1 << 20; break;		/* bare: MB, as Mesos */
	case 'K': case 'k': v *= 1 << 10; end++; break;
	case 'M': case 'm': v *= 1 << 20; end++; break;
	case 'G': case 'g': v *= 1 << 30; end++; break;
	case 'B': case 'b': end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b' || (*end == 'i' && end[1] == 'B' &&
	    end++))
		end++;
	return *end == '\0' && v < 9e18 ? (long long)v : -1;
}

void
task_resources(const Mesos__Task *t, struct cg_limits *l)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < t->n_resources; i++) {
		const Mesos__Resource *r = t->resources[i];
		double v;
		if (r->type != MESOS__VALUE__TYPE__SCALAR || r->scalar == NULL)
			continue;
		v = r->scalar->value;
		if (strcmp(r->name, "cpus") == 0)
			l->cpus = v;
		else if (strcmp(r->name, "mem") == 0)
			l->mem = (long long)(v * (1 << 20));
		else if (strcmp(r->name, "disk") == 0)
			l->disk = (long long)(v * (1 << 20));
		else if (strcmp(r->name, "pids") == 0)
			l->pids = (long long)v;
	}
}
