#!/usr/bin/env bats
# A crash, an EIO, an ENOSPC at every durable step of a fixed workload
# (tests/crash-sweep.sh says what is checked after each).  `make stress`
# runs the error sweeps at every step too.

load helpers

setup() {
	common_setup
	fb=${FAULT_BIN:-$BATS_TEST_DIRNAME/../build/fault/bin}
	[ -x "$fb/agent-run" ] || skip "no fault build (make FAULT=1 BUILD=build/fault)"
	export FAULT_BIN=$fb AGENT_BIN=$BIN
}

@test "a crash at every durable step: strict recovery, nothing acknowledged lost or repeated, executors reconnected" {
	run "$BATS_TEST_DIRNAME/crash-sweep.sh" crash 1
	echo "# ${lines[-1]}" >&3
	assert_success
	assert_line --regexp '^crash: K=[0-9]+ steps tried=([0-9]+) passed=\1 failed=0$'
}

@test "EIO at every 4th durable step: exit 74 naming the file, still recoverable in strict mode" {
	run "$BATS_TEST_DIRNAME/crash-sweep.sh" eio 4
	echo "# ${lines[-1]}" >&3
	assert_success
}

@test "ENOSPC at every 4th durable step: exit 74 naming the file, still recoverable in strict mode" {
	run "$BATS_TEST_DIRNAME/crash-sweep.sh" enospc 4
	echo "# ${lines[-1]}" >&3
	assert_success
}
