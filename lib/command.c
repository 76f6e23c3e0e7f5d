#include "command.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void
command_free(struct command *c)
{
	for (int i = 0; c->argv && i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	c->argv = NULL;
	c->argc = 0;
}

static int
add_word(struct command *c, char *word)
{
	char **v;

	if (c->argc + 1 >= COMMAND_MAX_WORDS)
		return -E2BIG;
	if ((v = realloc(c->argv, (size_t)(c->argc + 2) * sizeof(*v))) == NULL)
		return -ENOMEM;
	c->argv = v;
	v[c->argc++] = word;
	v[c->argc] = NULL;
	return 0;
}

int
command_parse(const char *line, struct command *c, struct ckpt_error *e)
{
	size_t len = strlen(line), o = 0;
	const char *p = line;
	char *word = NULL;
	bool in_word = false;
	int rc;

	c->argc = 0;
	c->argv = NULL;
	if (len > COMMAND_MAX_LINE)
		return error_set(e, -EINVAL, "", -1,
		    "command longer than %d bytes", COMMAND_MAX_LINE);
	if ((word = malloc(len + 1)) == NULL)
		return -ENOMEM;
	for (;;) {
		char ch = *p;
		if (ch == '\0' || ch == ' ' || ch == '\t' || ch == '\n' ||
		    ch == '\r') {
			if (in_word) {
				word[o] = '\0';
				char *w = strdup(word);
				if (w == NULL || (rc = add_word(c, w)) < 0) {
					free(w);
					rc = w ? rc : -ENOMEM;
					goto fail_rc;
				}
				o = 0;
				in_word = false;
			}
			if (ch == '\0')
				break;
			p++;
			continue;
		}
		if (!in_word && ch == '#')
			break;
		in_word = true;
		if (ch == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (end == NULL)
				goto unterminated;
			memcpy(word + o, p + 1, (size_t)(end - p - 1));
			o += (size_t)(end - p - 1);
			p = end + 1;
		} else if (ch == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					goto unterminated;
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				word[o++] = *p;
			}
			p++;
		} else if (ch == '\\') {
			if (p[1] == '\0') {
				rc = error_set(e, -EINVAL, "", p - line,
				    "backslash at end of line");
				goto fail_rc;
			}
			word[o++] = p[1];
			p += 2;
		} else {
			if ((unsigned char)ch < 0x20 || ch == 0x7f) {
				rc = error_set(e, -EINVAL, "", p - line,
				    "control character 0x%02x",
				    (unsigned char)ch);
				goto fail_rc;
			}
			word[o++] = ch;
			p++;
		}
	}
	free(word);
	return 0;
unterminated:
	rc = error_set(e, -EINVAL, "", p - line, "unterminated quote");
fail_rc:
	if (rc == -E2BIG)
		error_set(e, -EINVAL, "", p - line, "more than %d words",
		    COMMAND_MAX_WORDS);
	else if (rc == -ENOMEM)
		error_set(e, rc, "", -1, "out of memory");
	free(word);
	command_free(c);
	return rc == -E2BIG ? -EINVAL : rc;
}
