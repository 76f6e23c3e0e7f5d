/*
 * pbjson.h: any protobuf-c message to and from JSON, driven by the
 * descriptors (no per-message code).  Conventions (FORMAT.md): protobuf
 * field names as keys, enums by name, id wrappers (a message whose only
 * field is `string value`) as plain strings, 16-byte uuid fields ("uuid",
 * "*_uuid") as canonical text uuids, other bytes as base64.
 */
#ifndef CKPT_PBJSON_H
#define CKPT_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"

/* A new JSON object for m (never NULL but on out of memory). */
json_t *pbjson_from_message(const ProtobufCMessage *m);

/* Build a message of type d from j.  Unknown keys, wrong types and
 * missing required fields are -EBADMSG, the reason naming the field by
 * its dotted path ("status.task_id"). *out is freed with
 * protobuf_c_message_free_unpacked(*out, NULL). */
int pbjson_to_message(const ProtobufCMessageDescriptor *d, json_t *j,
    ProtobufCMessage **out, struct ckpt_error *e);

/* One JSON document from file (NULL or "-": stdin); -EBADMSG naming the
 * line and column of a syntax error, -ENOENT when file cannot be opened. */
int pbjson_load(const char *file, json_t **out, struct ckpt_error *e);

#endif
