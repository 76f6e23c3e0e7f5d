#include "checkpoint.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"
#include "record.h"
#include "workdir.h"

/* The one place every checkpoint write passes: no planted symbolic link
 * on the way (writes never leave the work dir), then the directories. */
static int
mkdirs_for(struct dbatch *b, const char *work, const char *path,
    struct ckpt_error *e)
{
	char dir[PATH_MAX];
	int rc;

	if ((rc = workdir_no_links(work, path, e)) < 0)
		return rc;
	strlcpy(dir, path, sizeof(dir));
	if ((rc = dbatch_mkdirs(b, dirname(dir), e)) < 0) {
		/* Name the file the caller was writing, then the directory. */
		char reason[sizeof(e->reason) + sizeof(e->path) + 2];
		if (snprintf(reason, sizeof(reason), "%s: %s", e->path,
		    e->reason) >= (int)sizeof(reason))
			reason[sizeof(reason) - 1] = '\0';
		error_set(e, rc, path, -1, "%.400s", reason);
	}
	return rc;
}

/* With b NULL, a call is a batch of its own, committed before it
 * returns: BEGIN picks the batch, END commits one of our own. */
#define BEGIN(b)	struct dbatch one_; \
			if ((b) == NULL) { dbatch_init(&one_); (b) = &one_; }
#define END(b, rc, e)	((b) == &one_ ? commit_own(&one_, (rc), (e)) : (rc))

static int
commit_own(struct dbatch *b, int rc, struct ckpt_error *e)
{
	if (rc < 0) {
		dbatch_abort(b);
		return rc;
	}
	return dbatch_commit(b, e);
}

/* The bytes of record m, or NULL with e set. */
static uint8_t *
encode(const char *path, const ProtobufCMessage *m, size_t *len,
    struct ckpt_error *e)
{
	uint8_t *buf;
	int rc;

	if ((rc = record_encode(m, &buf, len)) < 0) {
		error_set(e, rc, path, -1, "cannot encode %s: %s",
		    m->descriptor->name, strerror(-rc));
		return NULL;
	}
	return buf;
}

int
checkpoint_info(struct dbatch *b, const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const ProtobufCMessage *m,
    struct ckpt_error *e)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	BEGIN(b);
	if ((rc = path_build(path, sizeof(path), work, kind, ids, e)) == 0 &&
	    (rc = mkdirs_for(b, work, path, e)) == 0)
		rc = (buf = encode(path, m, &len, e)) == NULL ? e->code :
		    dbatch_write(b, path, buf, len, e);
	free(buf);
	return END(b, rc, e);
}

int
checkpoint_agent(struct dbatch *b, const char *work, const char *agent,
    const Mesos__SlaveInfo *info, struct ckpt_error *e)
{
	struct ckpt_ids ids = { .agent = agent };
	char path[PATH_MAX];
	int rc;

	BEGIN(b);
	if ((rc = checkpoint_info(b, work, PATH_AGENT_INFO, &ids, &info->base,
	    e)) == 0 &&
	    (rc = path_build(path, sizeof(path), work, PATH_SLAVES_LATEST, &ids,
	    e)) == 0)
		rc = dbatch_symlink(b, agent, path, e);
	return END(b, rc, e);
}

int
checkpoint_text(struct dbatch *b, const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const char *text, struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	BEGIN(b);
	if ((rc = path_build(path, sizeof(path), work, kind, ids, e)) == 0 &&
	    (rc = mkdirs_for(b, work, path, e)) == 0)
		rc = dbatch_write(b, path, text, strlen(text), e);
	return END(b, rc, e);
}

int
checkpoint_run(struct dbatch *b, const char *work, const struct ckpt_ids *ids,
    struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	BEGIN(b);
	if ((rc = path_build(path, sizeof(path), work, PATH_RUN, ids, e)) == 0 &&
	    (rc = workdir_no_links(work, path, e)) == 0 &&
	    (rc = dbatch_mkdirs(b, path, e)) == 0 &&
	    (rc = path_build(path, sizeof(path), work, PATH_SANDBOX, ids, e)) == 0 &&
	    (rc = workdir_no_links(work, path, e)) == 0 &&
	    (rc = dbatch_mkdirs(b, path, e)) == 0 &&
	    (rc = path_build(path, sizeof(path), work, PATH_RUNS_LATEST, ids,
	    e)) == 0)
		rc = dbatch_symlink(b, ids->run, path, e);
	return END(b, rc, e);
}

int
checkpoint_pid(struct dbatch *b, const char *work, const struct ckpt_ids *ids,
    pid_t pid, unsigned long long start, struct ckpt_error *e)
{
	char text[32];
	int rc = 0;

	BEGIN(b);
	if (start != 0) {
		snprintf(text, sizeof(text), "%llu\n", start);
		rc = checkpoint_text(b, work, PATH_EXECUTOR_START, ids, text, e);
	}
	snprintf(text, sizeof(text), "%ld\n", (long)pid);
	if (rc == 0)
		rc = checkpoint_text(b, work, PATH_FORKED_PID, ids, text, e);
	return END(b, rc, e);
}

