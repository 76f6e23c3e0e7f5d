#include "pbjson.h"

#include <errno.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"
#include "uuid.h"

#define MEMBER(m, off) ((void *)((char *)(m) + (off)))

static bool
is_id_wrapper(const ProtobufCMessageDescriptor *d)
{
	return d->n_fields == 1 && d->fields[0].type == PROTOBUF_C_TYPE_STRING &&
	    strcmp(d->fields[0].name, "value") == 0;
}

static bool
is_uuid_field(const ProtobufCFieldDescriptor *f)
{
	size_t n = strlen(f->name);

	return strcmp(f->name, "uuid") == 0 ||
	    (n > 5 && strcmp(f->name + n - 5, "_uuid") == 0);
}

/* ---- message to JSON ---- */

static json_t *
value_to_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t)*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		    f->descriptor, *(const int *)p);
		return v ? json_string(v->name) : json_integer(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return jw_text(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		if (is_uuid_field(f) && b->len == 16) {
			char text[UUID_TEXT];
			uuid_format(b->data, text);
			return json_string(text);
		}
		size_t cap = (b->len + 2) / 3 * 4 + 1;
		char *text = malloc(cap);
		json_t *j;
		if (text == NULL)
			return NULL;
		if (b64_ntop(b->data, b->len, text, cap) < 0)
			text[0] = '\0';
		j = json_string(text);
		free(text);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sm = *(ProtobufCMessage *const *)p;
		if (is_id_wrapper(sm->descriptor)) {
			const char *s = *(char *const *)MEMBER(sm,
			    sm->descriptor->fields[0].offset);
			return jw_text(s ? s : "");
		}
		return pbjson_from_message(sm);
	}
	}
	return NULL;
}

static size_t
value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

static bool
field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const void *p = MEMBER(m, f->offset);

	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return f->type != PROTOBUF_C_TYPE_MESSAGE ||
		    *(void *const *)p != NULL;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)p != NULL;
	if (f->type == PROTOBUF_C_TYPE_STRING)
		return *(char *const *)p != NULL &&
		    *(char *const *)p != (const char *)f->default_value;
	if (f->quantifier_offset != 0)
		return *(const protobuf_c_boolean *)MEMBER(m,
		    f->quantifier_offset);
	return true;
}

json_t *
pbjson_from_message(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *obj = json_object();

	for (unsigned i = 0; obj != NULL && i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_t *v;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)MEMBER(m, f->quantifier_offset);
			const char *arr = *(char *const *)MEMBER(m, f->offset);
			if (n == 0)
				continue;	/* absent, as the JSON mapping has it */
			v = json_array();
			for (size_t k = 0; v != NULL && k < n; k++)
				json_array_append_new(v,
				    value_to_json(f, arr + k * value_size(f)));
		} else if (field_present(m, f))
			v = value_to_json(f, MEMBER(m, f->offset));
		else
			continue;
		json_object_set_new(obj, f->name, v);
	}
	return obj;
}

/* ---- JSON to message ---- */

static int parse_message(const ProtobufCMessageDescriptor *d, json_t *j,
    const char *where, ProtobufCMessage **out, struct ckpt_error *e);

static int
bad(struct ckpt_error *e, const char *where, const char *fmt, const char *what)
{
	return error_set(e, -EBADMSG, "", -1, "field '%s': %s%s", where, fmt,
	    what ? what : "");
}

static int
integer_from_json(const ProtobufCFieldDescriptor *f, json_t *j, void *p,
    const char *where, struct ckpt_error *e)
{
	if (!json_is_integer(j))
		return bad(e, where, "expected an integer", NULL);
	json_int_t v = json_integer_value(j);
	if (value_size(f) == 8)
		*(int64_t *)p = v;
	else if (v < INT32_MIN || v > UINT32_MAX)
		return bad(e, where, "integer out of range", NULL);
	else
		*(int32_t *)p = (int32_t)v;
	return 0;
}

static int
enum_from_json(const ProtobufCFieldDescriptor *f, json_t *j, void *p,
    const char *where, struct ckpt_error *e)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	const ProtobufCEnumValue *v = NULL;

	if (json_is_string(j))
		v = protobuf_c_enum_descriptor_get_value_by_name(ed,
		    json_string_value(j));
	else if (json_is_integer(j))
		v = protobuf_c_enum_descriptor_get_value(ed,
		    (int)json_integer_value(j));
	if (v == NULL)
		return bad(e, where, "not a value of ", ed->name);
	*(int *)p = v->value;
	return 0;
}

/* Bytes: a uuid field as its text, any other as base64. */
static int
bytes_from_json(const ProtobufCFieldDescriptor *f, json_t *j, void *p,
    const char *where, struct ckpt_error *e)
{
	ProtobufCBinaryData *b = p;
	const char *s;
	size_t cap;
	int n;

	if (!json_is_string(j))
		return bad(e, where, "expected a string", NULL);
	s = json_string_value(j);
	if (is_uuid_field(f)) {
		if ((b->data = malloc(16)) == NULL)
			return -ENOMEM;
		b->len = 16;
		if (uuid_parse(s, b->data) < 0)
			return bad(e, where, "not a uuid: ", s);
		return 0;
	}
	cap = strlen(s) / 4 * 3 + 3;
	if ((b->data = malloc(cap)) == NULL)
		return -ENOMEM;
	if ((n = b64_pton(s, b->data, cap)) < 0)
		return bad(e, where, "not base64", NULL);
	b->len = (size_t)n;
	return 0;
}

