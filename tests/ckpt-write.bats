#!/usr/bin/env bats
# ckpt-write: every kind, every option, every error path.

load helpers

@test "--help prints the synopsis and exits 0; --version" {
	run ckpt-write --help
	assert_success
	assert_output --partial "usage: ckpt-write"
	run ckpt-write --version
	assert_success
	assert_output --regexp "^ckpt-write [0-9]"
}

@test "no kind, an unknown kind or an unknown option is a usage error (64)" {
	run ckpt-write -d "$W"
	assert_failure 64
	run ckpt-write -d "$W" nonsense
	assert_failure 64
	assert_output --partial "unknown kind 'nonsense'"
	run ckpt-write --bogus -d "$W" agent
	assert_failure 64
}

@test "no work dir: usage error naming -d and AGENT_WORK_DIR" {
	run ckpt-write agent <<<'{"hostname":"h","id":"A"}'
	assert_failure 64
	assert_output --partial "AGENT_WORK_DIR"
}

@test "AGENT_WORK_DIR is used when -d is absent" {
	AGENT_WORK_DIR=$W run ckpt-write agent <<<'{"hostname":"h","id":"A"}'
	assert_success
	assert_file_exist "$W/meta/slaves/A/slave.info"
}

@test "agent: writes slave.info and the slaves/latest link" {
	echo '{"hostname":"h1","id":"A1"}' | ckpt-write -d "$W" agent
	assert_file_exist "$W/meta/slaves/A1/slave.info"
	assert_link_exist "$W/meta/slaves/latest"
	assert_equal "$(readlink "$W/meta/slaves/latest")" A1
	run ckpt-inspect --file "$W/meta/slaves/A1/slave.info"
	assert_output --partial '"hostname": "h1"'
}

@test "every kind round-trips: what ckpt-write wrote ckpt-inspect shows identically" {
	make_workdir
	uuid=$(update TASK_RUNNING)
	echo "scheduler@1.2.3.4:5" | ckpt-write -d "$W" -f F1 framework-pid
	for f in executor.info; do
		run ckpt-inspect --file "$W/meta/slaves/A1/frameworks/F1/executors/E1/$f"
		assert_output --partial '"arguments": ['
	done
	run ckpt-inspect -d "$W" --json
	assert_success
	echo "$output" | python3 -c '
import json,sys
d=json.load(sys.stdin)
a=d["agents"][0]; f=a["frameworks"][0]; x=f["executors"][0]; r=x["runs"][0]; t=r["tasks"][0]
assert a["info"]=={"hostname":"h1","id":"A1"}, a["info"]
assert f["info"]=={"user":"u","name":"fw","id":"F1","checkpoint":True}, f["info"]
assert f["pid"]=="scheduler@1.2.3.4:5"
assert x["info"]["command"]=={"value":"sleep","shell":False,"arguments":["sleep","1"]}
assert r["pid"]==999999 and r["latest"]
assert t["info"]=={"name":"t","task_id":"T1","framework_id":"F1","executor_id":"E1","slave_id":"A1","state":"TASK_STAGING"}, t["info"]
assert t["state"]=="TASK_RUNNING" and t["unacked"]==1
assert t["pending"][0]["uuid"]=="'"$uuid"'"
'
}

