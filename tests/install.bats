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
	assert_file_exist "$d/opt/at/lib/systemd/system/agent-run.socket"
	assert_file_exist "$d/opt/at/lib/systemd/system/agent-executors.slice"
	# The units name the installed binary, not a placeholder.
	run grep -h '^ExecStart=' "$d/opt/at/lib/systemd/system/agent-run.service"
	assert_output --partial 'ExecStart=/opt/at/bin/agent-run --launcher'
	run grep -rl '@BINDIR@' "$d/opt/at/lib/systemd/system"
	assert_output ""
}

@test "the installed units pass systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	p=$BATS_TEST_TMPDIR/prefix
	run make -C "$BATS_TEST_DIRNAME/.." install PREFIX="$p"
	assert_success
	run systemd-analyze verify "$p/lib/systemd/system/agent-run.socket" \
	    "$p/lib/systemd/system/agent-run.service" \
	    "$p/lib/systemd/system/agent-executors.slice"
	assert_success
	refute_output --partial "agent-run"
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

@test "make deps: as a user it prints the exact apt-get line for what is missing and stops (69)" {
	command -v setpriv >/dev/null || skip "no setpriv"
	[ "$(id -u)" = 0 ] || skip "needs root to become another user"
	cp "$BATS_TEST_DIRNAME/../Makefile" "$BATS_TEST_TMPDIR/Makefile"
	chmod -R o+rx "$BATS_TEST_TMPDIR"
	chmod o+x "$(dirname "$BATS_TEST_TMPDIR")" "$(dirname "$(dirname "$BATS_TEST_TMPDIR")")"
	run setpriv --reuid=65534 --regid=65534 --clear-groups make -s -C "$BATS_TEST_TMPDIR" deps DEB_PKGS="make no-such-package-xyz"
	assert_failure
	assert_output --partial "missing Debian packages; run as root:"
	assert_output --partial "apt-get install -y no-such-package-xyz"
	run setpriv --reuid=65534 --regid=65534 --clear-groups make -s -C "$BATS_TEST_TMPDIR" deps DEB_PKGS="make"
	assert_success
}
