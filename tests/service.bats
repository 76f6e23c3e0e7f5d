#!/usr/bin/env bats
# The agent as a long-running service (agent-run --listen, --attach):
# drivers that come and go, answers that name their command, retries,
# reconciliation; and the fixes found with it.

load helpers

setup() { common_setup; set_socket; }

@test "attach, launch, read without acking, detach; attach again: the same uuids again; ack; attach again: nothing" {
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	assert_equal "$(stat -c %a "$(S_DIR)")" 700
	assert_equal "$(stat -c %a "$S")" 600
	attach 'launch --checkpoint F1 E1 T1 -- sleep 1000'
	assert_success
	assert_line --partial '"event":"launched"'
	# Each event goes to every driver: the agent's stdout sees the updates.
	wait_event '.event=="update" and .state=="TASK_RUNNING"'
	first=$(uuids '.event=="update"')
	assert_equal "$(echo "$first" | wc -l)" 2
	attach ping
	assert_success
	assert_equal "$(echo "$output" | uuids '.event=="update" and .redelivered' /dev/stdin)" "$first"
	acks=()
	for u in $first; do acks+=("ack $u"); done
	attach "${acks[@]}"
	assert_success
	assert_equal "$(echo "$output" | jq -r 'select(.event=="acknowledged") | .line' | sort | tr '\n' ' ')" "1 2 "
	attach ping
	assert_success
	refute_output --partial '"event":"update"'
	assert_line '{"event":"pong","line":1,"id":null,"type":"pong"}'
}

@test "kill -9 the agent, restart with --listen: an attached driver gets the pending updates again" {
	agent_start --listen "$S"
	launch --checkpoint F1 E1 T1 -- sleep 1000
	first=$(uuids '.event=="update"')
	agent_kill9
	# The old agent's socket is still there: nobody answers on it.
	assert [ -S "$S" ]
	agent_start --listen "$S"
	wait_event '.event=="reregistered"'
	attach ping
	assert_success
	assert_equal "$(echo "$output" | uuids '.event=="update" and .redelivered' /dev/stdin)" "$first"
}

@test "a second agent on the same socket refuses: another agent listens there (75)" {
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	run agent-run -d "$BATS_TEST_TMPDIR/w2" --listen "$S" </dev/null
	assert_failure 75
	assert_output --partial "another agent listens there"
	attach ping
	assert_success
}

@test "two drivers at once: every event to each, an answer to its driver only, an ack from either counts once" {
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	for i in 1 2; do
		mkfifo "$BATS_TEST_TMPDIR/d$i"
		(cd "$BATS_TEST_TMPDIR" && exec agent-run --attach "$S" <d$i >o$i 2>e$i) &
	done
	exec {D1}>"$BATS_TEST_TMPDIR/d1" {D2}>"$BATS_TEST_TMPDIR/d2"
	echo '@x launch --checkpoint F1 E1 T1 -- sh -c "echo progress >&3; sleep 1000"' >&$D1
	for i in 1 2; do
		EV=$BATS_TEST_TMPDIR/o$i wait_event '.message=="progress"'
	done
	EV=$BATS_TEST_TMPDIR/o1
	assert_equal "$(field '.event=="launched"' id)" x
	assert_equal "$(field '.event=="launched"' line)" 1
	assert_equal "$(count '.event=="launched"' "$BATS_TEST_TMPDIR/o2")" 0
	u=$(field '.message=="progress"' uuid)
	echo "ack $u" >&$D2
	EV=$BATS_TEST_TMPDIR/o2 wait_event '.event=="acknowledged"'
	echo "ack $u" >&$D1
	EV=$BATS_TEST_TMPDIR/o1 wait_event '.event=="error" and .line==2'
	assert_equal "$(field '.line==2' message)" "ack: no pending update has uuid $u"
	assert_equal "$(count '.event=="acknowledged"')" 0
	exec {D1}>&- {D2}>&-
}

