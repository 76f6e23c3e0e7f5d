#!/usr/bin/env bats
# health.bats: health checks with Mesos's semantics, run by the executor
# against real listeners (a TCP listener, a small HTTP responder, a
# command that starts failing), also while no agent runs.

load helpers

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# uuids delivered more than once (by one agent: $EV).
twice() { jq -r 'select(.event=="update" and (.redelivered|not)) | .uuid' "${1:-$EV}" | sort | uniq -d; }

@test "TCP: healthy, then the listener goes: a failure update each time, and at --health-failures the task is killed (TASK_KILLED, healthy false)" {
	port=$(free_port)
	agent_start
	# The task listens until the file 'stop' appears in its sandbox.
	cat > "$BATS_TEST_TMPDIR/listen.py" <<EOF
import os, socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port))
s.listen(16)
while not os.path.exists('stop'):
    time.sleep(0.02)
s.close()
time.sleep(600)
EOF
	# (Failures before the listener is up fall in the grace period.)
	launch --checkpoint --health-tcp "$port" --health-delay 0s --health-interval 200ms --health-grace 10s --health-failures 3 F1 E1 T1 -- python3 "$BATS_TEST_TMPDIR/listen.py"
	wait_event '.event=="update" and .healthy==true' 1 30
	assert_equal "$(field '.event=="update" and .healthy==true' reason)" REASON_TASK_HEALTH_CHECK_STATUS_UPDATED
	assert_equal "$(field '.event=="update" and .healthy==true' state)" TASK_RUNNING
	# reconcile carries it.
	agent_send reconcile
	wait_event '.event=="status" and .healthy==true'
	touch "$(sandbox F1 E1)/stop"
	wait_event '.event=="update" and .task_id=="T1" and .state=="TASK_KILLED"' 1 30
	assert_equal "$(count '.event=="update" and .healthy==false and .state=="TASK_RUNNING"')" 3
	assert_equal "$(field '.event=="update" and .state=="TASK_KILLED"' healthy)" false
	run field '.event=="update" and .state=="TASK_KILLED"' message
	assert_output "killed after 3 consecutive failed health checks"
	run field '.event=="update" and .healthy==false and .state=="TASK_RUNNING"' message
	assert_output --regexp "^health check failed: connect to 127.0.0.1:$port: Connection refused$"
	assert_equal "$(twice)" ""
	# ckpt-inspect shows the check and its last result.
	run ckpt-inspect -d "$W" --json
	assert_output --partial "\"health_check\":\"tcp $port\""
	assert_output --regexp '"health":"unhealthy 3 [0-9]+ connect to'
	run ckpt-inspect -d "$W"
	assert_output --regexp "health check tcp $port; last: unhealthy 3 [0-9]+ connect to"
}

@test "HTTP: 2xx and 3xx are healthy, a 500 is not; the path is asked for" {
	port=$(free_port)
	agent_start
	cat > "$BATS_TEST_TMPDIR/web.py" <<EOF
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 500 if os.path.exists('sick') else (302 if self.path == '/moved' else 200)
        open('asked', 'a').write(self.path + '\n')
        self.send_response(code); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', $port), H).serve_forever()
EOF
	launch --checkpoint --health-http "$port/ready" --health-delay 0s --health-interval 200ms --health-grace 10s --health-failures 2 F1 E1 T1 -- python3 "$BATS_TEST_TMPDIR/web.py"
	wait_event '.event=="update" and .healthy==true' 1 30
	grep -qx /ready "$(sandbox F1 E1)/asked"
	touch "$(sandbox F1 E1)/sick"
	wait_event '.event=="update" and .healthy==false' 1 30
	run field '.event=="update" and .healthy==false' message
	assert_output "health check failed: GET http://127.0.0.1:$port/ready: 500"
	wait_event '.event=="update" and .state=="TASK_KILLED"' 1 30
	# A redirect is healthy.
	port2=$(free_port)
	sed -i "s/$port/$port2/" "$BATS_TEST_TMPDIR/web.py"
	launch --checkpoint --health-http "$port2/moved" --health-delay 0s --health-interval 200ms --health-grace 10s F1 E2 T2 -- python3 "$BATS_TEST_TMPDIR/web.py"
	wait_event '.event=="update" and .task_id=="T2" and .healthy==true' 1 30
}

