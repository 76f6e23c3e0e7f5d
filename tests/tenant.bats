#!/usr/bin/env bats
# A task, a driver or an operator cannot take the agent down, nor hurt
# another framework's tasks: what a hostile tenant, a careless operator and
# a buggy driver tried, and what they now get.

load helpers

teardown() {
	common_teardown
	if mountpoint -q "$W" 2>/dev/null; then umount -l "$W"; fi
	if [ -n "${PIDS_CG:-}" ]; then rmdir "$PIDS_CG" 2>/dev/null || true; fi
}

@test "a last line without its newline is never carried out: stdin" {
	mkdir -p "$W"
	printf 'launch --checkpoint F1 E1 T1 -- true\nlaunch F1 E2 T2 -- tru' |
		agent-run -d "$W" > "$BATS_TEST_TMPDIR/ev" 2> "$BATS_TEST_TMPDIR/err"
	run jq -c 'select(.event=="launched") | .task_id' "$BATS_TEST_TMPDIR/ev"
	assert_output '"T1"'
	run jq -r 'select(.event=="error") | .message' "$BATS_TEST_TMPDIR/ev"
	assert_output --partial "the last line has no newline: not carried out"
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "a last line without its newline was not carried out (22 bytes: 'launch F1 E2 T2 -- tru')"
	assert [ ! -e "$W/meta/slaves/latest/frameworks/F1/executors/E2" ]
}

@test "a last line without its newline is never carried out: --attach, 300 cut launches" {
	set_socket
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	local pids=()
	for i in $(seq 1 300); do
		printf 'launch F1 E%s T%s -- tru' "$i" "$i" | agent-run --attach "$S" >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	attach 'kill T1' ping
	assert_success
	assert_output --partial pong
	assert_equal "$(count '.event=="launched"')" 0
	assert_equal "$(grep -c 'without its newline was not carried out' "$EV.err")" 300
	run bash -c "printf 'kill F2 T12' | agent-run --attach '$S'"
	assert_failure 65
	assert_output --partial "the last line has no newline"
}

@test "a bare task id in two frameworks is refused, with both named" {
	agent_start
	wait_event '.event=="registered"'
	launch F1 E1 T1 -- sleep 1000
	launch F2 E2 T1 -- sleep 1000
	agent_send kill T1
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "kill: task 'T1' is in 2 frameworks (F1, F2): say which, as kill FRAMEWORK TASK"
	assert_equal "$(count '.event=="update" and .state=="TASK_KILLED"')" 0
	agent_send kill F2 T1
	wait_event '.event=="update" and .state=="TASK_KILLED" and .framework_id=="F2"'
	agent_send kill T1
	wait_event '.event=="update" and .state=="TASK_KILLED" and .framework_id=="F1"'
}

@test "closed standard descriptors: opened on /dev/null, never the lock" {
	mkdir -p "$W"
	# stdin closed: it reads no command from its own lock file
	agent-run -d "$W" <&- > "$BATS_TEST_TMPDIR/ev" 2> "$BATS_TEST_TMPDIR/err"
	run cat "$BATS_TEST_TMPDIR/ev" "$BATS_TEST_TMPDIR/err"
	refute_output --partial "unknown command"
	assert_output --partial registered
	# stdout closed: no event lands in agent.lock
	echo ping | agent-run -d "$W" >&- 2> "$BATS_TEST_TMPDIR/err"
	run cat "$W/meta/agent.lock"
	refute_output --partial event
	for b in ckpt-inspect recover; do
		run bash -c "$b -d '$W' 2>&1 >&-"
		refute_output --partial "Bad file descriptor"
	done
}

@test "task output is bounded: rotated at --task-log-max, --task-log-keep files, nothing below the bound lost" {
	agent_start --task-log-max 64K --task-log-keep 2
	wait_event '.event=="registered"'
	agent_send launch --checkpoint F1 E1 T1 -- seq 1 400000
	wait_event '.event=="update" and .state=="TASK_FINISHED"'
	sb=$(sandbox F1 E1)
	assert_equal "$(stat -c %s "$sb/stdout")" "$(( $(seq 1 400000 | wc -c) % 65536 ))"
	assert_equal "$(stat -c %s "$sb/stdout.1")" 65536
	assert_equal "$(stat -c %s "$sb/stdout.2")" 65536
	assert [ ! -e "$sb/stdout.3" ]
	# the three files are the output's last bytes, in order, whole
	n=$(cat "$sb/stdout.2" "$sb/stdout.1" "$sb/stdout" | wc -c)
	cmp <(cat "$sb/stdout.2" "$sb/stdout.1" "$sb/stdout") <(seq 1 400000 | tail -c "$n")
	run cat "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/pids/task.log
	assert_output "max 65536 keep 2"
}

