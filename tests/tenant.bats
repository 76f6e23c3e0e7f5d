#!/usr/bin/env bats
# A task, a driver or an operator cannot take the agent down, nor hurt
# another framework's tasks: what a hostile tenant, a careless operator and
# a buggy driver tried, and what they now get.

load helpers

@test "a last line without its newline is never carried out: stdin" {
	mkdir -p "$W"
	printf 'launch --checkpoint F1 E1 T1 -- true\nlaunch F1 E2 T2 -- tru' |
		agent-run -d "$W" > "$BATS_TEST_TMPDIR/ev" 2> "$BATS_TEST_TMPDIR/err"
	run jq -c 'select(.event=="launched") | .task_id' "$BATS_TEST_TMPDIR/ev"
	assert_output '"T1"'
	run jq -r 'select(.event=="error") | .message' "$BATS_TEST_TMPDIR/ev"
	assert_output --partial "the last line has no newline: not carried out"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "a last line without its newline was not carried out (22 bytes: 'launch F1 E2 T2 -- tru')"
	assert [ ! -e "$W/meta/slaves/latest/frameworks/F1/executors/E2" ]
}

@test "a last line without its newline is never carried out: --attach, 300 cut launches" {
	set_socket
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	local pids=()
	for i in $(seq 1 300); do
		printf 'launch F1 E%s T%s -- tru' "$i" "$i" | agent-run --attach "$S" >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	attach 'kill T1' ping
	assert_success
	assert_output --partial pong
	assert_equal "$(count '.event=="launched"')" 0
	assert_equal "$(grep -c 'without its newline was not carried out' "$EV.err")" 300
	run bash -c "printf 'kill F2 T12' | agent-run --attach '$S'"
	assert_failure 65
	assert_output --partial "the last line has no newline"
}

@test "a bare task id in two frameworks is refused, with both named" {
	agent_start
	wait_event '.event=="registered"'
	launch F1 E1 T1 -- sleep 1000
	launch F2 E2 T1 -- sleep 1000
	agent_send kill T1
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "kill: task 'T1' is in 2 frameworks (F1, F2): say which, as kill FRAMEWORK TASK"
	assert_equal "$(count '.event=="update" and .state=="TASK_KILLED"')" 0
	agent_send kill F2 T1
	wait_event '.event=="update" and .state=="TASK_KILLED" and .framework_id=="F2"'
	agent_send kill T1
	wait_event '.event=="update" and .state=="TASK_KILLED" and .framework_id=="F1"'
}

@test "closed standard descriptors: opened on /dev/null, never the lock" {
	mkdir -p "$W"
	# stdin closed: it reads no command from its own lock file
	agent-run -d "$W" <&- > "$BATS_TEST_TMPDIR/ev" 2> "$BATS_TEST_TMPDIR/err"
	run cat "$BATS_TEST_TMPDIR/ev" "$BATS_TEST_TMPDIR/err"
	refute_output --partial "unknown command"
	assert_output --partial registered
	# stdout closed: no event lands in agent.lock
	echo ping | agent-run -d "$W" >&- 2> "$BATS_TEST_TMPDIR/err"
	run cat "$W/meta/agent.lock"
	refute_output --partial event
	for b in ckpt-inspect recover; do
		run bash -c "$b -d '$W' 2>&1 >&-"
		refute_output --partial "Bad file descriptor"
	done
}
