#!/usr/bin/env bats
# executor-reconnect: the handshake, the replay of unacknowledged updates.

load helpers

@test "--help, --version, usage errors" {
	run executor-reconnect --help
	assert_success
	run executor-reconnect --version
	assert_success
	run executor-reconnect -e E1
	assert_failure 64
}

@test "named: reaches the executor, prints its pending updates, checkpoints the new ones" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sh -c 'while [ ! -e done ]; do sleep 0.05; done'
	agent_kill9
	touch "$(sandbox F1 E1)/done"
	wait_for 5 grep -qs exited "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/executor.exit
	run executor-reconnect -d "$W" -f F1 -e E1
	assert_success
	assert_output --partial '"state":"TASK_FINISHED"'
	assert_output --partial '"new":true'
	assert_output --partial '"result":"reached","message":"3 pending updates"'
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"state":"TASK_FINISHED","updates":3'
	# a second time nothing is new
	run executor-reconnect -d "$W" -f F1 -e E1
	refute_output --partial '"new":true'
}

@test "an executor that does not answer: unreachable after the timeout, exit 1" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	kill -STOP "$XPID"
	run executor-reconnect -d "$W" -f F1 -e E1 --timeout 300ms
	kill -CONT "$XPID"
	assert_failure 1
	assert_output --partial '"result":"unreachable","message":"no answer within the timeout"'
}
