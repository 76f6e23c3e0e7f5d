#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "record.h"
#include "state.h"
#include "update.h"

/*
 * The pending set: the pending array in stream order (an acknowledged
 * entry is marked dead, offset -1, and squeezed out later) and an open
 * addressing table of indices into it, keyed by uuid.  Every operation is
 * O(1) amortized, so a replay is linear in the stream.
 */
#define SLOT_EMPTY 0u
#define SLOT_DEAD UINT32_MAX

struct pendset {
	struct state_task *t;
	bool messages;		/* keep each pending update's message */
	uint32_t *slot;		/* index + 1, SLOT_EMPTY or SLOT_DEAD */
	size_t cap;		/* a power of two */
	size_t used;		/* slots not empty (live and dead) */
	size_t dead;		/* dead entries in t->pending */
	size_t alloc;		/* capacity of t->pending */
};

static void
pending_drop(struct state_pending *p)
{
	free(p->message);
	p->message = NULL;
	p->offset = -1;
}

static size_t
uuid_hash(const uint8_t *u)
{
	uint64_t a, b;

	/* Uuids are random: mixing their two halves is enough. */
	memcpy(&a, u, 8);
	memcpy(&b, u + 8, 8);
	a = (a ^ (b << 29 | b >> 35)) * 0x9e3779b97f4a7c15ull;
	return (size_t)(a ^ a >> 32);
}

/* The slot of uuid, or of the empty slot where it would go. */
static size_t
set_find(const struct pendset *s, const uint8_t *u)
{
	size_t i = uuid_hash(u) & (s->cap - 1);

	for (;; i = (i + 1) & (s->cap - 1)) {
		uint32_t v = s->slot[i];
		if (v == SLOT_EMPTY)
			return i;
		if (v != SLOT_DEAD && memcmp(s->t->pending[v - 1].uuid, u, 16) == 0)
			return i;
	}
}

/* Squeeze out dead entries and duplicates (a later copy of an update
 * already pending) and rebuild the table for the live ones. */
static int
set_rebuild(struct pendset *s)
{
	struct state_task *t = s->t;
	size_t live = 0, cap = 64;

	while (cap < 4 * (t->n_pending - s->dead + 1))
		cap *= 2;
	free(s->slot);
	if ((s->slot = calloc(cap, sizeof(*s->slot))) == NULL)
		return -ENOMEM;
	s->cap = cap;
	for (size_t i = 0; i < t->n_pending; i++) {
		size_t k;
		if (t->pending[i].offset < 0)
			continue;
		k = set_find(s, t->pending[i].uuid);
		if (s->slot[k] != SLOT_EMPTY) {
			pending_drop(&t->pending[i]);
			continue;
		}
		t->pending[live] = t->pending[i];
		s->slot[k] = (uint32_t)++live;
	}
	t->n_pending = live;
	s->dead = 0;
	s->used = live;
	return 0;
}

/*
 * Until the first ACK there is no table: updates are appended as they
 * come, and the table is built once, sized for them all, at that ACK or
 * at the end of the stream, dropping duplicates then (the first copy
 * stays pending, as it would have).  A stream of many updates and no
 * ACK (an agent that could not reach its scheduler) is replayed with no
 * lookup per record and no rebuild as it grows.
 */
static int
set_add(struct pendset *s, const uint8_t *u, int state, double ts,
    long long off, const char *msg, size_t msg_len, bool from_agent,
    int reason, int healthy)
{
	struct state_task *t = s->t;
	size_t i = 0;

	if (s->slot != NULL && s->slot[i = set_find(s, u)] != SLOT_EMPTY)
		return 0;	/* already pending: the same update again */
	if (t->n_pending == s->alloc) {
		size_t n = s->alloc ? 2 * s->alloc : 8;
		struct state_pending *v = n < UINT32_MAX ?
		    reallocarray(t->pending, n, sizeof(*v)) : NULL;
		if (v == NULL)
			return -ENOMEM;
		t->pending = v;
		s->alloc = n;
	}
	struct state_pending *p = &t->pending[t->n_pending];
	memcpy(p->uuid, u, 16);
	p->state = state;
	p->from_agent = from_agent;
	p->reason = reason;
	p->healthy = healthy;
	p->timestamp = ts;
	p->offset = off;
	p->message = NULL;
	if (s->messages && msg && (p->message = strndup(msg, msg_len)) == NULL)
		return -ENOMEM;
	t->n_pending++;
	if (s->slot == NULL)
		return 0;
	s->slot[i] = (uint32_t)t->n_pending;
	if (++s->used * 2 > s->cap)
		return set_rebuild(s);
	return 0;
}

