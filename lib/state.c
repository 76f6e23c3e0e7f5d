#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "paths.h"
#include "record.h"
#include "update.h"
#include "workdir.h"

static int
errors_add(struct state_errors *l, const struct ckpt_error *e)
{
	struct state_error *v = reallocarray(l->v, l->n + 1, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	v[l->n].path = strdup(e->path);
	v[l->n].reason = strdup(e->reason);
	v[l->n].offset = e->offset;
	l->n++;
	return 0;
}

static void
errors_free(struct state_errors *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].reason);
	}
	free(l->v);
}

/* A recovery error: fatal when strict, else noted on the node. */
static int
problem(const struct state_options *o, struct state_errors *l,
    struct ckpt_error *e)
{
	if (o->strict || e->code == -ENOMEM)
		return e->code ? e->code : -EBADMSG;
	return errors_add(l, e);
}

bool
task_state_terminal(int s)
{
	switch (s) {
	case MESOS__TASK_STATE__TASK_FINISHED:
	case MESOS__TASK_STATE__TASK_FAILED:
	case MESOS__TASK_STATE__TASK_KILLED:
	case MESOS__TASK_STATE__TASK_ERROR:
	case MESOS__TASK_STATE__TASK_LOST:
	case MESOS__TASK_STATE__TASK_DROPPED:
	case MESOS__TASK_STATE__TASK_GONE:
	case MESOS__TASK_STATE__TASK_GONE_BY_OPERATOR:
		return true;
	default:
		return false;
	}
}

const char *
task_state_name(int s)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&mesos__task_state__descriptor, s);

	return v ? v->name : "TASK_UNKNOWN";
}

int
exit_parse(const char *text, enum exit_kind *kind, int *value)
{
	char word[32];
	int v = 0;

	if (sscanf(text, "%31s %d", word, &v) < 1)
		return -EBADMSG;
	if (strcmp(word, "exited") == 0)
		*kind = EXIT_CODE;
	else if (strcmp(word, "signaled") == 0)
		*kind = EXIT_SIGNAL;
	else if (strcmp(word, "lost") == 0)
		*kind = EXIT_LOST;
	else
		return -EBADMSG;
	*value = v;
	return 0;
}

int
exit_state(enum exit_kind kind, int value)
{
	switch (kind) {
	case EXIT_CODE:
		return value == 0 ? MESOS__TASK_STATE__TASK_FINISHED :
		    MESOS__TASK_STATE__TASK_FAILED;
	case EXIT_SIGNAL:
		return value == 9 || value == 15 ?
		    MESOS__TASK_STATE__TASK_KILLED : MESOS__TASK_STATE__TASK_FAILED;
	default:
		return MESOS__TASK_STATE__TASK_LOST;
	}
}

/* The 16 bytes of an ACK record's uuid, or NULL. */
static const uint8_t *
ack_uuid(const Mesos__StatusUpdateRecord *rec)
{
	return rec->has_uuid && rec->uuid.len == 16 ? rec->uuid.data : NULL;
}

static bool
pending_is(const struct state_pending *p, const uint8_t *uuid)
{
	return uuid != NULL && memcmp(p->uuid, uuid, 16) == 0;
}

static bool
is_pending(const struct state_task *t, const uint8_t *uuid)
{
	for (size_t i = 0; i < t->n_pending; i++)
		if (pending_is(&t->pending[i], uuid))
			return true;
	return false;
}

void
state_task_clear(struct state_task *t)
{
	free(t->pending);
	t->pending = NULL;
	t->n_pending = t->n_updates = t->n_acks = 0;
	t->latest_state = -1;
	t->terminal = t->torn = t->repaired = false;
	t->valid_end = 0;
}

