#!/usr/bin/env bats
# ckpt-write with EIO, ENOSPC or a crash at each of its durable steps:
# a clear error naming the file and 74 (or 99 for the injected crash),
# no temporary file left, and the work dir still reads cleanly.

load helpers

setup() {
	common_setup
	fb=${FAULT_BIN:-$BATS_TEST_DIRNAME/../build/fault/bin}
	[ -x "$fb/ckpt-write" ] || skip "no fault build"
}

# sweep KIND ARGS... <<< JSON: every step of one ckpt-write, in each mode.
sweep() {
	local input k K mode st
	input=$(cat)
	rm -rf "$W" && make_workdir
	cp -a "$W" "$BATS_TEST_TMPDIR/base"
	CKPT_FAULT_LOG=$BATS_TEST_TMPDIR/steps "$fb/ckpt-write" -d "$W" "$@" <<<"$input" >/dev/null
	K=$(wc -l < "$BATS_TEST_TMPDIR/steps")
	rm "$BATS_TEST_TMPDIR/steps"
	[ "$K" -gt 0 ]
	for mode in eio enospc crash; do
		for ((k = 1; k <= K; k++)); do
			rm -rf "$W" && cp -a "$BATS_TEST_TMPDIR/base" "$W"
			st=0
			out=$(CKPT_FAULT_STEP=$k CKPT_FAULT_MODE=$mode "$fb/ckpt-write" -d "$W" "$@" <<<"$input" 2>&1) || st=$?
			if [ "$mode" = crash ]; then
				[ "$st" = 99 ] || fail "$*: crash at step $k: exit $st"
			else
				[ "$st" = 74 ] || fail "$*: $mode at step $k: exit $st: $out"
				[[ $out == *"$W"* ]] || fail "$*: $mode at step $k: no file named: $out"
				[ -z "$(find "$W" -name '*.tmp.*')" ] || fail "$*: $mode at step $k: a temporary file is left"
			fi
			ckpt-inspect -d "$W" --verify >/dev/null || fail "$*: $mode at step $k: the work dir does not verify"
		done
	done
	echo "# ckpt-write $*: $K steps x 3 modes" >&3
}

@test "an .info file (framework): every step, every mode" {
	sweep framework <<<'{"user":"u","name":"fw2","id":"F2","checkpoint":true}'
}

@test "a new run (directories, link, pid files): every step, every mode" {
	sweep -f F1 -e E1 -r R9 run <<<'{"pid":123,"start_time":4}'
}

@test "an update appended: every step, every mode" {
	sweep -f F1 -e E1 update <<<'{"framework_id":"F1","status":{"task_id":"T1","state":"TASK_RUNNING"},"timestamp":1}'
}
