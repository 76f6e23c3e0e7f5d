#!/usr/bin/env bats
# ckpt-inspect: the incident tool.  Every option, every damaged file.

load helpers

snapshot() { (cd "$W" && find . -printf '%p %s %T@ %m\n' | sort && find . -type f -exec md5sum {} + | sort); }

# three tasks: T1 running (1 pending), T2 finished (acked), T3 in F2 (no checkpoint)
three_tasks() {
	make_workdir
	update TASK_RUNNING >/dev/null
	u=$(update TASK_RUNNING T2)
	u2=$(update TASK_FINISHED T2)
	echo "{\"uuid\":\"$u\"}" | ckpt-write -d "$W" -f F1 -e E1 -t T2 ack
	echo "{\"uuid\":\"$u2\"}" | ckpt-write -d "$W" -f F1 -e E1 -t T2 ack
	echo '{"name":"t2","task_id":"T2","framework_id":"F1","executor_id":"E1","slave_id":"A1","state":"TASK_STAGING"}' | ckpt-write -d "$W" task
	echo '{"user":"u","name":"other","id":"F2"}' | ckpt-write -d "$W" framework
	echo '{"executor_id":"E2","framework_id":"F2"}' | ckpt-write -d "$W" executor
	echo '{}' | ckpt-write -d "$W" -f F2 -e E2 -r R2 run >/dev/null
	echo '{"name":"t3","task_id":"T3","framework_id":"F2","executor_id":"E2","slave_id":"A1","state":"TASK_STAGING"}' | ckpt-write -d "$W" task
}

@test "--help, --version, usage errors" {
	run ckpt-inspect --help
	assert_success
	assert_output --partial "usage: ckpt-inspect"
	run ckpt-inspect --version
	assert_success
	run ckpt-inspect -d "$W" extra
	assert_failure 64
	run ckpt-inspect --nope
	assert_failure 64
	run ckpt-inspect
	assert_failure 64
	run ckpt-inspect -d "$W" --state TASK_BOGUS
	assert_failure 64
	assert_output --partial "TASK_BOGUS"
}

@test "no such work dir: exit 66 naming it" {
	run ckpt-inspect -d "$W/none"
	assert_failure 66
	assert_output --partial "$W/none"
}

@test "default: a readable tree with ids, checkpoint flag, pid liveness, states and counts" {
	three_tasks
	spawn_mesos_executor R1
	echo $SPAWNED > "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1/pids/forked.pid"
	rm -f "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1/pids/forked.start"
	run ckpt-inspect -d "$W"
	assert_success
	assert_line "agent A1 (latest) host h1"
	assert_line '  framework F1 "fw" checkpoint yes'
	assert_line '  framework F2 "other" checkpoint no'
	assert_line --partial "run R1 (latest) pid $SPAWNED alive"
	assert_line "        task T1 TASK_RUNNING updates 1 unacked 1"
	assert_line "        task T2 TASK_FINISHED updates 2 unacked 0"
	assert_line "        task T3 TASK_STAGING updates 0 unacked 0"
	kill $SPAWNED
}

@test "a recycled pid is shown as gone, not alive" {
	make_workdir
	spawn sleep 1000
	d=$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1/pids
	echo $SPAWNED > "$d/forked.pid"
	echo 1 > "$d/forked.start"
	run ckpt-inspect -d "$W"
	assert_output --partial "gone (pid recycled)"
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"alive":false,"process":"recycled"'
	kill $SPAWNED
}

@test "--json is one document; --json-lines one object per task" {
	three_tasks
	run ckpt-inspect -d "$W" --json
	assert_success
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["agents"][0]["frameworks"])==2'
	run ckpt-inspect -d "$W" --json-lines
	assert_equal "${#lines[@]}" 3
	for l in "${lines[@]}"; do echo "$l" | python3 -c 'import json,sys; json.load(sys.stdin)'; done
}

@test "filters: --framework --executor --task --state --unacked" {
	three_tasks
	run ckpt-inspect -d "$W" --json-lines --framework F2
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"id":"T3"'
	run ckpt-inspect -d "$W" --json-lines --executor E1
	assert_equal "${#lines[@]}" 2
	run ckpt-inspect -d "$W" --json-lines --task T2
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"state":"TASK_FINISHED"'
	run ckpt-inspect -d "$W" --json-lines --state finished
	assert_equal "${#lines[@]}" 1
	run ckpt-inspect -d "$W" --json-lines --unacked
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"id":"T1"'
	run ckpt-inspect -d "$W" --unacked
	refute_output --partial "F2"
	refute_output --partial "T2"
	run ckpt-inspect -d "$W" --json --task T1
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); f=d["agents"][0]["frameworks"]; assert len(f)==1 and f[0]["executors"][0]["runs"][0]["tasks"][0]["id"]=="T1", f'
	run ckpt-inspect -d "$W" --json-lines --task nothing
	assert_output ""
}

