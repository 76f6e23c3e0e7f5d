#!/usr/bin/env bats
# Every byte: a task.updates cut at every offset, and each byte of every
# kind of record we write flipped; nothing crashes (no sanitizer report
# either, under the ASan build), every whole record before a cut is read,
# every flip in a record we wrote is detected.

load helpers

full_workdir() {
	make_workdir
	for s in TASK_STARTING TASK_RUNNING TASK_FINISHED; do
		u=$(echo "{\"framework_id\":\"F1\",\"executor_id\":\"E1\",\"status\":{\"task_id\":\"T1\",\"state\":\"$s\",\"message\":\"m\"},\"timestamp\":1700000000.5}" | ckpt-write -d "$W" -f F1 -e E1 update)
		echo "{\"uuid\":\"$u\"}" | ckpt-write -d "$W" -f F1 -e E1 -t T1 ack
	done
}

@test "a task.updates we wrote, cut at every byte offset: every whole record before the cut is read" {
	full_workdir
	run python3 "$BATS_TEST_DIRNAME/sweep.py" truncate "$W" "$TASK_DIR/task.updates"
	assert_success
	assert_output --regexp '^cuts ([0-9]+) ok \1$'
	echo "# $output" >&3
}

@test "a Mesos-written task.updates, cut at every byte offset" {
	python3 "$FIXTURES/mesos_workdir.py" "$W"
	f=$(cd "$W" && echo meta/slaves/latest/frameworks/*/executors/exec-web/runs/latest/tasks/web-2/task.updates)
	run python3 "$BATS_TEST_DIRNAME/sweep.py" truncate "$W" "$f"
	assert_success
	assert_output --regexp '^cuts ([0-9]+) ok \1$'
}

@test "each byte of every kind of record we write, flipped: detected every time" {
	full_workdir
	run python3 "$BATS_TEST_DIRNAME/sweep.py" flip "$W"
	assert_success
	echo "$output" | sed 's/^/# /' >&3
	assert_line --regexp '^flips ([0-9]+) detected \1 rate 1.0000$'
}

@test "a checksum mismatch is reported as corruption with its offset" {
	make_workdir
	update TASK_RUNNING >/dev/null
	f=$W/$TASK_DIR/task.updates
	# change one character of the uuid-free message: the 'T' of T1
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); i=b.index(b"T1"); b[i+1]=ord("2"); open(p,"wb").write(b)' "$f"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output "$f: offset 0: record of $(( $(stat -c %s "$f") - 4 )) bytes: checksum mismatch"
}
