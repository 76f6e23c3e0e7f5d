#include "record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
record_reader_open(struct record_reader *r, const char *path,
    struct ckpt_error *e)
{
	memset(r, 0, sizeof(*r));
	if ((r->fp = fopen(path, "rbe")) == NULL)
		return error_set(e, -errno, path, -1, "%s", strerror(errno));
	if ((r->path = strdup(path)) == NULL) {
		fclose(r->fp);
		return error_set(e, -ENOMEM, path, -1, "out of memory");
	}
	return 0;
}

void
record_reader_close(struct record_reader *r)
{
	if (r->fp != NULL)
		fclose(r->fp);
	free(r->path);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int
record_next(struct record_reader *r, const uint8_t **data, size_t *len,
    long long *offset, struct ckpt_error *e)
{
	uint8_t hdr[4];
	size_t n;
	uint32_t size;

	n = fread(hdr, 1, 4, r->fp);
	if (n == 0 && !ferror(r->fp))
		return RECORD_EOF;
	if (ferror(r->fp))
		return error_set(e, -EIO, r->path, r->offset, "read: %s",
		    strerror(errno));
	if (n < 4) {
		error_set(e, 0, r->path, r->offset,
		    "torn tail: %zu of 4 length bytes", n);
		return RECORD_TORN;
	}
	size = le32(hdr);
	if (size > RECORD_MAX)
		return error_set(e, -EBADMSG, r->path, r->offset,
		    "record length %u exceeds limit %u", size, RECORD_MAX);
	if (size > r->cap) {
		uint8_t *nb = realloc(r->buf, size);
		if (nb == NULL)
			return error_set(e, -ENOMEM, r->path, r->offset,
			    "out of memory");
		r->buf = nb;
		r->cap = size;
	}
	n = size ? fread(r->buf, 1, size, r->fp) : 0;
	if (n < size) {
		if (ferror(r->fp))
			return error_set(e, -EIO, r->path, r->offset,
			    "read: %s", strerror(errno));
		error_set(e, 0, r->path, r->offset,
		    "torn tail: %zu of %u record bytes", n, size);
		return RECORD_TORN;
	}
	*data = r->buf;
	*len = size;
	*offset = r->offset;
	r->offset += 4 + (long long)size;
	return RECORD_OK;
}

int
record_parse(const uint8_t *buf, size_t len, const uint8_t **body,
    size_t *body_len, size_t *consumed)
{
	uint32_t size;

	if (len < 4)
		return 0;
	size = le32(buf);
	if (size > RECORD_MAX)
		return -EBADMSG;
	if (len - 4 < size)
		return 0;
	*body = buf + 4;
	*body_len = size;
	*consumed = 4 + (size_t)size;
	return 1;
}

int
record_encode(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t size = protobuf_c_message_get_packed_size(m);
	uint8_t *buf;

	if (size > RECORD_MAX)
		return -EMSGSIZE;
	if ((buf = malloc(size + 4)) == NULL)
		return -ENOMEM;
	buf[0] = size & 0xff;
	buf[1] = size >> 8 & 0xff;
	buf[2] = size >> 16 & 0xff;
	buf[3] = size >> 24 & 0xff;
	protobuf_c_message_pack(m, buf + 4);
	*out = buf;
	*len = size + 4;
	return 0;
}

int
record_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data,
    size_t len, const char *path, long long offset, ProtobufCMessage **out,
    struct ckpt_error *e)
{
	*out = protobuf_c_message_unpack(d, NULL, len, data);
	if (*out == NULL)
		return error_set(e, -EBADMSG, path, offset,
		    "record of %zu bytes is not a valid %s", len, d->name);
	return 0;
}

int
record_read_file(const char *path, const ProtobufCMessageDescriptor *d,
    ProtobufCMessage **out, struct ckpt_error *e)
{
	struct record_reader r;
	const uint8_t *data;
	size_t len;
	long long off;
	int rc;

	*out = NULL;
	if ((rc = record_reader_open(&r, path, e)) < 0)
		return rc;
	rc = record_next(&r, &data, &len, &off, e);
	if (rc == RECORD_EOF)
		rc = error_set(e, -ENOENT, path, -1, "empty file");
	else if (rc == RECORD_TORN)
		rc = error_set(e, -EBADMSG, path, e->offset, "%s", e->reason);
	else if (rc == RECORD_OK) {
		rc = record_unpack(d, data, len, path, off, out, e);
		if (rc == 0 && fgetc(r.fp) != EOF) {
			protobuf_c_message_free_unpacked(*out, NULL);
			*out = NULL;
			rc = error_set(e, -EBADMSG, path, r.offset,
			    "trailing bytes after the record");
		}
	}
	record_reader_close(&r);
	return rc;
}
