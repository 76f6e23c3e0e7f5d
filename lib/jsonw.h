/*
 * jsonw.h: a streaming JSON writer.  Values are appended to a buffer as
 * they are produced and the buffer goes to a stdio stream in large
 * writes; the writer places the commas.  It is for output too large or
 * too hot for jansson's object model: ckpt-inspect over 100,000
 * executors spent half its time building, dumping and freeing objects
 * (jansson's dumper formats and hashes every container's address for
 * its loop check).  The bytes are those json_dumps(JSON_COMPACT) gives
 * for the same values, and jw_json embeds a jansson value where one
 * already exists.
 *
 * Every value takes a key: the member's name inside an object, NULL in
 * an array or at the top.  Errors are sticky: after one, nothing more
 * is written and jw_flush returns it.
 */
#ifndef CKPT_JSONW_H
#define CKPT_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define JW_DEPTH 64

struct jsonw {
	FILE *out;		/* NULL: kept in memory (jw_take) */
	char *buf;
	size_t len, cap;
	unsigned depth;
	unsigned char open[JW_DEPTH];	/* '}' or ']' to close each level */
	bool first[JW_DEPTH];		/* nothing written yet at this level */
	int error;			/* first -errno, sticky */
};

void jw_init(struct jsonw *w, FILE *out);
void jw_object(struct jsonw *w, const char *key);
void jw_array(struct jsonw *w, const char *key);
void jw_end(struct jsonw *w);		/* close the innermost */
void jw_string(struct jsonw *w, const char *key, const char *s); /* NULL: null */
void jw_int(struct jsonw *w, const char *key, long long v);
void jw_real(struct jsonw *w, const char *key, double v);
void jw_bool(struct jsonw *w, const char *key, bool v);
void jw_null(struct jsonw *w, const char *key);
void jw_json(struct jsonw *w, const char *key, const json_t *j); /* NULL: null */
/* Raw bytes between values (a newline between lines). */
void jw_raw(struct jsonw *w, const char *s, size_t n);
/* Write what is buffered to out: 0, or the first -errno. */
int jw_flush(struct jsonw *w);
/* In-memory writer: the text written (NUL-terminated, the caller frees),
 * or NULL after an error. */
char *jw_take(struct jsonw *w, size_t *len);
void jw_free(struct jsonw *w);

/* A jansson string of s (NULL: null) that never fails on content: jansson
 * refuses text that is not UTF-8 (json_string returns NULL and the key,
 * or the whole line, silently vanishes), so such bytes become U+FFFD, as
 * the writer writes them.  For every string that comes from outside:
 * paths, messages, protobuf strings, a driver's words. */
json_t *jw_text(const char *s);

#endif
