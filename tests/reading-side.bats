#!/usr/bin/env bats
# The reading side on hostile trees and after power cuts: every reader
# walks the work dir from directory fds, refuses links and FIFOs, never
# abandons an agent silently, takes a zero-filled tail as torn.

load helpers

RUN_DIR=meta/slaves/A1/frameworks/F1/executors/E1/runs/R1

# A terminated run R2 of E1, sentinel a day old, with a sandbox.
old_run() {
	echo '{}' | ckpt-write -d "$W" -f F1 -e E1 -r R2 run >/dev/null
	echo '' | ckpt-write -d "$W" -f F1 -e E1 -r R2 sentinel
	touch -d '-2 days' "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2/executor.sentinel"
	mkdir -p "$W/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	touch "$W/slaves/A1/frameworks/F1/executors/E1/runs/R2/stdout"
}

@test "gc: a runs directory replaced by a link to another directory is never followed" {
	make_workdir
	old_run
	mkdir "$BATS_TEST_TMPDIR/precious"
	mv "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs" "$BATS_TEST_TMPDIR/precious/runs"
	ln -s "$BATS_TEST_TMPDIR/precious/runs" "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs"
	mv "$W/slaves/A1/frameworks/F1/executors/E1/runs" "$BATS_TEST_TMPDIR/precious/box"
	ln -s "$BATS_TEST_TMPDIR/precious/box" "$W/slaves/A1/frameworks/F1/executors/E1/runs"
	run recover -d "$W" --gc 0s
	assert_dir_exist "$BATS_TEST_TMPDIR/precious/runs/R2"
	assert_file_exist "$BATS_TEST_TMPDIR/precious/box/R2/stdout"
	assert_dir_exist "$BATS_TEST_TMPDIR/precious/runs/R1"
	# a link higher up (the agent's frameworks) likewise
	rm "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs"
	mv "$BATS_TEST_TMPDIR/precious/runs" "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs"
	mv "$W/meta/slaves/A1/frameworks" "$BATS_TEST_TMPDIR/precious/frameworks"
	ln -s "$BATS_TEST_TMPDIR/precious/frameworks" "$W/meta/slaves/A1/frameworks"
	run recover -d "$W" --gc 0s
	assert_dir_exist "$BATS_TEST_TMPDIR/precious/frameworks/F1/executors/E1/runs/R2"
}

@test "gc and --repair refuse a work dir owned by another user (77), nothing removed" {
	[ "$(id -u)" = 0 ] || skip "needs root to make one"
	make_workdir
	old_run
	chown -R 65534 "$W"
	run recover -d "$W" --gc 0s
	assert_failure 77
	assert_output --partial "owned by uid 65534"
	assert_dir_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	run recover -d "$W" --repair
	assert_failure 77
	# reading is allowed
	run recover -d "$W" --gc 0s --dry-run
	assert_success
	assert_output --partial "runs/R2"
}

@test "gc removes a run by renaming it out of sight first; a half-removed run is invisible and swept" {
	make_workdir
	old_run
	run recover -d "$W" --gc 1d
	assert_success
	assert_not_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	assert_not_exist "$W/slaves/A1/frameworks/F1/executors/E1/runs/R2"
	# what a gc killed after its rename leaves: a dot-name, half deleted
	mkdir -p "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/.gc.R3/tasks/T1"
	echo 1234 > "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/.gc.R3/tasks/T1/task.updates"
	run ckpt-inspect -d "$W" --json
	refute_output --partial R3
	run recover -d "$W"
	assert_success
	refute_output --partial R3
	run ckpt-inspect -d "$W" --verify
	assert_success
	run recover -d "$W" --gc 1d
	assert_success
	assert_not_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/.gc.R3"
	# strace: the rename is made durable (parent fsynced) before deleting
	old_run
	command -v strace >/dev/null || skip "no strace"
	# LeakSanitizer cannot work under ptrace: no leak check here
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
	strace -f -y -e trace=renameat,renameat2,fsync,unlinkat -o "$BATS_TEST_TMPDIR/trace" recover -d "$W" --gc 1d
	run grep -n -m1 'rename.*"R2".*".gc.R2"' "$BATS_TEST_TMPDIR/trace"
	assert_success
	local first_unlink
	first_unlink=$(grep -n 'unlinkat' "$BATS_TEST_TMPDIR/trace" | head -1 | cut -d: -f1)
	local last_fsync
	last_fsync=$(grep -n 'fsync(.*/runs>' "$BATS_TEST_TMPDIR/trace" | head -2 | tail -1 | cut -d: -f1)
	[ "$last_fsync" -lt "$first_unlink" ]
}