static int
replay_record(struct state_task *t, Mesos__StatusUpdateRecord *rec,
    const char *path, long long off, struct ckpt_error *e)
{
	if (rec->type == MESOS__STATUS_UPDATE_RECORD__TYPE__UPDATE) {
		Mesos__StatusUpdate *u = rec->update;
		struct state_pending *v;
		if (u == NULL || u->status == NULL)
			return error_set(e, -EBADMSG, path, off,
			    "UPDATE record without an update");
		t->n_updates++;
		t->latest_state = u->status->state;
		if (task_state_terminal(u->status->state))
			t->terminal = true;
		if (update_uuid_bytes(u) == NULL ||
		    is_pending(t, update_uuid_bytes(u)))
			return 0;
		if ((v = reallocarray(t->pending, t->n_pending + 1,
		    sizeof(*v))) == NULL)
			return error_set(e, -ENOMEM, path, off, "out of memory");
		t->pending = v;
		v += t->n_pending++;
		memcpy(v->uuid, update_uuid_bytes(u), 16);
		v->state = u->status->state;
		v->timestamp = u->timestamp;
		v->offset = off;
		return 0;
	}
	if (!rec->has_uuid)
		return error_set(e, -EBADMSG, path, off,
		    "ACK record without a uuid");
	t->n_acks++;
	for (size_t i = 0; i < t->n_pending; i++)
		if (pending_is(&t->pending[i], ack_uuid(rec))) {
			memmove(&t->pending[i], &t->pending[i + 1],
			    (t->n_pending - i - 1) * sizeof(*t->pending));
			t->n_pending--;
			break;
		}
	return 0;
}

int
state_replay_updates(const char *path, bool strict, bool repair,
    struct state_task *t, state_update_cb cb, void *ctx, struct ckpt_error *e)
{
	struct record_reader r;
	const uint8_t *data;
	size_t len;
	long long off;
	int rc, pass;

	state_task_clear(t);
	for (pass = 0; pass < (cb ? 2 : 1); pass++) {
		if ((rc = record_reader_open(&r, path, e)) < 0)
			return rc == -ENOENT ? 0 : rc;
		bool checksummed = false;
		while ((rc = record_next(&r, &data, &len, &off, e)) == RECORD_OK) {
			Mesos__StatusUpdateRecord *rec;
			/* Once a record carries a checksum (ours), every later
			 * one does: a record without it is damage (a Mesos
			 * stream continued by us is fine, not the reverse). */
			if (record_checksum(data, len) > 0)
				checksummed = true;
			else if (checksummed) {
				rc = error_set(e, -EBADMSG, path, off, "record of "
				    "%zu bytes lacks the checksum the records "
				    "before it carry", len);
				break;
			}
			if ((rc = record_unpack(
			    &mesos__status_update_record__descriptor, data, len,
			    path, off, (ProtobufCMessage **)&rec, e)) < 0)
				break;
			if (pass == 0)
				rc = replay_record(t, rec, path, off, e);
			else {
				const uint8_t *u = rec->update ?
				    update_uuid_bytes(rec->update) : NULL;
				cb(ctx, off, rec, rec->type ==
				    MESOS__STATUS_UPDATE_RECORD__TYPE__ACK ||
				    !is_pending(t, u));
			}
			protobuf_c_message_free_unpacked(&rec->base, NULL);
			if (rc < 0)
				break;
		}
		if (rc == RECORD_TORN && pass == 0) {
			t->torn = true;
			t->valid_end = r.offset;
			e->offset = r.offset;
		} else if (rc >= 0 && pass == 0)
			t->valid_end = r.offset;
		record_reader_close(&r);
		if (rc < 0) {
			(void)strict;
			return rc;
		}
	}
	if (t->torn && repair) {
		if ((rc = durable_truncate(path, t->valid_end, e)) < 0)
			return rc;
		t->repaired = true;
	}
	return 0;
}

int
state_update_at(const char *path, long long offset, Mesos__StatusUpdate **out,
    struct ckpt_error *e)
{
	struct record_reader r;
	Mesos__StatusUpdateRecord *rec;
	const uint8_t *data;
	size_t len;
	long long off;
	int rc;

	*out = NULL;
	if ((rc = record_reader_open(&r, path, e)) < 0)
		return rc;
	if (fseeko(r.fp, offset, SEEK_SET) < 0) {
		record_reader_close(&r);
		return error_set(e, -EIO, path, offset, "seek failed");
	}
	r.offset = offset;
	rc = record_next(&r, &data, &len, &off, e);
	if (rc == RECORD_OK && (rc = record_unpack(
	    &mesos__status_update_record__descriptor, data, len, path, off,
	    (ProtobufCMessage **)&rec, e)) == 0) {
		*out = rec->update;
		rec->update = NULL;
		protobuf_c_message_free_unpacked(&rec->base, NULL);
		rc = *out ? 0 : error_set(e, -EBADMSG, path, off, "not an update");
	} else if (rc >= 0)
		rc = error_set(e, -EBADMSG, path, offset, "no record here");
	record_reader_close(&r);
	return rc;
}

struct known {
	const uint8_t *uuid;
	int result;
};

