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
	assert_line --index 0 --regexp '^FRAMEWORK +EXECUTOR +RUN +PID +PROCESS +ACTION +PENDING +ERRORS$'
	assert_line --index 1 --regexp "^F1 +E1 +[0-9a-f-]{36} +$XPID +same +reconnect +2 +0$"
}

@test "--table: columns as wide as their content (40-character Mesos ids keep the table aligned)" {
	python3 "$FIXTURES/mesos_workdir.py" "$W" 999999
	run recover -d "$W" --table --no-strict
	assert_success
	# Every column starts at the same place in the header and the row.
	hdr=${lines[0]} row=${lines[1]}
	for col in EXECUTOR RUN; do
		pre=${hdr%%"$col"*}
		[ "${row:${#pre}-1:1}" = " " ] || fail "column $col: the row's cell does not start where its header does"
		[ "${row:${#pre}:1}" != " " ] || fail "column $col: misaligned"
	done
	assert_line --index 1 --regexp '^20261124-010101-16777343-5050-1234-0001 +exec-web +6a0f0e5e'
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
	assert_output "recover: $W/$TASK_DIR/task.updates: offset $off: record of 2 bytes lacks the checksum the records before it carry, and is not a whole update or ack"
	run recover -d "$W" --no-strict
	assert_success
	assert_output --partial "\"offset\":$off"
}

@test "--orphans: live executors no agent holds and whose recovery timeout has passed; the deadline is in the plan; one summary line" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	run recover -d "$W" --orphans
	assert_success
	assert_output ""
	run recover -d "$W" --orphans --summary
	assert_output --regexp '^recover: orphans: skipped: the work dir is held by agent-run \(pid [0-9]+\): an agent runs$'
	agent_kill9
	# The executor notes when it gives up on agents (now + 15 min).
	dl=$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/pids/executor.deadline
	wait_for 5 test -s "$dl"
	d=$(cat "$dl")
	[ "$d" -gt $(( $(date +%s) + 800 )) ]
	run recover -d "$W" --json
	echo "$output" | jq -e --argjson d "$d" '.deadline == $d'
	# Within it, an executor waits for an agent (one restarting): not an
	# orphan, and nothing kills it.
	run recover -d "$W" --orphans --summary
	assert_success
	assert_output "recover: orphans: 0; 1 executor within its recovery timeout, waiting for an agent"
	recover -d "$W" --orphans | executor-kill
	alive "$XPID"
	# Past it and still there (hung): an orphan.
	echo 1 > "$dl"
	run recover -d "$W" --orphans
	assert_output --partial '"executor_id":"E1"'
	run bash -c "recover -d '$W' --orphans --summary 2>&1 >/dev/null | cat; recover -d '$W' --orphans | executor-kill --grace 1s --summary"
	assert_line "recover: orphans: 1; 0 executors within their recovery timeout, waiting for an agent"
	assert_line "executor-kill: killed 1, gone 0, refused 0, failed 0"
	wait_for 5 dead "$XPID"
	run recover -d "$W" --orphans
	assert_output ""
}

@test "reads a real Mesos agent's work dir" {
	spawn_mesos_executor
	python3 "$FIXTURES/mesos_workdir.py" "$W" "$SPAWNED"
	cat /proc/sys/kernel/random/boot_id > "$W/meta/boot_id"
	run recover -d "$W"
	assert_success
	assert_output --partial '"executor_id":"exec-web"'
	assert_output --partial '"process":"same"'
	assert_output --partial '"pending":1'
}

# two terminated runs (one old, one fresh) and a live one
gc_setup() {
	make_workdir
	ckpt-write -d "$W" -f F1 -e E1 -r R1 sentinel
	touch -d '-8 days' "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1/executor.sentinel"
	echo '{}' | ckpt-write -d "$W" -f F1 -e E1 -r R2 run >/dev/null
	ckpt-write -d "$W" -f F1 -e E1 -r R2 sentinel
	# R3 lives: its pid is a running process, with its start time.
	spawn sleep 1000
	echo "{\"pid\":$SPAWNED,\"start_time\":$(awk '{print $22}' "/proc/$SPAWNED/stat")}" |
	    ckpt-write -d "$W" -f F1 -e E1 -r R3 run >/dev/null
	echo hello > "$W/slaves/A1/frameworks/F1/executors/E1/runs/R1/stdout"
}