@test "a FIFO planted in place of a checkpoint file blocks no reader: a clear error naming it" {
	make_workdir
	update TASK_RUNNING >/dev/null
	for f in "$TASK_DIR/task.updates" "$TASK_DIR/task.info" "$RUN_DIR/pids/forked.pid" meta/boot_id; do
		rm -f "$W/$f"
		mkfifo "$W/$f"
		run timeout 20 recover -d "$W"
		assert_failure 65
		assert_output --partial "$f: a FIFO, not a checkpoint file: refused"
		run timeout 20 ckpt-inspect -d "$W" --verify
		assert_failure 65
		assert_output --partial "$f: a FIFO"
		run timeout 20 recover -d "$W" --no-strict
		assert_success
		run timeout 20 agent-run -d "$W" </dev/null
		assert_failure 65
		assert_output --partial "$f: a FIFO"
		rm "$W/$f"
	done
	run timeout 20 ckpt-inspect --file "$W/meta/slaves/A1/frameworks/F1/framework.info"
	assert_success
	mkfifo "$BATS_TEST_TMPDIR/p.info"
	run timeout 20 ckpt-inspect --file "$BATS_TEST_TMPDIR/p.info" --type task
	assert_failure
	assert_output --partial "a FIFO"
}

@test "slaves/latest missing or dangling while agents exist: strict refuses, non-strict recovers the newest loudly, --verify flags it" {
	make_workdir
	local id
	id=$(update TASK_RUNNING)
	rm "$W/meta/slaves/latest"
	run recover -d "$W"
	assert_failure 65
	assert_output --partial "meta/slaves/latest: is missing while 1 agent directory with frameworks exists (A1)"
	assert_output --partial "--no-strict"
	run agent-run -d "$W" </dev/null
	assert_failure 65
	assert_output --partial "meta/slaves/latest"
	assert_not_exist "$W/meta/slaves/latest"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "meta/slaves/latest: is missing"
	run recover -d "$W" --no-strict --json
	assert_success
	assert_output --partial '"executor_id":"E1"'
	assert_output --partial '"pending":1'
	ln -s A9 "$W/meta/slaves/latest"
	run recover -d "$W"
	assert_failure 65
	assert_output --partial "names no agent directory"
	# no agent directory with frameworks: nothing to abandon, a new agent
	rm -rf "$W/meta/slaves/A1/frameworks"
	run recover -d "$W"
	assert_success
}

@test "a zero-filled tail (the file grew, the data never landed) is a torn tail in both modes" {
	make_workdir
	update TASK_RUNNING >/dev/null
	local size
	size=$(stat -c %s "$W/$TASK_DIR/task.updates")
	head -c 300 /dev/zero >> "$W/$TASK_DIR/task.updates"
	run recover -d "$W"
	assert_success
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"torn_tail":true'
	assert_output --partial "\"valid_end\":$size"
	run recover -d "$W" --repair
	assert_success
	assert_equal "$(stat -c %s "$W/$TASK_DIR/task.updates")" "$size"
	# an append torn in its middle: its header landed, the rest is zeros
	local one
	update TASK_FINISHED >/dev/null
	one=$(( $(stat -c %s "$W/$TASK_DIR/task.updates") - size ))
	truncate -s "$size" "$W/$TASK_DIR/task.updates"
	update TASK_FINISHED >/dev/null
	python3 - "$W/$TASK_DIR/task.updates" "$size" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
data = bytearray(open(p, 'rb').read())
for i in range(off + 10, len(data)):
    data[i] = 0
open(p, 'wb').write(data)
PY
	run recover -d "$W"
	assert_success
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "offset $size: torn tail"
	# but damage followed by more records is still corruption
	truncate -s "$size" "$W/$TASK_DIR/task.updates"
	update TASK_FINISHED >/dev/null
	update TASK_FINISHED >/dev/null
	printf '\x00\x00\x00\x00\x00\x00' | dd of="$W/$TASK_DIR/task.updates" bs=1 seek=$((size + 8)) conv=notrunc 2>/dev/null
	run recover -d "$W"
	assert_failure 65
	assert_output --partial "offset $size:"
}

@test "mkdir -p of a directory that exists still syncs it into its parent" {
	command -v strace >/dev/null || skip "no strace"
	make_workdir
	# the task directory exists: writing task.info there syncs tasks/
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
	strace -f -y -e trace=fsync -o "$BATS_TEST_TMPDIR/trace" ckpt-write -d "$W" task <<<'{"name":"t","task_id":"T1","framework_id":"F1","executor_id":"E1","slave_id":"A1","state":"TASK_RUNNING"}'
	run grep -c "fsync([0-9]*</.*/runs/R1/tasks>)" "$BATS_TEST_TMPDIR/trace"
	assert_success
}

