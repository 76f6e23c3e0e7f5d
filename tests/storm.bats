#!/usr/bin/env bats
# A reduced restart storm (the full one is `make stress`): tasks sending
# progress updates while the agent is killed with SIGKILL and restarted at
# random moments.  Every task ends FINISHED, every update is delivered at
# least once and never after its acknowledgement, no executor is left.

load helpers

@test "restart storm: 20 executors x 10 updates, 3 restarts" {
	run env AGENT_BIN="$BIN" STORM_EXECUTORS=20 STORM_UPDATES=10 STORM_RESTARTS=3 \
	    python3 "$BATS_TEST_DIRNAME/storm.py"
	echo "# ${lines[0]}" >&3
	assert_success
	assert_line --index 0 --partial "orphans 0, violations 0"
}

@test "progress lines a task writes to fd 3 become TASK_RUNNING updates, in order, before its end" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sh -c 'for i in 1 2 3; do echo "step $i" >&3; done'
	wait_event '.task_id=="T1" and .state=="TASK_FINISHED"'
	run jq -r 'select(.event=="update") | .message // .state' "$EV"
	assert_output "TASK_STARTING
TASK_RUNNING
step 1
step 2
step 3
exited with status 0"
}