@test "update prints its uuid; ack acknowledges it" {
	make_workdir
	uuid=$(update TASK_RUNNING)
	[[ $uuid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	echo "{\"uuid\":\"$uuid\"}" | ckpt-write -d "$W" -f F1 -e E1 -t T1 ack
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"updates":1,"acks":1,"unacked":0'
}

@test "an update with its own uuid keeps it" {
	make_workdir
	run update TASK_RUNNING T1 01234567-89ab-cdef-0123-456789abcdef
	assert_output 01234567-89ab-cdef-0123-456789abcdef
	run ckpt-inspect -d "$W" --updates --json
	assert_output --partial '"uuid":"01234567-89ab-cdef-0123-456789abcdef"'
}

@test "--file reads the message from a file" {
	echo '{"hostname":"h9","id":"A9"}' > "$BATS_TEST_TMPDIR/a.json"
	run ckpt-write -d "$W" --file "$BATS_TEST_TMPDIR/a.json" agent
	assert_success
	assert_file_exist "$W/meta/slaves/A9/slave.info"
	run ckpt-write -d "$W" --file "$BATS_TEST_TMPDIR/missing.json" agent
	assert_failure 66
	assert_output --partial "missing.json"
}

@test "bad ids are refused before the file system is touched" {
	for id in "" . .. a/b "$(printf 'a\tb')" "$(printf 'x%.0s' {1..256})"; do
		run ckpt-write -d "$W" -a "$id" agent <<<'{"hostname":"h"}'
		assert_failure 64
		assert_output --partial "agent id"
	done
	assert_not_exist "$W"
	run ckpt-write -d "$W" agent <<<'{"hostname":"h","id":"../../etc"}'
	assert_failure 64
	assert_output --partial "contains '/'"
	assert_not_exist "$W"
}

@test "a 255-byte id is accepted" {
	id=$(printf 'x%.0s' {1..255})
	run ckpt-write -d "$W" agent <<<"{\"hostname\":\"h\",\"id\":\"$id\"}"
	assert_success
}

@test "option and message ids must agree" {
	run ckpt-write -d "$W" -a A2 agent <<<'{"hostname":"h","id":"A1"}'
	assert_failure 65
	assert_output --partial "differs"
	assert_not_exist "$W"
}

@test "bad JSON: exit 65 naming line and column; nothing written" {
	run ckpt-write -d "$W" agent <<<'{"hostname": "h",'
	assert_failure 65
	assert_output --partial "stdin"
	assert_output --partial "line"
	run ckpt-write -d "$W" agent <<<'[1,2]'
	assert_failure 65
	run ckpt-write -d "$W" agent <<<'{"hostname": "h", "hostname": "i", "id":"A"}'
	assert_failure 65
	assert_not_exist "$W"
}

@test "missing required fields: exit 65 naming the field; nothing written" {
	run ckpt-write -d "$W" agent <<<'{"id":"A1"}'
	assert_failure 65
	assert_output --partial "missing required field 'hostname'"
	make_workdir
	before=$(find "$W" -type f | sort | xargs md5sum)
	run ckpt-write -d "$W" -f F1 -e E1 update <<<'{"framework_id":"F1","status":{"task_id":"T1"},"timestamp":1}'
	assert_failure 65
	assert_output --partial "'status.state'"
	run ckpt-write -d "$W" task <<<'{"name":"t","task_id":"T2","framework_id":"F1","slave_id":"A1"}'
	assert_failure 65
	assert_output --partial "'state'"
	assert_equal "$(find "$W" -type f | sort | xargs md5sum)" "$before"
}

@test "wrong types, unknown fields, bad enums and bad uuids are data errors" {
	make_workdir
	run ckpt-write -d "$W" framework <<<'{"user":"u","name":1,"id":"F2"}'
	assert_failure 65
	assert_output --partial "field 'name': expected a string"
	run ckpt-write -d "$W" framework <<<'{"user":"u","name":"n","id":"F2","color":"red"}'
	assert_failure 65
	assert_output --partial "unknown field 'color'"
	run update TASK_NOPE
	assert_failure 65
	assert_output --partial "mesos.TaskState"
	run ckpt-write -d "$W" -f F1 -e E1 -t T1 ack <<<'{"uuid":"nope"}'
	assert_failure 65
	run update TASK_RUNNING T1 not-a-uuid
	assert_failure 65
	assert_output --partial "not a uuid"
	assert_not_exist "$W/meta/slaves/A1/frameworks/F2"
}

@test "missing ids are usage errors naming the option" {
	make_workdir
	run ckpt-write -d "$W" framework-pid <<<''
	assert_failure 64
	assert_output --partial "-f FRAMEWORK"
	run ckpt-write -d "$W" -f F1 -e E1 ack <<<'{"uuid":"01234567-89ab-cdef-0123-456789abcdef"}'
	assert_failure 64
	assert_output --partial "-t TASK"
}

@test "run: generates a run id, writes pid files and moves runs/latest" {
	make_workdir
	run ckpt-write -d "$W" -f F1 -e E1 run <<<'{"pid":123,"start_time":42,"libprocess_pid":"executor(1)@h:1","socket":"/tmp/s"}'
	assert_success
	r=$output
	d=$W/meta/slaves/A1/frameworks/F1/executors/E1/runs
	assert_equal "$(readlink "$d/latest")" "$r"
	assert_equal "$(cat "$d/$r/pids/forked.pid")" 123
	assert_equal "$(cat "$d/$r/pids/forked.start")" 42
	assert_equal "$(cat "$d/$r/pids/libprocess.pid")" "executor(1)@h:1"
	assert_dir_exist "$W/slaves/A1/frameworks/F1/executors/E1/runs/$r"
	run ckpt-write -d "$W" -f F1 -e E1 run <<<'{"pid":"x"}'
	assert_failure 65
}

@test "sentinel and boot-id" {
	make_workdir
	ckpt-write -d "$W" -f F1 -e E1 -r R1 sentinel
	assert_file_exist "$W/meta/slaves/A1/frameworks/F1/executors/E1/runs/R1/executor.sentinel"
	ckpt-write -d "$W" boot-id </dev/null
	assert_equal "$(cat "$W/meta/boot_id")" "$(cat /proc/sys/kernel/random/boot_id)"
	echo 11111111-2222-3333-4444-555555555555 | ckpt-write -d "$W" boot-id
	assert_equal "$(cat "$W/meta/boot_id")" 11111111-2222-3333-4444-555555555555
}

@test "updates append: several updates are all kept, in order" {
	make_workdir
	update TASK_STARTING >/dev/null
	update TASK_RUNNING >/dev/null
	update TASK_FINISHED >/dev/null
	run ckpt-inspect -d "$W" --updates --json
	assert_equal "$(echo "$output" | grep -o 'TASK_[A-Z]*' | tr '\n' ' ')" "TASK_STARTING TASK_RUNNING TASK_FINISHED "
}

@test "a path blocked by a file: exit 73 naming the path; nothing half-made" {
	make_workdir
	: > "$W/meta/slaves/A1/frameworks/F2"
	run ckpt-write -d "$W" framework <<<'{"user":"u","name":"fw2","id":"F2"}'
	assert_failure 73
	assert_output --partial "frameworks/F2"
	assert_output --partial "not a directory"
	run find "$W" -name '*.tmp.*'
	assert_output ""
}

@test "a failing write leaves no partial or temporary file (injected ENOSPC)" {
	fb=${FAULT_BIN:-$BATS_TEST_DIRNAME/../build/fault/bin}
	[ -x "$fb/ckpt-write" ] || skip "no fault build (make FAULT=1 BUILD=build/fault)"
	make_workdir
	before=$(cd "$W" && find . | sort)
	CKPT_FAULT_STEP=1 CKPT_FAULT_MODE=enospc run "$fb/ckpt-write" -d "$W" framework <<<'{"user":"u","name":"fw2","id":"F1"}'
	assert_failure 74
	assert_output --partial "framework.info"
	assert_output --partial "No space left on device"
	assert_equal "$(cd "$W" && find . | sort)" "$before"
	run ckpt-inspect --file "$W/meta/slaves/A1/frameworks/F1/framework.info"
	assert_output --partial '"name": "fw"'
}
