#include "record.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

#include "at.h"

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

int
record_reader_openat(struct record_reader *r, int dirfd, const char *name,
    const char *path, struct ckpt_error *e)
{
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	/* A symbolic link planted in a work dir is not state, and a FIFO
	 * must not block the reader: at_open_file refuses both. */
	if ((fd = at_open_file(dirfd, name, O_RDONLY, path, &r->size, e)) < 0)
		return fd;
	if ((r->path = strdup(path)) == NULL) {
		close(fd);
		return error_set(e, -ENOMEM, path, -1, "out of memory");
	}
	r->fd = fd;
	return 0;
}

int
record_reader_open(struct record_reader *r, const char *path,
    struct ckpt_error *e)
{
	return record_reader_openat(r, AT_FDCWD, path, path, e);
}

int
record_torn_zeros(struct record_reader *r, long long off, size_t len)
{
	struct stat st;
	unsigned char buf[4096];
	long long end = off + 4 + (long long)len, zeros = 0, pos;
	int fd = r->fd >= 0 ? r->fd : fileno(r->fp);

	if (fd < 0 || fstat(fd, &st) < 0 || end > st.st_size)
		return 0;
	/* Count the zero bytes at the end of the file, back to the record. */
	for (pos = st.st_size; pos > off; ) {
		size_t n = pos - off < (long long)sizeof(buf) ?
		    (size_t)(pos - off) : sizeof(buf);
		ssize_t got = pread(fd, buf, n, pos - (long long)n);
		if (got != (ssize_t)n)
			return 0;
		for (size_t i = n; i-- > 0; zeros++)
			if (buf[i] != 0)
				goto counted;
		pos -= (long long)n;
	}
counted:
	return zeros >= 4 && st.st_size - zeros < end;
}

int
record_reader_from(struct record_reader *r, FILE *fp, const char *name,
    struct ckpt_error *e)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->size = -1;
	r->fp = fp;
	if ((r->path = strdup(name)) == NULL)
		return error_set(e, -ENOMEM, name, -1, "out of memory");
	return 0;
}

