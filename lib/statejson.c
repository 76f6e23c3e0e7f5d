#include "statejson.h"

#include "pbjson.h"
#include "uuid.h"

void
statejson_error_items(struct jsonw *w, const struct state_errors *l)
{
	for (size_t i = 0; i < l->n; i++) {
		jw_object(w, NULL);
		jw_string(w, "path", l->v[i].path);
		jw_string(w, "reason", l->v[i].reason);
		if (l->v[i].offset >= 0)
			jw_int(w, "offset", l->v[i].offset);
		jw_end(w);
	}
}

void
statejson_errors(struct jsonw *w, const char *key, const struct state_errors *l)
{
	jw_array(w, key);
	statejson_error_items(w, l);
	jw_end(w);
}

json_t *
statejson_update(const Mesos__StatusUpdate *u)
{
	json_t *o = json_object();
	char text[UUID_TEXT];
	const ProtobufCBinaryData *id = u->has_uuid ? &u->uuid :
	    (u->status && u->status->has_uuid ? &u->status->uuid : NULL);

	if (id && id->len == 16) {
		uuid_format(id->data, text);
		json_object_set_new(o, "uuid", json_string(text));
	}
	if (u->status) {
		json_object_set_new(o, "state",
		    json_string(task_state_name(u->status->state)));
		if (u->status->message)
			json_object_set_new(o, "message",
			    jw_text(u->status->message));
	}
	json_object_set_new(o, "timestamp", json_real(u->timestamp));
	return o;
}

void
statejson_task_members(struct jsonw *w, const struct state_task *t,
    bool verbose)
{
	char text[UUID_TEXT];

	jw_string(w, "id", t->id);
	jw_string(w, "state", task_state_name(task_effective_state(t)));
	jw_int(w, "updates", (long long)t->n_updates);
	jw_int(w, "acks", (long long)t->n_acks);
	jw_int(w, "unacked", (long long)t->n_pending);
	jw_bool(w, "final_update_pending", t->ended);
	jw_array(w, "pending");
	for (size_t i = 0; i < t->n_pending; i++) {
		const struct state_pending *p = &t->pending[i];
		uuid_format(p->uuid, text);
		jw_object(w, NULL);
		jw_string(w, "uuid", text);
		jw_string(w, "state", task_state_name(p->state));
		jw_real(w, "timestamp", p->timestamp);
		jw_int(w, "offset", p->offset);
		jw_end(w);
	}
	jw_end(w);
	jw_bool(w, "torn_tail", t->torn);
	if (t->torn)
		jw_int(w, "valid_end", t->valid_end);
	else
		jw_null(w, "valid_end");
	jw_bool(w, "repaired", t->repaired);
	jw_int(w, "unchecked_records", (long long)t->unchecked);
	if (t->unchecked)
		jw_int(w, "unchecked_at", t->unchecked_at);
	if (verbose && t->info) {
		json_t *info = pbjson_from_message(&t->info->base);
		jw_json(w, "info", info);
		json_decref(info);
	}
	statejson_errors(w, "errors", &t->errors);
}

enum proc_identity
statejson_identity(const struct state_run *r)
{
	return r->pid > 0 ? r->identity : PROC_GONE;
}

void
statejson_exit(struct jsonw *w, const char *key, const struct state_run *r)
{
	static const char *kinds[] = { NULL, "exited", "signaled", "lost",
	    "memory-limit", "disk-limit" };

	if (r->exit_kind == EXIT_NONE) {
		jw_null(w, key);
		return;
	}
	jw_object(w, key);
	jw_string(w, "how", kinds[r->exit_kind]);
	jw_int(w, "value", r->exit_value);
	jw_end(w);
}

void
statejson_run_members(struct jsonw *w, const struct state_run *r)
{
	enum proc_identity id = statejson_identity(r);

	jw_string(w, "id", r->id);
	jw_bool(w, "latest", r->latest);
	jw_bool(w, "completed", r->completed);
	if (r->pid)
		jw_int(w, "pid", r->pid);
	else
		jw_null(w, "pid");
	jw_bool(w, "alive", id == PROC_SAME);
	jw_string(w, "process", r->pid ? proc_identity_name(id) : "none");
	if (r->start_time)
		jw_int(w, "start_time", (long long)r->start_time);
	if (r->socket)
		jw_string(w, "socket", r->socket);
	if (r->libprocess_pid)
		jw_string(w, "libprocess_pid", r->libprocess_pid);
	/* Which executor runs it: its release ("0.2.0 2": and protocol);
	 * null: a release before 0.2.0. */
	jw_string(w, "executor_version", r->version);
	/* Its health check, as given, and its last result ("healthy 0
	 * TIME why", "unhealthy N TIME why"): null without one. */
	jw_string(w, "health_check", r->check);
	jw_string(w, "health", r->health);
	if (r->exit_kind != EXIT_NONE)
		statejson_exit(w, "exit", r);
	statejson_errors(w, "errors", &r->errors);
}
