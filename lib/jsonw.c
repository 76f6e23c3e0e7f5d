#include "jsonw.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define CHUNK 65536		/* bytes buffered before a write to out */

void
jw_init(struct jsonw *w, FILE *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

/* Room for n more bytes at the end of the buffer, or NULL (error set). */
static char *
room(struct jsonw *w, size_t n)
{
	if (w->error)
		return NULL;
	if (w->out && w->len > 0 && w->len + n > CHUNK && jw_flush(w) < 0)
		return NULL;
	if (w->cap - w->len < n) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		char *p;
		while (cap - w->len < n)
			cap *= 2;
		if ((p = realloc(w->buf, cap)) == NULL) {
			w->error = -ENOMEM;
			return NULL;
		}
		w->buf = p, w->cap = cap;
	}
	return w->buf + w->len;
}

static void
put(struct jsonw *w, const char *s, size_t n)
{
	char *p = room(w, n);

	if (p) {
		memcpy(p, s, n);
		w->len += n;
	}
}

/* n bytes of s as a JSON string, escaped as jansson escapes (NUL as
 * \u0000); a byte that is not part of valid UTF-8 becomes U+FFFD, so
 * the output is always JSON. */
static void
put_stringn(struct jsonw *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str, *end = s + n;
	char *p = room(w, 6 * n + 2), *q = p;

	if (p == NULL)
		return;
	*q++ = '"';
	while (s < end) {
		size_t k;
		if (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\') {
			*q++ = (char)*s++;
			continue;
		}
		if (*s >= 0x80) {
			/* utf8_char stops at a NUL: past end it reads none. */
			k = utf8_char(s);
			if (k == 0 || k > (size_t)(end - s)) {
				memcpy(q, "\xef\xbf\xbd", 3), q += 3, s++;
			} else {
				memcpy(q, s, k), q += k, s += k;
			}
			continue;
		}
		*q++ = '\\';
		switch (*s) {
		case '"': *q++ = '"'; break;
		case '\\': *q++ = '\\'; break;
		case '\b': *q++ = 'b'; break;
		case '\f': *q++ = 'f'; break;
		case '\n': *q++ = 'n'; break;
		case '\r': *q++ = 'r'; break;
		case '\t': *q++ = 't'; break;
		default:
			memcpy(q, "u00", 3), q += 3;
			*q++ = hex[*s >> 4], *q++ = hex[*s & 15];
		}
		s++;
	}
	*q++ = '"';
	w->len += (size_t)(q - p);
}

static void
put_string(struct jsonw *w, const char *s)
{
	put_stringn(w, s, strlen(s));
}

/* The comma and the key before a value. */
static void
sep(struct jsonw *w, const char *key)
{
	if (w->depth > 0) {
		if (!w->first[w->depth - 1])
			put(w, ",", 1);
		w->first[w->depth - 1] = false;
	}
	if (key) {
		put_string(w, key);
		put(w, ":", 1);
	}
}

static void
open_level(struct jsonw *w, const char *key, char open, char close)
{
	sep(w, key);
	if (w->depth == JW_DEPTH) {
		w->error = w->error ? w->error : -E2BIG;
		return;
	}
	put(w, &open, 1);
	w->open[w->depth] = (unsigned char)close;
	w->first[w->depth++] = true;
}

void
jw_object(struct jsonw *w, const char *key)
{
	open_level(w, key, '{', '}');
}

void
jw_array(struct jsonw *w, const char *key)
{
	open_level(w, key, '[', ']');
}

void
jw_end(struct jsonw *w)
{
	if (w->depth > 0) {
		w->depth--;
		put(w, (const char *)&w->open[w->depth], 1);
	}
}

void
jw_string(struct jsonw *w, const char *key, const char *s)
{
	sep(w, key);
	if (s)
		put_string(w, s);
	else
		put(w, "null", 4);
}

/* v in decimal at the end of buf; returns where it starts. */
static char *
digits(char *end, long long v)
{
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v :
	    (unsigned long long)v;

	do
		*--end = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--end = '-';
	return end;
}