static int
set_ack(struct pendset *s, const uint8_t *u)
{
	size_t i;

	if (u == NULL)
		return 0;
	if (s->slot == NULL && set_rebuild(s) < 0)
		return -ENOMEM;
	i = set_find(s, u);
	if (s->slot[i] == SLOT_EMPTY)
		return 0;
	/* The rule of every reader (update.h): every update still
	 * pending is superseded. */
	if (update_ack_settles(s->t->pending[s->slot[i] - 1].state)) {
		for (size_t k = 0; k < s->t->n_pending; k++)
			pending_drop(&s->t->pending[k]);
		s->dead = s->t->n_pending;
		return set_rebuild(s);
	}
	pending_drop(&s->t->pending[s->slot[i] - 1]);
	s->slot[i] = SLOT_DEAD;
	s->dead++;
	return 0;
}

static bool
set_has(const struct pendset *s, const uint8_t *u)
{
	return s->slot != NULL && u != NULL &&
	    s->slot[set_find(s, u)] != SLOT_EMPTY;
}

void
state_task_reset(struct state_task *t)
{
	for (size_t i = 0; i < t->n_pending; i++)
		free(t->pending[i].message);
	free(t->pending);
	t->pending = NULL;
	t->n_pending = t->n_updates = t->n_acks = 0;
	t->latest_state = -1;
	t->terminal = t->torn = t->repaired = false;
	t->unchecked = 0;
	t->unchecked_at = -1;
	t->healthy = -1;
	t->valid_end = 0;
}

/*
 * The fast path.  A record whose checksum matched holds exactly the bytes
 * our writer packed, so replay reads the few fields it needs straight
 * from the wire, with no unpacking and no allocation: type (1), and of
 * the update (2) its status (4: state 2, uuid 11), timestamp (5) and uuid
 * (6); of an ACK its uuid (3).  Records without a checksum (a Mesos
 * agent's) are unpacked whole, which also validates them.
 */
struct wire {
	const uint8_t *p, *end;
};

