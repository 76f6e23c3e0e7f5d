#!/usr/bin/env bats
# agent-run: options, the command language, events, exit codes.

load helpers

@test "--help and --version; usage errors exit 64" {
	run agent-run --help
	assert_success
	assert_output --partial "launch [--checkpoint]"
	run agent-run --version
	assert_success
	run agent-run -d "$W" --recover=sideways </dev/null
	assert_failure 64
	assert_output --partial "neither reconnect nor cleanup"
	run agent-run -d "$W" --recovery-timeout=soon </dev/null
	assert_failure 64
	run agent-run -d "$W" --agent-id ../x </dev/null
	assert_failure 64
	run agent-run </dev/null
	assert_failure 64
	assert_output --partial "AGENT_WORK_DIR"
	assert_not_exist "$W"
}

@test "a new agent: registered with the given id; work dir 0700; stdin closed: exits 0" {
	run agent-run -d "$W" --agent-id A-new --hostname h9 </dev/null
	assert_success
	assert_line --index 1 --regexp '^\{"event":"registered","agent_id":"A-new","version":"[0-9.]+","elapsed_ms":[0-9]+'
	assert_equal "$(stat -c %a "$W")" 700
	run ckpt-inspect --file "$W/meta/slaves/A-new/slave.info"
	assert_output --partial '"hostname": "h9"'
	assert_equal "$(cat "$W/meta/boot_id")" "$(cat /proc/sys/kernel/random/boot_id)"
}

@test "the command language: quoting, comments, blank lines, errors that name the problem" {
	agent_start
	agent_send '# a comment'
	agent_send ''
	agent_send 'frobnicate now'
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "unknown command 'frobnicate' (launch, kill, ack, reconcile, usage, metrics, upgrade, shutdown, ping)"
	agent_send "launch F1 E1 T1 -- 'unterminated"
	wait_event '.event=="error"' 2
	assert_equal "$(field '.event=="error"' message)" "command: byte 19: unterminated quote"
	agent_send 'ack not-a-uuid'
	wait_event '.event=="error"' 3
	assert_equal "$(field '.event=="error"' message)" "ack: 'not-a-uuid' is not a uuid"
	agent_send 'ack 01234567-89ab-cdef-0123-456789abcdef'
	wait_event '.event=="error"' 4
	assert_equal "$(field '.event=="error"' message)" "ack: no pending update has uuid 01234567-89ab-cdef-0123-456789abcdef"
	agent_send 'kill nobody'
	wait_event '.event=="error"' 5
	assert_equal "$(field '.event=="error"' message)" "kill: no running task 'nobody'"
	agent_send 'launch F1 ../E T1 -- true'
	wait_event '.event=="error"' 6
	assert_equal "$(field '.event=="error"' message)" "launch: executor id '../E' contains '/'"
	agent_send 'launch F1 E1 -- true'
	wait_event '.event=="error"' 7
	agent_send ping
	wait_event '.event=="pong"'
	alive "$AGENT_PID"
}

@test "a task's argv is run literally: shell metacharacters are not interpreted" {
	agent_start
	launch --checkpoint F1 E1 T1 -- printf '%s\n' '$(touch pwned)' 'a;b' '*' "two words"
	wait_event '.task_id=="T1" and .state=="TASK_FINISHED"'
	box=$(sandbox F1 E1)
	assert_file_not_exist "$box/pwned"
	assert_equal "$(cat "$box/stdout")" "$(printf '%s\n' '$(touch pwned)' 'a;b' '*' 'two words')"
	run ckpt-inspect --file "$W/meta/slaves/latest/frameworks/F1/executors/E1/executor.info"
	assert_output --partial '"shell": false'
}