static void
known_cb(void *ctx, long long off, const Mesos__StatusUpdateRecord *rec,
    bool acked)
{
	struct known *k = ctx;
	const uint8_t *u = rec->update ? update_uuid_bytes(rec->update) : NULL;

	(void)off;
	if (u && memcmp(u, k->uuid, 16) == 0)
		k->result = acked ? 2 : 1;
}

int
state_update_known(const char *path, const uint8_t uuid[16])
{
	struct state_task t = { 0 };
	struct known k = { uuid, 0 };
	struct ckpt_error e;

	state_replay_updates(path, false, false, &t, known_cb, &k, &e);
	state_task_clear(&t);
	return k.result;
}

/* ---- walking the tree ---- */

static int
only_dirs(const struct dirent *d)
{
	if (d->d_name[0] == '.' || strcmp(d->d_name, "latest") == 0)
		return 0;
	return d->d_type == DT_DIR || d->d_type == DT_UNKNOWN;
}

/* Subdirectories of path, sorted; symlinks are never followed. */
static int
list_dirs(const char *path, struct dirent ***names, struct ckpt_error *e)
{
	int n = scandir(path, names, only_dirs, alphasort);
	struct stat st;
	char sub[PATH_MAX];
	int k = 0;

	if (n < 0) {
		*names = NULL;
		if (errno == ENOENT)
			return 0;
		return error_set(e, -errno, path, -1, "list: %s",
		    strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, (*names)[i]->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
		    id_validate((*names)[i]->d_name, "entry", NULL) == 0)
			(*names)[k++] = (*names)[i];
		else
			free((*names)[i]);
	}
	return k;
}

static void
free_names(struct dirent **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static char *
text_dup(const char *path)
{
	char buf[4096];

	return text_read(path, buf, sizeof(buf), NULL) == 0 ? strdup(buf) : NULL;
}

/* Read an .info file: absent and empty are fine (NULL). */
static int
info_read(const char *path, const ProtobufCMessageDescriptor *d, void *out,
    const struct state_options *o, struct state_errors *l,
    struct ckpt_error *e)
{
	int rc = record_read_file(path, d, (ProtobufCMessage **)out, e);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return problem(o, l, e);
	return 0;
}

/* Target of a `latest` link when it is a valid id, else NULL. */
static int
latest_read(const char *path, char **out, const struct state_options *o,
    struct state_errors *l, struct ckpt_error *e)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	*out = NULL;
	if (n < 0)
		return 0;
	buf[n] = '\0';
	if (id_validate(buf, "latest link target", NULL) < 0) {
		error_set(e, -EBADMSG, path, -1,
		    "latest link names '%s', not an id", buf);
		return problem(o, l, e);
	}
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static int
read_task(const char *work, struct ckpt_ids *ids, struct state_task *t,
    const struct state_options *o, struct ckpt_error *e)
{
	char path[PATH_MAX];
	int rc;

	t->latest_state = -1;
	if ((rc = path_build(path, sizeof(path), work, PATH_TASK_INFO, ids, e)) < 0 ||
	    (rc = info_read(path, &mesos__task__descriptor, &t->info, o,
	    &t->errors, e)) < 0)
		return rc;
	if ((rc = path_build(path, sizeof(path), work, PATH_TASK_UPDATES, ids,
	    e)) < 0)
		return rc;
	rc = state_replay_updates(path, o->strict, o->repair, t, NULL, NULL, e);
	if (rc < 0)
		return problem(o, &t->errors, e);
	return 0;
}

static int
read_run(const char *work, struct ckpt_ids *ids, struct state_run *r,
    const struct state_options *o, struct ckpt_error *e)
{
	char path[PATH_MAX], buf[64];
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	path_build(path, sizeof(path), work, PATH_SENTINEL, ids, e);
	r->completed = access(path, F_OK) == 0;
	path_build(path, sizeof(path), work, PATH_FORKED_PID, ids, e);
	if (text_read(path, buf, sizeof(buf), NULL) == 0 && buf[0] != '\0') {
		const char *err = NULL;
		r->pid = (pid_t)strtonum(buf, 1, 1 << 30, &err);
		if (err != NULL) {
			r->pid = 0;
			error_set(e, -EBADMSG, path, -1, "pid '%s' is %s", buf,
			    err);
			if ((rc = problem(o, &r->errors, e)) < 0)
				return rc;
		}
		if (stat(path, &st) == 0)
			r->pid_mtime = st.st_mtime;
	}
	path_build(path, sizeof(path), work, PATH_EXECUTOR_START, ids, e);
	if (text_read(path, buf, sizeof(buf), NULL) == 0)
		r->start_time = strtoull(buf, NULL, 10);
	path_build(path, sizeof(path), work, PATH_LIBPROCESS_PID, ids, e);
	r->libprocess_pid = text_dup(path);
	path_build(path, sizeof(path), work, PATH_EXECUTOR_SOCKET, ids, e);
	r->socket = text_dup(path);
	path_build(path, sizeof(path), work, PATH_EXECUTOR_EXIT, ids, e);
	if (text_read(path, buf, sizeof(buf), NULL) == 0 &&
	    exit_parse(buf, &r->exit_kind, &r->exit_value) < 0) {
		error_set(e, -EBADMSG, path, -1, "unreadable exit status '%s'",
		    buf);
		if ((rc = problem(o, &r->errors, e)) < 0)
			return rc;
	}
	path_build(path, sizeof(path), work, PATH_RUN, ids, e);
	strlcat(path, "/tasks", sizeof(path));
	if ((n = list_dirs(path, &names, e)) < 0)
		return problem(o, &r->errors, e);
	if (n > 0 && (r->tasks = calloc((size_t)n, sizeof(*r->tasks))) == NULL)
		rc = -ENOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		struct state_task *t = &r->tasks[r->n_tasks++];
		t->id = strdup(names[i]->d_name);
		ids->task = t->id;
		rc = read_task(work, ids, t, o, e);
	}
	ids->task = NULL;
	free_names(names, n);
	return rc;
}