void
record_reader_close(struct record_reader *r)
{
	if (r->fp != NULL)
		fclose(r->fp);
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int
record_reader_seek(struct record_reader *r, long long off,
    struct ckpt_error *e)
{
	if ((r->fd >= 0 ? lseek(r->fd, off, SEEK_SET) :
	    fseeko(r->fp, off, SEEK_SET)) < 0)
		return error_set(e, -EIO, r->path, off, "seek: %s",
		    strerror(errno));
	r->pos = r->len = 0;
	r->eof = r->error = false;
	r->offset = r->read = off;
	return 0;
}

/* At least want bytes in the window from pos (fewer only at the end of
 * the file): the number there. */
static size_t
fill(struct record_reader *r, size_t want)
{
	if (r->len - r->pos >= want || r->eof || r->error)
		return r->len - r->pos;
	if (r->pos > 0 && r->len > r->pos)
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	/* Small files (.info) get a small window; one that fills it gets
	 * larger ones, up to RECORD_WINDOW. */
	if (want > r->cap || (r->full && r->cap < RECORD_WINDOW)) {
		size_t cap = r->cap ? r->cap * 4 : 16384;
		if (cap > RECORD_WINDOW)
			cap = RECORD_WINDOW;
		if (cap < want)
			cap = want;
		unsigned char *nb = realloc(r->buf, cap);
		if (nb == NULL) {
			errno = ENOMEM;
			r->error = true;
			return r->len;
		}
		r->buf = nb;
		r->cap = cap;
	}
	while (r->len < want) {
		ssize_t n;
		/* What was there at open: no read(2) to learn of the end. */
		if (r->size >= 0 && r->read >= r->size) {
			r->eof = true;
			break;
		}
		if (r->fd >= 0)
			n = read(r->fd, r->buf + r->len, r->cap - r->len);
		else {
			n = (ssize_t)fread(r->buf + r->len, 1, r->cap - r->len,
			    r->fp);
			if (n == 0 && ferror(r->fp))
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->error = true;
			break;
		}
		if (n == 0) {
			r->eof = true;
			break;
		}
		r->len += (size_t)n;
		r->read += n;
		r->full = r->len == r->cap;
	}
	return r->len - r->pos;
}

int
record_next(struct record_reader *r, const uint8_t **data, size_t *len,
    long long *offset, struct ckpt_error *e)
{
	size_t n;
	uint32_t size;

	n = fill(r, 4);
	if (r->error && n < 4)
		return error_set(e, errno == ENOMEM ? -ENOMEM : -EIO, r->path,
		    r->offset, "read: %s", strerror(errno));
	if (n == 0)
		return RECORD_EOF;
	if (n < 4) {
		error_set(e, 0, r->path, r->offset,
		    "torn tail: %zu of 4 length bytes", n);
		return RECORD_TORN;
	}
	size = le32(r->buf + r->pos);
	if (size > RECORD_MAX)
		return error_set(e, -EBADMSG, r->path, r->offset,
		    "record length %u exceeds limit %u", size, RECORD_MAX);
	n = fill(r, 4 + (size_t)size);
	if (n < 4 + (size_t)size) {
		if (r->error)
			return error_set(e, errno == ENOMEM ? -ENOMEM : -EIO,
			    r->path, r->offset, "read: %s", strerror(errno));
		error_set(e, 0, r->path, r->offset,
		    "torn tail: %zu of %u record bytes", n - 4, size);
		return RECORD_TORN;
	}
	*data = r->buf + r->pos + 4;
	*len = size;
	*offset = r->offset;
	r->pos += 4 + (size_t)size;
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

/* The checksum's tag: field RECORD_CHECKSUM_FIELD, wire type 5 (fixed32). */
#define CHECKSUM_TAG ((RECORD_CHECKSUM_FIELD << 3) | 5)
#define CHECKSUM_LEN 6	/* two tag bytes, four checksum bytes */

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

int
record_encode(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t size = protobuf_c_message_get_packed_size(m);
	uint8_t *buf, *body;

	if (size + CHECKSUM_LEN > RECORD_MAX)
		return -EMSGSIZE;
	if ((buf = malloc(size + 4 + CHECKSUM_LEN)) == NULL)
		return -ENOMEM;
	body = buf + 4;
	protobuf_c_message_pack(m, body);
	body[size] = (CHECKSUM_TAG & 0x7f) | 0x80;
	body[size + 1] = CHECKSUM_TAG >> 7;
	put_le32(body + size + 2, libdeflate_crc32(0, body, size));
	size += CHECKSUM_LEN;
	put_le32(buf, (uint32_t)size);
	*out = buf;
	*len = size + 4;
	return 0;
}

static int
varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*pos >= len)
			return -1;
		uint8_t b = p[(*pos)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

int
record_checksum(const uint8_t *body, size_t len)
{
	size_t pos = 0;
	/* The CRC of all but a trailer's six bytes: computed once. */
	uint32_t crc = len >= CHECKSUM_LEN ?
	    libdeflate_crc32(0, body, len - CHECKSUM_LEN) : 0;
	/* Our trailer, intact, but maybe not where a field starts (a damaged
	 * length swallowed it): then the record is damaged. */
	int trailer = len >= CHECKSUM_LEN &&
	    body[len - 6] == ((CHECKSUM_TAG & 0x7f) | 0x80) &&
	    body[len - 5] == CHECKSUM_TAG >> 7 && le32(body + len - 4) == crc;
	int none = trailer ? -EBADMSG : 0;

	/* The CRC of every byte before an intact trailer matched: these are
	 * the bytes our writer packed, its trailer the last field (a damaged
	 * length would have changed the CRC).  Whether the fields parse is
	 * the unpacking's to say.  Only records without it are walked. */
	if (trailer)
		return 1;

	/* Walk the top-level fields: the checksum is the last one. */
	while (pos < len) {
		size_t start = pos;
		uint64_t tag, n;
		if (varint(body, len, &pos, &tag) < 0)
			return none;	/* else not ours to judge: unpacking is */
		if (tag == CHECKSUM_TAG && start + CHECKSUM_LEN == len)
			return le32(body + len - 4) == crc ? 1 : -EBADMSG;
		/* A last fixed32 field holding the CRC of all before it is
		 * our checksum with a damaged tag (a Mesos field matches by
		 * chance once in 2^32). */
		if ((tag & 7) == 5 && pos + 4 == len && le32(body + len - 4) ==
		    (start + CHECKSUM_LEN == len ? crc :
		    libdeflate_crc32(0, body, start)))
			return -EBADMSG;
		switch (tag & 7) {
		case 0:
			if (varint(body, len, &pos, &n) < 0)
				return none;
			break;
		case 1:
			pos += 8;
			break;
		case 2:
			if (varint(body, len, &pos, &n) < 0 || n > len - pos)
				return none;
			pos += n;
			break;
		case 5:
			pos += 4;
			break;
		default:
			return none;
		}
	}
	return none;
}

int
record_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data,
    size_t len, const char *path, long long offset, ProtobufCMessage **out,
    struct ckpt_error *e)
{
	*out = NULL;
	if (record_checksum(data, len) < 0)
		return error_set(e, -EBADMSG, path, offset,
		    "record of %zu bytes: checksum mismatch", len);
	*out = protobuf_c_message_unpack(d, NULL, len, data);
	if (*out == NULL)
		return error_set(e, -EBADMSG, path, offset,
		    "record of %zu bytes is not a valid %s", len, d->name);
	return 0;
}

int
record_read_fileat(int dirfd, const char *name, const char *path,
    const ProtobufCMessageDescriptor *d, ProtobufCMessage **out,
    struct ckpt_error *e)
{
	struct record_reader r;
	const uint8_t *data;
	size_t len;
	long long off;
	int rc;

	*out = NULL;
	if ((rc = record_reader_openat(&r, dirfd, name, path, e)) < 0)
		return rc;
	rc = record_next(&r, &data, &len, &off, e);
	if (rc == RECORD_EOF)
		rc = error_set(e, -ENOENT, path, -1, "empty file");
	else if (rc == RECORD_TORN)
		rc = error_set(e, -EBADMSG, path, e->offset, "%s", e->reason);
	else if (rc == RECORD_OK) {
		rc = record_unpack(d, data, len, path, off, out, e);
		if (rc == 0 && fill(&r, 1) > 0) {
			protobuf_c_message_free_unpacked(*out, NULL);
			*out = NULL;
			rc = error_set(e, -EBADMSG, path, r.offset,
			    "trailing bytes after the record");
		}
	}
	record_reader_close(&r);
	return rc;
}

int
record_read_file(const char *path, const ProtobufCMessageDescriptor *d,
    ProtobufCMessage **out, struct ckpt_error *e)
{
	return record_read_fileat(AT_FDCWD, path, path, d, out, e);
}