@test "task output goes on being written while no agent runs" {
	agent_start --task-log-max 1M
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- bash -c 'for i in $(seq 1 400); do echo line $i; sleep 0.01; done'
	sb=$(sandbox F1 E1)
	agent_kill9
	wait_for 30 grep -q '^line 400$' "$sb/stdout"
	assert_equal "$(grep -c '^line ' "$sb/stdout")" 400
}

@test "a task filling a small work dir cannot stop the agent: output dropped below --disk-reserve, its files taken from beside the reserve, launches refused" {
	mkdir -p "$W"
	mount -t tmpfs -o size=2m,mode=0700 tmpfs "$W" 2>/dev/null || skip "cannot mount a tmpfs here"
	agent_start --disk-reserve 512K
	wait_event '.event=="registered"'
	agent_send launch --checkpoint F1 E1 T1 -- head -c 3000000 /dev/zero
	wait_event '.event=="update" and .state=="TASK_FINISHED"' 1 30
	agent_ack
	# its own files fill the file system; its updates after that are
	# checkpointed in the reserve (meta/reserve), and the agent goes on
	agent_send "launch --checkpoint F1 E2 T2 -- bash -c 'echo a >&3; head -c 3000000 /dev/zero > fill; echo b >&3; echo c >&3; exit 0'"
	wait_event '.event=="update" and .task_id=="T2" and .state=="TASK_FINISHED"' 1 30
	wait_event '.event=="update" and .task_id=="T2" and .message=="c"'
	agent_send launch --checkpoint F1 E3 T3 -- true
	wait_event '.event=="error" and (.message|contains("--disk-reserve"))'
	agent_send ping
	wait_event '.event=="pong"'
	assert alive "$AGENT_PID"
	run grep -h 'bytes of the task.s stdout were dropped' "$W"/slaves/*/frameworks/F1/executors/E1/runs/*/executor.log
	assert_success
	agent_send shutdown
	agent_wait_exit
	umount "$W"
}

@test "progress is bounded: 200,000 lines coalesced past 1000 pending, a 64 MiB line cut to 4 KiB, memory flat" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- bash -c 'seq 1 200000 >&3; head -c 67108864 /dev/zero | tr "\0" x >&3; echo >&3; echo last >&3; sleep 1000'
	wait_event '.event=="update" and .state=="TASK_RUNNING"' 1002 60
	sleep_until() { grep -q 'coalesced' "$(sandbox F1 E1)/executor.log"; }
	wait_for 60 sleep_until
	# the agent holds at most 1000 pending (+ the two first)
	n=$(uuids '.event=="update"' | sort -u | wc -l)
	[ "$n" -le 1002 ] || { echo "$n updates"; false; }
	# acknowledging makes room: the latest line comes, the cut line did not stay
	for round in 1 2 3; do agent_ack; done
	wait_event '.event=="update" and .message=="last"' 1 60
	[ "$(count '.event=="update" and (.message//""|length) > 4200')" -eq 0 ]
	# (memory figures mean nothing under ASan: its shadow and quarantine)
	if ! asan; then
		rss=$(awk '/VmRSS/ {print $2}' /proc/$XPID/status)
		[ "$rss" -lt 20000 ] || { echo "executor RSS $rss KiB"; false; }
		rss=$(awk '/VmRSS/ {print $2}' /proc/$AGENT_PID/status)
		[ "$rss" -lt 40000 ] || { echo "agent RSS $rss KiB"; false; }
	fi
	[ "$(stat -c %s "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/tasks/T1/task.updates)" -lt 2000000 ]
}

# asan: the binaries under test are the sanitizer build.
asan() { case "$BIN" in *asan*) true ;; *) false ;; esac; }

# left DIR: the processes working in DIR but the executor ($XPID).
left() { procs_under "$1" | grep -vxc "$XPID" || true; }

