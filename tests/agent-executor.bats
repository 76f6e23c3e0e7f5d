#!/usr/bin/env bats
# agent-executor on its own: options, socket permissions, peer check.

load helpers

@test "--help, --version, usage errors" {
	run agent-executor --help
	assert_success
	run agent-executor --version
	assert_success
	run agent-executor -d "$W" --socket s -- true
	assert_failure 64
	run agent-executor -d "$W" --agent A --framework F --executor ../E --run R --task T --socket s -- true
	assert_failure 64
	assert_output --partial "contains '/'"
}

@test "its socket is 0600 in a 0700 directory; another uid is refused (SO_PEERCRED)" {
	command -v setpriv >/dev/null || skip "no setpriv"
	[ "$(id -u)" = 0 ] || skip "needs root to become another user"
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	sock=$(cat "$W"/meta/slaves/latest/frameworks/F1/executors/E1/runs/latest/pids/executor.socket)
	assert_equal "$(stat -c %a "$sock")" 600
	assert_equal "$(stat -c %a "$(dirname "$sock")")" 700
	# open the way for the test, then knock as nobody
	chmod 0777 "$(dirname "$sock")" "$sock"
	chmod o+x "$W" "$BATS_TEST_TMPDIR" "$(dirname "$BATS_TEST_TMPDIR")" "$(dirname "$(dirname "$BATS_TEST_TMPDIR")")"
	run setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
msg = bytes([0x08, 0x00, 0x12, 0x01, 0x58])
try:
    s.sendall(struct.pack("<I", len(msg)) + msg)
except (BrokenPipeError, ConnectionResetError):
    pass
s.settimeout(5)
try:
    print("closed" if s.recv(100) == b"" else "answered")
except ConnectionResetError:
    print("closed")' "$sock"
	assert_output closed
	assert_file_contains "$(sandbox F1 E1)/executor.log" "refused a connection from uid 65534"
}