static int
read_executor(const char *work, struct ckpt_ids *ids, struct state_executor *x,
    const struct state_options *o, struct ckpt_error *e)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n, rc = 0;

	if ((rc = path_build(path, sizeof(path), work, PATH_EXECUTOR_INFO, ids,
	    e)) < 0 || (rc = info_read(path, &mesos__executor_info__descriptor,
	    &x->info, o, &x->errors, e)) < 0)
		return rc;
	path_build(path, sizeof(path), work, PATH_RUNS_LATEST, ids, e);
	if ((rc = latest_read(path, &x->latest_run, o, &x->errors, e)) < 0)
		return rc;
	path_build(path, sizeof(path), work, PATH_RUNS, ids, e);
	if ((n = list_dirs(path, &names, e)) < 0)
		return problem(o, &x->errors, e);
	x->latest_dangling = x->latest_run != NULL;
	if (n > 0 && (x->runs = calloc((size_t)n, sizeof(*x->runs))) == NULL)
		rc = -ENOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		struct state_run *r = &x->runs[x->n_runs++];
		r->id = strdup(names[i]->d_name);
		if (x->latest_run && strcmp(x->latest_run, r->id) == 0)
			r->latest = true, x->latest_dangling = false;
		ids->run = r->id;
		rc = read_run(work, ids, r, o, e);
	}
	ids->run = NULL;
	free_names(names, n);
	return rc;
}

static int
read_framework(const char *work, struct ckpt_ids *ids,
    struct state_framework *f, const struct state_options *o,
    struct ckpt_error *e)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n, rc = 0;

	if ((rc = path_build(path, sizeof(path), work, PATH_FRAMEWORK_INFO, ids,
	    e)) < 0 || (rc = info_read(path, &mesos__framework_info__descriptor,
	    &f->info, o, &f->errors, e)) < 0)
		return rc;
	path_build(path, sizeof(path), work, PATH_FRAMEWORK_PID, ids, e);
	f->pid = text_dup(path);
	path_build(path, sizeof(path), work, PATH_FRAMEWORK, ids, e);
	strlcat(path, "/executors", sizeof(path));
	if ((n = list_dirs(path, &names, e)) < 0)
		return problem(o, &f->errors, e);
	if (n > 0 && (f->executors = calloc((size_t)n,
	    sizeof(*f->executors))) == NULL)
		rc = -ENOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		struct state_executor *x = &f->executors[f->n_executors++];
		x->id = strdup(names[i]->d_name);
		ids->executor = x->id;
		rc = read_executor(work, ids, x, o, e);
	}
	ids->executor = NULL;
	free_names(names, n);
	return rc;
}

