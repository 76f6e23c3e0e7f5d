# helpers.bash: shared by every suite.  Each test gets its own work dir
# ($W); processes it started are killed in teardown; wait_for polls a
# condition with a deadline instead of sleeping.

bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

BIN=${AGENT_BIN:-$BATS_TEST_DIRNAME/../build/bin}
PATH=$BIN:$PATH
FIXTURES=$BATS_TEST_DIRNAME/fixtures

common_setup() {
	W=$BATS_TEST_TMPDIR/w
	export AGENT_WORK_DIR=
}

# Kill everything this test started: processes whose cwd or argv is
# under the test's temporary directory.
common_teardown() {
	local p cwd
	for p in /proc/[0-9]*; do
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		case "$cwd" in "$BATS_TEST_TMPDIR"*) kill -9 "${p#/proc/}" 2>/dev/null ;; esac
	done
	pkill -9 -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

setup() { common_setup; }
teardown() { common_teardown; }

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

# A minimal valid checkpoint written with ckpt-write: agent A1, framework
# F1 (checkpointing), executor E1, run R1, task T1.
make_workdir() {
	local w=${1:-$W}
	echo '{"hostname":"h1","id":"A1"}' | ckpt-write -d "$w" agent
	echo '{"user":"u","name":"fw","id":"F1","checkpoint":true}' | ckpt-write -d "$w" framework
	echo '{"executor_id":"E1","framework_id":"F1","command":{"value":"sleep","arguments":["sleep","1"],"shell":false}}' | ckpt-write -d "$w" executor
	echo '{"pid":999999}' | ckpt-write -d "$w" -f F1 -e E1 -r R1 run >/dev/null
	echo '{"name":"t","task_id":"T1","framework_id":"F1","executor_id":"E1","slave_id":"A1","state":"TASK_STAGING"}' | ckpt-write -d "$w" task
}

# update STATE [TASK] [UUID]: append one status update; prints its uuid.
update() {
	local uuid=${3:+,\"uuid\":\"$3\"}
	echo "{\"framework_id\":\"F1\",\"executor_id\":\"E1\",\"status\":{\"task_id\":\"${2:-T1}\",\"state\":\"$1\"},\"timestamp\":1700000000.5$uuid}" |
	    ckpt-write -d "$W" -f F1 -e E1 update
}

TASK_DIR=meta/slaves/A1/frameworks/F1/executors/E1/runs/R1/tasks/T1

# spawn CMD...: start CMD in the background, detached from bats's output,
# with its cwd in the test's directory so that teardown reaps it; its pid
# is in $SPAWNED.
spawn() {
	(cd "$BATS_TEST_TMPDIR" && exec "$@" </dev/null >/dev/null 2>&1 3>&-) &
	SPAWNED=$!
}

# spawn_mesos_executor [RUN]: a process that is what a Mesos executor of
# RUN (default: the run of tests/fixtures/mesos_workdir.py) shows: its
# working directory is the run's sandbox.  Its pid is in $SPAWNED.
MESOS_RUN=6a0f0e5e-6c4f-4d2a-9b8e-1d2c3b4a5f60
spawn_mesos_executor() {
	local sb=$BATS_TEST_TMPDIR/sandbox/runs/${1:-$MESOS_RUN}
	mkdir -p "$sb"
	(cd "$sb" && exec sleep 1000 </dev/null >/dev/null 2>&1 3>&-) &
	SPAWNED=$!
}

# ---- driving agent-run ----
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
# procs_in DIR: how many processes run with their cwd under DIR.
procs_in() {
	local p n=0
	for p in /proc/[0-9]*; do
		case "$(readlink "$p/cwd" 2>/dev/null)" in "$1"*) n=$((n + 1)) ;; esac
	done
	echo "$n"
}

# The control socket of agent_start --listen "$S" (a 0700 directory of
# the test's own).
S_DIR() { echo "$BATS_TEST_TMPDIR/ctl"; }
S=
set_socket() { S=$BATS_TEST_TMPDIR/ctl/sock; }
# attach LINE...: the lines sent through `agent-run --attach "$S"`; its
# output and status in $output and $status (bats run).
attach() { run bash -c 'printf "%s\n" "$@" | agent-run --attach "$0"' "$S" "$@"; }
# uuids JQ-FILTER [FILE]: the uuids of the matching events, sorted.
uuids() { jq -r "select($1) | .uuid" "${2:-$EV}" | sort; }
