/*
 * record.h: length-prefixed protobuf records (uint32 little-endian length,
 * then the message), the encoding of every checkpoint file and of the
 * executor socket.  A reader returns whole records with their byte offset;
 * a torn tail is reported (with the offset where the last whole record
 * ends), never returned as data, and is told apart from corruption.
 */
#ifndef CKPT_RECORD_H
#define CKPT_RECORD_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

/* Every record we write ends with a CRC-32 (zlib) of its other bytes in
 * field RECORD_CHECKSUM_FIELD (fixed32), a field a Mesos reader skips.
 * (CRC-32 as zlib computes it; libdeflate computes the same, faster.)
 * Readers verify it when present; Mesos-written records lack it. */
#define RECORD_CHECKSUM_FIELD 2047

/* A length beyond this is corruption, not a record. */
#define RECORD_MAX (16u << 20)

enum {
	RECORD_EOF = 0,		/* clean end of stream */
	RECORD_OK = 1,		/* one whole record */
	RECORD_TORN = 2,	/* partial record at the end; e->offset = end of last whole one */
};

/* Records are read through a window of the file (RECORD_WINDOW bytes,
 * larger for a larger record) and returned in place: one read(2) per
 * window, no copy. */
#define RECORD_WINDOW	(256u << 10)

struct record_reader {
	int fd;			/* the file, or -1 when reading fp */
	FILE *fp;		/* record_reader_from's stream, or NULL */
	char *path;
	long long offset;	/* byte offset of the next record */
	unsigned char *buf;	/* the window */
	size_t cap, pos, len;	/* its size; next byte; bytes in it */
	bool eof, error, full;	/* full: the last read filled the window */
	off_t size;		/* at open (no read past it), or -1 */
	off_t read;		/* file offset after the window's bytes */
};

int record_reader_open(struct record_reader *r, const char *path,
    struct ckpt_error *e);
/* Open name below dirfd (at.h: no link followed, regular files only);
 * path names it in errors. */
int record_reader_openat(struct record_reader *r, int dirfd, const char *name,
    const char *path, struct ckpt_error *e);
/* After the record at off (len bytes) failed to verify or parse: 1 when
 * it is a torn append rather than corruption, that is, when the file
 * ends in at least four zero bytes that begin inside that record (the
 * file grew before a power cut, its data never landed), else 0. */
int record_torn_zeros(struct record_reader *r, long long off, size_t len);
/* Read the next record: RECORD_OK with *data, *len, *offset set (valid
 * until the next call), RECORD_EOF, RECORD_TORN, or a negative code
 * (-EBADMSG for an absurd length, -EIO). */
int record_next(struct record_reader *r, const uint8_t **data, size_t *len,
    long long *offset, struct ckpt_error *e);
/* Go to byte offset off (the start of a record): 0, or -EIO. */
int record_reader_seek(struct record_reader *r, long long off,
    struct ckpt_error *e);
/* Read from an open stream (a file, a buffer from fmemopen); name is
 * used in errors.  The reader closes fp. */
int record_reader_from(struct record_reader *r, FILE *fp, const char *name,
    struct ckpt_error *e);
void record_reader_close(struct record_reader *r);

/* Frame parser for buffers (sockets): 1 and *body, *body_len, *consumed set
 * when buf starts with a whole record, 0 when more bytes are needed,
 * -EBADMSG when the length is absurd. */
int record_parse(const uint8_t *buf, size_t len, const uint8_t **body,
    size_t *body_len, size_t *consumed);

/* Serialize m with its length prefix into a malloc'd buffer. */
int record_encode(const ProtobufCMessage *m, uint8_t **out, size_t *len);

/* 1 when body ends with a valid checksum field (the CRC of every byte
 * before it matches), 0 when it has none, or -EBADMSG when it has one
 * that does not match or is not where a field starts.  Whether the
 * fields of a checksummed body parse is left to unpacking. */
int record_checksum(const uint8_t *body, size_t len);

/* Verify the checksum (when present) and unpack data as d, or -EBADMSG
 * with the reason set (path, offset). */
int record_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data,
    size_t len, const char *path, long long offset, ProtobufCMessage **out,
    struct ckpt_error *e);

/* Read a file holding exactly one record (an .info file): 0 and *out set,
 * -ENOENT when the file is missing or empty (FORMAT.md: empty is absent),
 * -EBADMSG on corruption (a short or trailing record is corruption here). */
int record_read_file(const char *path, const ProtobufCMessageDescriptor *d,
    ProtobufCMessage **out, struct ckpt_error *e);
int record_read_fileat(int dirfd, const char *name, const char *path,
    const ProtobufCMessageDescriptor *d, ProtobufCMessage **out,
    struct ckpt_error *e);

#endif
