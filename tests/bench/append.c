/* append: one durable status-update append (durable_append: open, write,
 * fdatasync, close) against a bare write + fdatasync loop on an open fd,
 * same bytes, same file system, interleaved rounds.
 * usage: append DIR [N] -> "append_us bare_us ratio" */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "mesos.pb-c.h"
#include "record.h"
#include "uuid.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	Mesos__StatusUpdateRecord rec = MESOS__STATUS_UPDATE_RECORD__INIT;
	Mesos__StatusUpdate u = MESOS__STATUS_UPDATE__INIT;
	Mesos__TaskStatus st = MESOS__TASK_STATUS__INIT;
	Mesos__FrameworkID fw = MESOS__FRAMEWORK_ID__INIT;
	Mesos__TaskID task = MESOS__TASK_ID__INIT;
	uint8_t id[16], *buf;
	size_t len;
	char a[4096], b[4096];
	int n = argc > 2 ? atoi(argv[2]) : 500, fd;
	double ta = 0, tb = 0;
	struct ckpt_error e;

	if (argc < 2)
		return 64;
	snprintf(a, sizeof(a), "%s/durable.updates", argv[1]);
	snprintf(b, sizeof(b), "%s/bare.updates", argv[1]);
	unlink(a);
	unlink(b);
	fw.value = "framework-0001";
	task.value = "task-0001";
	uuid_generate(id);
	st.task_id = &task;
	st.state = MESOS__TASK_STATE__TASK_RUNNING;
	u.framework_id = &fw;
	u.status = &st;
	u.timestamp = 1.7e9;
	u.has_uuid = 1;
	u.uuid.len = 16;
	u.uuid.data = id;
	rec.update = &u;
	record_encode(&rec.base, &buf, &len);
	if ((fd = open(b, O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0)
		return 74;
	for (int round = 0; round < 10; round++) {
		double t0 = now();
		for (int i = 0; i < n / 10; i++)
			if (durable_append(a, buf, len, &e) < 0)
				return 74;
		double t1 = now();
		for (int i = 0; i < n / 10; i++)
			if (write(fd, buf, len) != (ssize_t)len || fdatasync(fd) < 0)
				return 74;
		double t2 = now();
		ta += t1 - t0;
		tb += t2 - t1;
	}
	printf("%.1f %.1f %.3f\n", ta / n * 1e6, tb / n * 1e6, ta / tb);
	close(fd);
	free(buf);
	unlink(a);
	unlink(b);
	return 0;
}
