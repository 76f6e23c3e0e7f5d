#!/usr/bin/env bats
# make install into a DESTDIR; man pages lint clean.

load helpers

@test "make install DESTDIR=... PREFIX=... installs binaries, man pages, completions, the unit" {
	d=$BATS_TEST_TMPDIR/dest
	run make -C "$BATS_TEST_DIRNAME/.." install DESTDIR="$d" PREFIX=/opt/at
	assert_success
	for b in agent-run agent-executor ckpt-write ckpt-inspect recover executor-reconnect executor-kill; do
		assert_file_executable "$d/opt/at/bin/$b"
		assert_file_exist "$d/opt/at/share/man/man1/$b.1"
		assert_file_exist "$d/opt/at/share/bash-completion/completions/$b"
		run "$d/opt/at/bin/$b" --version
		assert_success
		assert_output --regexp "^$b [0-9]+\.[0-9]+\.[0-9]+$"
	done
	assert_file_exist "$d/opt/at/share/man/man7/agent-tools.7"
	assert_file_exist "$d/opt/at/share/zsh/site-functions/_agent-tools"
	assert_file_exist "$d/opt/at/lib/systemd/system/agent-run.service"
	assert_file_exist "$d/opt/at/lib/systemd/system/agent-executors.slice"
}

@test "every man page: mandoc -Tlint reports nothing; each has the sections" {
	for m in "$BATS_TEST_DIRNAME"/../man/*.[17]; do
		run mandoc -Tlint -Wwarning "$m"
		assert_success
		assert_output ""
		for s in SYNOPSIS DESCRIPTION ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			grep -q "^\.Sh $s\$" "$m" || fail "$m has no $s"
		done
	done
	for m in "$BATS_TEST_DIRNAME"/../man/*.1; do
		grep -q '^\.Sh OPTIONS$' "$m" || fail "$m has no OPTIONS"
	done
}