@test "a driver that never reads is disconnected past its bound; the agent and the other drivers go on" {
	agent_start --listen "$S" --driver-queue 4096
	wait_for 10 test -S "$S"
	spawn python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(120)' "$S"
	wait_for 10 grep -q 'attached' "$EV.err"
	# (900 lines: past 1000 unacknowledged updates progress is coalesced)
	launch --checkpoint F1 E1 T1 -- sh -c 'seq 1 900 | sed s/^/line/ >&3; sleep 1000'
	wait_event '.message=="line900"' 1 60
	wait_for 10 grep -q 'events unread (bound 4096); disconnected' "$EV.err"
	attach ping
	assert_success
	assert_line --partial '"event":"pong"'
}

@test "updates not acknowledged are sent again with backoff while a driver is attached; an ack stops them" {
	agent_start --update-retry-interval 200ms
	launch --checkpoint F1 E1 T1 -- sleep 1000
	run_u=$(field '.task_id=="T1" and .state=="TASK_RUNNING"' uuid)
	# 200 ms, then 400, then 800: three retries in about 1.4 s.
	wait_event ".uuid==\"$run_u\" and .redelivered" 3 20
	for u in $(uuids '.task_id=="T1" and .event=="update" and (.redelivered|not)'); do
		agent_send ack "$u"
	done
	wait_event '.event=="acknowledged"' 2
	# A second task is the clock: three of its retries (1.4 s) and none
	# of T1 after its acks.
	launch --checkpoint F1 E2 T2 -- sleep 1000
	t2=$(field '.task_id=="T2" and .state=="TASK_RUNNING"' uuid)
	wait_event ".uuid==\"$t2\" and .redelivered" 3 20
	after=$(awk '/"event":"acknowledged"/ { n = NR } END { print n }' "$EV")
	run awk -v n="$after" 'NR > n && /"task_id":"T1"/ && /"event":"update"/' "$EV"
	assert_output ""
}

@test "reconcile: a status per task (state, pending, pid, alive), unknown tasks TASK_UNKNOWN, one answer" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_send '@r1 reconcile T1 NOPE'
	wait_event '.event=="reconciled"'
	assert_equal "$(field '.event=="reconciled"' tasks)" 2
	assert_equal "$(field '.event=="reconciled"' id)" r1
	run events '.event=="status" and .task_id=="T1"'
	assert_output --partial '"state":"TASK_RUNNING","pending":2,"pid":'"$XPID"',"alive":true,"executor":"connected"'
	run events '.event=="status" and .task_id=="NOPE"'
	assert_output --partial '"framework_id":null'
	assert_output --partial '"state":"TASK_UNKNOWN"'
	agent_send reconcile
	wait_event '.event=="reconciled"' 2
	assert_equal "$(count '.event=="status" and .task_id=="T1"')" 2
}

@test "only the agent's uid or root may drive it: another uid is refused (77) and logged" {
	command -v setpriv >/dev/null || skip "no setpriv"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN/agent-run" ||
	    skip "uid 65534 cannot run $BIN/agent-run"
	d=$(mktemp -d /tmp/agent-ctl.XXXXXX)
	S=$d/sock
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/agent-run" --attach "$S" </dev/null
	assert_failure 77
	assert_output --partial "Permission denied"
	# Even with the socket opened to all, the agent checks its peer.
	chmod 0711 "$d"
	chmod 0666 "$S"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/agent-run" --attach "$S" </dev/null
	assert_failure 77
	assert_output --partial '"event":"refused"'
	wait_for 10 grep -q 'control socket: refused pid [0-9]*, uid 65534' "$EV.err"
	attach ping
	assert_success
	rm -rf "$d"
}

@test "socket activation: started by systemd-socket-activate, the agent serves the socket it is given" {
	command -v systemd-socket-activate >/dev/null || skip "no systemd-socket-activate"
	S=$BATS_TEST_TMPDIR/act.sock
	EV=$BATS_TEST_TMPDIR/ev
	(cd "$BATS_TEST_TMPDIR" && exec systemd-socket-activate -l "$S" agent-run -d "$W" </dev/null >"$EV" 2>"$EV.err") &
	wait_for 10 test -S "$S"
	attach ping
	assert_success
	assert_line '{"event":"pong","line":1,"id":null,"type":"pong"}'
	# stdin (/dev/null) ended long ago: with a socket the agent goes on.
	attach 'launch F1 E1 T1 -- sleep 1000'
	assert_success
	wait_event '.state=="TASK_RUNNING"'
	attach shutdown
	assert_success
	wait_event '.event=="shutdown"'
}

