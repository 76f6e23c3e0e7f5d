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

/* The next piece of a word at *pp (a quoted string, an escaped
 * character, or a character) onto word at *o: 0, or -EINVAL (e says
 * where: a byte offset in line). */
static int
take_char(const char **pp, char *word, size_t *o, const char *line,
    struct ckpt_error *e)
{
	const char *p = *pp, *end;

	if (*p == '\'') {
		if ((end = strchr(p + 1, '\'')) == NULL)
			return error_set(e, -EINVAL, "", p - line,
			    "unterminated quote");
		memcpy(word + *o, p + 1, (size_t)(end - p - 1));
		*o += (size_t)(end - p - 1);
		*pp = end + 1;
		return 0;
	}
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return error_set(e, -EINVAL, "", p - line,
				    "unterminated quote");
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			word[(*o)++] = *p;
		}
		*pp = p + 1;
		return 0;
	}
	if (*p == '\\') {
		if (p[1] == '\0')
			return error_set(e, -EINVAL, "", p - line,
			    "backslash at end of line");
		word[(*o)++] = p[1];
		*pp = p + 2;
		return 0;
	}
	if ((unsigned char)*p < 0x20 || *p == 0x7f)
		return error_set(e, -EINVAL, "", p - line,
		    "control character 0x%02x", (unsigned char)*p);
	word[(*o)++] = *p;
	*pp = p + 1;
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
		if ((rc = take_char(&p, word, &o, line, e)) < 0)
			goto fail_rc;
	}
	free(word);
	return 0;
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