# chain DEPTH: a process chain DEPTH deep below the task; the deepest
# touches ./deep, then sleeps.
CHAIN='d=$1; if [ "$d" -gt 0 ]; then bash -c "$0" "$0" $((d - 1)) & wait; else touch deep; exec sleep 1000; fi'

@test "a 40-deep chain: 0 processes left when TASK_FINISHED is emitted (no cgroup)" {
	agent_start --cgroup-root none
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- bash -c 'bash -c "$1" "$1" 40 & while [ ! -e deep ]; do sleep 0.05; done; exit 0' x "$CHAIN"
	wait_event '.event=="update" and .state=="TASK_FINISHED"' 1 30
	assert_equal "$(left "$(sandbox F1 E1)")" 0
}

@test "a fork bomb under --user, killed: 0 processes left when TASK_KILLED is emitted" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	getent passwd nobody >/dev/null || skip "no user nobody"
	agent_start
	wait_event '.event=="registered"'
	# (its processes bounded at 150 more than user nobody has on the host)
	launch --checkpoint --user nobody F1 E1 T1 -- bash -c 'ulimit -u $(( $(ps -L -u nobody --no-headers | wc -l) + 150 )); b() { while :; do b & done; }; b 2>/dev/null'
	sb=$(sandbox F1 E1)
	many() { [ "$(procs_in "$sb")" -ge 50 ]; }
	wait_for 30 many
	agent_send kill F1 T1
	wait_event '.event=="update" and .state=="TASK_KILLED"' 1 60
	assert_equal "$(left "$sb")" 0
}

@test "an executor killed -9 with no agent: the next agent kills what its task left, a setsid daemon too (no cgroup: by the run's mark)" {
	agent_start --cgroup-root none
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- bash -c 'setsid bash -c "exec sleep 1000" & bash -c "exec sleep 1001" & wait'
	sb=$(sandbox F1 E1)
	three() { [ "$(procs_in "$sb")" -ge 3 ]; }
	wait_for 10 three
	agent_kill9
	kill -9 "$XPID"
	wait_for 10 dead "$XPID"
	# the main process died with its executor; its children did not
	[ "$(procs_in "$sb")" -ge 2 ]
	agent_start --cgroup-root none
	wait_event '.event=="reregistered"'
	wait_event '.event=="update" and .state=="TASK_LOST"'
	none() { [ "$(procs_in "$sb")" -eq 0 ]; }
	wait_for 10 none
}

@test "executor-kill and executor-reconnect trust the checkpoint, not the line: a forged pid or socket is refused (65)" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	recover -d "$W" > "$BATS_TEST_TMPDIR/plan"
	sleep 1000 &
	victim=$!
	vstart=$(awk '{print $22}' /proc/$victim/stat)
	jq -c ".pid=$victim | .start_time=$vstart" "$BATS_TEST_TMPDIR/plan" > "$BATS_TEST_TMPDIR/forged"
	run executor-kill < "$BATS_TEST_TMPDIR/forged"
	assert_failure 65
	assert_output --partial '"result":"refused"'
	assert_output --partial "the line's pid/start_time $victim/$vstart is not the checkpoint's $XPID/"
	alive "$victim"
	alive "$XPID"
	# a forged socket gets no secret: a plain listener hears nothing
	python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(5)
try:
    c, _ = s.accept(); c.settimeout(2); d = c.recv(4096); print(len(d))
except socket.timeout:
    print("none")
' "$BATS_TEST_TMPDIR/trap.sock" > "$BATS_TEST_TMPDIR/heard" &
	lpid=$!
	wait_for 5 test -S "$BATS_TEST_TMPDIR/trap.sock"
	jq -c ".socket=\"$BATS_TEST_TMPDIR/trap.sock\"" "$BATS_TEST_TMPDIR/plan" > "$BATS_TEST_TMPDIR/forged2"
	run executor-reconnect < "$BATS_TEST_TMPDIR/forged2"
	assert_failure 65
	assert_output --partial "is not the checkpoint's"
	wait "$lpid"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/heard")" none
	# the true line still works
	run executor-kill < "$BATS_TEST_TMPDIR/plan"
	assert_success
	assert_output --partial '"result":"killed"'
	kill "$victim"
}