@test "every command gets exactly one answer naming it; @ID is the driver's name for it" {
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	attach '@a ping' '' '# a comment' 'frobnicate' '@b launch F1 E1 T1 -- sleep 1000' \
	    "launch F1 E1 T1 -- 'unterminated" '@c kill F1 T1' '@d reconcile' '@e' 'ack'
	assert_success
	assert_equal "$(echo "$output" | jq -r 'select(.line) | .line' | sort -n | tr '\n' ' ')" "1 4 5 6 7 8 9 10 "
	assert_line --partial '"event":"pong","line":1,"id":"a"'
	assert_line --partial '"line":4,"id":null'
	assert_line --partial '"event":"launched"'
	assert_line --partial '"message":"command @e: no command after the id","line":9,"id":"e"'
	assert_line '{"event":"error","message":"ack: usage: ack UUID","line":10,"id":null,"type":"error"}'
}

@test "no agent on the socket: --attach exits 69 naming the socket" {
	run agent-run --attach "$BATS_TEST_TMPDIR/none.sock" </dev/null
	assert_failure 69
	assert_output --partial "none.sock: cannot connect"
}

@test "a late driver learns what happened: the (re)registered summary when it attaches; reconcile names the agent, the boot and since when it is up" {
	agent_start --listen "$S"
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	agent_start --listen "$S"
	wait_event '.event=="reregistered"'
	attach ping
	assert_success
	assert_line --regexp '^\{"event":"reregistered",.*"reconnected":1,"lost":0,"killed":0,'
	attach reconcile
	assert_success
	echo "$output" | jq -e --arg b "$(cat /proc/sys/kernel/random/boot_id)" \
	    'select(.event=="reconciled") | .boot_id==$b and (.agent_id|length) > 0 and .up_since > 1700000000 and .tasks==1'
}

@test "--attach never hangs: a socket that takes the connection and never answers (an agent that cannot start) exits 69 after --timeout" {
	mkdir -m 0700 "$BATS_TEST_TMPDIR/ctl"
	S=$BATS_TEST_TMPDIR/ctl/mute.sock
	spawn python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
c = s.accept()[0]; time.sleep(120)' "$S"
	wait_for 10 test -S "$S"
	run timeout 60 bash -c 'echo ping | agent-run --attach "$0" --timeout 1s' "$S"
	assert_failure 69
	assert_output --partial "no answer from the agent within 1000 ms (--timeout)"
	run agent-run -d "$W" --timeout 1s </dev/null
	assert_failure 64
	assert_output --partial "--timeout and --retry go with --attach"
}

@test "--attach tells done from gone: 0 when its input ended and all was answered, 75 when the agent went away first" {
	set_socket
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	attach ping
	assert_success
	mkfifo "$BATS_TEST_TMPDIR/in"
	(cd "$BATS_TEST_TMPDIR" && { s=0; agent-run --attach "$S" <in >out 2>err || s=$?; echo $s >rc; }) &
	exec {D}>"$BATS_TEST_TMPDIR/in"
	echo ping >&$D
	wait_for 10 grep -q pong "$BATS_TEST_TMPDIR/out"
	kill -TERM "$AGENT_PID"
	wait_for 10 test -s "$BATS_TEST_TMPDIR/rc"
	exec {D}>&-
	assert_equal "$(cat "$BATS_TEST_TMPDIR/rc")" 75
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "the agent went away before the input ended"
}

