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

# A stranger of the same uid (another task, say) connects to an executor's
# socket: it must neither displace the agent nor make its task LOST, and
# a REGISTER without the run's secret is refused.
@test "a stranger on the executor's socket neither displaces the agent nor loses the task" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- sleep 1000
	wait_event '.event=="update" and .state=="TASK_RUNNING"'
	sock=$(cat "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/pids/executor.socket)
	secret=$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/pids/executor.secret
	assert_file_exist "$secret"
	[ "$(stat -c %a "$secret")" = 600 ]
	# not on the executor's command line
	! grep -qa "$(cat "$secret")" /proc/"$XPID"/cmdline
	# one stranger stays connected, silent; another sends a REGISTER
	# without the secret (type 0, agent_id "X"; framed as records are)
	python3 - "$sock" <<'PY' &
import socket, struct, sys, time, zlib
s1 = socket.socket(socket.AF_UNIX); s1.connect(sys.argv[1])
s2 = socket.socket(socket.AF_UNIX); s2.connect(sys.argv[1])
body = b"\x08\x00\x12\x01X"
tag = (2047 << 3) | 5
body += bytes([(tag & 0x7f) | 0x80, tag >> 7]) + struct.pack("<I", zlib.crc32(body))
s2.sendall(struct.pack("<I", len(body)) + body)
time.sleep(3)
PY
	stranger=$!
	wait_for 10 grep -q "did not prove itself" "$(sandbox F1 E1)/executor.log"
	agent_send kill T1
	wait_event '.event=="update" and .state=="TASK_KILLED"'
	assert_equal "$(count '.state=="TASK_LOST"')" 0
	wait "$stranger" || true
}

@test "a burst of 600 launch lines in one write: all launched, in batches, no line lost" {
	agent_start
	wait_event '.event=="registered"'
	# lines of 400 bytes: more than one read's worth, more than a batch
	pad=$(printf 'x%.0s' $(seq 360))
	for i in $(seq 600); do echo "launch --checkpoint F E$i T$i -- true $pad"; done > "$BATS_TEST_TMPDIR/burst"
	cat "$BATS_TEST_TMPDIR/burst" >&"$AGENT_FD"
	wait_for 120 bash -c "[ \$(jq -c 'select(.event==\"launched\")' '$EV' | wc -l) -ge 600 ]"
	assert_equal "$(count '.event=="error"')" 0
	agent_send shutdown
	wait_event '.event=="shutdown"'
}

# Mesos checkpoints a framework when it is added, not per task: a second
# launch in the same framework leaves framework.info as it was (the same
# inode: not written again, nothing deleted); a new agent writes it again
# once, and it still reads back.
@test "framework.info is written once per framework in an agent's lifetime" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F E1 T1 -- sleep 1000
	fi=$W/meta/slaves/latest/frameworks/F/framework.info
	ino=$(stat -c %i "$fi")
	launch --checkpoint F E2 T2 -- sleep 1000
	assert_equal "$(stat -c %i "$fi")" "$ino"
	launch --checkpoint G E1 T3 -- sleep 1000
	assert_equal "$(stat -c %i "$fi")" "$ino"
	assert_file_exist "$W/meta/slaves/latest/frameworks/G/framework.info"
	agent_restart
	wait_event '.event=="reregistered"'
	launch --checkpoint F E3 T4 -- sleep 1000
	new=$(stat -c %i "$fi")
	[ "$new" != "$ino" ]
	launch --checkpoint F E4 T5 -- sleep 1000
	assert_equal "$(stat -c %i "$fi")" "$new"
	run ckpt-inspect --file "$fi" --type framework
	assert_success
	assert_equal "$(echo "$output" | jq -c '[.id, .name, .user, .checkpoint]')" "[\"F\",\"F\",\"$(id -un)\",true]"
	agent_send shutdown
	wait_event '.event=="shutdown"'
}