@test "--updates: every record in order with offset, uuid, state and acknowledgement" {
	three_tasks
	run ckpt-inspect -d "$W" --updates --task T2 --json
	assert_success
	assert_equal "${#lines[@]}" 4
	assert_line --index 0 --regexp '"acknowledged":true.*"offset":0,.*"state":"TASK_RUNNING","timestamp":1700000000.5,"type":"UPDATE"'
	assert_line --index 2 --partial '"type":"ACK"'
	# Text times are local ISO 8601 (JSON keeps the epoch).
	TZ=UTC run ckpt-inspect -d "$W" --updates --task T1
	assert_line --index 0 "F1/E1/T1:"
	assert_line --index 1 --regexp '^ +0  UPDATE [0-9a-f-]{36} TASK_RUNNING +2023-11-14T22:13:20.500\+00:00 PENDING$'
	TZ=Asia/Kolkata run ckpt-inspect -d "$W" --updates --task T1
	assert_line --index 1 --partial '2023-11-15T03:43:20.500+05:30 PENDING'
}

@test "--verify: 0 on a clean work dir" {
	three_tasks
	run ckpt-inspect -d "$W" --verify
	assert_success
	assert_output ""
}

@test "torn tails at several offsets: reported with the offset of the last whole record, never as data" {
	make_workdir
	update TASK_STARTING >/dev/null
	update TASK_RUNNING >/dev/null
	f=$W/$TASK_DIR/task.updates
	size=$(stat -c %s "$f")
	cp "$f" "$BATS_TEST_TMPDIR/orig"
	half=$((size / 2))
	for cut in 1 3 4 5 $((half - 1)) $((half + 1)) $((half + 4)) $((size - 1)); do
		head -c "$cut" "$BATS_TEST_TMPDIR/orig" > "$f"
		run ckpt-inspect -d "$W" --verify
		assert_failure 65
		end=0; [ "$cut" -ge "$half" ] && end=$half
		assert_output "$f: offset $end: torn tail after the last whole record"
		run ckpt-inspect -d "$W" --json-lines
		assert_success
		assert_output --partial '"torn_tail":true'
		assert_output --partial "\"valid_end\":$end"
		n=0; [ "$cut" -ge "$half" ] && n=1
		assert_output --partial "\"updates\":$n,"
	done
}

@test "a corrupt record: --verify names file and offset; the tree shows the error" {
	make_workdir
	update TASK_STARTING >/dev/null
	f=$W/$TASK_DIR/task.updates
	off=$(stat -c %s "$f")
	printf '\x05\x00\x00\x00\xff\xff\xff\xff\xff' >> "$f"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output "$f: offset $off: record of 5 bytes lacks the checksum the records before it carry, and is not a whole update or ack"
	# the same damage in a stream without checksums (as Mesos writes)
	python3 "$FIXTURES/mesos_workdir.py" "$BATS_TEST_TMPDIR/m"
	g=$(echo "$BATS_TEST_TMPDIR"/m/meta/slaves/*-S0/frameworks/*/executors/exec-web/runs/*-*/tasks/web-1/task.updates)
	moff=$(stat -c %s "$g")
	printf '\x05\x00\x00\x00\xff\xff\xff\xff\xff' >> "$g"
	run ckpt-inspect -d "$BATS_TEST_TMPDIR/m" --verify
	assert_failure 65
	assert_output "$g: offset $moff: record of 5 bytes is not a valid mesos.StatusUpdateRecord"
	run ckpt-inspect -d "$W"
	assert_success
	assert_output --partial "error: $f: offset $off:"
}

@test "an absurd length prefix (4 GiB) is corruption, not an allocation" {
	make_workdir
	f=$W/$TASK_DIR/task.updates
	printf '\xff\xff\xff\xff' > "$f"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "offset 0: record length 4294967295 exceeds limit"
}

@test "a corrupt task.info: reported, the other files still read" {
	make_workdir
	printf '\x03\x00\x00\x00abc' > "$W/$TASK_DIR/task.info"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "task.info: offset 0: record of 3 bytes is not a valid mesos.Task"
	run ckpt-inspect -d "$W" --json-lines
	assert_success
	assert_output --partial '"id":"T1"'
}