@test "--gc: removes meta and sandbox of runs terminated longer ago than a week (Mesos's default)" {
	gc_setup
	run recover -d "$W" --gc
	assert_success
	assert_line "removed $W/slaves/A1/frameworks/F1/executors/E1/runs/R1"
	assert_line "removed $W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1"
	assert_equal "${#lines[@]}" 2
	assert_not_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1"
	assert_not_exist "$W/slaves/A1/frameworks/F1/executors/E1/runs/R1"
	assert_dir_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	assert_dir_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R3"
}

@test "--orphans never lists (so nothing kills) anything in a work dir it cannot read whole, --no-strict or not" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID
	launch --checkpoint F1 E2 T2 -- sleep 1000
	agent_kill9
	r=$W/meta/slaves/latest/frameworks/F1/executors
	wait_for 5 test -s "$r/E1/runs/latest/pids/executor.deadline"
	echo 1 > "$r/E1/runs/latest/pids/executor.deadline"
	run recover -d "$W" --orphans
	assert_success
	assert_output --partial '"executor_id":"E1"'
	# E2's task.info damaged: E1 is read first, and still not listed.
	printf 'garbage' > "$r/E2/runs/latest/tasks/T2/task.info"
	for strict in --strict --no-strict; do
		run recover -d "$W" --orphans "$strict"
		assert_failure 65
		refute_output --partial '"executor_id"'
		assert_output --partial "E2/runs/"
		assert_output --partial "(--orphans: nothing is listed, so nothing is killed, until the work dir reads whole)"
	done
	recover -d "$W" --orphans 2>/dev/null | executor-kill || true
	alive "$x1"
}

@test "--gc --summary: one line on stderr, also when there is nothing to collect" {
	gc_setup
	run bash -c "recover -d '$W' --gc --summary 2>&1 >/dev/null"
	# (the delay: a week, less as the disk fills: --disk-headroom)
	assert_output --regexp '^recover: gc: removed 2 paths \(what terminated more than [0-9]+s ago\)$'
	run bash -c "recover -d '$W' --gc --summary 2>&1 >/dev/null"
	assert_output --regexp '^recover: gc: removed 0 paths \('
}

@test "--gc DELAY --dry-run --print0: NUL-separated paths, nothing removed" {
	gc_setup
	before=$(find "$W" | sort)
	recover -d "$W" --gc 0s --dry-run --print0 > "$BATS_TEST_TMPDIR/paths"
	assert_equal "$(find "$W" | sort)" "$before"
	assert_equal "$(tr '\0' '\n' < "$BATS_TEST_TMPDIR/paths" | wc -l)" 4
	xargs -0 rm -rf < "$BATS_TEST_TMPDIR/paths"
	assert_not_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	assert_dir_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R3"
	run recover -d "$W" --dry-run
	assert_failure 64
	run recover -d "$W" --gc soon
	assert_failure 64
}

@test "--gc --dry-run says what it would remove; --gc --json gives one line per path" {
	gc_setup
	run recover -d "$W" --gc 0s --dry-run
	assert_success
	assert_line "would remove $W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	assert_dir_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	run recover -d "$W" --gc 0s --json
	assert_success
	assert_line '{"type":"gc","path":"'"$W"'/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2","removed":true}'
	assert_equal "$(echo "$output" | jq -s length)" 4
	assert_not_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2"
}

@test "--gc durations: nan, inf, hex and exponents are refused; a bare number is seconds" {
	gc_setup
	for d in nan inf 0x10 1e3 -5 1.2.3 .5s 7days; do
		run recover -d "$W" --gc="$d" --dry-run
		assert_failure 64
		assert_output --partial "is not a duration"
	done
	run recover -d "$W" --gc 600 --dry-run
	assert_success
	refute_output --partial "/runs/R2"
	assert_output --partial "/runs/R1"
}

@test "--gc --disk-headroom: the delay shrinks as the disk fills (all the way to 0 with headroom 1)" {
	gc_setup
	run recover -d "$W" --gc 7d --disk-headroom 1 --dry-run
	assert_success
	assert_output --partial "/runs/R2"
	run recover -d "$W" --gc 7d --disk-headroom 0 --dry-run
	refute_output --partial "/runs/R2"
	run recover -d "$W" --gc 7d --disk-headroom 1.5
	assert_failure 64
}