static int
read_agent(const char *work, struct ckpt_ids *ids, struct state_agent *a,
    const struct state_options *o, struct ckpt_error *e)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n, rc = 0;

	if ((rc = path_build(path, sizeof(path), work, PATH_AGENT_INFO, ids,
	    e)) < 0 || (rc = info_read(path, &mesos__slave_info__descriptor,
	    &a->info, o, &a->errors, e)) < 0)
		return rc;
	path_build(path, sizeof(path), work, PATH_AGENT, ids, e);
	strlcat(path, "/frameworks", sizeof(path));
	if ((n = list_dirs(path, &names, e)) < 0)
		return problem(o, &a->errors, e);
	if (n > 0 && (a->frameworks = calloc((size_t)n,
	    sizeof(*a->frameworks))) == NULL)
		rc = -ENOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		struct state_framework *f = &a->frameworks[a->n_frameworks++];
		f->id = strdup(names[i]->d_name);
		ids->framework = f->id;
		rc = read_framework(work, ids, f, o, e);
	}
	ids->framework = NULL;
	free_names(names, n);
	return rc;
}

int
state_read(const char *work, const struct state_options *o,
    struct state **out, struct ckpt_error *e)
{
	struct state *s;
	struct ckpt_ids ids = { 0 };
	char path[PATH_MAX];
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	*out = NULL;
	if (stat(work, &st) < 0)
		return error_set(e, -errno, work, -1, "%s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return error_set(e, -ENOENT, work, -1, "not a directory");
	path_build(path, sizeof(path), work, PATH_META, NULL, e);
	if (stat(path, &st) < 0)
		return error_set(e, -ENOENT, work, -1,
		    "no checkpoint (no meta/ directory)");
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->work = strdup(work)) == NULL) {
		free(s);
		return error_set(e, -ENOMEM, work, -1, "out of memory");
	}
	path_build(path, sizeof(path), work, PATH_BOOT_ID, NULL, e);
	s->boot_id = text_dup(path);
	path_build(path, sizeof(path), work, PATH_SLAVES_LATEST, NULL, e);
	if ((rc = latest_read(path, &s->latest_agent, o, &s->errors, e)) < 0)
		goto out;
	path_build(path, sizeof(path), work, PATH_SLAVES, NULL, e);
	if ((n = list_dirs(path, &names, e)) < 0) {
		rc = problem(o, &s->errors, e);
		goto out;
	}
	if (n > 0 && (s->agents = calloc((size_t)n, sizeof(*s->agents))) == NULL)
		rc = -ENOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		bool latest = s->latest_agent &&
		    strcmp(s->latest_agent, names[i]->d_name) == 0;
		struct state_agent *a;
		if (o->latest_only && !latest)
			continue;
		a = &s->agents[s->n_agents++];
		a->id = strdup(names[i]->d_name);
		a->latest = latest;
		ids.agent = a->id;
		rc = read_agent(work, &ids, a, o, e);
	}
	free_names(names, n);
out:
	if (rc < 0) {
		if (rc == -ENOMEM)
			error_set(e, rc, work, -1, "out of memory");
		state_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

#define FREE_INFO(p) do { if (p) protobuf_c_message_free_unpacked(&(p)->base, NULL); } while (0)

void
state_free(struct state *s)
{
	if (s == NULL)
		return;
	for (size_t a = 0; a < s->n_agents; a++) {
		struct state_agent *ag = &s->agents[a];
		for (size_t f = 0; f < ag->n_frameworks; f++) {
			struct state_framework *fw = &ag->frameworks[f];
			for (size_t x = 0; x < fw->n_executors; x++) {
				struct state_executor *ex = &fw->executors[x];
				for (size_t r = 0; r < ex->n_runs; r++) {
					struct state_run *run = &ex->runs[r];
					for (size_t t = 0; t < run->n_tasks; t++) {
						struct state_task *tk = &run->tasks[t];
						state_task_clear(tk);
						FREE_INFO(tk->info);
						errors_free(&tk->errors);
						free(tk->id);
					}
					free(run->tasks);
					free(run->libprocess_pid);
					free(run->socket);
					errors_free(&run->errors);
					free(run->id);
				}
				free(ex->runs);
				FREE_INFO(ex->info);
				free(ex->latest_run);
				errors_free(&ex->errors);
				free(ex->id);
			}
			free(fw->executors);
			FREE_INFO(fw->info);
			free(fw->pid);
			errors_free(&fw->errors);
			free(fw->id);
		}
		free(ag->frameworks);
		FREE_INFO(ag->info);
		errors_free(&ag->errors);
		free(ag->id);
	}
	free(s->agents);
	errors_free(&s->errors);
	free(s->boot_id);
	free(s->latest_agent);
	free(s->work);
	free(s);
}
