#!/usr/bin/env bats
# make install into a DESTDIR; man pages lint clean.

load helpers

@test "make install DESTDIR=... PREFIX=... installs binaries, man pages, completions, the unit" {
	d=$BATS_TEST_TMPDIR/dest
	run make -C "$BATS_TEST_DIRNAME/.." install DESTDIR="$d" PREFIX=/opt/at
	assert_success
	assert_file_exist "$d/etc/cron.d/agent-tools"
	for b in agent-run agent-executor ckpt-write ckpt-inspect recover executor-reconnect executor-kill; do
		assert_file_executable "$d/opt/at/bin/$b"
		assert_file_exist "$d/opt/at/share/man/man1/$b.1"
		assert_file_exist "$d/opt/at/share/bash-completion/completions/$b"
		run "$d/opt/at/bin/$b" --version
		assert_success
		assert_output --regexp "^$b [0-9]+\.[0-9]+\.[0-9]+( \(executor protocol [0-9]+, speaks [0-9]+-[0-9]+; work dir format [0-9]+\))?$"
	done
	assert_file_exist "$d/opt/at/share/man/man7/agent-tools.7"
	assert_file_exist "$d/opt/at/share/zsh/site-functions/_agent-tools"
	assert_file_exist "$d/opt/at/lib/systemd/system/agent-run.service"
	assert_file_exist "$d/opt/at/lib/systemd/system/agent-run.socket"
	assert_file_exist "$d/opt/at/lib/systemd/system/agent-executors.slice"
	# The units name the installed binary, not a placeholder.
	run grep -h '^ExecStart=' "$d/opt/at/lib/systemd/system/agent-run.service"
	assert_output --partial 'ExecStart=/opt/at/bin/agent-run --cgroup-root self --launcher'
	run grep -rl '@BINDIR@' "$d/opt/at/lib/systemd/system"
	assert_output ""
}

@test "make and make install without the build packages: the exact apt-get line, and stop (as a user; root installs them)" {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	# (bats's own directories are 0700: nobody reads a copy in /tmp)
	MK=$(mktemp -d /tmp/agent-tools-make.XXXXXX)
	cp "$BATS_TEST_DIRNAME/../Makefile" "$MK/Makefile"
	chmod -R a+rX "$MK"
	for t in all install; do
		run su nobody -s /bin/bash -c "cd '$MK' && make $t PKGS=no-such-pc-module BUILD_PKGS='gcc no-such-deb-package'"
		assert_failure
		assert_output --partial "missing Debian packages; run as root:"
		assert_output --partial "apt-get install -y no-such-deb-package"
		refute_output --partial "protoc-c"
	done
}

@test "one cleanup scheduler: the cron file is installed disabled (no schedule line), enabled only with ENABLE_CRON=1" {
	p=$BATS_TEST_TMPDIR/prefix
	run make -C "$BATS_TEST_DIRNAME/.." install PREFIX="$p" SYSCONFDIR="$p/etc"
	assert_success
	assert_equal "$(cron_lines "$p/etc/cron.d/agent-tools" | wc -l)" 0
	# The two cleanup lines, and the metrics line (disabled apart).
	assert_equal "$(grep -c '^#.* root ' "$p/etc/cron.d/agent-tools")" 3
	run grep -c 'systemctl enable --now agent-orphans.timer' "$p/etc/cron.d/agent-tools"
	assert_output 1
	run make -C "$BATS_TEST_DIRNAME/.." install PREFIX="$p" SYSCONFDIR="$p/etc" ENABLE_CRON=1
	assert_success
	assert_equal "$(cron_lines "$p/etc/cron.d/agent-tools" | wc -l)" 2
	run grep -c '@CRON@' "$p/etc/cron.d/agent-tools"
	assert_output 0
}