@test "trailing bytes after an .info record are corruption" {
	make_workdir
	printf 'x' >> "$W/meta/slaves/A1/slave.info"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "slave.info: offset"
	assert_output --partial "trailing bytes"
}

@test "an empty file is absent, not an error" {
	make_workdir
	: > "$W/$TASK_DIR/task.info"
	: > "$W/$TASK_DIR/task.updates"
	run ckpt-inspect -d "$W" --verify
	assert_success
	run ckpt-inspect -d "$W"
	assert_output --partial "task T1 TASK_UNKNOWN updates 0"
}

@test "an unreadable file is reported with its path and reason" {
	make_workdir
	rm "$W/$TASK_DIR/task.info"
	mkdir "$W/$TASK_DIR/task.info"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "task.info: a directory, not a checkpoint file: refused"
}

@test "a dangling runs/latest link is shown and does not stop the read" {
	make_workdir
	ln -sfn R-gone "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/latest"
	run ckpt-inspect -d "$W"
	assert_success
	assert_output --partial "executor E1 (runs/latest dangles)"
	assert_output --partial "task T1"
}

@test "a latest link naming .. is an error, not a path" {
	make_workdir
	ln -sfn .. "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/latest"
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "latest link names '..'"
}

@test "it never writes to the work dir, even with damage" {
	make_workdir
	update TASK_RUNNING >/dev/null
	printf '\x09' >> "$W/$TASK_DIR/task.updates"
	before=$(snapshot)
	for o in "" --json --json-lines --verify --updates "--unacked --json"; do
		ckpt-inspect -d "$W" $o >/dev/null || true
	done
	assert_equal "$(snapshot)" "$before"
}

@test "a real Mesos agent's work dir (hand-encoded, with fields we do not declare) reads" {
	spawn_mesos_executor
	python3 "$FIXTURES/mesos_workdir.py" "$W" "$SPAWNED"
	run ckpt-inspect -d "$W" --verify
	assert_success
	run ckpt-inspect -d "$W"
	assert_success
	assert_output --partial 'framework 20261124-010101-16777343-5050-1234-0001 "marathon" checkpoint yes'
	assert_output --partial "pid $SPAWNED alive"
	assert_output --partial "task web-1 TASK_RUNNING updates 2 unacked 1"
	assert_output --partial "task web-2 TASK_FINISHED updates 2 unacked 0"
	run ckpt-inspect -d "$W" --updates --task web-1 --json
	assert_line --index 2 --partial '"uuid":"10111213-1415-1617-1819-1a1b1c1d1e1f"'
	assert_line --index 2 --partial '"acknowledged":false'
}

