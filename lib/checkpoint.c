#include "checkpoint.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "record.h"
#include "workdir.h"

/* The one place every checkpoint write passes: no planted symbolic link
 * on the way (writes never leave the work dir), then the directories. */
static int
mkdirs_for(const char *work, const char *path, struct ckpt_error *e)
{
	char dir[PATH_MAX];
	int rc;

	if ((rc = workdir_no_links(work, path, e)) < 0)
		return rc;
	strlcpy(dir, path, sizeof(dir));
	if ((rc = durable_mkdirs(dirname(dir), e)) < 0) {
		/* Name the file the caller was writing, then the directory. */
		char reason[sizeof(e->reason) + sizeof(e->path) + 2];
		if (snprintf(reason, sizeof(reason), "%s: %s", e->path,
		    e->reason) >= (int)sizeof(reason))
			reason[sizeof(reason) - 1] = '\0';
		error_set(e, rc, path, -1, "%.400s", reason);
	}
	return rc;
}

static int
write_record(const char *work, const char *path, const ProtobufCMessage *m,
    int append, struct ckpt_error *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if ((rc = record_encode(m, &buf, &len)) < 0)
		return error_set(e, rc, path, -1, "cannot encode %s: %s",
		    m->descriptor->name, strerror(-rc));
	if ((rc = mkdirs_for(work, path, e)) == 0)
		rc = append ? durable_append(path, buf, len, e) :
		    durable_write(path, buf, len, e);
	free(buf);
	return rc;
}

int
checkpoint_info(const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const ProtobufCMessage *m,
    struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, kind, ids, e)) < 0)
		return rc;
	return write_record(work, path, m, 0, e);
}

int
checkpoint_agent(const char *work, const char *agent,
    const Mesos__SlaveInfo *info, struct ckpt_error *e)
{
	struct ckpt_ids ids = { .agent = agent };
	char path[PATH_MAX];
	int rc;

	if ((rc = checkpoint_info(work, PATH_AGENT_INFO, &ids, &info->base,
	    e)) < 0 ||
	    (rc = path_build(path, sizeof(path), work, PATH_SLAVES_LATEST, &ids,
	    e)) < 0)
		return rc;
	return durable_symlink(agent, path, e);
}

int
checkpoint_text(const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const char *text, struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, kind, ids, e)) < 0 ||
	    (rc = mkdirs_for(work, path, e)) < 0)
		return rc;
	return durable_write(path, text, strlen(text), e);
}

int
checkpoint_run(const char *work, const struct ckpt_ids *ids,
    struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, PATH_RUN, ids, e)) < 0 ||
	    (rc = workdir_no_links(work, path, e)) < 0 ||
	    (rc = durable_mkdirs(path, e)) < 0 ||
	    (rc = path_build(path, sizeof(path), work, PATH_SANDBOX, ids, e)) < 0 ||
	    (rc = workdir_no_links(work, path, e)) < 0 ||
	    (rc = durable_mkdirs(path, e)) < 0 ||
	    (rc = path_build(path, sizeof(path), work, PATH_RUNS_LATEST, ids,
	    e)) < 0)
		return rc;
	return durable_symlink(ids->run, path, e);
}

int
checkpoint_pid(const char *work, const struct ckpt_ids *ids, pid_t pid,
    unsigned long long start, struct ckpt_error *e)
{
	char text[32];
	int rc;

	if (start != 0) {
		snprintf(text, sizeof(text), "%llu\n", start);
		if ((rc = checkpoint_text(work, PATH_EXECUTOR_START, ids, text,
		    e)) < 0)
			return rc;
	}
	snprintf(text, sizeof(text), "%ld\n", (long)pid);
	return checkpoint_text(work, PATH_FORKED_PID, ids, text, e);
}

int
checkpoint_update(const char *work, const struct ckpt_ids *ids,
    const Mesos__StatusUpdate *u, struct ckpt_error *e)
{
	Mesos__StatusUpdateRecord rec = MESOS__STATUS_UPDATE_RECORD__INIT;
	char path[PATH_MAX];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, PATH_TASK_UPDATES, ids,
	    e)) < 0)
		return rc;
	rec.type = MESOS__STATUS_UPDATE_RECORD__TYPE__UPDATE;
	rec.update = (Mesos__StatusUpdate *)u;
	return write_record(work, path, &rec.base, 1, e);
}

int
checkpoint_ack(const char *work, const struct ckpt_ids *ids,
    const uint8_t uuid[16], struct ckpt_error *e)
{
	Mesos__StatusUpdateRecord rec = MESOS__STATUS_UPDATE_RECORD__INIT;
	char path[PATH_MAX];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, PATH_TASK_UPDATES, ids,
	    e)) < 0)
		return rc;
	rec.type = MESOS__STATUS_UPDATE_RECORD__TYPE__ACK;
	rec.has_uuid = 1;
	rec.uuid.len = 16;
	rec.uuid.data = (uint8_t *)uuid;
	return write_record(work, path, &rec.base, 1, e);
}

int
checkpoint_sentinel(const char *work, const struct ckpt_ids *ids,
    struct ckpt_error *e)
{
	return checkpoint_text(work, PATH_SENTINEL, ids, "", e);
}