int
checkpoint_stream_open(struct dbatch *b, const char *work,
    const struct ckpt_ids *ids, char *path, size_t size, struct ckpt_error *e)
{
	int rc;

	BEGIN(b);
	if ((rc = path_build(path, size, work, PATH_TASK_UPDATES, ids, e)) == 0 &&
	    (rc = mkdirs_for(b, work, path, e)) == 0)
		rc = dbatch_open_append(b, path, e);
	if (b != &one_)
		return rc;
	if (rc < 0) {
		dbatch_abort(b);
		return rc;
	}
	int fd = rc;
	if ((rc = dbatch_commit(b, e)) < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int
stream_record(struct dbatch *b, int fd, const char *path,
    Mesos__StatusUpdateRecord *rec, struct ckpt_error *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	BEGIN(b);
	if ((buf = encode(path, &rec->base, &len, e)) == NULL)
		rc = e->code;
	else
		rc = dbatch_append(b, fd, path, buf, len, e);
	free(buf);
	return END(b, rc, e);
}

int
checkpoint_stream_update(struct dbatch *b, int fd, const char *path,
    const Mesos__StatusUpdate *u, struct ckpt_error *e)
{
	Mesos__StatusUpdateRecord rec = MESOS__STATUS_UPDATE_RECORD__INIT;

	rec.type = MESOS__STATUS_UPDATE_RECORD__TYPE__UPDATE;
	rec.update = (Mesos__StatusUpdate *)u;
	return stream_record(b, fd, path, &rec, e);
}

int
checkpoint_stream_ack(struct dbatch *b, int fd, const char *path,
    const uint8_t uuid[16], struct ckpt_error *e)
{
	Mesos__StatusUpdateRecord rec = MESOS__STATUS_UPDATE_RECORD__INIT;

	rec.type = MESOS__STATUS_UPDATE_RECORD__TYPE__ACK;
	rec.has_uuid = 1;
	rec.uuid.len = 16;
	rec.uuid.data = (uint8_t *)uuid;
	return stream_record(b, fd, path, &rec, e);
}

/* Open, append, commit, close: one record on its own. */
static int
append_one(const char *work, const struct ckpt_ids *ids,
    const Mesos__StatusUpdate *u, const uint8_t *uuid, struct ckpt_error *e)
{
	char path[PATH_MAX];
	int fd, rc;

	if ((fd = checkpoint_stream_open(NULL, work, ids, path, sizeof(path),
	    e)) < 0)
		return fd;
	rc = u ? checkpoint_stream_update(NULL, fd, path, u, e) :
	    checkpoint_stream_ack(NULL, fd, path, uuid, e);
	close(fd);
	return rc;
}

int
checkpoint_update(const char *work, const struct ckpt_ids *ids,
    const Mesos__StatusUpdate *u, struct ckpt_error *e)
{
	return append_one(work, ids, u, NULL, e);
}

int
checkpoint_ack(const char *work, const struct ckpt_ids *ids,
    const uint8_t uuid[16], struct ckpt_error *e)
{
	return append_one(work, ids, NULL, uuid, e);
}

int
checkpoint_sentinel(struct dbatch *b, const char *work,
    const struct ckpt_ids *ids, struct ckpt_error *e)
{
	return checkpoint_text(b, work, PATH_SENTINEL, ids, "", e);
}

void
secret_format(const uint8_t secret[SECRET_LEN], char *text)
{
	for (int i = 0; i < SECRET_LEN; i++)
		snprintf(text + 2 * i, 3, "%02x", secret[i]);
}

int
secret_parse(const char *text, uint8_t secret[SECRET_LEN])
{
	if (strlen(text) != 2 * SECRET_LEN)
		return -1;
	for (int i = 0; i < SECRET_LEN; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)text[2 * i]) ||
		    !isxdigit((unsigned char)text[2 * i + 1]) ||
		    sscanf(text + 2 * i, "%2x", &v) != 1)
			return -1;
		secret[i] = (uint8_t)v;
	}
	return 0;
}

int
checkpoint_secret(struct dbatch *b, const char *work,
    const struct ckpt_ids *ids, const uint8_t secret[SECRET_LEN],
    struct ckpt_error *e)
{
	char text[2 * SECRET_LEN + 2];

	secret_format(secret, text);
	strlcat(text, "\n", sizeof(text));
	return checkpoint_text(b, work, PATH_EXECUTOR_SECRET, ids, text, e);
}

int
secret_load(const char *work, const struct ckpt_ids *ids,
    uint8_t secret[SECRET_LEN], struct ckpt_error *e)
{
	char path[PATH_MAX], text[2 * SECRET_LEN + 8];
	int rc;

	if ((rc = path_build(path, sizeof(path), work, PATH_EXECUTOR_SECRET, ids,
	    e)) < 0 || (rc = text_read(path, text, sizeof(text), e)) < 0)
		return rc;
	if (secret_parse(text, secret) < 0)
		return error_set(e, -EBADMSG, path, -1, "not a secret (%d hex "
		    "digits)", 2 * SECRET_LEN);
	return 0;
}

int
checkpoint_note(const char *work, enum path_kind kind,
    const struct ckpt_ids *ids, const char *text, struct ckpt_error *e)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	size_t n = strlen(text);
	int fd, rc;

	if ((rc = path_build(path, sizeof(path), work, kind, ids, e)) < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0)
		return error_set(e, -errno, tmp, -1, "%s", strerror(errno));
	if (write(fd, text, n) != (ssize_t)n || close(fd) < 0) {
		rc = error_set(e, -EIO, tmp, -1, "write: %s", strerror(errno));
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, path) < 0) {
		rc = error_set(e, -errno, path, -1, "rename: %s", strerror(errno));
		unlink(tmp);
		return rc;
	}
	return 0;
}