@test "an update pending at shutdown is delivered again by the next agent; reconcile knows the task; gc keeps it" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_send shutdown
	wait_event '.event=="update" and .state=="TASK_KILLED"'
	agent_wait_exit
	assert_file_not_exist "$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/executor.sentinel"
	run recover -d "$W" --gc 0s
	assert [ -d "$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/tasks/T1" ]
	agent_start
	wait_event '.event=="update" and .state=="TASK_KILLED" and .redelivered'
	agent_send reconcile T1
	wait_event '.event=="status"'
	assert_equal "$(field '.event=="status"' state)" TASK_KILLED
	agent_ack
	wait_event '.event=="terminated"'
}

@test "20 drivers that send and never read: each cut off at its bound, all of them within the total (8 MiB); the agent stays small" {
	set_socket
	agent_start --listen "$S"
	wait_for 10 test -S "$S"
	launch F1 E1 T1 -- sleep 1000
	base=$(awk '/VmRSS/ {print $2}' /proc/$AGENT_PID/status)
	local pids=()
	for i in $(seq 1 20); do
		python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
line = ("reconcile " + " ".join(["T1"] * 26) + "\n").encode()
try:
    for _ in range(20000):
        s.sendall(line)
except OSError:
    pass
time.sleep(30)
' "$S" &
		pids+=($!)
	done
	cut() { [ "$(grep -c 'events unread' "$EV.err")" -ge 20 ]; }
	wait_for 120 cut
	hwm=$(awk '/VmHWM/ {print $2}' /proc/$AGENT_PID/status)
	kill "${pids[@]}" 2>/dev/null || true
	# the bound of all queues together (8 MiB) and a few MB of input
	# buffers and allocator slack above what it held before
	asan || [ $((hwm - base)) -lt 20480 ] || { echo "agent RSS $base KiB, peak $hwm KiB"; false; }
	agent_send ping
	wait_event '.event=="pong"'
}

@test "meta planted as a link: agent-run, recover --gc and ckpt-write boot-id write nothing through it" {
	mkdir -m 0700 "$W" "$BATS_TEST_TMPDIR/out"
	ln -s "$BATS_TEST_TMPDIR/out" "$W/meta"
	run agent-run -d "$W" </dev/null
	assert_failure
	assert_output --partial "meta: not a directory (a symbolic link inside the work dir?): refused"
	run ckpt-write -d "$W" boot-id
	assert_failure
	run recover -d "$W" --gc 0s
	assert_failure
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/out")" ""
}

@test "recover --repair refuses a hard-linked file (65); --verify names skipped entries (65); gc reports them" {
	make_workdir
	update TASK_RUNNING >/dev/null
	u=$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1/tasks/T1/task.updates
	printf '\x64\x00\x00\x00abc' >> "$u"
	ln "$u" "$BATS_TEST_TMPDIR/outside"
	size=$(stat -c %s "$u")
	run recover -d "$W" --repair
	assert_failure 65
	assert_output --partial "has 2 links"
	assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/outside")" "$size"
	rm "$BATS_TEST_TMPDIR/outside"
	run recover -d "$W" --repair
	assert_success
	[ "$(stat -c %s "$u")" -lt "$size" ]
	# entries that are not frameworks: skipped, and said so
	mkdir "$W/meta/slaves/A1/frameworks/bad"$'\t'"id"
	mkdir "$BATS_TEST_TMPDIR/elsewhere"
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$W/meta/slaves/A1/frameworks/F9"
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R9"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "frameworks/bad?id: not a valid id: skipped"
	assert_output --partial "frameworks/F9: a symbolic link, not a directory: skipped"
	assert_output --partial "runs/R9: a symbolic link, not a directory: skipped"
	run recover -d "$W" --gc 0s
	assert_output --partial "frameworks/F9: a symbolic link, not a directory: skipped (not collected)"
	assert [ -d "$BATS_TEST_TMPDIR/elsewhere" ]
}

