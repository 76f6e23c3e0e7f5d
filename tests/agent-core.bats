#!/usr/bin/env bats
# The agent's core under a real driver: it never blocks on its output, one
# fatal error stops everything at once.

load helpers

@test "the man page's one-loop driver (read an event, write its ack) at 100 executors x 50 progress lines: no deadlock" {
	# Without the agent's output queue both block in pipe_write; the
	# timeout turns that into a failure instead of a hang.
	run timeout 600 env AGENT_BIN="$BIN" ONELOOP_STALL=120 \
	    python3 "$BATS_TEST_DIRNAME/oneloop.py" "$W" 100 50
	echo "# $output" >&3
	assert_success
	assert_output --regexp '^oneloop: executors 100, updates 5300, acknowledged 5300, errors 0,'
}

@test "ENOSPC on every task stream with updates already buffered: one error event, one log line, exit 74" {
	fb=${FAULT_BIN:-$BATS_TEST_DIRNAME/../build/fault/bin}
	[ -x "$fb/agent-run" ] || skip "no fault build"
	mkfifo "$BATS_TEST_TMPDIR/in"
	(cd "$BATS_TEST_TMPDIR" && exec env CKPT_FAULT_MATCH=task.updates CKPT_FAULT_MODE=enospc \
	    "$fb/agent-run" -d "$W" --executor "$BIN/agent-executor" <"$BATS_TEST_TMPDIR/in" \
	    >"$BATS_TEST_TMPDIR/ev" 2>"$BATS_TEST_TMPDIR/err" 3>&-) &
	pid=$!
	exec {fd}>"$BATS_TEST_TMPDIR/in"
	for i in $(seq 20); do
		echo "launch --checkpoint F E$i T$i -- sh -c 'for i in 1 2 3 4 5 6 7 8 9; do echo \$i >&3; done'" >&$fd
	done
	st=0
	wait "$pid" || st=$?
	exec {fd}>&-
	assert_equal "$st" 74
	assert_equal "$(jq -c 'select(.event=="error")' "$BATS_TEST_TMPDIR/ev" | wc -l)" 1
	assert_equal "$(grep -c . "$BATS_TEST_TMPDIR/err")" 1
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "task.updates"
	assert_output --partial "No space left on device"
	assert_equal "$(jq -c 'select(.event=="update")' "$BATS_TEST_TMPDIR/ev" | wc -l)" 0
}
