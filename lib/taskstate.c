#include "taskstate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mesos.pb-c.h"
#include "state.h"

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
	const ProtobufCEnumValue *v = s < 0 ? NULL :
	    protobuf_c_enum_descriptor_get_value(&mesos__task_state__descriptor, s);

	return v ? v->name : "TASK_UNKNOWN";
}

int
task_state_parse(const char *text)
{
	char name[64];
	const ProtobufCEnumValue *v;

	if (snprintf(name, sizeof(name), "%s%s", strncasecmp(text, "TASK_", 5) ?
	    "TASK_" : "", text) >= (int)sizeof(name))
		return -1;
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	v = protobuf_c_enum_descriptor_get_value_by_name(
	    &mesos__task_state__descriptor, name);
	return v ? v->value : -1;
}

int
task_effective_state(const struct state_task *t)
{
	if (t->ended)
		return t->end_state;
	if (t->latest_state >= 0)
		return t->latest_state;
	return t->info ? (int)t->info->state : -1;
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
	else if (strcmp(word, "memory-limit") == 0)
		*kind = EXIT_MEMORY;
	else if (strcmp(word, "disk-limit") == 0)
		*kind = EXIT_DISK;
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
	case EXIT_MEMORY:
	case EXIT_DISK:
		return MESOS__TASK_STATE__TASK_FAILED;
	default:
		return MESOS__TASK_STATE__TASK_LOST;
	}
}

const char *
task_reason_name(int reason)
{
	switch (reason) {
	case REASON_CONTAINER_LIMITATION_MEMORY:
		return "REASON_CONTAINER_LIMITATION_MEMORY";
	case REASON_CONTAINER_LIMITATION_DISK:
		return "REASON_CONTAINER_LIMITATION_DISK";
	case REASON_CONTAINER_LAUNCH_FAILED:
		return "REASON_CONTAINER_LAUNCH_FAILED";
	case REASON_TASK_HEALTH_CHECK_STATUS_UPDATED:
		return "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED";
	default:
		return NULL;
	}
}
