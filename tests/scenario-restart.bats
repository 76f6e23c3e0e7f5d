#!/usr/bin/env bats
# Scenarios 1, 2, 3 and 16: the agent dies and comes back; tasks carry on.

load helpers

@test "1: kill -9 the agent, restart: same task pid, RUNNING after reregistration, FINISHED once" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- sh -c 'while [ ! -e done ]; do sleep 0.05; done'
	tpid=$(task_pid "$XPID")
	agent_kill9
	alive "$XPID"
	alive "$tpid"
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	assert_equal "$(field '.event=="reconnected"' pid)" "$XPID"
	# the pending RUNNING is delivered again after the restart
	assert_equal "$(count '.event=="update" and .state=="TASK_RUNNING"')" 1
	assert_equal "$(task_pid "$XPID")" "$tpid"
	# finish it: FINISHED delivered once, even after its ack
	touch "$(sandbox F1 E1)/done"
	wait_event '.event=="update" and .state=="TASK_FINISHED"'
	agent_send ack "$(field '.state=="TASK_FINISHED"' uuid)"
	agent_send ack "$(field '.state=="TASK_RUNNING"' uuid)"
	agent_send ack "$(field '.state=="TASK_STARTING"' uuid)"
	wait_event '.event=="terminated"'
	assert_equal "$(count '.event=="update" and .state=="TASK_FINISHED"')" 1
	wait_for 5 dead "$XPID"
	agent_send shutdown
	agent_wait_exit
	assert_equal "$AGENT_STATUS" 0
}

@test "2: the task finishes while the agent is down: FINISHED after the restart, never again after its ack" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sh -c 'while [ ! -e done ]; do sleep 0.05; done; exit 0'
	for s in STARTING RUNNING; do agent_send ack "$(field ".state==\"TASK_$s\"" uuid)"; done
	wait_event '.event=="acknowledged"' 2
	agent_kill9
	touch "$(sandbox F1 E1)/done"
	wait_for 5 grep -qs exited "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/executor.exit
	agent_start
	wait_event '.event=="update" and .state=="TASK_FINISHED"'
	wait_event '.event=="reregistered"'
	assert_equal "$(count '.event=="update"')" 1
	agent_send ack "$(field '.state=="TASK_FINISHED"' uuid)"
	wait_event '.event=="terminated"'
	wait_for 5 dead "$XPID"
	agent_kill9
	agent_start
	wait_event '.event=="reregistered"'
	agent_send ping
	wait_event '.event=="pong"'
	assert_equal "$(count '.event=="update"')" 0
	run recover -d "$W"
	assert_output ""
}

@test "3: an update emitted but not acknowledged is emitted again after the restart; an acknowledged one never" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	starting=$(field '.state=="TASK_STARTING"' uuid)
	running=$(field '.state=="TASK_RUNNING"' uuid)
	agent_send ack "$starting"
	wait_event '.event=="acknowledged"'
	agent_kill9
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(count ".event==\"update\" and .uuid==\"$running\"")" 1
	assert_equal "$(count ".event==\"update\" and .uuid==\"$starting\"")" 0
	agent_send ack "$running"
	wait_event '.event=="acknowledged"'
	agent_kill9
	agent_start
	wait_event '.event=="reregistered"'
	agent_send ping
	wait_event '.event=="pong"'
	assert_equal "$(count '.event=="update"')" 0
}

@test "16: after recovery, killing a task works as before (KILLED delivered once)" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	tpid=$(task_pid "$XPID")
	agent_kill9
	agent_start
	wait_event '.event=="reregistered"'
	agent_send kill T1
	wait_event '.event=="update" and .state=="TASK_KILLED"'
	wait_for 5 dead "$tpid"
	agent_send ack "$(field '.state=="TASK_KILLED"' uuid)"
	wait_for 5 dead "$XPID"
	assert_equal "$(count '.event=="update" and .state=="TASK_KILLED"')" 1
}

@test "a stalled agent does not make a healthy executor late: stalled past the reregistration timeout, it still reconnects it" {
	command -v strace >/dev/null || skip "no strace"
	strace -f -o /dev/null true 2>/dev/null || skip "ptrace is not permitted here"
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	# the agent stalls 2 s in its first connect to an executor, longer
	# than the timeout; the executor answers at once
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
	AGENT_WRAP="strace -f -o /dev/null -e trace=poll,ppoll -e inject=poll,ppoll:delay_exit=1500000:when=2..4" \
	    agent_start --executor-reregistration-timeout=1s
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	assert_equal "$(count '.event=="executor_timeout"')" 0
	assert_equal "$(count '.state=="TASK_LOST"')" 0
	alive "$XPID"
}
