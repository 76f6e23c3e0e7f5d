#!/usr/bin/env bats
# Hostile work dirs and callers.

load helpers

@test "a symlink planted in the work dir pointing outside: writes refuse it, reads do not follow it" {
	make_workdir
	mkdir "$BATS_TEST_TMPDIR/outside"
	ln -s "$BATS_TEST_TMPDIR/outside" "$W/meta/slaves/A1/frameworks/F2"
	run ckpt-write -d "$W" framework <<<'{"user":"u","name":"evil","id":"F2"}'
	assert_failure 74
	assert_output --partial "frameworks/F2: a symbolic link inside the work dir: refused"
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/outside")" ""
	# a file planted as a link to a real checkpoint elsewhere is not state
	echo '{"user":"u","name":"elsewhere","id":"FX"}' | ckpt-write -d "$BATS_TEST_TMPDIR/other" -a A1 framework
	rm "$W/meta/slaves/A1/frameworks/F1/framework.info"
	ln -s "$BATS_TEST_TMPDIR/other/meta/slaves/A1/frameworks/FX/framework.info" "$W/meta/slaves/A1/frameworks/F1/framework.info"
	run ckpt-inspect -d "$W" --json
	refute_output --partial elsewhere
	run ckpt-inspect -d "$W" --verify
	assert_failure 65
	assert_output --partial "framework.info: a symbolic link, not a checkpoint file"
}

@test "agent-run does not write through a planted link either" {
	agent_start
	wait_event '.event=="registered"'
	mkdir "$BATS_TEST_TMPDIR/outside"
	ln -s "$BATS_TEST_TMPDIR/outside" "$W/meta/slaves/latest/frameworks"
	agent_send launch --checkpoint F1 E1 T1 -- true
	wait_event '.event=="error"'
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/outside")" ""
	agent_wait_exit
	assert_equal "$AGENT_STATUS" 74
}

@test "a latest link naming .. is refused as state" {
	make_workdir
	ln -sfn .. "$W/meta/slaves/latest"
	run recover -d "$W"
	assert_failure 65
	assert_output --partial "latest link names '..'"
}

@test "a 4 GiB length prefix: a bounded allocation and a clear error" {
	make_workdir
	printf '\xff\xff\xff\xff\x00' > "$W/$TASK_DIR/task.updates"
	run recover -d "$W"
	assert_failure 65
	assert_output --partial "offset 0: record length 4294967295 exceeds limit 16777216"
	printf '\xff\xff\xff\x7f' > "$W/$TASK_DIR/task.info"
	run ckpt-inspect -d "$W" --verify
	assert_output --partial "record length 2147483647 exceeds limit"
}

@test "a world-writable work dir is refused by the writers (77)" {
	mkdir -m 0777 "$W"
	chmod 0777 "$W"
	run agent-run -d "$W" </dev/null
	assert_failure 77
	assert_output --partial "writable by everyone (mode 777): refused; chmod 0700 it"
	run ckpt-write -d "$W" agent <<<'{"hostname":"h","id":"A"}'
	assert_failure 77
	assert_not_exist "$W/meta"
}

@test "a work dir owned by another user is refused (77)" {
	[ "$(id -u)" = 0 ] || skip "needs root to make one"
	mkdir -m 0700 "$W"
	chown 65534 "$W"
	run agent-run -d "$W" </dev/null
	assert_failure 77
	assert_output --partial "owned by uid 65534"
}