@test "a task that cannot be executed: TASK_FAILED at once, the exec error and the path in its message" {
	agent_start
	printf 'not a program\n' > "$BATS_TEST_TMPDIR/data"
	chmod 0644 "$BATS_TEST_TMPDIR/data"
	agent_send launch --checkpoint F1 E1 T1 -- /nonexistent/program
	agent_send launch --checkpoint F1 E2 T2 -- "$BATS_TEST_TMPDIR/data"
	wait_event '.task_id=="T1" and .state=="TASK_FAILED"'
	wait_event '.task_id=="T2" and .state=="TASK_FAILED"'
	assert_equal "$(field '.task_id=="T1" and .state=="TASK_FAILED"' message)" \
	    "cannot execute '/nonexistent/program': No such file or directory"
	assert_equal "$(field '.task_id=="T2" and .state=="TASK_FAILED"' message)" \
	    "cannot execute '$BATS_TEST_TMPDIR/data': Permission denied"
	# never STARTING or RUNNING
	assert_equal "$(count '.event=="update" and .state!="TASK_FAILED"')" 0
	run cat "$(sandbox F1 E1)/executor.log"
	assert_output --partial "cannot execute '/nonexistent/program'"
}

@test "every update is checkpointed before it is emitted, acks before they are forwarded" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	u=$(field '.state=="TASK_RUNNING"' uuid)
	run ckpt-inspect -d "$W" --updates --json
	assert_output --partial "\"uuid\":\"$u\""
	agent_send ack "$u"
	wait_event '.event=="acknowledged"'
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"updates":2,"acks":1,"unacked":1'
}

@test "a framework that does not checkpoint writes nothing to meta/" {
	agent_start
	wait_event '.event=="registered"'
	before=$(find "$W/meta" | sort)
	launch F0 E0 T0 -- true
	wait_event '.task_id=="T0" and .state=="TASK_FINISHED"'
	agent_send ack "$(field '.state=="TASK_FINISHED"' uuid)"
	wait_event '.event=="terminated"'
	assert_equal "$(find "$W/meta" | sort)" "$before"
}

@test "SIGINT: stops serving, leaves executors running, exits 0" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	kill -INT "$AGENT_PID"
	agent_wait_exit
	assert_equal "$AGENT_STATUS" 0
	alive "$XPID"
}

@test "two launches of one executor id are refused" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_send launch --checkpoint F1 E1 T2 -- sleep 1000
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "launch: executor or task already running in framework F1"
}

@test "a too long work dir for a socket path is a clear launch error" {
	W=$BATS_TEST_TMPDIR/$(printf 'd%.0s' {1..90})
	agent_start
	agent_send launch --checkpoint F1 E1 T1 -- true
	wait_event '.event=="error"'
	run field '.event=="error"' message
	assert_output --partial "is too long (108 bytes at most)"
}

@test "--launcher runs each executor through a prefix (and records its call)" {
	printf '#!/bin/sh\necho "$@" >> %s/launcher.log\nshift\nexec "$@"\n' "$BATS_TEST_TMPDIR" > "$BATS_TEST_TMPDIR/launcher"
	chmod +x "$BATS_TEST_TMPDIR/launcher"
	agent_start --launcher "$BATS_TEST_TMPDIR/launcher --flag"
	launch --checkpoint F1 E1 T1 -- sleep 1000
	run cat "$BATS_TEST_TMPDIR/launcher.log"
	assert_output --regexp '^--flag .*/agent-executor -d .* --task T1 .* -- sleep 1000$'
	alive "$XPID"
}

@test "--log: diagnostics go to the file, reopened on SIGHUP" {
	agent_start --log "$BATS_TEST_TMPDIR/agent.log"
	agent_send bogus
	wait_event '.event=="error"'
	assert_file_contains "$BATS_TEST_TMPDIR/agent.log" "unknown command 'bogus'"
	mv "$BATS_TEST_TMPDIR/agent.log" "$BATS_TEST_TMPDIR/agent.log.1"
	kill -HUP "$AGENT_PID"
	agent_send ping
	wait_event '.event=="pong"'
	agent_send bogus2
	wait_event '.event=="error"' 2
	wait_for 5 grep -q bogus2 "$BATS_TEST_TMPDIR/agent.log"
}

