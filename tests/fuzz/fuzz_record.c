/* libFuzzer target: the record stream reader, as recovery uses it. */
#include <stdio.h>
#include <stdlib.h>

#include "mesos.pb-c.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record_reader r;
	struct ckpt_error e;
	const uint8_t *body;
	size_t len;
	long long off;
	FILE *fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "rb")) == NULL)
		return 0;
	if (record_reader_from(&r, fp, "fuzz", &e) < 0) {
		fclose(fp);
		return 0;
	}
	while (record_next(&r, &body, &len, &off, &e) == RECORD_OK) {
		ProtobufCMessage *m;
		if (record_unpack(&mesos__status_update_record__descriptor, body,
		    len, "fuzz", off, &m, &e) == 0)
			protobuf_c_message_free_unpacked(m, NULL);
		if (record_unpack(&mesos__task__descriptor, body, len, "fuzz",
		    off, &m, &e) == 0)
			protobuf_c_message_free_unpacked(m, NULL);
	}
	record_reader_close(&r);
	return 0;
}