@test "--attach --retry: the agent restarted under an attached driver; it attaches again, nothing sent twice, exit 0 once all was answered" {
	set_socket
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	# The driver's input is a pipe only python holds (an agent started by
	# this shell would hold a FIFO's writer open): one ping, then, once
	# told, another.
	spawn python3 -c 'import subprocess, sys, time, os
d = sys.argv[2]
p = subprocess.Popen([sys.argv[1], "--attach", sys.argv[3], "--retry", "30s"],
    stdin=subprocess.PIPE, stdout=open(d + "/out", "w"), stderr=open(d + "/err", "w"))
p.stdin.write(b"@one ping\n"); p.stdin.flush()
while not os.path.exists(d + "/go"):
    time.sleep(0.02)
p.stdin.write(b"@two ping\n"); p.stdin.close()
open(d + "/rc", "w").write("%d\n" % p.wait())' "$(command -v agent-run)" "$BATS_TEST_TMPDIR" "$S"
	pongs() { [ "$(grep -c '"event":"pong"' "$BATS_TEST_TMPDIR/out")" -ge "$1" ]; }
	wait_for 10 pongs 1
	agent_kill9
	agent_start --listen "$S"
	wait_event '.event=="registered" or .event=="reregistered"'
	touch "$BATS_TEST_TMPDIR/go"
	wait_for 20 pongs 2
	wait_for 10 test -s "$BATS_TEST_TMPDIR/rc"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/rc")" 0
	assert_equal "$(grep -c '"id":"one"' "$BATS_TEST_TMPDIR/out")" 1
	assert_equal "$(grep -c '"id":"two"' "$BATS_TEST_TMPDIR/out")" 1
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "the agent went away; attached again"
}

@test "--attach --retry waits for an agent not there yet (socket activation, a restart)" {
	set_socket
	(cd "$BATS_TEST_TMPDIR" && { s=0; echo ping | agent-run --attach "$S" --retry 30s >out 2>err || s=$?; echo $s >rc; }) &
	# (it is trying before the agent is there)
	wait_for 10 pgrep -f "attach $S --retry"
	agent_start --listen "$S"
	wait_for 30 test -s "$BATS_TEST_TMPDIR/rc"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/rc")" 0
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line --partial '"event":"pong"'
	run timeout 60 bash -c 'echo ping | agent-run --attach "$0/none.sock" --retry 1s' "$BATS_TEST_TMPDIR"
	assert_failure 69
	assert_output --partial "no agent came back within --retry"
}

@test "commands refuse words they do not take (nothing done); a bare ack gets its usage" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_send 'shutdown now please'
	agent_send 'ping extra words'
	agent_send 'ack'
	agent_send 'kill F1 T1 more'
	wait_event '.event=="error"' 4
	run events '.event=="error"'
	assert_line --partial '"message":"shutdown: takes no arguments"'
	assert_line --partial '"message":"ping: takes no arguments"'
	assert_line --partial '"message":"ack: usage: ack UUID"'
	assert_line --partial '"message":"kill: usage: kill [FRAMEWORK] TASK"'
	assert_equal "$(count '.event=="pong" or .event=="shutting_down" or .event=="killing"')" 0
	alive "$XPID"
}

@test "shutdown immediately followed by the end of stdin: everything is shut down" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	tpid=$(task_pid "$XPID")
	agent_kill9
	run bash -c 'echo shutdown | agent-run -d "$0"' "$W"
	assert_success
	assert_line --partial '"event":"shutting_down"'
	assert_line '{"event":"shutdown","type":"shutdown"}'
	wait_for 10 dead "$tpid"
	wait_for 10 dead "$XPID"
}

@test "a task's terminal update acknowledged before the earlier ones: no reader counts them pending" {
	agent_start
	launch --checkpoint F1 E1 T1 -- false
	wait_event '.state=="TASK_FAILED"'
	agent_send ack "$(field '.state=="TASK_FAILED"' uuid)"
	wait_event '.event=="terminated"'
	agent_wait_exit
	run ckpt-inspect -d "$W" --unacked --json-lines
	assert_output ""
	run recover -d "$W" --json
	refute_output --partial '"pending":1'
	agent_start
	wait_event '.event=="registered" or .event=="reregistered"'
	assert_equal "$(count '.event=="update"')" 0
}