@test "the journal tells the story: under journald (JOURNAL_STREAM) each line has its priority (<6>); start with its recovery, launch, kill, the terminal state, stop with the executors left" {
	n=$((AGENT_N + 1))
	: > "$BATS_TEST_TMPDIR/events.$n.err"
	js=$(stat -c '%d:%i' "$BATS_TEST_TMPDIR/events.$n.err")
	AGENT_WRAP="env JOURNAL_STREAM=$js" agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- sleep 1000
	launch --checkpoint F1 E2 T2 -- sleep 1000
	agent_send kill F1 T1
	wait_event '.task_id=="T1" and .state=="TASK_KILLED"'
	agent_send bogus
	wait_event '.event=="error"'
	kill -TERM "$AGENT_PID"
	agent_wait_exit
	run cat "$EV.err"
	assert_line --regexp '^<6>registered agent .* \(agent-run [0-9.]+, work dir .*\): reconnected 0, lost 0, killed 0, incompatible 0, in [0-9]+ ms$'
	assert_line --regexp '^<6>launch: task T1 of framework F1 \(executor E1, run [-0-9a-f]+\): pid [0-9]+$'
	assert_line --regexp '^<6>kill: task T1 of framework F1 .*SIGKILL after 3000 ms$'
	assert_line --regexp '^<6>task T1 of framework F1 \(run [-0-9a-f]+\): TASK_KILLED'
	assert_line "<3>unknown command 'bogus' (launch, kill, ack, reconcile, usage, metrics, upgrade, shutdown, ping)"
	# (T1's executor too: its end is not acknowledged yet)
	assert_line '<6>stopped: 2 executors left running (the next agent reconnects them)'
	# Every line carries a priority.
	refute_line --regexp '^[^<]'
	# Restarted: the recovery in one line.
	n=$((AGENT_N + 1))
	: > "$BATS_TEST_TMPDIR/events.$n.err"
	js=$(stat -c '%d:%i' "$BATS_TEST_TMPDIR/events.$n.err")
	AGENT_WRAP="env JOURNAL_STREAM=$js" agent_start
	wait_event '.event=="reregistered"'
	run cat "$EV.err"
	assert_line --regexp '^<6>reregistered agent .*: reconnected 2, lost 0, killed 0, incompatible 0, in [0-9]+ ms$'
}

@test "--log-level: the story at info on a terminal or pipe too, without a priority prefix; a bad level is a usage error" {
	agent_start --log-level info
	launch F1 E1 T1 -- true
	wait_event '.state=="TASK_FINISHED"'
	run cat "$EV.err"
	assert_line --regexp '^agent-run: launch: task T1 of framework F1 '
	assert_line --regexp '^agent-run: task T1 of framework F1 \(run [-0-9a-f]+\): TASK_FINISHED'
	run agent-run -d "$W" --log-level loud </dev/null
	assert_failure 64
	assert_output --partial "--log-level: 'loud' is not one of error, warning, notice, info, debug"
}