static inline bool
wire_varint(struct wire *w, uint64_t *v)
{
	if (w->p < w->end && *w->p < 0x80) {	/* most are one byte */
		*v = *w->p++;
		return true;
	}
	*v = 0;
	for (int shift = 0; shift < 64 && w->p < w->end; shift += 7) {
		uint8_t b = *w->p++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The next field: its number, wire type, and for a length-delimited one
 * its bytes in *sub; false at the end or on damage. */
static inline __attribute__((always_inline)) bool
wire_field(struct wire *w, uint32_t *num, int *type, struct wire *sub,
    uint64_t *val)
{
	uint64_t tag, n;

	if (w->p >= w->end || !wire_varint(w, &tag))
		return false;
	*num = (uint32_t)(tag >> 3);
	*type = (int)(tag & 7);
	switch (*type) {
	case 0:
		return wire_varint(w, val);
	case 1:
	case 5:
		n = *type == 1 ? 8 : 4;
		if ((uint64_t)(w->end - w->p) < n)
			return false;
		*val = 0;
		memcpy(val, w->p, n);	/* little-endian hosts (FORMAT.md) */
		w->p += n;
		return true;
	case 2:
		if (!wire_varint(w, &n) || n > (uint64_t)(w->end - w->p))
			return false;
		sub->p = w->p;
		sub->end = w->p + n;
		w->p += n;
		return true;
	default:
		return false;
	}
}

struct light {
	int type;			/* -1 absent */
	bool update, status;
	int state;			/* -1 absent */
	double timestamp;
	const uint8_t *uuid, *status_uuid, *ack_uuid;
	const char *message;		/* not NUL-terminated */
	size_t message_len;
	int source;			/* -1 absent */
	int reason;			/* -1 absent */
	int healthy;			/* -1 absent */
};

/* 0, or -1 when the bytes are not a record replay can use. */
static int
light_scan(const uint8_t *data, size_t len, struct light *l)
{
	struct wire w = { data, data + len }, u, st, sub;
	uint64_t v = 0;
	uint32_t num;
	int type;

	memset(l, 0, sizeof(*l));
	l->type = l->state = l->source = l->reason = l->healthy = -1;
	while (w.p < w.end) {
		if (!wire_field(&w, &num, &type, &sub, &v))
			return -1;
		if (num == 1 && type == 0)
			l->type = (int)v;
		else if (num == 3 && type == 2 && sub.end - sub.p == 16)
			l->ack_uuid = sub.p;
		else if (num == 2 && type == 2) {
			l->update = true;
			for (u = sub; u.p < u.end; ) {
				if (!wire_field(&u, &num, &type, &sub, &v))
					return -1;
				if (num == 5 && type == 1)
					memcpy(&l->timestamp, &v, 8);
				else if (num == 6 && type == 2 &&
				    sub.end - sub.p == 16)
					l->uuid = sub.p;
				else if (num == 4 && type == 2) {
					l->status = true;
					for (st = sub; st.p < st.end; ) {
						if (!wire_field(&st, &num, &type,
						    &sub, &v))
							return -1;
						if (num == 2 && type == 0)
							l->state = (int)v;
						else if (num == 4 && type == 2) {
							l->message = (const char *)sub.p;
							l->message_len = (size_t)(sub.end - sub.p);
						} else if (num == 9 && type == 0)
							l->source = (int)v;
						else if (num == 10 && type == 0)
							l->reason = (int)v;
						else if (num == 8 && type == 0)
							l->healthy = v != 0;
						else if (num == 11 && type == 2 &&
						    sub.end - sub.p == 16)
							l->status_uuid = sub.p;
					}
				}
			}
		}
	}
	return l->type < 0 ? -1 : 0;
}

/* Replay one record: every record of a stream, read by the fast path
 * (light_scan) or unpacked (light_of). */
static int
replay_light(struct pendset *s, const struct light *l, const char *path,
    long long off, struct ckpt_error *e)
{
	struct state_task *t = s->t;
	const uint8_t *uuid = l->uuid ? l->uuid : l->status_uuid;

	if (l->type == MESOS__STATUS_UPDATE_RECORD__TYPE__UPDATE) {
		if (!l->update || !l->status || l->state < 0)
			return error_set(e, -EBADMSG, path, off,
			    "UPDATE record without an update");
		t->n_updates++;
		t->latest_state = l->state;
		if (l->healthy >= 0)
			t->healthy = l->healthy;
		if (task_state_terminal(l->state))
			t->terminal = true;
		if (uuid != NULL && set_add(s, uuid, l->state, l->timestamp,
		    off, l->message, l->message_len, l->source ==
		    MESOS__TASK_STATUS__SOURCE__SOURCE_SLAVE, l->reason,
		    l->healthy) < 0)
			return error_set(e, -ENOMEM, path, off, "out of memory");
		return 0;
	}
	if (l->type != MESOS__STATUS_UPDATE_RECORD__TYPE__ACK)
		return error_set(e, -EBADMSG, path, off, "record of unknown "
		    "type %d", l->type);
	if (l->ack_uuid == NULL)
		return error_set(e, -EBADMSG, path, off,
		    "ACK record without a 16-byte uuid");
	t->n_acks++;
	if (set_ack(s, l->ack_uuid) < 0)
		return error_set(e, -ENOMEM, path, off, "out of memory");
	if (s->dead > 1024 && s->dead * 2 > t->n_pending)
		return set_rebuild(s) < 0 ?
		    error_set(e, -ENOMEM, path, off, "out of memory") : 0;
	return 0;
}

/* An unpacked record (a stream without checksums: Mesos's) as the fast
 * path sees one, so that both are replayed by the same rules. */
static void
light_of(const Mesos__StatusUpdateRecord *rec, struct light *l)
{
	const Mesos__StatusUpdate *u = rec->update;
	const Mesos__TaskStatus *st = u ? u->status : NULL;

	memset(l, 0, sizeof(*l));
	l->type = (int)rec->type;
	l->ack_uuid = rec->has_uuid && rec->uuid.len == 16 ? rec->uuid.data :
	    NULL;
	l->update = u != NULL;
	l->status = st != NULL;
	l->state = st ? (int)st->state : -1;
	l->source = st && st->has_source ? (int)st->source : -1;
	l->reason = st && st->has_reason ? (int)st->reason : -1;
	l->healthy = st && st->has_healthy ? st->healthy != 0 : -1;
	if (u != NULL) {
		l->timestamp = u->timestamp;
		l->uuid = update_uuid_bytes(u);
	}
	if (st != NULL && st->message != NULL) {
		l->message = st->message;
		l->message_len = strlen(st->message);
	}
}

/* A record that stands on its own: an update with its uuid, or an ack
 * of one.  (What a writer without checksums appends; damage that
 * happens to parse seldom carries a 16-byte uuid where one belongs.) */
static bool
whole(const Mesos__StatusUpdateRecord *rec)
{
	if (rec->type == MESOS__STATUS_UPDATE_RECORD__TYPE__ACK)
		return rec->has_uuid && rec->uuid.len == 16;
	return rec->type == MESOS__STATUS_UPDATE_RECORD__TYPE__UPDATE &&
	    rec->update && rec->update->status &&
	    update_uuid_bytes(rec->update) != NULL;
}

/* One pass over the stream: pass 0 replays into s, pass 1 calls cb. */
static int
replay_pass(struct record_reader *r, struct pendset *s, int pass,
    state_update_cb cb, void *ctx, struct ckpt_error *e)
{
	const uint8_t *data;
	size_t len;
	long long off;
	bool checksummed = false;
	int rc;

	while ((rc = record_next(r, &data, &len, &off, e)) == RECORD_OK) {
		Mesos__StatusUpdateRecord *rec = NULL;
		int sum = record_checksum(data, len);
		/* Once a record carries a checksum (ours), every later one
		 * does: a record without it is damage (a Mesos stream
		 * continued by us is fine, not the reverse). */
		struct light l;
		if (sum < 0)
			rc = error_set(e, -EBADMSG, r->path, off, "record of "
			    "%zu bytes: checksum mismatch", len);
		else if (sum > 0 && pass == 0) {
			rc = light_scan(data, len, &l) < 0 ? error_set(e,
			    -EBADMSG, r->path, off, "record of %zu bytes is not "
			    "a valid %s", len,
			    mesos__status_update_record__descriptor.name) :
			    replay_light(s, &l, r->path, off, e);
		}
		else if ((rec = mesos__status_update_record__unpack(NULL, len,
		    data)) == NULL || (sum == 0 && checksummed &&
		    !whole(rec)))
			rc = sum == 0 && checksummed ? error_set(e, -EBADMSG,
			    r->path, off, "record of %zu bytes lacks the "
			    "checksum the records before it carry, and is not "
			    "a whole update or ack", len) : error_set(e,
			    -EBADMSG, r->path, off, "record of %zu bytes is not "
			    "a valid %s", len,
			    mesos__status_update_record__descriptor.name);
		else if (pass == 0) {
			/* Without a checksum after records with one: an older
			 * writer (a rollback) appended it.  Whole, it is
			 * accepted, and counted (ckpt-inspect reports it). */
			if (sum == 0 && checksummed && s->t->unchecked++ == 0)
				s->t->unchecked_at = off;
			light_of(rec, &l);
			rc = replay_light(s, &l, r->path, off, e);
		}
		else {
			const uint8_t *u = rec->update ?
			    update_uuid_bytes(rec->update) : NULL;
			cb(ctx, off, rec, rec->type ==
			    MESOS__STATUS_UPDATE_RECORD__TYPE__ACK ||
			    !set_has(s, u));
		}
		checksummed |= sum > 0;
		if (rec)
			mesos__status_update_record__free_unpacked(rec, NULL);
		if (rc == -EBADMSG && record_torn_zeros(r, off, len)) {
			/* The file grew, its data never landed: a torn tail. */
			error_set(e, 0, r->path, off, "torn tail: zero bytes "
			    "after the last whole record");
			r->offset = off;
			return RECORD_TORN;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

int
state_replay_updates(int dirfd, const char *name, const char *path,
    unsigned flags, struct state_task *t, state_update_cb cb, void *ctx,
    struct ckpt_error *e)
{
	struct pendset s = { .t = t, .messages = flags & REPLAY_MESSAGES };
	struct record_reader r;
	int rc, pass;

	state_task_reset(t);
	for (pass = 0; pass < (cb ? 2 : 1); pass++) {
		if ((rc = record_reader_openat(&r, dirfd, name, path, e)) < 0) {
			if (rc == -ENOENT)
				rc = 0;
			break;
		}
		rc = replay_pass(&r, &s, pass, cb, ctx, e);
		if (pass == 0 && rc >= 0) {
			t->torn = rc == RECORD_TORN;
			t->valid_end = r.offset;
			if (t->torn)
				e->offset = r.offset;
			if ((s.dead > 0 || (s.slot == NULL &&
			    t->n_pending > 0)) && set_rebuild(&s) < 0)
				rc = error_set(e, -ENOMEM, path, -1,
				    "out of memory");
			else if (t->n_pending < s.alloc && t->n_pending > 0) {
				struct state_pending *v = reallocarray(
				    t->pending, t->n_pending, sizeof(*v));
				if (v != NULL)
					t->pending = v, s.alloc = t->n_pending;
			}
		}
		record_reader_close(&r);
		if (rc < 0)
			break;
	}
	free(s.slot);
	if (rc < 0)
		return rc;
	if (t->torn && (flags & REPLAY_REPAIR)) {
		if ((rc = durable_truncate_at(dirfd, name, path, t->valid_end,
		    e)) < 0)
			return rc;
		t->repaired = true;
	}
	return 0;
}

struct known {
	const uint8_t *uuid;
	int result;
};

static void
known_cb(void *ctx, long long off, const Mesos__StatusUpdateRecord *rec,
    bool acked)
{
	struct known *k = ctx;
	const uint8_t *u = rec->update ? update_uuid_bytes(rec->update) : NULL;

	(void)off;
	if (u && memcmp(u, k->uuid, 16) == 0)
		k->result = acked ? 2 : 1;
}

int
state_update_known(const char *path, const uint8_t uuid[16])
{
	struct state_task t = { 0 };
	struct known k = { uuid, 0 };
	struct ckpt_error e;

	state_replay_updates(AT_FDCWD, path, path, 0, &t, known_cb, &k, &e);
	state_task_reset(&t);
	return k.result;
}