@test "--gc reclaims a sandbox without meta (a framework that does not checkpoint) once nothing works in it" {
	agent_start
	launch F2 E1 T1 -- sleep 1000
	launch F2 E2 T2 -- true
	wait_event '.task_id=="T2" and .state=="TASK_FINISHED"'
	# Acknowledged, its executor is done: nothing works in its sandbox.
	agent_send ack "$(field '.task_id=="T2" and .state=="TASK_FINISHED"' uuid)"
	wait_event '.event=="terminated" and .task_id=="T2"'
	box1=$(echo "$W"/slaves/*/frameworks/F2/executors/E1/runs/*)
	box2=$(echo "$W"/slaves/*/frameworks/F2/executors/E2/runs/*)
	assert_dir_exist "$box2"
	gone_from() { [ "$(procs_in "$1")" = 0 ]; }
	wait_for 10 gone_from "$box2"
	assert_not_exist "$W/meta/slaves/latest/frameworks/F2"
	touch -d '-2 days' "$box1" "$box2"
	run recover -d "$W" --gc 1d
	assert_success
	assert_line "removed $box2"
	refute_output --partial "$box1"
	assert_dir_exist "$box1"
	assert_not_exist "$box2"
}

@test "--gc keeps a run killed by --recover=cleanup while its updates are unacknowledged, and reclaims it once they are and it is old" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	run agent-run -d "$W" --recover=cleanup </dev/null
	assert_success
	run_dir=$(readlink -f "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest)
	box=$(sandbox F1 E1)
	assert_not_exist "$run_dir/executor.sentinel"
	run recover -d "$W" --gc 1d
	refute_output --partial "$run_dir"
	find "$run_dir" "$box" -exec touch -h -d '-2 days' {} +
	# old, but its updates are not acknowledged: the next agent's
	run recover -d "$W" --gc 1d
	assert_success
	refute_output --partial "$run_dir"
	agent_start
	wait_event '.event=="registered" or .event=="reregistered"'
	run recover -d "$W" --gc 1d
	assert_success
	refute_output --partial "$run_dir"
	agent_ack
	wait_event '.event=="terminated"'
	agent_send shutdown
	agent_wait_exit
	find "$run_dir" "$box" -exec touch -h -d '-2 days' {} +
	run recover -d "$W" --gc 1d
	assert_success
	assert_line "removed $run_dir"
	assert_line "removed $box"
	assert_not_exist "$run_dir"
}

@test "--gc never follows a symbolic link out of the work dir, and is safe while an agent runs" {
	gc_setup
	mkdir "$BATS_TEST_TMPDIR/precious"
	touch "$BATS_TEST_TMPDIR/precious/keep"
	ln -s "$BATS_TEST_TMPDIR/precious" "$W/slaves/A1/frameworks/F1/executors/E1/runs/R1/link"
	agent_start
	launch --checkpoint F9 E9 T9 -- sleep 1000
	run recover -d "$W" --gc 1d
	assert_success
	assert_file_exist "$BATS_TEST_TMPDIR/precious/keep"
	assert_not_exist "$W/slaves/A1/frameworks/F1/executors/E1/runs/R1"
	alive "$XPID"
	agent_send ping
	wait_event '.event=="pong"'
}

@test "--orphans | executor-kill on a real Mesos work dir: a genuine executor (older than its pid file, in its sandbox) is killed" {
	spawn_mesos_executor
	python3 "$FIXTURES/mesos_workdir.py" "$W" "$SPAWNED"
	cat /proc/sys/kernel/random/boot_id > "$W/meta/boot_id"
	touch -d '+2 seconds' "$W"/meta/slaves/latest/frameworks/*/executors/exec-web/runs/latest/pids/forked.pid
	run bash -c "recover -d '$W' --orphans | executor-kill --grace 2s"
	assert_success
	assert_output --partial '"result":"killed"'
	wait_for 5 dead "$SPAWNED"
}

@test "a Mesos pid file naming an unrelated process older than the file (a restored backup): refused, never signalled" {
	spawn sleep 1000
	python3 "$FIXTURES/mesos_workdir.py" "$W" "$SPAWNED"
	cat /proc/sys/kernel/random/boot_id > "$W/meta/boot_id"
	touch -d '+2 seconds' "$W"/meta/slaves/latest/frameworks/*/executors/exec-web/runs/latest/pids/forked.pid
	run recover -d "$W"
	assert_output --partial '"process":"recycled"'
	run bash -c "recover -d '$W' | jq -c '.process=\"same\"' | executor-kill --grace 100ms"
	assert_output --partial '"result":"refused"'
	alive "$SPAWNED"
}