@test "a command that starts failing while the agent is down: the failures are queued, the kill comes at the right count, the next agent delivers each once" {
	agent_start --update-retry-interval 10min
	launch --checkpoint --health-cmd "test ! -e $BATS_TEST_TMPDIR/sick" --health-delay 0s --health-interval 200ms --health-grace 0s --health-failures 4 F1 E1 T1 -- sleep 600
	x=$XPID
	wait_event '.event=="update" and .healthy==true' 1 30
	agent_ack
	agent_kill9
	touch "$BATS_TEST_TMPDIR/sick"
	# The executor kills the task at the 4th failure, no agent there.
	wait_for 30 bash -c 'grep -q . "$0"/meta/slaves/*-S0/frameworks/F1/executors/E1/runs/*-*/executor.exit' "$W"
	agent_start --update-retry-interval 10min
	wait_event '.event=="update" and .state=="TASK_KILLED"' 1 30
	assert_equal "$(count '.event=="update" and .healthy==false and .state=="TASK_RUNNING"')" 4
	assert_equal "$(count '.event=="update" and .state=="TASK_KILLED"')" 1
	assert_equal "$(field '.event=="update" and .state=="TASK_KILLED"' healthy)" false
	assert_equal "$(twice)" ""
	assert_equal "$(count '.event=="update" and .healthy==true')" 0
}

@test "--health-grace: failures before the first success do not count within it; --health-timeout kills a check that hangs, its whole group" {
	agent_start
	t0=$(date +%s%N)
	launch --checkpoint --health-cmd "false" --health-delay 0s --health-interval 200ms --health-grace 2s --health-failures 2 F1 E1 T1 -- sleep 600
	wait_event '.event=="update" and .state=="TASK_KILLED"' 1 30
	t1=$(date +%s%N)
	# Not before the grace was over: the failures in it were not counted.
	[ $(( (t1 - t0) / 1000000 )) -ge 2000 ]
	assert_equal "$(count '.event=="update" and .healthy==false and .state=="TASK_RUNNING"')" 2
	# A check that does not answer: killed with what it forked.
	launch --checkpoint --health-cmd "sh -c 'sleep 101 & sleep 101'" --health-delay 0s --health-interval 300ms --health-timeout 500ms --health-grace 0s --health-failures 100 F1 E2 T2 -- sleep 600
	wait_event '.event=="update" and .task_id=="T2" and .healthy==false' 1 30
	run field '.event=="update" and .task_id=="T2" and .healthy==false' message
	assert_output "health check failed: no answer within 500 ms (killed)"
	agent_send kill T2
	wait_event '.event=="update" and .task_id=="T2" and .state=="TASK_KILLED"' 1 30
	wait_for 10 bash -c '! pgrep -f "^sleep 101"'
}

@test "launch refuses a wrong check, naming it" {
	agent_start
	agent_send launch --health-tcp 70000 F1 E1 T1 -- sleep 600
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "launch: --health-tcp: '70000' is not PORT"
	agent_send launch --health-cmd true --health-tcp 80 F1 E1 T1 -- sleep 600
	wait_event '.event=="error"' 2
	assert_equal "$(field '.event=="error"' message)" "launch: one health check: --health-cmd, --health-tcp or --health-http"
	agent_send launch --health-interval soon F1 E1 T1 -- sleep 600
	wait_event '.event=="error"' 3
	run field '.event=="error"' message
	assert_output --partial "--health-interval: 'soon' is not a duration"
}
