#!/usr/bin/env bats
# Scenarios 5 to 9 and 12: recovery modes, timeouts, reboots, damage, lock.

load helpers

@test "5: --recover=cleanup kills every old executor and task, exits 0; recover shows nothing to reconnect" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID t1=$(task_pid "$XPID")
	launch --checkpoint F1 E2 T2 -- sleep 1000
	x2=$XPID
	agent_kill9
	run agent-run -d "$W" --recover=cleanup --grace 2s </dev/null
	assert_success
	assert_output --partial '"event":"cleanup","killed":2'
	dead "$x1"
	dead "$x2"
	wait_for 5 dead "$t1"
	run recover -d "$W"
	assert_success
	refute_output --partial '"action":"reconnect"'
}

@test "6: the agent stays down longer than --recovery-timeout: executor and task are gone, the task is reported lost" {
	agent_start --recovery-timeout=1s
	launch --checkpoint F1 E1 T1 -- sleep 1000
	tpid=$(task_pid "$XPID")
	agent_kill9
	wait_for 10 dead "$tpid"
	wait_for 10 dead "$XPID"
	agent_start
	wait_event '.event=="update" and .state=="TASK_LOST"'
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.state=="TASK_LOST"' message)" "executor gone; it killed the task when no agent came back within the recovery timeout (executor.exit)"
}

@test "7: a reboot (boot id changed): nothing reconnected, tasks lost, old executors untouched by kill" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	tpid=$(task_pid "$XPID")
	agent_kill9
	echo 00000000-1111-2222-3333-444444444444 > "$W/meta/boot_id"
	run recover -d "$W"
	assert_output --partial '"reboot":true'
	assert_output --partial '"action":"none"'
	recover -d "$W" | executor-kill
	alive "$XPID"
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="recovery"' reboot)" true
	assert_equal "$(field '.event=="reregistered"' reconnected)" 0
	assert_equal "$(field '.state=="TASK_LOST"' message)" "the host rebooted"
	# The pids are of the old boot: neither the executor nor its task is
	# signalled (here they are still there to see it).
	alive "$XPID"
	alive "$tpid"
	assert_equal "$(cat "$W/meta/boot_id")" "$(cat /proc/sys/kernel/random/boot_id)"
	agent_send ack "$(field '.state=="TASK_LOST"' uuid)"
	wait_event '.event=="terminated"'
	assert_file_exist "$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/executor.sentinel"
}

@test "7b: an orderly reboot (systemd stopped the executors, which stopped their tasks): TASK_LOST 'the host rebooted', not KILLED; a task that exited by itself keeps its end" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID
	launch --checkpoint F1 E2 T2 -- sh -c 'exit 3'
	wait_event '.task_id=="T2" and .state=="TASK_FAILED"'
	agent_kill9
	# The shutdown: SIGTERM to the executor, which stops its task, records
	# how it ended, and leaves.
	kill -TERM "$x1"
	wait_for 10 dead "$x1"
	run cat "$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/executor.exit"
	assert_output "signaled 15"
	echo 00000000-1111-2222-3333-444444444444 > "$W/meta/boot_id"
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.task_id=="T1" and .event=="update" and (.redelivered|not)' state)" TASK_LOST
	assert_equal "$(field '.task_id=="T1" and .event=="update" and (.redelivered|not)' message)" "the host rebooted; the task was stopped by signal 15 at its shutdown (executor.exit)"
	assert_equal "$(count '.task_id=="T1" and .state=="TASK_KILLED"')" 0
	assert_equal "$(field '.event=="reregistered"' lost)" 1
	assert_equal "$(count '.task_id=="T2" and .state=="TASK_LOST"')" 0
}

@test "8: a corrupt task.info: strict exits 65 naming the file; non-strict recovers every other task and reports it" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	launch --checkpoint F1 E2 T2 -- sleep 1000
	agent_kill9
	bad=$(echo "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/tasks/T1/task.info)
	printf '\x04\x00\x00\x00\xff\xff\xff\xff' > "$bad"
	run agent-run -d "$W" </dev/null
	assert_failure 65
	assert_output --partial "task.info: offset 0: record of 4 bytes is not a valid mesos.Task"
	run recover -d "$W"
	assert_failure 65
	agent_start --no-strict
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' reconnected)" 2
	run jq -r 'select(.event=="recovery") | .runs[].errors[].path' "$EV"
	assert_output --partial "T1/task.info"
	run recover -d "$W" --no-strict
	assert_success
}

@test "9: a torn tail of task.updates: recovered in both modes, truncated by agent-run and by recover --repair" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	f=$(echo "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/tasks/T1/task.updates)
	size=$(stat -c %s "$f")
	printf '\x30\x00\x00\x00\x08\x00' >> "$f"
	run recover -d "$W"
	assert_success
	assert_equal "$(stat -c %s "$f")" $((size + 6))
	run recover -d "$W" --repair
	assert_success
	assert_equal "$(stat -c %s "$f")" "$size"
	printf '\x30\x00' >> "$f"
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(stat -c %s "$f")" "$size"
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	agent_kill9
	printf '\x30' >> "$f"
	agent_start --no-strict
	wait_event '.event=="reregistered"'
	assert_equal "$(stat -c %s "$f")" "$size"
}

@test "12: two agents on one work dir: the second refuses with 75" {
	agent_start
	wait_event '.event=="registered"'
	run agent-run -d "$W" </dev/null
	assert_failure 75
	assert_output --partial "locked by another agent, pid $AGENT_PID"
}
