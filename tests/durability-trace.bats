#!/usr/bin/env bats
# Durability discipline checked from the outside: agent-run under strace.

load helpers

@test "every rename is preceded by an fsync of its file and followed by one of its directory; no update is emitted before its append is fsynced" {
	command -v strace >/dev/null || skip "no strace"
	strace -f -o /dev/null true 2>/dev/null || skip "ptrace is not permitted here"
	mkfifo "$BATS_TEST_TMPDIR/in"
	# LeakSanitizer cannot work under ptrace: no leak check in this one
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
	(cd "$BATS_TEST_TMPDIR" && exec strace -f -y -s 4096 -o "$BATS_TEST_TMPDIR/trace" \
	    -e trace=write,fsync,fdatasync,syncfs,rename,renameat,renameat2,symlink \
	    agent-run -d "$W" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/ev" 2>/dev/null 3>&-) &
	pid=$!
	exec {fd}>"$BATS_TEST_TMPDIR/in"
	EV=$BATS_TEST_TMPDIR/ev
	echo 'launch --checkpoint F E1 T1 -- true' >&$fd
	echo 'launch --checkpoint F E2 T2 -- sleep 1000' >&$fd
	wait_event '.task_id=="T1" and .state=="TASK_FINISHED"'
	wait_event '.task_id=="T2" and .state=="TASK_RUNNING"'
	for u in $(jq -r 'select(.event=="update") | .uuid' "$EV"); do echo "ack $u" >&$fd; done
	wait_event '.event=="acknowledged"' 5
	echo shutdown >&$fd
	wait_event '.event=="shutdown"'
	exec {fd}>&-
	wait "$pid"
	run python3 "$BATS_TEST_DIRNAME/durability-trace.py" "$BATS_TEST_TMPDIR/trace" "$W"
	echo "# $output" >&3
	assert_success
	# the check can fail: the same trace without the appends' barriers
	grep -v -e fdatasync -e syncfs "$BATS_TEST_TMPDIR/trace" > "$BATS_TEST_TMPDIR/broken"
	run python3 "$BATS_TEST_DIRNAME/durability-trace.py" "$BATS_TEST_TMPDIR/broken" "$W"
	assert_failure
	assert_output --regexp "before fsync of|without an fsync"
}
