#!/bin/bash
# crash-sweep.sh MODE [STRIDE]: a fixed workload through agent-run (three
# tasks of a checkpointing framework: two keep running, one finishes; some
# updates acknowledged, some not), crashed (MODE=crash) or failed with EIO
# or ENOSPC (MODE=eio|enospc) at durable step k, for k = 1..K (every
# STRIDE-th), then restarted from what is on disk and checked:
#  - strict recovery succeeds (a torn tail at most, truncated);
#  - no update acknowledged before the crash is emitted again;
#  - every update emitted and not acknowledged before is emitted again
#    (unless its task's terminal update was acknowledged: that completes
#    the stream);
#  - every live executor is reconnected; no task is lost while its
#    executor lives;
#  - with EIO/ENOSPC: the agent exits 74 (or 73) naming the file.
# Prints "MODE: K=.. steps tried=.. passed=.. failed=.." and exits 1 on a
# failure.  Needs build/fault (fault points) and build/bin.
set -u
trap "" PIPE	# the agent may die under our writes: that is the point
mode=${1:-crash} stride=${2:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
fault=${FAULT_BIN:-$root/build/fault/bin}
bin=${AGENT_BIN:-$root/build/bin}
tmp=$(mktemp -d /tmp/sweep.XXXXXX)
trap 'cleanup_all; rm -rf "$tmp"' EXIT

# Every process of a step works under $tmp (the agent in its directory,
# executors and tasks, held or not, in their sandboxes): procs_under (the
# bats library's) finds them in one pass over /proc, 0.2 s with 20,000
# processes on the host; a readlink per process took 20 s per step.
. "$root/contrib/bats/agent-tools/load.bash"
cleanup_all() { procs_under "$tmp" | xargs -r kill -9 2>/dev/null; }

# wait_ev FILE JQ N SECONDS PID: until N events match, or PID exited.
wait_ev() {
	local i
	for ((i = 0; i < $4 * 100; i++)); do
		[ "$(jq -c "select($2)" "$1" 2>/dev/null | wc -l)" -ge "$3" ] && return 0
		kill -0 "$5" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}
uuid_of() { jq -r "select(.event==\"update\" and .task_id==\"$2\" and .state==\"$3\") | .uuid" "$1" | head -1; }

# workload DIR [ENV...]: run the workload against the agent; returns the
# agent's exit status.
workload() {
	local d=$1 pid status=0
	shift
	mkfifo "$d/in1"
	(cd "$d" && exec env "$@" "$fault/agent-run" -d "$d/w" --executor "$bin/agent-executor" \
	    --agent-id A1 --hostname h <"$d/in1" >"$d/ev1" 2>"$d/err1") &
	pid=$!
	exec 7>"$d/in1"
	{
		echo "launch --checkpoint F T1e T1 -- sleep 1000"
		echo "launch --checkpoint F T2e T2 -- sleep 1000"
		echo "launch --checkpoint F T3e T3 -- true"
	} >&7 2>/dev/null
	if wait_ev "$d/ev1" '.event=="update" and (.state=="TASK_RUNNING" or .state=="TASK_FINISHED")' 4 10 "$pid"; then
		for a in "T1 TASK_STARTING" "T1 TASK_RUNNING" "T3 TASK_FINISHED"; do
			set -- $a
			echo "ack $(uuid_of "$d/ev1" "$1" "$2")" >&7 2>/dev/null
		done
		wait_ev "$d/ev1" '.event=="acknowledged"' 3 10 "$pid"
		wait_ev "$d/ev1" '.event=="terminated"' 1 10 "$pid"
		echo ping >&7 2>/dev/null
		wait_ev "$d/ev1" '.event=="pong"' 1 10 "$pid"
	fi
	exec 7>&-
	wait "$pid" || status=$?
	return $status
}

# check DIR STATUS: restart from disk and check the invariants.
check() {
	local d=$1 st=$2 pid rc=0 u
	case $mode in
	crash) [ "$st" = 0 ] || [ "$st" = 99 ] || { echo "agent exited $st, not 0 or 99"; return 1; } ;;
	*) if [ "$st" != 0 ]; then
		[ "$st" = 74 ] || [ "$st" = 73 ] || { echo "agent exited $st, not 74/73"; return 1; }
		grep -q "$d" "$d/err1" || { echo "the error names no file: $(cat "$d/err1")"; return 1; }
	   fi ;;
	esac
	"$bin/ckpt-inspect" -d "$d/w" --updates --json > "$d/updates" 2>/dev/null
	mkfifo "$d/in2"
	(cd "$d" && exec "$bin/agent-run" -d "$d/w" --executor-reregistration-timeout=3s <"$d/in2" >"$d/ev2" 2>"$d/err2") &
	pid=$!
	exec 7>"$d/in2"
	if ! wait_ev "$d/ev2" '.event=="reregistered" or .event=="registered"' 1 15 "$pid"; then
		echo "strict recovery failed: $(cat "$d/err2")"
		exec 7>&-
		return 1
	fi
	# acknowledged before: never again
	for u in $(jq -r 'select(.event=="acknowledged") | .uuid' "$d/ev1"); do
		if jq -e -c "select(.event==\"update\" and .uuid==\"$u\")" "$d/ev2" | grep -q .; then
			echo "acknowledged update $u emitted again"; rc=1
		fi
	done
	# emitted, not acknowledged: emitted again (unless superseded)
	for u in $(jq -r 'select(.event=="update") | .uuid' "$d/ev1"); do
		grep -q "\"acknowledged\".*\"$u\"" "$d/ev1" && continue
		# its ack was sent and reached the disk before the crash
		[ "$(jq -r "select(.type==\"UPDATE\" and .uuid==\"$u\") | .acknowledged" "$d/updates")" = true ] && continue
		t=$(jq -r "select(.event==\"update\" and .uuid==\"$u\") | .task_id" "$d/ev1")
		term=$(jq -r "select(.event==\"update\" and .task_id==\"$t\" and (.state==\"TASK_FINISHED\" or .state==\"TASK_FAILED\" or .state==\"TASK_KILLED\" or .state==\"TASK_LOST\")) | .uuid" "$d/ev1")
		if [ -n "$term" ] && grep -q "\"acknowledged\".*\"$term\"" "$d/ev1"; then continue; fi
		jq -c "select(.event==\"update\" and .uuid==\"$u\")" "$d/ev2" | grep -q . ||
		    { echo "unacknowledged update $u ($t) not emitted again"; rc=1; }
	done
	# every live executor reconnected; no task lost while its executor lives
	for p in $(jq -r 'select(.event=="launched") | "\(.task_id):\(.pid)"' "$d/ev1"); do
		t=${p%%:*} x=${p#*:}
		if kill -0 "$x" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$x/stat" 2>/dev/null)" != Z ]; then
			jq -c "select(.event==\"reconnected\" and .task_id==\"$t\")" "$d/ev2" | grep -q . ||
			    { echo "live executor of $t (pid $x) not reconnected"; rc=1; }
			jq -c "select(.event==\"update\" and .task_id==\"$t\" and .state==\"TASK_LOST\")" "$d/ev2" | grep -q . &&
			    { echo "task $t reported lost while its executor lives"; rc=1; }
		fi
	done
	exec 7>&-
	wait "$pid"
	return $rc
}

# K: the steps of one clean run.
d=$tmp/count; mkdir -p "$d"
workload "$d" CKPT_FAULT_LOG="$d/steps"
K=$(wc -l < "$d/steps")
cleanup_all
tried=0 passed=0 failed=0
for ((k = 1; k <= K; k += stride)); do
	d=$tmp/k$k; mkdir -p "$d"
	workload "$d" CKPT_FAULT_STEP=$k CKPT_FAULT_MODE=$mode
	st=$?
	tried=$((tried + 1))
	if out=$(check "$d" "$st"); then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "step $k ($(sed -n "${k}p" "$tmp/count/steps")): $out"
	fi
	cleanup_all
	rm -rf "$d"
done
echo "$mode: K=$K steps tried=$tried passed=$passed failed=$failed"
[ "$failed" = 0 ]
