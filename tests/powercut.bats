#!/usr/bin/env bats
# Power loss: crash states built from a recorded workload (every write not
# synced may be lost, torn or zero-filled; every entry not synced into its
# directory may be missing), each checked by an oracle in a private pid
# namespace.  tests/powercut.py says what is modelled and what is not;
# `make stress` explores every state.

load helpers

setup_file() {
	command -v strace >/dev/null || skip "no strace"
	strace -f -o /dev/null true 2>/dev/null || skip "ptrace is not permitted here"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"	# no LSan under ptrace
	export PC=$BATS_FILE_TMPDIR/rec
	AGENT_BIN=$BIN python3 "$BATS_TEST_DIRNAME/powercut.py" record "$PC" >&3 2>&1
}

setup() {
	common_setup
	[ -s "$PC/trace" ] || skip "no recording"
	[ "$(id -u)" = 0 ] || skip "the oracle needs a private pid namespace (root)"
	# A container or a plain chroot may refuse new namespaces (unshare:
	# cannot change root filesystem propagation): said, not failed.
	unshare -p -f -m --mount-proc true 2>/dev/null ||
	    skip "no private pid and mount namespace here (unshare -p -f -m --mount-proc fails)"
}

@test "power loss at every sync barrier and event: strict recovery, nothing acknowledged redelivered, nothing emitted lost, nothing forgotten" {
	run env AGENT_BIN="$BIN" python3 "$BATS_TEST_DIRNAME/powercut.py" explore "$PC" --stride 8
	echo "# ${lines[-1]}" >&3
	assert_success
	assert_line --regexp '^powercut: ops [1-9][0-9]+, .* crash points [1-9][0-9]+, .* violations 0$'
}

@test "the oracle catches a missing fsync before a rename" {
	run env AGENT_BIN="$BIN" python3 "$BATS_TEST_DIRNAME/powercut.py" explore "$PC" --stride 8 --first --mutate drop-fsync
	assert_failure
	assert_line --regexp 'violations [1-9]'
}

@test "the oracle catches a rename made before its file's fsync" {
	run env AGENT_BIN="$BIN" python3 "$BATS_TEST_DIRNAME/powercut.py" explore "$PC" --stride 1 --first --mutate early-rename
	assert_failure
	assert_line --regexp 'violations [1-9]'
}
