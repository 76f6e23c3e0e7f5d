/* libFuzzer target: agent-run's command parser. */
#include <stdlib.h>
#include <string.h>

#include "command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct command c;
	struct ckpt_error e;
	char *line = malloc(size + 1);

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (command_parse(line, &c, &e) == 0)
		command_free(&c);
	free(line);
	return 0;
}
