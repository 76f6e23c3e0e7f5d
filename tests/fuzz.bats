#!/usr/bin/env bats
# libFuzzer (clang, ASan+UBSan) on the record stream reader, ckpt-write's
# JSON input, agent-run's command parser and the executor socket's
# decoder, each for a short bounded time from its seed corpus
# (tests/fuzz/*/).  `make fuzz` runs them longer.  They run once, in the
# pass over the normal build.

load helpers

@test "fuzz targets: no finding in ${FUZZ_CHECK_TIME:-15}s each" {
	case "$BIN" in *asan*) skip "run once, in the normal pass" ;; esac
	dir=$BATS_TEST_DIRNAME/../build/fuzz/fuzz
	[ -x "$dir/fuzz_record" ] || skip "no fuzz build (make CC=clang FUZZ=1 BUILD=build/fuzz fuzzers)"
	run "$BATS_TEST_DIRNAME/fuzz/run" "$dir" "${FUZZ_CHECK_TIME:-15}"
	echo "$output" | sed 's/^/# /' >&3
	assert_success
	assert_equal "$(echo "$output" | grep -c 'no finding')" 4
}