@test "executor-kill and executor-reconnect refuse lines that cannot prove an executor's identity (65)" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	run bash -c "ckpt-inspect -d '$W' --json-lines --state running | executor-kill"
	assert_failure 65
	assert_output --partial 'line 1: not a line of recover: "work_dir" missing'
	refute_output --partial gone
	alive "$XPID"
	run bash -c "ckpt-inspect -d '$W' --json-lines | executor-reconnect"
	assert_failure 65
	run bash -c "recover -d '$W' | jq -c 'del(.start_time)' | executor-kill"
	assert_failure 65
	assert_output --partial '"start_time" missing'
	alive "$XPID"
	# recover's own lines work
	run bash -c "recover -d '$W' | executor-kill --grace 2s"
	assert_success
	assert_output --partial '"result":"killed"'
}

@test "ckpt-write refuses to write while a running agent owns the work dir (75), unless --force" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- sleep 1000
	local uuid
	uuid=$(field '.event=="update" and .state=="TASK_RUNNING"' uuid)
	local agent
	agent=$(readlink "$W/meta/slaves/latest")
	run ckpt-write -d "$W" -a "$agent" -f F1 -e E1 -t T1 ack <<<"{\"uuid\":\"$uuid\"}"
	assert_failure 75
	assert_output --partial "locked by another agent"
	assert_output --partial "--force"
	run ckpt-inspect -d "$W" --unacked --json-lines
	assert_output --partial "$uuid"
	run ckpt-write --force -d "$W" -a "$agent" -f F1 -e E1 -t T1 ack <<<"{\"uuid\":\"$uuid\"}"
	assert_success
}

@test "ids that are not valid UTF-8 are refused everywhere, like other bad ids" {
	local bad=$'E\xff1'
	run ckpt-write -d "$W" agent <<<"{\"hostname\":\"h\",\"id\":\"A1\"}"
	assert_success
	run ckpt-write -d "$W" -f $'F\xc3' framework <<<'{"user":"u","name":"n"}'
	assert_failure 64
	assert_output --partial "framework id is not valid UTF-8"
	run ckpt-inspect -d "$W" --executor "$bad"
	assert_failure 64
	assert_output --partial "executor id is not valid UTF-8"
	agent_start
	wait_event '.event=="reregistered"'
	agent_send "launch F1 $bad T1 -- true"
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "launch: executor id is not valid UTF-8 (byte 0xff at 1)"
	# a valid multi-byte id is fine, and shows in --json
	launch --checkpoint F1 "é-1" T1 -- sleep 1000
	run ckpt-inspect -d "$W" --json
	assert_output --partial '"id":"é-1"'
}

@test "filters: repeated values are ORed; recover takes the same filters" {
	make_workdir
	update TASK_RUNNING >/dev/null
	echo '{"user":"u","name":"fw","id":"F2","checkpoint":true}' | ckpt-write -d "$W" framework
	echo '{}' | ckpt-write -d "$W" -f F2 -e E2 -r R2 run >/dev/null
	echo '{"name":"t","task_id":"T2","framework_id":"F2","executor_id":"E2","slave_id":"A1","state":"TASK_STAGING"}' | ckpt-write -d "$W" task
	run ckpt-inspect -d "$W" --json-lines --task T1 --task T2
	assert_equal "${#lines[@]}" 2
	run ckpt-inspect -d "$W" --json-lines --state running --state staging
	assert_equal "${#lines[@]}" 2
	run ckpt-inspect -d "$W" --json-lines --state running --framework F2
	assert_equal "${#lines[@]}" 0
	run recover -d "$W" --json --framework F2
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"executor_id":"E2"'
	run recover -d "$W" --json --unacked
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"executor_id":"E1"'
	run recover -d "$W" --state bogus
	assert_failure 64
	assert_output --partial "unknown task state 'bogus'"
}

@test "a long stream with many pending updates and acks replays to the same pending set" {
	make_workdir
	# 60 updates, every other acknowledged, one acked twice, one re-sent
	local i uuids=()
	for i in $(seq 1 60); do uuids+=("$(update TASK_RUNNING)"); done
	for i in $(seq 0 2 59); do
		echo "{\"uuid\":\"${uuids[$i]}\"}" | ckpt-write -d "$W" -f F1 -e E1 -t T1 ack
	done
	echo "{\"uuid\":\"${uuids[0]}\"}" | ckpt-write -d "$W" -f F1 -e E1 -t T1 ack
	update TASK_RUNNING "" "${uuids[1]}" >/dev/null
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"updates":61,"acks":31,"unacked":30'
	run bash -c "ckpt-inspect -d '$W' --json-lines | jq -r '.pending[].uuid'"
	assert_equal "$(echo "$output" | head -1)" "${uuids[1]}"
	assert_equal "$(echo "$output" | tail -1)" "${uuids[59]}"
}

