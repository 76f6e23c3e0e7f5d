/*
 * inspect.h: inside ckpt-inspect.  One verb a run (main.c): the tree,
 * --json, --json-lines (show.c), --updates, --verify (check.c), each a
 * visitor of the one walk (walk.h), or --file (decode.c).
 */
#ifndef INSPECT_H
#define INSPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jsonw.h"
#include "walk.h"

/* What the visitors share (their ctx). */
struct inspect {
	const char *work;
	struct jsonw out;	/* the JSON of --json and --json-lines */
	bool json;		/* --json with --updates */
	size_t problems;	/* found by --verify, --updates */
	size_t shown;		/* executors the filter kept */
	struct walk_visitor inner;	/* --exit-status counts around it */
};

/* show.c */
/* Write o compactly (flags added), one fwrite. */
void put_json(const json_t *o, size_t flags);
extern const struct walk_visitor show_tree, show_json, show_lines;

/* check.c */
extern const struct walk_visitor check_updates, check_verify;

/* decode.c: the exit status. */
int decode_file(const char *file, const char *type);

#endif
