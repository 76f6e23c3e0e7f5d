/*
 * agent.h: the agent.  On start it takes the work dir's lock, recovers
 * (recovery.h) and reconnects to live executors in parallel, each with a
 * bounded wait, or kills them (cleanup); then it serves: commands on
 * stdin (command.h), events on stdout as JSON lines.  Every update is
 * checkpointed before it is forwarded, every acknowledgement before it
 * reaches the executor.  One poll loop; no threads.  This is the body of
 * the agent-run program (it prints events and exits), not library code.
 */
#ifndef CKPT_AGENT_H
#define CKPT_AGENT_H

#include <stdbool.h>

#include "error.h"

struct agent_options {
	const char *work;
	const char *agent_id;		/* for a new agent; NULL: generated */
	const char *hostname;		/* NULL: gethostname */
	bool cleanup;			/* --recover=cleanup */
	bool strict;
	long long recovery_timeout_ms;	/* given to each executor */
	long long reregister_timeout_ms;
	long long grace_ms;
	const char *executor_path;	/* NULL: agent-executor beside us */
	char **launcher;		/* argv prefix for executors, or NULL */
	const char *log_path;		/* diagnostics; reopened on SIGHUP */
};

/* Run the agent; returns its exit status (sysexits.h). */
int agent_main(const struct agent_options *o);

#endif
