#!/bin/bash
# reading.sh BIN BENCH TMP: the readers against cat of the same files.
#  - ckpt-inspect --json and recover over N executors (1 task, 10 updates
#    each): time against `cat` of every file, and peak RSS;
#  - one task.updates of 1,000,000 updates all acknowledged, and one of
#    200,000 unacknowledged: recover against `cat` of the file.
# Each pair is measured side by side (A B A B A B), best of three, in
# this one run; warm page cache.  Sizes: READ_SIZES (default 10000 50000
# 100000), STREAM_SIZES (default "1000000:1 200000:0").
set -eu
bin=$1 bench=$2 tmp=$3
best() {	# best CMD...: "seconds peak-KiB", best time of 3, max RSS
	local i t m bt=999 bm=0
	for i in 1 2 3; do
		read -r t m < <("$bench/measure" 1 "$@")
		bt=$(echo "if ($t < $bt) $t else $bt" | bc -l)
		[ "$m" -gt "$bm" ] && bm=$m
	done
	echo "$bt $bm"
}
cat_all() { xargs -0 cat < "$1" > /dev/null; }
export -f cat_all
ratio() { echo "scale=2; $1 / $2" | bc -l; }

for n in ${READ_SIZES:-10000 50000 100000}; do
	w=$tmp/read.$n
	"$bench/genwork" "$w" "$n" 10
	find "$w" -type f -print0 > "$tmp/list.$n"
	files=$(tr -cd '\0' < "$tmp/list.$n" | wc -c)
	"$bin/ckpt-inspect" -d "$w" --json > /dev/null	# warm
	c=() i=() r=()
	for k in 1 2 3; do	# interleaved: cat, inspect, recover
		read -r t _ < <("$bench/measure" 1 bash -c "cat_all $tmp/list.$n"); c+=("$t")
		read -r t m < <("$bench/measure" 1 "$bin/ckpt-inspect" -d "$w" --json); i+=("$t $m")
		read -r t m < <("$bench/measure" 1 "$bin/recover" -d "$w" --json); r+=("$t $m")
	done
	mc=$(printf '%s\n' "${c[@]}" | sort -n | head -1)
	read -r mi mim < <(printf '%s\n' "${i[@]}" | sort -n | head -1)
	read -r mr _ < <(printf '%s\n' "${r[@]}" | sort -n | head -1)
	mrm=$(printf '%s\n' "${r[@]}" | awk '{print $2}' | sort -n | tail -1)
	mim=$(printf '%s\n' "${i[@]}" | awk '{print $2}' | sort -n | tail -1)
	echo "executors $n ($files files): cat ${mc}s; ckpt-inspect --json ${mi}s (x$(ratio "$mi" "$mc")), peak $((mim / 1024)) MiB; recover ${mr}s (x$(ratio "$mr" "$mc")), peak $((mrm / 1024)) MiB (target <= 1.5x cat, < 32 MiB)"
	rm -rf "$w" "$tmp/list.$n"
done

for spec in ${STREAM_SIZES:-1000000:1 200000:0}; do
	u=${spec%:*} acked=${spec#*:}
	w=$tmp/stream.$u
	"$bench/genwork" "$w" 1 "$u" "$acked"
	f=$(find "$w" -name task.updates)
	c=() r=()
	for k in 1 2 3; do
		read -r t _ < <("$bench/measure" 1 cat "$f"); c+=("$t")
		read -r t m < <("$bench/measure" 1 "$bin/recover" -d "$w" --json); r+=("$t $m")
	done
	mc=$(printf '%s\n' "${c[@]}" | sort -n | head -1)
	read -r mr _ < <(printf '%s\n' "${r[@]}" | sort -n | head -1)
	mrm=$(printf '%s\n' "${r[@]}" | awk '{print $2}' | sort -n | tail -1)
	echo "one stream of $u updates ($([ "$acked" = 1 ] && echo "all acknowledged" || echo "none acknowledged"), $(stat -c %s "$f") bytes): cat ${mc}s; recover ${mr}s (x$(ratio "$mr" "$mc")), peak $((mrm / 1024)) MiB (target <= 10x cat)"
	rm -rf "$w"
done
