#!/usr/bin/env bats
# Scenarios 4, 17 and 18: checkpointing and not, several frameworks,
# shutdown on purpose versus SIGTERM.

load helpers

@test "4: a framework without checkpointing: the task dies with the agent and nothing is recovered" {
	agent_start
	launch F0 E0 T0 -- sleep 1000
	tpid=$(task_pid "$XPID")
	assert_not_exist "$W/meta/slaves/latest/frameworks/F0"
	agent_kill9
	wait_for 10 dead "$tpid"
	wait_for 10 dead "$XPID"
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(count '.event=="update"')" 0
	assert_equal "$(field '.event=="recovery"' 'runs|length')" 0
}

@test "17: several frameworks, some checkpointing, several executors each: each its own fate" {
	agent_start
	launch --checkpoint FA EA1 TA1 -- sleep 1000
	a1=$XPID
	launch --checkpoint FA EA2 TA2 -- sleep 1000
	a2=$XPID
	launch FB EB1 TB1 -- sleep 1000
	b1=$XPID
	launch FB EB2 TB2 -- sleep 1000
	b2=$XPID
	launch --checkpoint FC EC1 TC1 -- sh -c 'exit 3'
	wait_event '.task_id=="TC1" and .state=="TASK_FAILED"'
	agent_kill9
	wait_for 10 dead "$b1"
	wait_for 10 dead "$b2"
	alive "$a1"
	alive "$a2"
	agent_start
	wait_event '.event=="reregistered"'
	# FA's two, and FC's executor, which waits for the ack of FAILED
	assert_equal "$(field '.event=="reregistered"' reconnected)" 3
	assert_equal "$(count '.event=="reconnected" and .framework_id=="FA"')" 2
	assert_equal "$(count '.framework_id=="FB"')" 0
	# FC's task failed before the crash: its FAILED is still pending, and only that
	assert_equal "$(count '.task_id=="TC1" and .event=="update" and .state=="TASK_FAILED"')" 1
	assert_equal "$(count '.task_id=="TA1" and .event=="update" and .state=="TASK_LOST"')" 0
	agent_send kill FA TA2
	wait_event '.task_id=="TA2" and .state=="TASK_KILLED"'
	alive "$a1"
}

@test "18: shutdown kills every executor and task and terminates every run; SIGTERM leaves them running" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID t1=$(task_pid "$XPID")
	launch --checkpoint F1 E2 T2 -- sleep 1000
	x2=$XPID
	kill -TERM "$AGENT_PID"
	agent_wait_exit
	assert_equal "$AGENT_STATUS" 0
	wait_event '.event=="stopped"'
	alive "$x1"
	alive "$x2"
	alive "$t1"
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' reconnected)" 2
	agent_send shutdown
	wait_event '.event=="shutdown"'
	agent_wait_exit
	assert_equal "$AGENT_STATUS" 0
	wait_for 10 dead "$x1"
	wait_for 10 dead "$x2"
	wait_for 10 dead "$t1"
	assert_equal "$(count '.event=="update" and .state=="TASK_KILLED"')" 2
	# Their TASK_KILLED not acknowledged: the runs are not settled; the
	# next agent delivers them again, and once acknowledged they are.
	for r in "$W"/meta/slaves/latest/frameworks/F1/executors/*/runs/latest; do
		assert_file_not_exist "$r/executor.sentinel"
	done
	agent_start
	wait_event '.event=="update" and .state=="TASK_KILLED" and .redelivered' 2
	agent_ack '.state=="TASK_KILLED"'
	wait_event '.event=="terminated"' 2
	agent_send shutdown
	agent_wait_exit
	for r in "$W"/meta/slaves/latest/frameworks/F1/executors/*/runs/latest; do
		assert_file_exist "$r/executor.sentinel"
	done
	run recover -d "$W"
	assert_output ""
}
