#!/bin/bash
# Restart with N live checkpointed executors: time from agent-run's start
# to `reregistered` with all N reconnected (N = 100, 300, 1000; ROUNDS
# restarts each, default 3, the median reported), and the memory of an
# idle agent-executor (beside an idle sleep) and of agent-run holding N
# executors.  usage: restart.sh BIN TMPDIR [N...]
set -eu
bin=$(realpath "$1") tmp=$2
shift 2
sizes=${*:-100 300 1000}
export PATH=$bin:$PATH
kb() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/${3:-status}"; }
private_kb() { awk '/^Private_(Clean|Dirty):/ {s+=$2} END {print s}' "/proc/$1/smaps_rollup"; }

for n in $sizes; do
	w=$tmp/restart-$n
	mkdir -p "$w"
	mkfifo "$w/in"
	agent-run -d "$w/w" --executor-reregistration-timeout=5s < "$w/in" > "$w/ev1" 2>"$w/err" &
	agent=$!
	exec 5> "$w/in"
	b0=$(date +%s%N)
	for ((i = 0; i < n; i++)); do
		echo "launch --checkpoint F E$i T$i -- sleep 100000" >&5
	done
	# Running: first RUNNING events (unacknowledged updates are sent
	# again after 10 s; those are marked redelivered and do not count).
	running() { grep TASK_RUNNING "$w/ev1" | grep -vc '"redelivered":true'; }
	for ((t = 0; t < 6000; t++)); do
		[ "$(running)" -ge "$n" ] && break
		sleep 0.05
	done
	[ "$(running)" -ge "$n" ] || { echo "only $(running) of $n running"; exit 1; }
	echo "burst of $n launches: $(running) RUNNING, $(grep -c '"state":"TASK_LOST"' "$w/ev1") LOST, $(grep -c '"event":"executor_timeout"' "$w/ev1") executor_timeout, in $(( ($(date +%s%N) - b0) / 1000000 )) ms (until the last RUNNING was seen); load average $(cut -d' ' -f1 /proc/loadavg) (target: all RUNNING, 0 LOST)"
	agent_rss=$(kb "$agent" VmRSS)
	x=$(jq -r 'select(.event=="launched") | .pid' "$w/ev1" | head -1)
	if [ "$n" = "$(echo $sizes | awk '{print $1}')" ]; then
		sleep 100000 & s=$!
		sleep 0.2
		echo "idle agent-executor: RSS $(kb "$x" VmRSS) KiB, private $(private_kb "$x") KiB; idle sleep beside it: RSS $(kb "$s" VmRSS) KiB, private $(private_kb "$s") KiB (targets: private < 1024 KiB, RSS < conmon's 1.8 MB)"
		kill "$s"
	fi
	kill -9 "$agent"; { wait "$agent"; } 2>/dev/null || true
	exec 5>&-
	# ROUNDS restarts (the agent killed -9 after each): the events are
	# read once, as a driver reads them, the `reregistered` line kept
	# (polling the whole event file instead would take a core of the two
	# from the agent: the `recovery` line is ~1.1 KB per run).
	figures=() walls=()
	for ((r = 0; r < ${ROUNDS:-5}; r++)); do
		# Through FIFOs: $! is the agent's pid (looking it up, pgrep over
		# 20,000 processes took 2 CPU-seconds from it), and the line is
		# waited for by a blocking read, not by polling (a `sleep` forked
		# every 5 ms).
		rm -f "$w/in" "$w/out" "$w/rr"; mkfifo "$w/in" "$w/out" "$w/rr"
		grep --line-buffered '"event":"reregistered"\|"event":"metrics"' < "$w/out" > "$w/rr" &
		t0=$(date +%s%N)
		agent-run -d "$w/w" --executor-reregistration-timeout=5s < "$w/in" > "$w/out" 2>"$w/err2" &
		agent=$!
		exec 5> "$w/in"
		exec 6< "$w/rr"
		line=
		read -r -t 60 line <&6 || true
		[ -n "$line" ] || { echo "restart with $n executors: no reregistered within 60 s: $(cat "$w/err2")"; exit 1; }
		t1=$(date +%s%N)
		[ "$(echo "$line" | jq .reconnected)" = "$n" ] || { echo "restart with $n executors: reconnected $(echo "$line" | jq .reconnected) of $n"; exit 1; }
		figures+=("$(echo "$line" | jq .elapsed_ms)")
		walls+=($(( (t1 - t0) / 1000000 )))
		rss=$(kb "$agent" VmRSS)
		if ((r + 1 < ${ROUNDS:-5})); then
			kill -9 "$agent"
		else
			# `metrics` over the N executors: the loop is busy
			# this long (one pass over the runs).
			m0=$(date +%s%N)
			echo metrics >&5
			mline=
			read -r -t 60 mline <&6 || true
			m1=$(date +%s%N)
			echo "metrics with $n executors: answered in $(( (m1 - m0) / 1000 )) us (wall, from the command to its event; executors_running $(echo "$mline" | jq '."slave/executors_running"'))"
			echo shutdown >&5
		fi
		exec 5>&- 6<&-
		{ wait; } 2>/dev/null	# not "Killed": that was us
	done
	median=$(printf '%s\n' "${figures[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
	echo "restart with $n executors: reregistered after $median ms (agent's clock, median of ${#figures[@]}: ${figures[*]} ms; wall from exec: ${walls[*]} ms); reconnected $n/$n; agent-run RSS holding $n: before restart ${agent_rss} KiB, after $rss KiB"
	rm -rf "$w"
done
