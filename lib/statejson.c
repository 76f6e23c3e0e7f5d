#include "statejson.h"

#include "pbjson.h"
#include "uuid.h"

json_t *
statejson_errors(const struct state_errors *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++) {
		json_t *o = json_pack("{s:s, s:s}", "path", l->v[i].path,
		    "reason", l->v[i].reason);
		if (l->v[i].offset >= 0)
			json_object_set_new(o, "offset",
			    json_integer(l->v[i].offset));
		json_array_append_new(a, o);
	}
	return a;
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
			    json_string(u->status->message));
	}
	json_object_set_new(o, "timestamp", json_real(u->timestamp));
	return o;
}

json_t *
statejson_pending(const struct state_pending *p)
{
	char text[UUID_TEXT];

	uuid_format(p->uuid, text);
	return json_pack("{s:s, s:s, s:f, s:I}", "uuid", text, "state",
	    task_state_name(p->state), "timestamp", p->timestamp, "offset",
	    (json_int_t)p->offset);
}

json_t *
statejson_task(const struct state_task *t, int verbose)
{
	json_t *o = json_pack("{s:s}", "id", t->id), *p;

	json_object_set_new(o, "state",
	    json_string(task_state_name(task_effective_state(t))));
	json_object_set_new(o, "updates", json_integer((json_int_t)t->n_updates));
	json_object_set_new(o, "acks", json_integer((json_int_t)t->n_acks));
	json_object_set_new(o, "unacked", json_integer((json_int_t)t->n_pending));
	json_object_set_new(o, "final_update_pending", json_boolean(t->ended));
	p = json_array();
	for (size_t i = 0; i < t->n_pending; i++)
		json_array_append_new(p, statejson_pending(&t->pending[i]));
	json_object_set_new(o, "pending", p);
	json_object_set_new(o, "torn_tail", json_boolean(t->torn));
	json_object_set_new(o, "valid_end", t->torn ?
	    json_integer(t->valid_end) : json_null());
	json_object_set_new(o, "repaired", json_boolean(t->repaired));
	if (verbose && t->info)
		json_object_set_new(o, "info", pbjson_from_message(&t->info->base));
	json_object_set_new(o, "errors", statejson_errors(&t->errors));
	return o;
}

enum proc_identity
statejson_identity(const struct state_run *r)
{
	if (r->pid <= 0)
		return PROC_GONE;
	return proc_identify(r->pid, r->start_time, r->pid_mtime, r->id);
}

json_t *
statejson_run(const struct state_run *r)
{
	json_t *o = json_pack("{s:s, s:b, s:b}", "id", r->id, "latest",
	    r->latest, "completed", r->completed);
	enum proc_identity id = statejson_identity(r);
	static const char *kinds[] = { NULL, "exited", "signaled", "lost" };

	json_object_set_new(o, "pid", r->pid ? json_integer(r->pid) : json_null());
	json_object_set_new(o, "alive", json_boolean(id == PROC_SAME));
	json_object_set_new(o, "process", json_string(r->pid ?
	    proc_identity_name(id) : "none"));
	if (r->start_time)
		json_object_set_new(o, "start_time",
		    json_integer((json_int_t)r->start_time));
	if (r->socket)
		json_object_set_new(o, "socket", json_string(r->socket));
	if (r->libprocess_pid)
		json_object_set_new(o, "libprocess_pid",
		    json_string(r->libprocess_pid));
	if (r->exit_kind != EXIT_NONE)
		json_object_set_new(o, "exit", json_pack("{s:s, s:i}", "how",
		    kinds[r->exit_kind], "value", r->exit_value));
	json_object_set_new(o, "errors", statejson_errors(&r->errors));
	return o;
}
