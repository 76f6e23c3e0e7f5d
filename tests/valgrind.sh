#!/bin/bash
# make valgrind: every tool under valgrind memcheck on a small workload (the
# executors too, through agent-run's --launcher).  Passes with 0 errors and
# 0 bytes definitely lost in every process; prints one line per process.
set -u
bin=$(realpath "${1:-build/bin}")
tmp=$(mktemp -d /tmp/vg.XXXXXX)
W=$tmp/w
VG=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=42 --log-file="$tmp/vg.%p.log")
trap 'pkill -9 -f -- "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp"
run() { "${VG[@]}" "$bin/$1" "${@:2}"; }
run ckpt-write -d "$W" agent <<<'{"hostname":"h1","id":"A1"}'
run ckpt-write -d "$W" framework <<<'{"user":"u","name":"fw","id":"F1","checkpoint":true}'
run ckpt-write -d "$W" executor <<<'{"executor_id":"E1","framework_id":"F1","command":{"value":"true","arguments":["true"],"shell":false}}'
run ckpt-write -d "$W" -f F1 -e E1 -r R1 run <<<'{"pid":999999}' >/dev/null
run ckpt-write -d "$W" task <<<'{"name":"t","task_id":"T1","framework_id":"F1","executor_id":"E1","slave_id":"A1","state":"TASK_STAGING"}'
u=$(run ckpt-write -d "$W" -f F1 -e E1 update <<<'{"framework_id":"F1","status":{"task_id":"T1","state":"TASK_RUNNING"},"timestamp":1}')
run ckpt-write -d "$W" -f F1 -e E1 -t T1 ack <<<"{\"uuid\":\"$u\"}"
run ckpt-write -d "$W" agent <<<'{"hostname":1}' 2>/dev/null
for o in "" --json --json-lines --verify --updates "--unacked --json"; do run ckpt-inspect -d "$W" $o >/dev/null; done
run ckpt-inspect --file "$W/meta/slaves/A1/slave.info" >/dev/null
run recover -d "$W" >/dev/null
run recover -d "$W" --gc 0s --dry-run >/dev/null
# the agent and its executors
mkfifo "$tmp/in"
"${VG[@]}" "$bin/agent-run" -d "$W" --launcher "${VG[*]}" --executor-reregistration-timeout=10s <"$tmp/in" >"$tmp/ev" 2>/dev/null &
agent=$!
exec 7>"$tmp/in"
echo "launch --checkpoint F1 E2 T2 -- sleep 1000" >&7
echo "launch F1 E3 T3 -- true" >&7
for i in $(seq 300); do [ "$(grep -c TASK_RUNNING "$tmp/ev")" -ge 2 ] && break; sleep 0.1; done
for u in $(jq -r 'select(.event=="update") | .uuid' "$tmp/ev"); do echo "ack $u" >&7; done
sleep 1
exec 7>&-
wait $agent
"${VG[@]}" "$bin/recover" -d "$W" > "$tmp/plan"
"${VG[@]}" "$bin/executor-reconnect" < "$tmp/plan" >/dev/null
"${VG[@]}" "$bin/executor-kill" --grace 5s < "$tmp/plan" >/dev/null
sleep 1
status=0 n=0
for f in "$tmp"/vg.*.log; do
	n=$((n + 1))
	# memcheck's reports are the ==PID== lines; --PID-- lines are valgrind
	# notes (3.19 does not know pidfd_open: our code falls back to kill(2)
	# after the same identity proof).
	if grep -q '^==[0-9]*==' "$f"; then
		status=1
		echo "== ${f##*/}"; cat "$f"
	fi
done
echo "valgrind: $n processes checked, $( [ $status = 0 ] && echo "0 errors, 0 bytes definitely lost" || echo "REPORTS above")"
exit $status