@test "an update written again before any ACK stays pending once, at its first offset" {
	# Before the first ACK replay keeps no table (updates are appended)
	# and drops the copies when it builds one: at that ACK or at the end.
	make_workdir
	local i uuids=() first second
	for i in 1 2 3 4 5; do uuids+=("$(update TASK_RUNNING)"); done
	update TASK_RUNNING "" "${uuids[1]}" >/dev/null
	update TASK_RUNNING "" "${uuids[3]}" >/dev/null
	update TASK_RUNNING "" "${uuids[1]}" >/dev/null
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"updates":8,"acks":0,"unacked":5'
	assert_equal "$(jq -r '[.pending[].uuid] | join(" ")' <<<"$output")" "${uuids[*]}"
	first=$(jq -r ".pending[1].offset" <<<"$output")
	assert_equal "$first" "$(jq -r ".pending[0].offset + (.pending[2].offset - .pending[1].offset)" <<<"$output")"
	run recover -d "$W" --json
	assert_equal "$(jq -r .pending <<<"$output")" 5
	# an ACK, then copies again: the same rule once the table exists
	echo "{\"uuid\":\"${uuids[0]}\"}" | ckpt-write -d "$W" -f F1 -e E1 -t T1 ack
	update TASK_RUNNING "" "${uuids[4]}" >/dev/null
	update TASK_RUNNING "" "${uuids[0]}" >/dev/null
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"updates":10,"acks":1,"unacked":5'
	second=$(jq -r '[.pending[].uuid] | join(" ")' <<<"$output")
	assert_equal "$second" "${uuids[1]} ${uuids[2]} ${uuids[3]} ${uuids[4]} ${uuids[0]}"
}

@test "JSON output is valid JSON whatever the strings hold: quotes, control characters, bytes that are not UTF-8" {
	# A work dir's path is the user's, not an id: anything goes in it.
	# jansson refused such a string and the reader printed nothing, exit 0.
	W=$BATS_TEST_TMPDIR/$'w "q\\\t\x01\xff'
	make_workdir "$W"
	update TASK_RUNNING >/dev/null
	local want=$BATS_TEST_TMPDIR/$'w "q\\\t\x01\xef\xbf\xbd'
	run ckpt-inspect -d "$W" --json
	assert_success
	assert_equal "$(jq -r .work_dir <<<"$output")" "$want"
	assert_equal "$(jq -r '.agents[0].frameworks[0].executors[0].runs[0].tasks[0].state' <<<"$output")" TASK_RUNNING
	run ckpt-inspect -d "$W" --json-lines
	assert_success
	assert_equal "$(jq -r .state <<<"$output")" TASK_RUNNING
	run recover -d "$W" --json
	assert_success
	assert_equal "$(jq -r .work_dir <<<"$output")" "$want"
	assert_equal "$(jq -r .run_id <<<"$output")" R1
}

@test "executors read on several threads: the same output and the same first error as on one CPU" {
	[ "$(nproc)" -ge 2 ] || skip "one CPU: the walk reads on one thread only"
	make_workdir
	for i in $(seq 2 90); do
		echo "{\"executor_id\":\"E$i\",\"framework_id\":\"F1\",\"command\":{\"value\":\"sleep\",\"shell\":false}}" | ckpt-write -d "$W" executor
		echo '{"pid":999999}' | ckpt-write -d "$W" -f F1 -e "E$i" -r "R$i" run >/dev/null
	done
	update TASK_RUNNING >/dev/null
	X=$W/meta/slaves/A1/frameworks/F1/executors
	# Damage in three places, more than a read-ahead window apart: in
	# name order (E17 < E33 < E77), wherever a thread met it.
	printf '\377\377\377\377garbage' > "$X/E17/executor.info"
	rm "$X/E33/executor.info"
	mkfifo "$X/E33/executor.info"
	rm -r "$X/E77/runs/R77/pids"
	echo x > "$X/E77/runs/R77/pids"
	one=$(taskset -c 0 ckpt-inspect -d "$W" --json)
	for k in 1 2 3 4 5; do
		run ckpt-inspect -d "$W" --json
		assert_success
		[ "$output" = "$one" ]
	done
	assert_output --partial "E17/executor.info"
	assert_output --partial "E33/executor.info\",\"reason\":\"a FIFO"
	assert_output --partial "E77/runs/R77/pids\",\"reason\":\"not a directory"
	[ "$(jq -r '.. | objects | select(has("executors")) | .executors | length' <<<"$output" | sort -n | tail -1)" = 90 ]
	# strict: the first in name order, every time
	run taskset -c 0 recover -d "$W"
	assert_failure 65
	first=$output
	assert_output --partial "E17/executor.info"
	for k in 1 2 3 4 5; do
		run recover -d "$W"
		assert_failure 65
		[ "$output" = "$first" ]
	done
	run taskset -c 0 recover -d "$W" --no-strict --json
	assert_success
	one=$output
	run recover -d "$W" --no-strict --json
	assert_success
	[ "$output" = "$one" ]
}
