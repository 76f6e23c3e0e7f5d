/*
 * proc.h: process identity, so that no tool signals a recycled pid.
 * A process is the checkpointed one when it is alive and its start time
 * (field 22 of /proc/PID/stat, clock ticks since boot) equals the one
 * checkpointed; with no start time checkpointed (a Mesos work dir), when
 * it started no later than the pid file was written AND it shows itself
 * to be an executor of that run (the run id on its command line, or its
 * working directory the run's sandbox): the time bound alone proves
 * nothing after a restored backup.
 */
#ifndef CKPT_PROC_H
#define CKPT_PROC_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

enum proc_identity {
	PROC_GONE,		/* no such process */
	PROC_SAME,		/* alive and proven to be the checkpointed one */
	PROC_RECYCLED,		/* alive, but another process has the pid */
};

/* 0 and *start, or -ESRCH when pid does not exist. */
int proc_start_time(pid_t pid, unsigned long long *start);
/* Start of pid in seconds since the epoch, or -1. */
time_t proc_start_wall(pid_t pid);
/* Check pid against a checkpointed start time (0 = unknown, then
 * bound_mtime is the latest time the process may have started, and run
 * the run it must show). */
enum proc_identity proc_identify(pid_t pid, unsigned long long start,
    time_t bound_mtime, const char *run);
/* Does /proc/PID show an executor of run (argument or cwd)? */
bool proc_shows_run(pid_t pid, const char *run);
const char *proc_identity_name(enum proc_identity id);
/* Open a pidfd for pid and check identity again through it: returns the
 * fd (>= 0) or -1 (-ESRCH / recycled); on kernels without pidfd_open
 * returns -2 and the caller signals by pid after proc_identify. */
int proc_pidfd_verified(pid_t pid, unsigned long long start, time_t bound,
    const char *run);
/* Signal through pidfd when fd >= 0, else kill(pid). */
int proc_signal(int pidfd, pid_t pid, int sig);

/* The time pid has run on a CPU and the time it has waited, runnable,
 * for one (ns, /proc/PID/schedstat): 0, or -1. */
int proc_cpu_ns(pid_t pid, unsigned long long *ran, unsigned long long *waited);

#endif

/* Stop a proven process and every process of its session (its task):
 * SIGTERM, up to grace_ms for it to exit, then SIGKILL to what is left.
 * Returns 0 when it is gone, -ESRCH when it was not the checkpointed
 * process (nothing signalled), -ETIMEDOUT when it survived SIGKILL. */
int proc_terminate(pid_t pid, unsigned long long start, time_t bound,
    const char *run, long long grace_ms);
