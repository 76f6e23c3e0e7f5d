/*
 * version.h: what a build is, for its peers and for the work dir.
 *
 * The release (VERSION, from the Makefile) names a build; two releases
 * never share it.  The executor protocol is what agent-run and
 * agent-executor speak on the executor's socket: each build speaks a
 * range of versions, PROTOCOL_MIN to PROTOCOL_MAX, and a session uses
 * the highest both share (version 1: the releases before 0.2.0, whose
 * REGISTER and HELLO carry no version).  The work dir's format version
 * is FORMAT.md's; a work dir records the capabilities its tasks use
 * that older agents lack (meta/capabilities), and an agent that lacks
 * one refuses to recover it.
 *
 * PROTOCOL_MIN, PROTOCOL_MAX and DIR_CAPABILITY_EXTRA may be defined at
 * compile time (tests build a bumped protocol, or a feature no release
 * knows, to check the refusals).
 */
#ifndef CKPT_VERSION_H
#define CKPT_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#ifndef PROTOCOL_MIN
#define PROTOCOL_MIN	1
#endif
#ifndef PROTOCOL_MAX
#define PROTOCOL_MAX	2
#endif
#define FORMAT_VERSION	1

/* The release, "0.2.0". */
const char *version_release(void);
/* The --version line of program prog: "prog 0.2.0", and for the agent
 * and the executor (protocol) "prog 0.2.0 (executor protocol 2, speaks
 * 1-2; work dir format 1)".  Into buf. */
const char *version_line(const char *prog, bool protocol, char *buf,
    size_t len);
/* The highest protocol version shared with a peer that speaks peer_min
 * to peer_max, or 0 (none). */
int version_shared(int peer_min, int peer_max);

/* The work-dir capabilities this build knows, NULL-terminated. */
extern const char *const version_dir_capabilities[];
/* Does this build know capability name? */
bool version_knows(const char *name);

#endif