void
jw_int(struct jsonw *w, const char *key, long long v)
{
	char buf[24], *s = digits(buf + sizeof(buf), v);

	sep(w, key);
	put(w, s, (size_t)(buf + sizeof(buf) - s));
}

/* jansson's form: %.17g, ".0" when there is neither '.' nor 'e', no '+'
 * and no leading zeros in the exponent.  Whole numbers (timestamps of
 * whole seconds) skip printf. */
void
jw_real(struct jsonw *w, const char *key, double v)
{
	char buf[40], *s, *e;
	size_t n;

	sep(w, key);
	if (!isfinite(v)) {
		put(w, "null", 4);
		return;
	}
	if (v == trunc(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
		memcpy(buf + sizeof(buf) - 2, ".0", 2);
		s = digits(buf + sizeof(buf) - 2, (long long)v);
		put(w, s, (size_t)(buf + sizeof(buf) - s));
		return;
	}
	n = (size_t)snprintf(buf, sizeof(buf) - 3, "%.17g", v);
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL)
		memcpy(buf + n, ".0", 3), n += 2;
	if ((s = strchr(buf, 'e')) != NULL) {
		e = ++s + 1;
		if (*s == '-')
			s++;
		while (*e == '0')
			e++;
		memmove(s, e, (size_t)(buf + n + 1 - e));
		n -= (size_t)(e - s);
	}
	put(w, buf, n);
}

void
jw_bool(struct jsonw *w, const char *key, bool v)
{
	sep(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void
jw_null(struct jsonw *w, const char *key)
{
	sep(w, key);
	put(w, "null", 4);
}

/* A jansson value written by the writer, not by json_dumpb: jansson's
 * dumper formats and hashes the address of every container it enters
 * (its loop check); the bytes are the same. */
void
jw_json(struct jsonw *w, const char *key, const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_OBJECT:
		jw_object(w, key);
		json_object_foreach((json_t *)j, k, v)
			jw_json(w, k, v);
		jw_end(w);
		break;
	case JSON_ARRAY:
		jw_array(w, key);
		json_array_foreach(j, i, v)
			jw_json(w, NULL, v);
		jw_end(w);
		break;
	case JSON_STRING:
		sep(w, key);
		put_stringn(w, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		jw_int(w, key, (long long)json_integer_value(j));
		break;
	case JSON_REAL:
		jw_real(w, key, json_real_value(j));
		break;
	case JSON_TRUE:
		jw_bool(w, key, true);
		break;
	case JSON_FALSE:
		jw_bool(w, key, false);
		break;
	default:
		jw_null(w, key);
	}
}

void
jw_raw(struct jsonw *w, const char *s, size_t n)
{
	put(w, s, n);
}

int
jw_flush(struct jsonw *w)
{
	if (w->out == NULL)
		return w->error;
	if (w->len > 0 && !w->error &&
	    fwrite(w->buf, 1, w->len, w->out) != w->len)
		w->error = errno ? -errno : -EIO;
	w->len = 0;
	return w->error;
}

char *
jw_take(struct jsonw *w, size_t *len)
{
	char *s;

	if (room(w, 1) == NULL) {
		jw_free(w);
		return NULL;
	}
	w->buf[w->len] = '\0';
	s = w->buf;
	if (len)
		*len = w->len;
	w->buf = NULL, w->len = w->cap = 0, w->depth = 0;
	return s;
}

void
jw_free(struct jsonw *w)
{
	free(w->buf);
	w->buf = NULL, w->len = w->cap = 0, w->depth = 0;
}

json_t *
jw_text(const char *s)
{
	const unsigned char *p;
	json_t *j;
	char *t, *q;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	if ((t = q = malloc(3 * strlen(s) + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s; *p; ) {
		size_t k = utf8_char(p);
		if (k == 0)
			memcpy(q, "\xef\xbf\xbd", 3), q += 3, p++;
		else
			memcpy(q, p, k), q += k, p += k;
	}
	*q = '\0';
	j = json_string(t);
	free(t);
	return j;
}
