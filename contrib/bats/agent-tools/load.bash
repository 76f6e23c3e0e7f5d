# agent-tools bats library: test a service's behaviour across agent-run
# restarts.  Load it with `bats_load_library agent-tools` (it must be in
# BATS_LIB_PATH; make install puts it in PREFIX/lib/bats).  See
# agent-tools-bats(7).
#
# Each test gets a work dir ($W, in BATS_TEST_TMPDIR); agent_start runs
# agent-run on it with commands through a FIFO (agent_send) and events in
# a file ($EV), so that nothing depends on a coprocess or a subshell;
# agent_teardown kills every process the test started.  Waiting is always
# for a condition, with a deadline: never a fixed sleep.  Needs jq.

# agent_setup: the work dir of this test, $W (call from setup).
agent_setup() {
	W=${W:-$BATS_TEST_TMPDIR/w}
}

# procs_under DIR: the pids (one per line) of the processes whose working
# directory is DIR or below it (not a sibling that begins with its name).
# One pass over /proc by one find (GNU findutils 4.9: -files0-from), not
# a readlink per process: on a host with 20,000 processes that took
# minutes, now half a second.
procs_under() {
	local d=${1%/}
	[ -n "$d" ] || return 0
	printf '%s\0' /proc/[0-9]*/cwd | find -files0-from - -maxdepth 0 \
	    \( -lname "$d" -o -lname "$d/*" \) -printf '%h\n' 2>/dev/null |
	    sed 's|^/proc/||'
}

# agent_teardown: kill everything this test started: every process whose
# working directory or argv is under the test's temporary directory (the
# agent, its executors, their tasks).  Call from teardown.  Outside a
# test (no BATS_TEST_TMPDIR, as in teardown_file) it does nothing: an
# empty prefix would match every process.
agent_teardown() {
	local t=${BATS_TEST_TMPDIR:-}
	[ -n "$t" ] && [ "$t" != / ] || return 0
	procs_under "$t" | xargs -r kill -9 2>/dev/null
	pkill -9 -f -- "$t" 2>/dev/null || true
}

# wait_for SECONDS CMD...: run CMD until it succeeds or the deadline passes.
wait_for() {
	local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 ))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s%N)" -gt "$deadline" ]; then
			echo "wait_for: timed out: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

# agent_start [ARGS...]: start agent-run on $W; commands go through a
# fifo (agent_send), events land in $EV (one JSON object per line).
# $AGENT_WRAP, if set, is the command (words) agent-run is run under.
AGENT_N=0
agent_start() {
	AGENT_N=$((AGENT_N + 1))
	EV=$BATS_TEST_TMPDIR/events.$AGENT_N
	local in=$BATS_TEST_TMPDIR/in.$AGENT_N
	mkfifo "$in"
	: > "$EV"
	(cd "$BATS_TEST_TMPDIR" && exec ${AGENT_WRAP:-} agent-run -d "$W" "$@" <"$in" >"$EV" 2>"$EV.err" 3>&-) &
	AGENT_PID=$!
	exec {AGENT_FD}>"$in"
}

agent_send() { echo "$*" >&"$AGENT_FD"; }

# agent_kill9: the agent dies (SIGKILL); executors stay.
agent_kill9() {
	kill -9 "$AGENT_PID" 2>/dev/null || true
	wait "$AGENT_PID" 2>/dev/null || true
	exec {AGENT_FD}>&-
}

# agent_wait_exit: wait for the agent to exit; its status in $AGENT_STATUS.
agent_wait_exit() {
	exec {AGENT_FD}>&- 2>/dev/null || true
	AGENT_STATUS=0
	wait "$AGENT_PID" || AGENT_STATUS=$?
}

# events JQ-FILTER: the events (of the current agent) that match, compact.
events() { jq -c "select($1)" "${2:-$EV}"; }
# count JQ-FILTER: how many events match.
count() { jq -c "select($1)" "${2:-$EV}" | wc -l; }
# wait_event JQ-FILTER [N] [SECONDS]: wait until N events match.
wait_event() {
	local n=${2:-1}
	_enough() { [ "$(count "$1")" -ge "$2" ]; }
	wait_for "${3:-10}" _enough "$1" "$n" || {
		echo "events so far:" >&2; cat "$EV" >&2; cat "$EV.err" >&2; return 1; }
}
# field JQ-FILTER FIELD: FIELD of the last matching event.
field() { jq -r "select($1) | .$2" "$EV" | tail -1; }

# launch [--checkpoint] FRAMEWORK EXECUTOR TASK -- ARGV...: launch and
# wait until the task is RUNNING; its executor's pid is then in $XPID.
launch() {
	local line=launch a t= i args=("$@")
	for a in "$@"; do line+=" $(printf '%q' "$a")"; done
	echo "$line" >&"$AGENT_FD"
	for i in "${!args[@]}"; do
		[ "${args[$i]}" = -- ] && { t=${args[$((i - 1))]}; break; }
	done
	wait_event ".event==\"update\" and .task_id==\"$t\" and .state==\"TASK_RUNNING\""
	XPID=$(field ".event==\"launched\" and .task_id==\"$t\"" pid)
}

alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; }
dead() { ! alive "$1"; }
# task_pid EXECUTOR_PID: the pid of the task (the executor's child).
task_pid() { pgrep -P "$1" | head -1; }
# sandbox FRAMEWORK EXECUTOR: the sandbox of the executor's latest run.
sandbox() { echo "$(readlink -f "$W"/meta/slaves/latest | sed 's|/meta/slaves/|/slaves/|')/frameworks/$1/executors/$2/runs/$(readlink "$W"/meta/slaves/latest/frameworks/$1/executors/$2/runs/latest)"; }
# procs_in DIR: how many processes run with their cwd in DIR or below.
procs_in() { procs_under "$1" | wc -l; }

# agent_restart [ARGS...]: kill -9 the agent and start it again on the
# same work dir (the new one's events in the new $EV).
agent_restart() {
	agent_kill9
	agent_start "$@"
}

# agent_ack [JQ-FILTER]: acknowledge every update event that matches
# (default: every update), then wait until the agent has answered each.
agent_ack() {
	local u n=0 before
	before=$(count '.event=="acknowledged"')
	for u in $(jq -r "select(.event==\"update\" and (${1:-true})) | .uuid" "$EV" | sort -u); do
		agent_send ack "$u"
		n=$((n + 1))
	done
	[ "$n" -eq 0 ] || wait_event '.event=="acknowledged" or (.event=="error" and (.message|startswith("ack:")))' "$((before + n))"
}
