#!/bin/bash
# starved.sh COMMAND...: run COMMAND with a CPU hog of twice the core count
# beside it (busy loops at the same priority), and exit with its status.
set -u
n=$((2 * $(nproc)))
pids=()
for ((i = 0; i < n; i++)); do
	timeout 3600 sh -c 'while :; do :; done' &
	pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
echo "starved.sh: $n busy loops beside: $*" >&2
"$@"