static int
value_from_json(const ProtobufCFieldDescriptor *f, json_t *j, void *p,
    const char *where, struct ckpt_error *e)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return integer_from_json(f, j, p, where, e);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(j))
			return bad(e, where, "expected a number", NULL);
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)p = (float)json_number_value(j);
		else
			*(double *)p = json_number_value(j);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(j))
			return bad(e, where, "expected true or false", NULL);
		*(protobuf_c_boolean *)p = json_is_true(j);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return enum_from_json(f, j, p, where, e);
	case PROTOBUF_C_TYPE_STRING: {
		if (!json_is_string(j))
			return bad(e, where, "expected a string", NULL);
		if (memchr(json_string_value(j), '\0', json_string_length(j)))
			return bad(e, where, "string contains NUL", NULL);
		if ((*(char **)p = strdup(json_string_value(j))) == NULL)
			return -ENOMEM;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_from_json(f, j, p, where, e);
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		if (is_id_wrapper(sd) && json_is_string(j)) {
			ProtobufCMessage *sm = calloc(1, sd->sizeof_message);
			if (sm == NULL)
				return -ENOMEM;
			sd->message_init(sm);
			*(ProtobufCMessage **)p = sm;
			return value_from_json(&sd->fields[0], j,
			    MEMBER(sm, sd->fields[0].offset), where, e);
		}
		return parse_message(sd, j, where, (ProtobufCMessage **)p, e);
	}
	}
	return bad(e, where, "unsupported type", NULL);
}

static int
parse_message(const ProtobufCMessageDescriptor *d, json_t *j,
    const char *where, ProtobufCMessage **out, struct ckpt_error *e)
{
	ProtobufCMessage *m;
	const char *key;
	json_t *v;
	bool seen[64] = { false };
	char sub[512];
	int rc = 0;

	*out = NULL;
	if (!json_is_object(j))
		return error_set(e, -EBADMSG, "", -1, "%s%s%s: expected an object",
		    where[0] ? "field '" : "", where[0] ? where : d->name,
		    where[0] ? "'" : "");
	if (d->n_fields > 64 || (m = calloc(1, d->sizeof_message)) == NULL)
		return -ENOMEM;
	d->message_init(m);
	*out = m;
	json_object_foreach(j, key, v) {
		const ProtobufCFieldDescriptor *f =
		    protobuf_c_message_descriptor_get_field_by_name(d, key);
		snprintf(sub, sizeof(sub), "%s%s%s", where, where[0] ? "." : "",
		    key);
		if (f == NULL)
			return error_set(e, -EBADMSG, "", -1,
			    "unknown field '%s' in %s", sub, d->name);
		seen[f - d->fields] = true;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n, sz = value_size(f);
			char *arr;
			if (!json_is_array(v))
				return bad(e, sub, "expected an array", NULL);
			n = json_array_size(v);
			if ((arr = calloc(n ? n : 1, sz)) == NULL)
				return -ENOMEM;
			*(char **)MEMBER(m, f->offset) = arr;
			for (size_t k = 0; k < n; k++) {
				rc = value_from_json(f, json_array_get(v, k),
				    arr + k * sz, sub, e);
				*(size_t *)MEMBER(m, f->quantifier_offset) = k + 1;
				if (rc < 0)
					return rc;
			}
			continue;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING &&
		    *(char **)MEMBER(m, f->offset) ==
		    (const char *)f->default_value)
			*(char **)MEMBER(m, f->offset) = NULL;
		if ((rc = value_from_json(f, v, MEMBER(m, f->offset), sub, e)) < 0)
			return rc;
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    f->quantifier_offset != 0)
			*(protobuf_c_boolean *)MEMBER(m, f->quantifier_offset) = 1;
	}
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i]) {
			snprintf(sub, sizeof(sub), "%s%s%s", where,
			    where[0] ? "." : "", d->fields[i].name);
			return error_set(e, -EBADMSG, "", -1,
			    "missing required field '%s'", sub);
		}
	return 0;
}

int
pbjson_to_message(const ProtobufCMessageDescriptor *d, json_t *j,
    ProtobufCMessage **out, struct ckpt_error *e)
{
	int rc = parse_message(d, j, "", out, e);

	if (rc < 0 && *out != NULL) {
		protobuf_c_message_free_unpacked(*out, NULL);
		*out = NULL;
	}
	if (rc == -ENOMEM)
		error_set(e, rc, "", -1, "out of memory");
	return rc;
}

int
pbjson_load(const char *file, json_t **out, struct ckpt_error *e)
{
	json_error_t je;
	const char *name = file && strcmp(file, "-") != 0 ? file : "stdin";

	if (file && strcmp(file, "-") != 0)
		*out = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	else
		*out = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
	if (*out != NULL)
		return 0;
	if (je.line < 0)	/* could not open */
		return error_set(e, -ENOENT, name, -1, "%s", je.text);
	return error_set(e, -EBADMSG, name, je.position,
	    "line %d column %d: %s", je.line, je.column, je.text);
}

