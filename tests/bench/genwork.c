/* genwork: generate a work dir of N executors (one framework, one task
 * each, U updates per task; with ACKED=1 each update is followed by its
 * ACK) quickly: plain writes, no fsync (it is a fixture, not a
 * checkpoint).  usage: genwork DIR N U [ACKED] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mesos.pb-c.h"
#include "paths.h"
#include "record.h"
#include "uuid.h"

static void
mkdirs(const char *path)
{
	char buf[PATH_MAX];

	strlcpy(buf, path, sizeof(buf));
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0700);
			*p = '/';
		}
	mkdir(buf, 0700);
}

static void
put(const char *path, const ProtobufCMessage *m, int append)
{
	uint8_t *buf;
	size_t len;
	int fd;

	record_encode(m, &buf, &len);
	fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		exit(74);
	close(fd);
	free(buf);
}

/* Append one record to the open stream fd. */
static void
emit(int fd, const ProtobufCMessage *m)
{
	uint8_t *buf;
	size_t len;

	record_encode(m, &buf, &len);
	if (write(fd, buf, len) != (ssize_t)len)
		exit(74);
	free(buf);
}

int
main(int argc, char *argv[])
{
	Mesos__SlaveInfo si = MESOS__SLAVE_INFO__INIT;
	Mesos__FrameworkInfo fi = MESOS__FRAMEWORK_INFO__INIT;
	char path[PATH_MAX], eid[64], tid[64], rid[UUID_TEXT];
	int n, nu, acked, fd;

	if (argc != 4 && argc != 5)
		return 64;
	n = atoi(argv[2]);
	nu = atoi(argv[3]);
	acked = argc == 5 && atoi(argv[4]) != 0;
	struct ckpt_ids ids = { .agent = "A1", .framework = "F1" };
	si.hostname = "bench";
	path_build(path, sizeof(path), argv[1], PATH_AGENT, &ids, NULL);
	mkdirs(path);
	path_build(path, sizeof(path), argv[1], PATH_AGENT_INFO, &ids, NULL);
	put(path, &si.base, 0);
	path_build(path, sizeof(path), argv[1], PATH_SLAVES_LATEST, &ids, NULL);
	symlink("A1", path);
	fi.user = "bench";
	fi.name = "bench";
	fi.has_checkpoint = fi.checkpoint = 1;
	path_build(path, sizeof(path), argv[1], PATH_FRAMEWORK, &ids, NULL);
	mkdirs(path);
	path_build(path, sizeof(path), argv[1], PATH_FRAMEWORK_INFO, &ids, NULL);
	put(path, &fi.base, 0);
	for (int i = 0; i < n; i++) {
		Mesos__ExecutorInfo ei = MESOS__EXECUTOR_INFO__INIT;
		Mesos__ExecutorID xid = MESOS__EXECUTOR_ID__INIT;
		Mesos__FrameworkID fid = MESOS__FRAMEWORK_ID__INIT;
		Mesos__TaskID tk = MESOS__TASK_ID__INIT;
		Mesos__SlaveID sid = MESOS__SLAVE_ID__INIT;
		Mesos__Task t = MESOS__TASK__INIT;
		uint8_t u[16];

		snprintf(eid, sizeof(eid), "executor-%06d", i);
		snprintf(tid, sizeof(tid), "task-%06d", i);
		uuid_generate(u);
		uuid_format(u, rid);
		ids.executor = eid;
		ids.run = rid;
		ids.task = tid;
		xid.value = eid;
		fid.value = "F1";
		tk.value = tid;
		sid.value = "A1";
		ei.executor_id = &xid;
		ei.framework_id = &fid;
		path_build(path, sizeof(path), argv[1], PATH_TASK, &ids, NULL);
		mkdirs(path);
		path_build(path, sizeof(path), argv[1], PATH_EXECUTOR_INFO, &ids, NULL);
		put(path, &ei.base, 0);
		path_build(path, sizeof(path), argv[1], PATH_RUNS_LATEST, &ids, NULL);
		symlink(rid, path);
		t.name = tid;
		t.task_id = &tk;
		t.framework_id = &fid;
		t.executor_id = &xid;
		t.slave_id = &sid;
		t.state = MESOS__TASK_STATE__TASK_STAGING;
		path_build(path, sizeof(path), argv[1], PATH_TASK_INFO, &ids, NULL);
		put(path, &t.base, 0);
		path_build(path, sizeof(path), argv[1], PATH_TASK_UPDATES, &ids, NULL);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0)
			exit(74);
		for (int k = 0; k < nu; k++) {
			Mesos__StatusUpdateRecord rec = MESOS__STATUS_UPDATE_RECORD__INIT;
			Mesos__StatusUpdate up = MESOS__STATUS_UPDATE__INIT;
			Mesos__TaskStatus st = MESOS__TASK_STATUS__INIT;
			uint8_t uu[16];
			uuid_generate(uu);
			st.task_id = &tk;
			st.state = k + 1 == nu ? MESOS__TASK_STATE__TASK_FINISHED :
			    MESOS__TASK_STATE__TASK_RUNNING;
			up.framework_id = &fid;
			up.executor_id = &xid;
			up.status = &st;
			up.timestamp = 1.7e9 + k;
			up.has_uuid = 1;
			up.uuid.len = 16;
			up.uuid.data = uu;
			rec.update = &up;
			emit(fd, &rec.base);
			if (acked) {
				Mesos__StatusUpdateRecord ack =
				    MESOS__STATUS_UPDATE_RECORD__INIT;
				ack.type = MESOS__STATUS_UPDATE_RECORD__TYPE__ACK;
				ack.has_uuid = 1;
				ack.uuid.len = 16;
				ack.uuid.data = uu;
				emit(fd, &ack.base);
			}
		}
		close(fd);
	}
	return 0;
}
