# helpers.bash: shared by every suite.  Each test gets its own work dir
# ($W); processes it started are killed in teardown; wait_for polls a
# condition with a deadline instead of sleeping.

bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file
# The helpers users get (contrib/bats: agent_start, wait_event, launch,
# ...), loaded the way they load them.
BATS_LIB_PATH=$BATS_TEST_DIRNAME/../contrib/bats${BATS_LIB_PATH:+:$BATS_LIB_PATH}
bats_load_library agent-tools

BIN=${AGENT_BIN:-$BATS_TEST_DIRNAME/../build/bin}
PATH=$BIN:$PATH
FIXTURES=$BATS_TEST_DIRNAME/fixtures

common_setup() {
	W=$BATS_TEST_TMPDIR/w
	agent_setup
	export AGENT_WORK_DIR=
}
common_teardown() { agent_teardown; }


setup() { common_setup; }
teardown() { common_teardown; }

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

# The control socket of agent_start --listen "$S" (a 0700 directory of
# the test's own).
S_DIR() { echo "$BATS_TEST_TMPDIR/ctl"; }
S=
set_socket() { S=$BATS_TEST_TMPDIR/ctl/sock; }
# attach LINE...: the lines sent through `agent-run --attach "$S"`; its
# output and status in $output and $status (bats run).  A client that
# hangs fails the test (124) instead of stopping the suite.
attach() { run timeout 60 bash -c 'printf "%s\n" "$@" | agent-run --attach "$0"' "$S" "$@"; }
# uuids JQ-FILTER [FILE]: the uuids of the matching events, sorted.
uuids() { jq -r "select($1) | .uuid" "${2:-$EV}" | sort; }