@test "a relative work dir: resolved once, executors reach their sockets, tasks run" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	(cd "$BATS_TEST_TMPDIR" && exec agent-run -d w <in >ev 2>err 3>&-) &
	pid=$!
	exec {fd}>"$BATS_TEST_TMPDIR/in"
	EV=$BATS_TEST_TMPDIR/ev
	echo 'launch --checkpoint F E1 T1 -- sleep 1000' >&$fd
	wait_event '.event=="update" and .state=="TASK_RUNNING"'
	assert_equal "$(count '.state=="TASK_LOST"')" 0
	sock=$(cat "$BATS_TEST_TMPDIR"/w/meta/slaves/latest/frameworks/F/executors/E1/runs/latest/pids/executor.socket)
	[[ $sock == /* ]]
	run ckpt-inspect -d w
	assert_failure
	(cd "$BATS_TEST_TMPDIR" && ckpt-inspect -d w) | grep -q "task T1 TASK_RUNNING"
	echo shutdown >&$fd
	wait "$pid"
}

@test "a launched executor held before exec holds none of the agent's descriptors (not the work dir's lock)" {
	command -v strace >/dev/null || skip "no strace"
	agent_start
	wait_event '.event=="registered"'
	agent=$AGENT_PID
	# The commit that lets the executor go is slowed down: meanwhile it
	# is a forked copy of the agent, waiting.
	spawn strace -f -qq -o /dev/null -p "$agent" -e trace=fsync,fdatasync,syncfs \
	    -e inject=fsync,fdatasync,syncfs:delay_enter=1500000
	traced() { [ "$(awk '/^TracerPid:/ {print $2}' "/proc/$agent/status")" != 0 ]; }
	wait_for 10 traced
	agent_send launch --checkpoint F1 E1 T1 -- sleep 1000
	held() { held=$(pgrep -P "$agent" -x agent-run); [ -n "$held" ]; }
	wait_for 10 held
	run ls -l "/proc/$held/fd"
	refute_output --partial agent.lock
	refute_output --partial socket:
	# Only the agent holds the lock: a restart right after a kill -9
	# never finds it taken by a child.
	# (one find over every descriptor of every process, not an ls each)
	holders=$(printf '%s\0' /proc/[0-9]*/fd/* | find -files0-from - \
	    -maxdepth 0 -lname "$W/meta/agent.lock" -printf '%h\n' 2>/dev/null |
	    sort -u | wc -l)
	assert_equal "$holders" 1
}

@test "the man page's one-loop driver through a FIFO works inside \$(...)" {
	drive() {
		mkfifo "$BATS_TEST_TMPDIR/cmds"
		agent-run -d "$W" <"$BATS_TEST_TMPDIR/cmds" 2>/dev/null | {
			echo "launch --checkpoint web E1 T1 -- true"
			while read -r ev; do
				uuid=$(jq -r 'select(.event=="update") | .uuid' <<<"$ev")
				[ -n "$uuid" ] && echo "ack $uuid"
				state=$(jq -r 'select(.event=="update") | .state' <<<"$ev")
				[ "$state" = TASK_FINISHED ] && echo shutdown
				echo "$ev" >&3
			done
		} >"$BATS_TEST_TMPDIR/cmds" 3>"$BATS_TEST_TMPDIR/seen"
		echo done
	}
	out=$(drive)
	assert_equal "$out" done
	run jq -r 'select(.event=="acknowledged" or .event=="shutdown") | .event' "$BATS_TEST_TMPDIR/seen"
	assert_line acknowledged
	assert_line shutdown
}

@test "bytes that are not UTF-8 in a progress line or a command still give an event (U+FFFD in their place)" {
	# jansson refuses such text: the key, or the whole event, vanished.
	agent_start
	agent_send $'frob\xff now'
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" \
	    "unknown command 'frob"$'\xef\xbf\xbd'"' (launch, kill, ack, reconcile, usage, metrics, upgrade, shutdown, ping)"
	launch --checkpoint F1 E1 T1 -- sh -c 'printf "p\377q\n" >&3; exec sleep 1000'
	wait_event '.task_id=="T1" and .message!=null and (.message|startswith("p"))'
	assert_equal "$(field '.task_id=="T1" and .message!=null and (.message|startswith("p"))' message)" "p"$'\xef\xbf\xbd'"q"
	run ckpt-inspect -d "$W" --updates --json
	assert_success
	assert_output --partial "\"message\":\"p"$'\xef\xbf\xbd'"q\""
}

@test "an update redelivered after a restart carries its message and source, as first sent" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sh -c 'echo "half way: 50%" >&3; exec sleep 1000'
	agent_send launch --checkpoint F1 E2 T2 -- /nonexistent/program
	wait_event '.task_id=="T1" and .message=="half way: 50%"'
	wait_event '.task_id=="T2" and .state=="TASK_FAILED"'
	local want1 want2
	want1=$(jq -c 'select(.task_id=="T1" and .message=="half way: 50%") | {uuid, state, message, source}' "$EV")
	want2=$(jq -c 'select(.task_id=="T2" and .state=="TASK_FAILED") | {uuid, state, message, source}' "$EV")
	agent_restart
	wait_event '.event=="reregistered"'
	assert_equal "$(jq -c 'select(.task_id=="T1" and .redelivered and .message!=null) | {uuid, state, message, source}' "$EV")" "$want1"
	assert_equal "$(jq -c 'select(.task_id=="T2" and .redelivered and .state=="TASK_FAILED") | {uuid, state, message, source}' "$EV")" "$want2"
}