@test "out of descriptors: a burst of 60 launches under a hard limit of 64 is answered whole; refused launches leave nothing; the next agent reports nothing lost" {
	mkdir -m 0700 "$W"
	for i in $(seq 1 60); do echo "launch --checkpoint F E$i T$i -- sleep 1000"; done > "$BATS_TEST_TMPDIR/burst"
	run bash -c 'ulimit -Sn 64; ulimit -Hn 64; exec agent-run -d "$0" < "$1" 2>&1 3>&-' "$W" "$BATS_TEST_TMPDIR/burst"
	assert_success
	assert_output --regexp '"event":"registered".*"descriptors":64,"executors_max":16' 
	launched=$(echo "$output" | grep -c '"event":"launched"')
	refused=$(echo "$output" | grep -c '"event":"error".*refused, nothing done.*descriptors')
	[ "$launched" -ge 10 ]
	assert_equal $((launched + refused)) 60
	assert_equal "$(ls "$W"/meta/slaves/latest/frameworks/F/executors | wc -l)" "$launched"
	# the next agent (a normal limit) reconnects every launched one, no LOST
	agent_start
	wait_event '.event=="reregistered"' 1 30
	assert_equal "$(field '.event=="reregistered"' reconnected)" "$launched"
	assert_equal "$(count '.event=="update" and .state=="TASK_LOST"')" 0
}

@test "out of descriptors at a restart: recovery completes, executors that cannot be connected wait (not killed), and it says why" {
	agent_start
	wait_event '.event=="registered"'
	for i in $(seq 1 30); do agent_send launch --checkpoint F E$i T$i -- sleep 1000; done
	wait_event '.event=="update" and .state=="TASK_RUNNING"' 30 60
	agent_kill9
	mkfifo "$BATS_TEST_TMPDIR/in2"
	(ulimit -Sn 30; ulimit -Hn 30; exec agent-run -d "$W" --executor-reregistration-timeout 1s < "$BATS_TEST_TMPDIR/in2" > "$BATS_TEST_TMPDIR/ev2" 2>&1 3>&-) &
	apid=$!
	exec {fd2}> "$BATS_TEST_TMPDIR/in2"
	said() { grep -q 'out of descriptors' "$BATS_TEST_TMPDIR/ev2"; }
	wait_for 30 said
	some() { [ "$(grep -c '"event":"reconnected"' "$BATS_TEST_TMPDIR/ev2")" -ge 10 ]; }
	wait_for 30 some
	# past the re-registration timeout, nobody was killed for our lack of descriptors
	sleep_past() { [ $(( $(date +%s) - start )) -ge 3 ]; }
	start=$(date +%s)
	wait_for 10 sleep_past
	assert_equal "$(grep -c executor_timeout "$BATS_TEST_TMPDIR/ev2")" 0
	assert_equal "$(pgrep -fc "agent-executor -d $W")" 30
	exec {fd2}>&-
	wait "$apid" || true
}

@test "an executor that cannot fork its task (the pid limit) reports TASK_FAILED with the reason, not LOST" {
	p=$(awk -F: '$2 == "pids" {print $3}' /proc/self/cgroup)
	g=/sys/fs/cgroup/pids${p%/}/agent-tools-test-$$
	mkdir "$g" 2>/dev/null || skip "no writable cgroup v1 pids hierarchy here"
	PIDS_CG=$g
	agent_start
	wait_event '.event=="registered"'
	echo "$AGENT_PID" > "$g/cgroup.procs"
	echo 2 > "$g/pids.max"		# the agent and one executor: no task
	agent_send launch --checkpoint F1 E1 T1 -- true
	wait_event '.event=="update" and .state=="TASK_FAILED"' 1 30
	assert_equal "$(count '.event=="update" and .state=="TASK_LOST"')" 0
	run field '.state=="TASK_FAILED"' message
	assert_output --partial "cannot start the task: "
	assert_output --partial "Resource temporarily unavailable"
	echo max > "$g/pids.max"
	agent_send shutdown
	agent_wait_exit
	# (the executor may still be leaving after the agent is gone)
	empty() { [ ! -s "$g/cgroup.procs" ]; }
	wait_for 10 empty
	rmdir "$g"
}

@test "containment by default: where a writable cgroup2 hierarchy is, each task gets its own cgroup without --cgroup-root" {
	m=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	[ -n "$m" ] && [ -w "$m/cgroup.procs" ] || skip "no writable cgroup2 hierarchy here (the default is then no cgroup, said at start)"
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F1 E1 T1 -- sleep 1000
	cg=$(cat "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/pids/task.cgroup)
	assert_equal "$cg" "$m/agent-run/$(readlink "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest)"
	grep -qx "$(task_pid "$XPID")" "$cg/cgroup.procs"
	agent_send kill F1 T1
	wait_event '.event=="update" and .state=="TASK_KILLED"'
	agent_ack
	wait_event '.event=="terminated"'
	wait_for 10 test ! -e "$cg"
}
