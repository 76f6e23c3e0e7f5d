#!/usr/bin/env bats
# recover: the plan, its exit codes, --repair, --orphans.

load helpers

@test "--help, --version, usage errors" {
	run recover --help
	assert_success
	assert_output --partial "usage: recover"
	run recover --version
	assert_success
	run recover -d "$W" --bogus
	assert_failure 64
	run recover
	assert_failure 64
}

@test "no such work dir: 66; a work dir without a checkpoint: an empty plan" {
	run recover -d "$W/nope"
	assert_failure 66
	assert_output --partial "$W/nope: no such work dir"
	mkdir -p "$W"
	run recover -d "$W"
	assert_success
	assert_output ""
}

@test "one JSON line per run: ids, pid, liveness, reboot, checkpoint, action, pending, errors" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	run recover -d "$W" --json
	assert_success
	assert_equal "${#lines[@]}" 1
	echo "$output" | jq -e --argjson pid "$XPID" '.framework_id=="F1" and .executor_id=="E1" and .pid==$pid and .alive and .process=="same" and .reboot==false and .checkpoint and .action=="reconnect" and .pending==2 and (.errors|length)==0 and .tasks[0].id=="T1"'
	run recover -d "$W" --table
	assert_line --index 0 --regexp '^FRAMEWORK +EXECUTOR +PID +PROCESS +ACTION +PENDING +ERRORS$'
	assert_line --index 1 --regexp "^F1 +E1 +$XPID +same +reconnect +2 +0$"
}

@test "a dead executor: action none; recover never writes without --repair" {
	make_workdir
	update TASK_RUNNING >/dev/null
	printf '\x10\x00' >> "$W/$TASK_DIR/task.updates"
	before=$(cd "$W" && find . -printf '%p %s %T@\n' | sort)
	run recover -d "$W"
	assert_success
	assert_output --partial '"process":"gone","same_process":false'
	assert_output --partial '"action":"none"'
	assert_equal "$(cd "$W" && find . -printf '%p %s %T@\n' | sort)" "$before"
}

@test "strict: a corrupt checkpoint exits 65 naming file and offset; --no-strict reports it" {
	make_workdir
	update TASK_RUNNING >/dev/null
	off=$(stat -c %s "$W/$TASK_DIR/task.updates")
	printf '\x02\x00\x00\x00\xff\xff' >> "$W/$TASK_DIR/task.updates"
	run recover -d "$W"
	assert_failure 65
	assert_output "recover: $W/$TASK_DIR/task.updates: offset $off: record of 2 bytes is not a valid mesos.StatusUpdateRecord"
	run recover -d "$W" --no-strict
	assert_success
	assert_output --partial "\"offset\":$off"
}

@test "--orphans: live executors only while no agent holds the work dir" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	run recover -d "$W" --orphans
	assert_success
	assert_output ""
	agent_kill9
	run recover -d "$W" --orphans
	assert_output --partial '"executor_id":"E1"'
	kill -9 "$XPID"
	wait_for 5 dead "$XPID"
	run recover -d "$W" --orphans
	assert_output ""
}

@test "reads a real Mesos agent's work dir" {
	spawn sleep 1000
	python3 "$FIXTURES/mesos_workdir.py" "$W" "$SPAWNED"
	cat /proc/sys/kernel/random/boot_id > "$W/meta/boot_id"
	run recover -d "$W"
	assert_success
	assert_output --partial '"executor_id":"exec-web"'
	assert_output --partial '"process":"same"'
	assert_output --partial '"pending":1'
}