@test "--no-strict: what is skipped is also logged; the strict error names --no-strict" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	bad=$(readlink -f "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest)/tasks/T1/task.info
	printf '\x04\x00\x00\x00\xff\xff\xff\xff' > "$bad"
	run agent-run -d "$W" </dev/null
	assert_failure 65
	assert_output --partial "--no-strict skips what cannot be recovered)"
	run agent-run -d "$W" --no-strict </dev/null
	assert_success
	assert_output --partial "agent-run: --no-strict: skipped: $bad: offset 0: record of 4 bytes is not a valid mesos.Task"
}

@test "the incident recipe: a damaged run set aside (recover --quarantine), its bytes kept, its task reported lost naming the file; the agent starts strict again; the others carry on" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	launch --checkpoint F1 E2 T2 -- sleep 1000
	x2=$XPID
	agent_kill9
	run1=$(readlink "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest)
	bad=$(readlink -f "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest)/tasks/T1/task.info
	printf '\x04\x00\x00\x00\xff\xff\xff\xff' > "$bad"
	# Strict: it fails, every start, and says the way out.
	run agent-run -d "$W" </dev/null
	assert_failure 65
	assert_output --partial "$bad: offset 0:"
	assert_output --partial "recover -d $W --quarantine $run1"
	# An unknown run: 66, nothing done.
	run recover -d "$W" --quarantine no-such-run
	assert_failure 66
	run recover -d "$W" --quarantine "$run1"
	assert_success
	echo "$output" | jq -e --arg r "$run1" '.type=="quarantine" and .run_id==$r and .framework_id=="F1" and .executor_id=="E1" and (.tasks==["T1"]) and (.reason|test("task.info: offset 0")) and .executor=="killed"'
	moved=$(echo "$output" | jq -r .moved_to)
	cmp "$moved/tasks/T1/task.info" <(printf '\x04\x00\x00\x00\xff\xff\xff\xff')
	# Strict again: the set-aside run's task is lost, naming the file; E2
	# is reconnected.
	agent_start
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	assert_equal "$(field '.task_id=="T1" and .event=="update"' state)" TASK_LOST
	run field '.task_id=="T1" and .event=="update"' message
	assert_output --partial "quarantined: $bad: offset 0:"
	alive "$x2"
	agent_send ack "$(field '.task_id=="T1" and .event=="update"' uuid)"
	wait_event '.event=="terminated" and .task_id=="T1"'
}

@test "launch --user: a root agent runs the task as that user, in a sandbox of that user's" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	getent passwd nobody >/dev/null || skip "no user nobody"
	agent_start
	launch --checkpoint --user nobody F1 E1 T1 -- sh -c 'echo "$(id -u) $USER" >&3; sleep 1000'
	wait_event '.event=="update" and .message'
	assert_equal "$(field '.event=="update" and .message' message)" "$(id -u nobody) nobody"
	assert_equal "$(stat -c %U "$(sandbox F1 E1)")" nobody
	run ckpt-inspect --file "$W/meta/slaves/latest/frameworks/F1/framework.info"
	assert_output --partial '"user": "nobody"'
	# The executor stays root: it can still kill the task.
	assert_equal "$(stat -c %u /proc/"$XPID")" 0
	agent_send kill F1 T1
	wait_event '.state=="TASK_KILLED"'
	agent_send 'launch --user no-such-user-here F1 E2 T2 -- true'
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "launch: --user no-such-user-here: no such user"
}

@test "launch --user by an agent that is not root: refused, nothing launched" {
	command -v setpriv >/dev/null || skip "no setpriv"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN/agent-run" ||
	    skip "uid 65534 cannot run $BIN/agent-run"
	d=$(mktemp -d /tmp/agent-nr.XXXXXX)
	chown 65534:65534 "$d"
	run bash -c 'echo "launch --user root F1 E1 T1 -- true" | setpriv --reuid=65534 --regid=65534 --clear-groups "$0" -d "$1/w"' "$BIN/agent-run" "$d"
	rm -rf "$d"
	assert_success
	assert_output --partial '"message":"launch: --user root: only an agent running as root runs tasks as another user"'
	refute_output --partial '"event":"launched"'
}
