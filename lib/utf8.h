/*
 * utf8.h: the one UTF-8 check, shared by id validation and the JSON
 * writer.
 */
#ifndef CKPT_UTF8_H
#define CKPT_UTF8_H

#include <stddef.h>

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0.  Stops at
 * a NUL: a sequence cut short by the end of a string is invalid. */
static inline size_t
utf8_char(const unsigned char *p)
{
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 :
	    (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	unsigned long c = n == 1 ? p[0] : n == 2 ? p[0] & 0x1fu :
	    n == 3 ? p[0] & 0x0fu : p[0] & 0x07u;

	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (n == 0 || (n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

#endif
