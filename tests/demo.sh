#!/bin/bash
# make demo: a real agent, real tasks, the agent killed and restarted, the
# tasks carried through.  Scenario 1 (a task that outlives the agent) and
# scenario 2 (a task that finishes while the agent is down), narrated.
set -euo pipefail
bin=$(realpath "${1:-build/bin}")
export PATH=$bin:$PATH
W=$(mktemp -d /tmp/agent-demo.XXXXXX)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }
cleanup() { exec 5>&- 2>/dev/null || true; pkill -9 -f -- "-d $W/w" 2>/dev/null || true; }
trap cleanup EXIT

n=0
start_agent() {
	n=$((n + 1)); ev=$W/events.$n
	mkfifo "$W/in.$n"; : > "$ev"
	agent-run -d "$W/w" "$@" < "$W/in.$n" > "$ev" 2> "$W/agent.$n.log" &
	agent=$!
	exec 5> "$W/in.$n"
}
send() { echo "> $*"; echo "$*" >&5; }
# wait_ev JQ [SECONDS]: wait for an event; print it.
wait_ev() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		if [ -n "$(jq -c "select($1)" "$ev" 2>/dev/null)" ]; then
			jq -c "select($1)" "$ev" | tail -1 | sed 's/^/  < /'
			return 0
		fi
		sleep 0.05
	done
	fail "no event $1 within ${2:-10}s"
}
get() { jq -r "select($1) | .$2" "$ev" | tail -1; }

say "start an agent on $W/w"
start_agent
wait_ev '.event=="registered"'

say "launch two tasks of a checkpointing framework"
send "launch --checkpoint web E-long T-long -- sh -c 'while [ ! -e stop ]; do sleep 0.2; done'"
wait_ev '.task_id=="T-long" and .state=="TASK_RUNNING"'
send "launch --checkpoint web E-short T-short -- sh -c 'while [ ! -e stop ]; do sleep 0.2; done; exit 0'"
wait_ev '.task_id=="T-short" and .state=="TASK_RUNNING"'
for u in $(jq -r 'select(.event=="update") | .uuid' "$ev"); do send "ack $u"; done
wait_ev '.event=="acknowledged"'
long_exec=$(get '.event=="launched" and .task_id=="T-long"' pid)
long_task=$(pgrep -P "$long_exec")

say "kill -9 the agent (pid $agent)"
kill -9 "$agent"; wait "$agent" 2>/dev/null || true
exec 5>&-
kill -0 "$long_task" || fail "the task died with the agent"
echo "the task (pid $long_task) is still running; ckpt-inspect shows:"
ckpt-inspect -d "$W/w"

say "while the agent is down, T-short finishes"
short_box=$(dirname "$W"/w/slaves/*/frameworks/web/executors/E-short/runs/*/stdout)
touch "$short_box/stop"
for ((i = 0; i < 100; i++)); do
	grep -qs exited "$W"/w/meta/slaves/latest/frameworks/web/executors/E-short/runs/latest/executor.exit && break
	sleep 0.05
done
echo "its exit status is checkpointed: $(cat "$W"/w/meta/slaves/latest/frameworks/web/executors/E-short/runs/latest/executor.exit)"
echo "what an agent would do now (recover):"
recover -d "$W/w" --table

say "restart the agent"
start_agent
wait_ev '.event=="reregistered"'
wait_ev '.event=="reconnected" and .task_id=="T-long"'
wait_ev '.task_id=="T-short" and .state=="TASK_FINISHED"'
[ "$(pgrep -P "$long_exec")" = "$long_task" ] || fail "T-long is not the same process"
echo "T-long kept its pid $long_task; T-short's FINISHED arrived after the restart"
send "ack $(get '.task_id=="T-short" and .state=="TASK_FINISHED"' uuid)"
wait_ev '.event=="terminated" and .task_id=="T-short"'

say "now T-long finishes too"
long_box=$(dirname "$W"/w/slaves/*/frameworks/web/executors/E-long/runs/*/stdout)
touch "$long_box/stop"
wait_ev '.task_id=="T-long" and .state=="TASK_FINISHED"'
send "ack $(get '.task_id=="T-long" and .state=="TASK_FINISHED"' uuid)"
wait_ev '.event=="terminated" and .task_id=="T-long"'
[ "$(jq -c 'select(.state=="TASK_FINISHED")' "$ev" | wc -l)" = 2 ] || fail "FINISHED not delivered exactly once each"
send shutdown
wait_ev '.event=="shutdown"'
wait "$agent"
say "done: both tasks carried through an agent crash; work dir kept at $W/w"
