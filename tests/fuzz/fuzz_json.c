/* libFuzzer target: ckpt-write's JSON input, JSON to message and back. */
#include <jansson.h>
#include <stdlib.h>

#include "mesos.pb-c.h"
#include "pbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ProtobufCMessageDescriptor *kinds[] = {
		&mesos__slave_info__descriptor, &mesos__framework_info__descriptor,
		&mesos__executor_info__descriptor, &mesos__task__descriptor,
		&mesos__status_update__descriptor,
	};
	struct ckpt_error e;
	ProtobufCMessage *m;
	json_error_t je;
	json_t *j;

	if (size < 1)
		return 0;
	j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return 0;
	if (pbjson_to_message(kinds[data[0] % 5], j, &m, &e) == 0) {
		json_t *back = pbjson_from_message(m);
		char *s = json_dumps(back, JSON_COMPACT);
		free(s);
		json_decref(back);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	json_decref(j);
	return 0;
}
