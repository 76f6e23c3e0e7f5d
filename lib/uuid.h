/*
 * uuid.h: 16-byte uuids (version 4) and their canonical text form.
 */
#ifndef CKPT_UUID_H
#define CKPT_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_TEXT 37	/* 36 characters and NUL */

void uuid_generate(uint8_t out[16]);
void uuid_format(const uint8_t u[16], char out[UUID_TEXT]);
/* 0 when text is a canonical uuid, -EINVAL otherwise. */
int uuid_parse(const char *text, uint8_t out[16]);

#endif
