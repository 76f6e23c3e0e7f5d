#!/usr/bin/env bats
# Scenarios 10, 11, 13, 14 and 15: recycled pids, pipes of tools, an agent
# that dies half-way through a launch, an executor that never connects, a
# dangling link.

load helpers

run_dir() { echo "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest; }

@test "10: forked.pid names an unrelated live process: no tool signals it" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	tpid=$(task_pid "$XPID")
	agent_kill9
	kill -9 "$XPID" "$tpid"
	spawn sleep 1000
	other=$SPAWNED
	echo "$other" > "$(run_dir)/pids/forked.pid"
	run recover -d "$W"
	assert_output --partial '"process":"recycled"'
	assert_output --partial '"action":"none"'
	run executor-kill -d "$W" -f F1 -e E1 --grace 100ms
	assert_success
	assert_output --partial '"result":"refused"'
	# the same line with the liveness check fooled: identity still refuses
	recover -d "$W" | jq -c '.process="same" | .alive=true' | executor-kill --grace 100ms > "$BATS_TEST_TMPDIR/out"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial '"result":"refused"'
	assert_output --partial "pid $other is not the checkpointed executor"
	agent_start --executor-reregistration-timeout=500ms
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="update"' state)" TASK_LOST
	alive "$other"
}

@test "10: a Mesos pid file (no start time): a process younger than the pid file is not signalled" {
	spawn sleep 1000
	python3 "$FIXTURES/mesos_workdir.py" "$W" "$SPAWNED"
	cat /proc/sys/kernel/random/boot_id > "$W/meta/boot_id"
	touch -d '-1 hour' "$W"/meta/slaves/latest/frameworks/*/executors/exec-web/runs/latest/pids/forked.pid
	run recover -d "$W"
	assert_output --partial '"process":"recycled"'
	recover -d "$W" | jq -c '.process="same"' | executor-kill --grace 100ms
	alive "$SPAWNED"
}

@test "11: recover | executor-kill and recover | executor-reconnect do what agent-run does" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID
	launch --checkpoint F1 E2 T2 -- sleep 1000
	x2=$XPID
	agent_kill9
	run bash -c "recover -d '$W' | executor-reconnect"
	assert_success
	assert_equal "$(echo "$output" | jq -c 'select(.result=="reached")' | wc -l)" 2
	assert_equal "$(echo "$output" | jq -c 'select(.event=="update" and .state=="TASK_RUNNING" and .new==false)' | wc -l)" 2
	alive "$x1"
	t2=$(task_pid "$x2")
	run bash -c "recover -d '$W' | jq -c 'select(.executor_id==\"E2\")' | executor-kill --grace 2s"
	assert_success
	assert_output --partial '"result":"killed"'
	dead "$x2"
	wait_for 5 dead "$t2"
	alive "$x1"
	run bash -c "recover -d '$W' | executor-reconnect"
	assert_failure 1
	assert_output --partial '"executor_id":"E2","run_id"'
	assert_output --partial '"result":"unreachable"'
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	assert_equal "$(field '.task_id=="T2" and .event=="update"' state)" TASK_KILLED
}

@test "11: executor-reconnect refuses a work dir an agent owns (75)" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	run executor-reconnect -d "$W" -f F1 -e E1
	assert_failure 75
}

@test "13: the agent dies after checkpointing a task, before its executor started: lost, nothing stray" {
	fb=${FAULT_BIN:-$BATS_TEST_DIRNAME/../build/fault/bin}
	[ -x "$fb/agent-run" ] || skip "no fault build"
	mkfifo "$BATS_TEST_TMPDIR/cmd"
	(cd "$BATS_TEST_TMPDIR" && CKPT_FAULT_MATCH=forked.pid CKPT_FAULT_OP=rename exec "$fb/agent-run" -d "$W" --executor "$fb/agent-executor" <"$BATS_TEST_TMPDIR/cmd" >"$BATS_TEST_TMPDIR/ev" 2>&1 3>&-) &
	pid=$!
	echo 'launch --checkpoint F1 E1 T1 -- sleep 1000' > "$BATS_TEST_TMPDIR/cmd"
	status=0; wait "$pid" || status=$?
	assert_equal "$status" 99
	assert_file_exist "$(run_dir)/tasks/T1/task.info"
	assert_file_not_exist "$(run_dir)/pids/forked.pid"
	wait_for 5 bash -c "! pgrep -f -- '[-]d $W '"
	agent_start
	wait_event '.event=="update" and .state=="TASK_LOST"'
	assert_equal "$(field '.state=="TASK_LOST"' message)" "the executor was never started"
	agent_send ack "$(field '.state=="TASK_LOST"' uuid)"
	wait_event '.event=="terminated"'
	assert_file_exist "$(run_dir)/executor.sentinel"
	assert_equal "$(procs_in "$W")" 0
}

@test "14: an executor started but never connected: killed after the reregistration timeout, its task lost" {
	printf '#!/bin/sh\nexec sleep 1000\n' > "$BATS_TEST_TMPDIR/mute-executor"
	chmod +x "$BATS_TEST_TMPDIR/mute-executor"
	agent_start --executor "$BATS_TEST_TMPDIR/mute-executor"
	agent_send launch --checkpoint F1 E1 T1 -- true
	wait_event '.event=="launched"'
	xpid=$(field '.event=="launched"' pid)
	agent_kill9
	alive "$xpid"
	agent_start --executor-reregistration-timeout=1s
	wait_event '.event=="reregistered"'
	wait_event '.event=="executor_timeout"'
	assert_equal "$(field '.event=="update"' state)" TASK_LOST
	wait_for 5 dead "$xpid"
}

@test "15: a dangling runs/latest link: recovery goes on" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	launch --checkpoint F1 E2 T2 -- sleep 1000
	agent_kill9
	ln -sfn no-such-run "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' reconnected)" 2
	run ckpt-inspect -d "$W"
	assert_output --partial "executor E1 (runs/latest dangles)"
}