@test "--file decodes any checkpoint file, guessing from the name or told by --type" {
	python3 "$FIXTURES/mesos_workdir.py" "$W"
	x=$W/meta/slaves/latest/frameworks/*/executors/exec-web
	run ckpt-inspect --file $x/executor.info
	assert_success
	assert_output --partial '"value": "/usr/libexec/mesos/mesos-executor"'
	run ckpt-inspect --file $x/runs/latest/tasks/web-2/task.updates
	assert_equal "${#lines[@]}" 4
	assert_line --index 3 --partial '"type":"ACK"'
	cp $x/runs/latest/tasks/web-2/task.info "$BATS_TEST_TMPDIR/blob"
	run ckpt-inspect --file "$BATS_TEST_TMPDIR/blob"
	assert_failure 64
	assert_output --partial "give --type"
	run ckpt-inspect --file "$BATS_TEST_TMPDIR/blob" --type task
	assert_success
	assert_output --partial '"state": "TASK_STAGING"'
	# A Mesos agent's task resources, as ours are checkpointed.
	assert_output --partial '"name": "cpus"'
	assert_output --partial '"value": 0.5'
	run ckpt-inspect --file "$BATS_TEST_TMPDIR/blob" --type frob
	assert_failure 64
	run ckpt-inspect --file "$BATS_TEST_TMPDIR/nothing" --type task
	assert_failure 66
	head -c 10 $x/runs/latest/tasks/web-2/task.updates > "$BATS_TEST_TMPDIR/task.updates"
	run ckpt-inspect --file "$BATS_TEST_TMPDIR/task.updates"
	assert_failure 65
	assert_output --partial "torn tail"
}

@test "AGENT_WORK_DIR is read when -d is absent" {
	make_workdir
	AGENT_WORK_DIR=$W run ckpt-inspect --json-lines
	assert_success
	assert_output --partial '"id":"T1"'
}

@test "symlinked directories planted in the work dir are not followed" {
	make_workdir
	mkdir -p "$BATS_TEST_TMPDIR/outside/executors/EVIL"
	ln -s "$BATS_TEST_TMPDIR/outside" "$W/meta/slaves/A1/frameworks/FEVIL"
	run ckpt-inspect -d "$W"
	assert_success
	refute_output --partial "EVIL"
}

@test "a work dir the caller may not read: permission denied (77), not 'no checkpoint'" {
	command -v setpriv >/dev/null || skip "no setpriv"
	[ "$(id -u)" = 0 ] || skip "needs root to become another user"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN/ckpt-inspect" ||
	    skip "uid 65534 cannot run $BIN/ckpt-inspect"
	make_workdir
	d=$(mktemp -d /tmp/agent-perm.XXXXXX)
	cp -a "$W" "$d/w"
	chmod 0755 "$d" "$d/w"
	for t in "ckpt-inspect -d $d/w" "ckpt-inspect -d $d/w --verify" "recover -d $d/w"; do
		run setpriv --reuid=65534 --regid=65534 --clear-groups $BIN/$t
		assert_failure 77
		assert_output --partial "$d/w/meta: Permission denied"
		refute_output --partial "no checkpoint"
	done
	rm -rf "$d"
}

@test "--file on damaged records: what decodes is shown, a bad record as its offset, reason and bytes; a torn tail too (65)" {
	make_workdir
	update TASK_STARTING >/dev/null
	update TASK_RUNNING >/dev/null
	update TASK_FINISHED >/dev/null
	f=$W/$TASK_DIR/task.updates
	# Damage the second record's body (its length is intact), tear the end.
	second=$(ckpt-inspect --file "$f" | jq -s '.[1].offset')
	printf '\xff\xff\xff' | dd of="$f" bs=1 seek=$((second + 6)) conv=notrunc 2>/dev/null
	printf '\x40\x00' >> "$f"
	run ckpt-inspect --file "$f"
	assert_failure 65
	assert_line --partial '"state":"TASK_STARTING"'
	assert_line --partial '"state":"TASK_FINISHED"'
	assert_line --regexp "^\\{\"type\":\"damaged\",\"offset\":$second,\"error\":\"[^\"]+\",\"bytes\":\"[0-9a-f]*ffffff[0-9a-f]*\"\\}$"
	assert_line --regexp '^\{"type":"damaged","offset":[0-9]+,"error":"torn tail","bytes":"4000"\}$'
	printf '\x04\x00\x00\x00\xff\xff\xff\xff' > "$W/$TASK_DIR/task.info"
	run ckpt-inspect --file "$W/$TASK_DIR/task.info"
	assert_failure 65
	assert_line '{"type":"damaged","offset":0,"error":"record of 4 bytes is not a valid mesos.Task","bytes":"04000000ffffffff"}'
}

@test "--exit-status: a filter that matches nothing exits 1, as grep and jq -e do (ckpt-inspect and recover)" {
	make_workdir
	run ckpt-inspect -d "$W" --task NOPE --exit-status --json-lines
	assert_failure 1
	assert_output ""
	run ckpt-inspect -d "$W" --task T1 --exit-status --json-lines
	assert_success
	run ckpt-inspect -d "$W" --task NOPE --json-lines
	assert_success
	run recover -d "$W" --task NOPE --exit-status --json
	assert_failure 1
	run recover -d "$W" --task T1 --exit-status --json
	assert_success
	assert_output --partial '"T1"'
}

@test "a task that ended while no agent ran: shown ended (its exit's state), its final update still to come, not RUNNING" {
	agent_start
	launch --checkpoint F1 E1 T1 -- sh -c 'while [ ! -e go ]; do sleep 0.05; done; exit 3'
	agent_kill9
	box=$(sandbox F1 E1)
	touch "$box/go"
	exit_file=$(readlink -f "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest)/executor.exit
	wait_for 10 test -s "$exit_file"
	run ckpt-inspect -d "$W"
	assert_output --partial "task T1 TASK_FAILED updates 2 unacked 2 (ended while no agent ran; its final update is still to be delivered)"
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"state":"TASK_FAILED"'
	assert_output --partial '"final_update_pending":true'
	run recover -d "$W" --json
	assert_output --partial '"state":"TASK_FAILED","pending":2,"final_update_pending":true'
	run ckpt-inspect -d "$W" --state failed --exit-status --json-lines
	assert_success
	# The next agent delivers it, once.
	agent_start
	wait_event '.event=="update" and .state=="TASK_FAILED"'
	assert_equal "$(count '.state=="TASK_FAILED"')" 1
}