@test "the installed units pass systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	p=$BATS_TEST_TMPDIR/prefix
	run make -C "$BATS_TEST_DIRNAME/.." install PREFIX="$p" SYSCONFDIR="$p/etc"
	assert_success
	assert_equal "$(ls "$p"/lib/systemd/system | wc -l)" 9
	run systemd-analyze verify "$p"/lib/systemd/system/*
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

# A real syslog socket for the test (none runs here): what it receives
# goes to $1.  Removed in teardown.
syslog_start() {
	spawn python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
f = open(sys.argv[1], "ab", 0)
while True:
    f.write(s.recv(65536) + b"\n")' "$1"
	touch "$BATS_TEST_TMPDIR/our-dev-log"
	wait_for 5 test -S /dev/log
}
teardown() {
	common_teardown
	if [ -e "$BATS_TEST_TMPDIR/our-dev-log" ]; then rm -f /dev/log; fi
	[ -z "${MK:-}" ] || rm -rf "$MK"
}

# cron_lines FILE: the command of each schedule line of a cron.d file.
cron_lines() { grep -E '^[0-9*]' "$1" | cut -d' ' -f7-; }
# cron_env FILE [VAR=VALUE...]: the environment cron gives its lines: its
# default PATH, then the file's assignments, then the given overrides.
cron_env() {
	local f=$1
	shift
	echo PATH=/usr/bin:/bin
	grep -E '^[A-Z_]+=' "$f"
	printf '%s\n' "$@"
}

@test "the installed crontab works in cron's environment: the tools are found, messages reach syslog with a time, a failing stage fails loudly" {
	[ "$(id -u)" = 0 ] || skip "needs root (the syslog socket)"
	[ -e /dev/log ] && skip "a syslog socket exists here; its messages are not ours to read"
	p=$BATS_TEST_TMPDIR/prefix
	run make -C "$BATS_TEST_DIRNAME/.." install PREFIX="$p" SYSCONFDIR="$p/etc" ENABLE_CRON=1
	assert_success
	tab=$p/etc/cron.d/agent-tools
	assert_file_exist "$tab"
	run grep -c '@BINDIR@' "$tab"
	assert_output 0
	syslog_start "$BATS_TEST_TMPDIR/syslog"
	# An orphan: a checkpointed executor whose agent died, past its
	# recovery timeout (noted by the executor; moved to the past here).
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	dl=$W/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/pids/executor.deadline
	wait_for 5 test -s "$dl"
	echo 1 > "$dl"
	mapfile -t envv < <(cron_env "$tab" "AGENT_WORK_DIR=$W")
	shell=$(sed -n 's/^SHELL=//p' "$tab")
	while IFS= read -r line; do
		run env -i "${envv[@]}" "$shell" -c "$line"
		assert_success
		assert_output ""	# nothing for cron to mail
	done < <(cron_lines "$tab")
	wait_for 10 dead "$XPID"
	wait_for 5 grep -q 'agent-orphans: .*"result":"killed"' "$BATS_TEST_TMPDIR/syslog"
	# One summary line each, whatever happened.
	wait_for 5 grep -q 'agent-orphans: recover: orphans: 1; 0 executors within' "$BATS_TEST_TMPDIR/syslog"
	wait_for 5 grep -q 'agent-orphans: executor-kill: killed 1, gone 0' "$BATS_TEST_TMPDIR/syslog"
	wait_for 5 grep -q 'agent-gc: recover: gc: removed 0 paths' "$BATS_TEST_TMPDIR/syslog"
	# Syslog's header: a priority and a time before the tag.
	run grep -E '^<[0-9]+>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} .*agent-orphans' "$BATS_TEST_TMPDIR/syslog"
	assert_success
	# A stage that fails: the line says so on stderr (cron mails it).
	mapfile -t envv < <(cron_env "$tab" "AGENT_WORK_DIR=$BATS_TEST_TMPDIR/none")
	while IFS= read -r line; do
		run env -i "${envv[@]}" "$shell" -c "$line"
		assert_output --regexp 'agent-(orphans|gc): failed \(status [1-9][0-9]*\)'
	done < <(cron_lines "$tab")
	wait_for 5 grep -q 'agent-gc: recover: .*none' "$BATS_TEST_TMPDIR/syslog"
	# Without the file's PATH (cron's own) the tools are not found: the
	# PATH line is what makes it work.
	run env -i PATH=/usr/bin:/bin bash -c 'command -v recover'
	[ "$p" = /usr/local ] || assert_failure
}

@test "the bats library: installed where bats_load_library finds it, and its man page's example test passes" {
	p=$BATS_TEST_TMPDIR/prefix
	run make -C "$BATS_TEST_DIRNAME/.." install PREFIX="$p" SYSCONFDIR="$p/etc"
	assert_success
	assert_file_exist "$p/lib/bats/agent-tools/load.bash"
	assert_file_exist "$p/share/man/man7/agent-tools-bats.7"
	# The EXAMPLES test, with `sleep` as the server.
	t=$BATS_TEST_TMPDIR/mine.bats
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh/p' "$BATS_TEST_DIRNAME/../man/agent-tools-bats.7" |
	    sed -n '/^\.Bd -literal/,/^\.Ed/p' | sed '1d;$d' |
	    sed 's|/usr/bin/my-server --port 8080|sleep 1000|' > "$t"
	grep -q '@test "my server survives an agent restart"' "$t"
	run env PATH="$p/bin:$PATH" BATS_LIB_PATH="$p/lib/bats:/usr/lib/bats" bats --tap "$t"
	assert_success
	assert_line "ok 1 my server survives an agent restart"
}

@test "the bats library's agent_teardown: kills what the test started (cwd or argv in its directory), spares the rest, and does nothing outside a test" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/deep/er" "$t-sibling"
	(cd "$t/deep/er" && exec sleep 1001 </dev/null >/dev/null 2>&1 3>&-) & inside=$!
	(cd / && exec python3 -c 'import time; time.sleep(1002)' "$t/x" </dev/null >/dev/null 2>&1 3>&-) & byarg=$!
	(cd "$t-sibling" && exec sleep 1003 </dev/null >/dev/null 2>&1 3>&-) & sibling=$!
	(cd / && exec sleep 1004 </dev/null >/dev/null 2>&1 3>&-) & outside=$!
	wait_for 5 bash -c "readlink /proc/$inside/cwd | grep -q deep/er"
	# procs_under / procs_in: by working directory, the directory or below
	assert_equal "$(procs_under "$t")" "$inside"
	assert_equal "$(procs_under "$t/deep/er/")" "$inside"
	assert_equal "$(procs_in "$t-sibling")" 1
	assert_equal "$(procs_in "$t/nothing")" 0
	assert_equal "$(procs_under "")" ""
	# Outside a test (teardown_file): an empty prefix must match nothing.
	BATS_TEST_TMPDIR= agent_teardown
	kill -0 "$inside" && kill -0 "$byarg" && kill -0 "$sibling" && kill -0 "$outside"
	agent_teardown
	# Killed: gone, or a zombie of this shell until it is waited for.
	gone() { [ ! -e "/proc/$1" ] || awk '{exit $3 != "Z"}' "/proc/$1/stat"; }
	wait_for 5 gone "$inside"
	wait_for 5 gone "$byarg"
	kill -0 "$outside"
	kill -0 "$sibling"	# its directory only begins with the test's name
	kill "$outside" "$sibling"
	rmdir "$t-sibling"
}

@test "bash completion is installed once, with a link per binary; make uninstall removes every file install wrote" {
	d=$BATS_TEST_TMPDIR/dest
	run make -C "$BATS_TEST_DIRNAME/.." install DESTDIR="$d" PREFIX=/opt/at
	assert_success
	c=$d/opt/at/share/bash-completion/completions
	assert_file_exist "$c/agent-tools"
	for b in agent-run agent-executor ckpt-write ckpt-inspect recover executor-reconnect executor-kill; do
		assert_equal "$(readlink "$c/$b")" agent-tools
	done
	assert_file_exist "$d/opt/at/share/doc/agent-tools/LICENSE"
	run make -C "$BATS_TEST_DIRNAME/.." uninstall DESTDIR="$d" PREFIX=/opt/at
	assert_success
	run find "$d" -type f -o -type l
	assert_output ""
}

@test "make dist: a versioned tarball of the tree that builds once unpacked" {
	command -v git >/dev/null || skip "no git"
	git -C "$BATS_TEST_DIRNAME/.." rev-parse HEAD >/dev/null 2>&1 || skip "not a git checkout"
	b=$BATS_TEST_TMPDIR/b
	run make -C "$BATS_TEST_DIRNAME/.." dist BUILD="$b"
	assert_success
	v=$(sed -n 's/^VERSION *:= *//p' "$BATS_TEST_DIRNAME/../Makefile")
	assert_file_exist "$b/agent-tools-$v.tar.gz"
	tar -xzf "$b/agent-tools-$v.tar.gz" -C "$BATS_TEST_TMPDIR"
	s=$BATS_TEST_TMPDIR/agent-tools-$v
	for f in Makefile LICENSE README.md NEWS .ci/run cmd lib proto tests man completions contrib tests/upgrade.previous; do
		assert_exist "$s/$f"
	done
	run make -s -C "$s" all
	assert_success
	run "$s/build/bin/agent-run" --version
	assert_output --regexp "^agent-run $v \("
}

@test "every man page names the toolkit's version (.Os)" {
	v=$(sed -n 's/^VERSION *:= *//p' "$BATS_TEST_DIRNAME/../Makefile")
	for m in "$BATS_TEST_DIRNAME"/../man/*.[17]; do
		grep -qx ".Os agent-tools $v" "$m" || fail "$m: .Os is not 'agent-tools $v'"
	done
}
