/*
 * decode.c: ckpt-inspect --file: one checkpoint file decoded, with the
 * bytes of what does not decode (and its offset) shown.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "inspect.h"
#include "pbjson.h"
#include "record.h"

/* Bytes as hex (at most 512 of them shown, then the count). */
static json_t *
hex_of(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t shown = n > 512 ? 512 : n;
	char *t = malloc(2 * shown + 32);
	json_t *j;

	if (t == NULL)
		err(EX_OSERR, "malloc");
	for (size_t i = 0; i < shown; i++) {
		t[2 * i] = digits[p[i] >> 4];
		t[2 * i + 1] = digits[p[i] & 15];
	}
	snprintf(t + 2 * shown, 32, shown < n ? "... (%zu bytes)" : "", n);
	j = json_string(t);
	free(t);
	return j;
}

/* A record that does not decode: where, why, and its bytes. */
static void
put_damaged(long long off, const char *reason, const uint8_t *p, size_t n)
{
	json_t *j = json_pack("{s:s, s:I, s:s, s:o}", "type", "damaged",
	    "offset", (json_int_t)off, "error", reason, "bytes", hex_of(p, n));

	put_json(j, JSON_COMPACT);
	putchar('\n');
	json_decref(j);
}

/* The whole of a small file, for showing what did not decode. */
static size_t
read_some(const char *file, uint8_t *buf, size_t cap)
{
	FILE *fp = fopen(file, "re");
	size_t n = fp ? fread(buf, 1, cap, fp) : 0;

	if (fp)
		fclose(fp);
	return n;
}

static const struct kind {
	const char *type, *name;
	const ProtobufCMessageDescriptor *d;
	bool stream;
} kinds[] = {
	{ "agent", "slave.info", &mesos__slave_info__descriptor, false },
	{ "framework", "framework.info", &mesos__framework_info__descriptor,
	    false },
	{ "executor", "executor.info", &mesos__executor_info__descriptor,
	    false },
	{ "task", "task.info", &mesos__task__descriptor, false },
	{ "updates", "task.updates", &mesos__status_update_record__descriptor,
	    true },
};

/* One record (a .info file): its message, or its bytes where it breaks. */
static int
decode_info(const char *file, const struct kind *k)
{
	static uint8_t raw[65536];
	ProtobufCMessage *m;
	struct ckpt_error e;
	size_t n;
	int rc;

	if ((rc = record_read_file(file, k->d, &m, &e)) < 0) {
		error_print(&e);
		if (rc != -EBADMSG)
			return error_exit_code(rc);
		/* Show what is there: the bytes, with the offset. */
		n = read_some(file, raw, sizeof(raw));
		put_damaged(e.offset < 0 ? 0 : e.offset, e.reason, raw, n);
		return EX_DATAERR;
	}
	json_t *j = pbjson_from_message(m);
	put_json(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
	protobuf_c_message_free_unpacked(m, NULL);
	return EX_OK;
}

/* A torn tail's bytes, from the end of the last whole record (e). */
static void
put_torn(struct record_reader *r, struct ckpt_error *e)
{
	static uint8_t raw[65536];
	long long at = e->offset;
	size_t n = 0;

	error_print(e);
	if (record_reader_seek(r, at, e) == 0) {
		ssize_t got = r->fd >= 0 ? pread(r->fd, raw, sizeof(raw), at) : 0;
		n = got > 0 ? (size_t)got : 0;
	}
	put_damaged(at, "torn tail", raw, n);
}

/* A stream of records: each as a line, a damaged one as its bytes (its
 * length held: the records after it still decode). */
static int
decode_stream(const char *file, const struct kind *k)
{
	struct record_reader r;
	struct ckpt_error e;
	const uint8_t *data;
	size_t len;
	long long off;
	bool damaged = false;
	int rc;

	if ((rc = record_reader_open(&r, file, &e)) < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	while ((rc = record_next(&r, &data, &len, &off, &e)) == RECORD_OK) {
		ProtobufCMessage *m;
		if (record_unpack(k->d, data, len, file, off, &m, &e) < 0) {
			error_print(&e);
			put_damaged(off, e.reason, data, len);
			damaged = true;
			continue;
		}
		json_t *j = json_pack("{s:s, s:I, s:o}", "type", "record",
		    "offset", (json_int_t)off, "record", pbjson_from_message(m));
		put_json(j, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	if (rc == RECORD_TORN)
		put_torn(&r, &e);
	record_reader_close(&r);
	if (rc == RECORD_TORN)
		return EX_DATAERR;
	if (rc < 0) {
		error_print(&e);
		return error_exit_code(rc);
	}
	return damaged ? EX_DATAERR : EX_OK;
}

int
decode_file(const char *file, const char *type)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	size_t i, n = sizeof(kinds) / sizeof(kinds[0]);

	for (i = 0; i < n; i++)
		if (type ? strcmp(type, kinds[i].type) == 0 :
		    strcmp(base, kinds[i].name) == 0)
			break;
	if (i == n) {
		if (type)
			errx(EX_USAGE, "unknown --type '%s'", type);
		errx(EX_USAGE, "%s: cannot tell the kind from the name; give "
		    "--type", file);
	}
	return kinds[i].stream ? decode_stream(file, &kinds[i]) :
	    decode_info(file, &kinds[i]);
}
