#include "update.h"

#include <stdlib.h>
#include <time.h>

#include "taskstate.h"
#include "uuid.h"

double
update_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

long long
monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

Mesos__StatusUpdate *
update_new(const struct update_ids *ids, int state, const char *message,
    int source)
{
	Mesos__StatusUpdate u = MESOS__STATUS_UPDATE__INIT;
	Mesos__TaskStatus st = MESOS__TASK_STATUS__INIT;
	Mesos__FrameworkID fw = MESOS__FRAMEWORK_ID__INIT;
	Mesos__ExecutorID ex = MESOS__EXECUTOR_ID__INIT;
	Mesos__SlaveID ag = MESOS__SLAVE_ID__INIT;
	Mesos__TaskID tk = MESOS__TASK_ID__INIT;
	Mesos__StatusUpdate *out;
	uint8_t id[16], *buf;
	size_t len;

	uuid_generate(id);
	fw.value = (char *)ids->framework;
	ex.value = (char *)ids->executor;
	ag.value = (char *)ids->agent;
	tk.value = (char *)ids->task;
	st.task_id = &tk;
	st.state = state;
	st.message = (char *)message;
	st.timestamp = update_now();
	st.has_timestamp = 1;
	st.executor_id = ids->executor ? &ex : NULL;
	st.slave_id = ids->agent ? &ag : NULL;
	st.has_source = 1;
	st.source = source;
	st.has_uuid = 1;
	st.uuid.len = 16;
	st.uuid.data = id;
	u.framework_id = &fw;
	u.executor_id = ids->executor ? &ex : NULL;
	u.slave_id = ids->agent ? &ag : NULL;
	u.status = &st;
	u.timestamp = st.timestamp;
	u.has_uuid = 1;
	u.uuid = st.uuid;
	/* Pack and unpack: the copy owns all its memory. */
	len = mesos__status_update__get_packed_size(&u);
	if ((buf = malloc(len)) == NULL)
		return NULL;
	mesos__status_update__pack(&u, buf);
	out = mesos__status_update__unpack(NULL, len, buf);
	free(buf);
	return out;
}

const uint8_t *
update_uuid_bytes(const Mesos__StatusUpdate *u)
{
	if (u->has_uuid && u->uuid.len == 16)
		return u->uuid.data;
	if (u->status && u->status->has_uuid && u->status->uuid.len == 16)
		return u->status->uuid.data;
	return NULL;
}

bool
update_ack_settles(int state)
{
	return task_state_terminal(state);
}
