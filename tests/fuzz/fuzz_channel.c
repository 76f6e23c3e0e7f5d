/* libFuzzer target: the executor socket's framing and message decoder. */
#include <stdlib.h>

#include "channel.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body;
	size_t len, used;

	while (record_parse(data, size, &body, &len, &used) == 1) {
		Agentproto__ExecutorMessage *m;
		if (channel_decode(body, len, &m) == 0)
			agentproto__executor_message__free_unpacked(m, NULL);
		data += used;
		size -= used;
	}
	return 0;
}
