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
