#!/usr/bin/env bats
# executor-kill: proven identity before any signal; one result line each.

load helpers

@test "--help, --version, usage errors" {
	run executor-kill --help
	assert_success
	run executor-kill --version
	assert_success
	run executor-kill -f F1
	assert_failure 64
	run executor-kill --grace never </dev/null
	assert_failure 64
}

@test "bad input lines: 65 naming the line" {
	run executor-kill <<<'{"no":"executor"}'
	assert_failure 65
	assert_output --partial "line 1"
	run executor-kill <<<'not json'
	assert_failure 65
}

@test "named: SIGTERM, the executor kills its task and records it; result killed" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	tpid=$(task_pid "$XPID")
	agent_kill9
	run executor-kill -d "$W" -f F1 -e E1 --grace 5s
	assert_success
	assert_output --regexp '"result":"killed"'
	dead "$XPID"
	wait_for 5 dead "$tpid"
	assert_file_contains "$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/executor.exit" "signaled 15"
}

@test "SIGKILL after the grace when SIGTERM is not enough; the task goes too" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	tpid=$(task_pid "$XPID")
	agent_kill9
	kill -STOP "$XPID"
	run executor-kill -d "$W" -f F1 -e E1 --grace 300ms
	assert_success
	assert_output --partial '"result":"killed"'
	wait_for 5 dead "$XPID"
	wait_for 5 dead "$tpid"
}

@test "an executor already gone: result gone, exit 0" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	kill -9 "$XPID"
	wait_for 5 dead "$XPID"
	run executor-kill -d "$W" -f F1 -e E1
	assert_success
	assert_output --partial '"result":"gone"'
	run executor-kill -d "$W" -f F1 -e NOPE
	assert_failure 66
}
