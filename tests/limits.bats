#!/usr/bin/env bats
# limits.bats: what a task may take, enforced by real cgroups on this
# host, reported with Mesos's reasons, shown by `usage`, recovered after
# kill -9 of the agent.  Limits need cgroups that can hold them: v1
# memory, cpu and pids hierarchies writable below our own cgroup, or a
# cgroup2 root that enables the controllers; without either the tests
# are skipped, saying so.

load helpers

setup() {
	common_setup
	# What the agent says at start decides: limits in cgroup v1 or v2,
	# or "cannot be enforced".
	agent_start --log-level info
	wait_event '.event=="registered"' 1 30
	wait_for 10 grep -q "task limits" "$EV.err"
	if grep -q "task limits cannot be enforced" "$EV.err"; then
		why=$(grep -o "task limits cannot be enforced.*" "$EV.err")
		skip "no cgroup can hold limits here: $why"
	fi
	grep -q "task limits in cgroup v2" "$EV.err" && CG=v2 || CG=v1
	agent_kill9
	rm -rf "$W"
}

# python3 allocating MB megabytes, touching every page, then sleeping.
hog() { echo "import time; b = bytearray($1 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(600)"; }

@test "--mem: a task that allocates 3x its limit is TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY, the limit and the peak in the message" {
	agent_start
	launch --checkpoint --mem 32 F1 E1 T1 -- python3 -c "$(hog 96)"
	wait_event '.event=="update" and .task_id=="T1" and .state=="TASK_FAILED"' 1 30
	assert_equal "$(field '.event=="update" and .state=="TASK_FAILED"' reason)" REASON_CONTAINER_LIMITATION_MEMORY
	run field '.event=="update" and .state=="TASK_FAILED"' message
	assert_output --regexp '^memory limit 32 MB reached: the kernel.s OOM killer killed in the task.s cgroup \(peak [0-9]+ MB\)$'
	# What a Mesos reader sees: the resources in task.info.
	run ckpt-inspect -d "$W" --json
	assert_output --partial '"resources":[{"name":"mem","type":"SCALAR","scalar":{"value":32'
}

@test "--mem with the agent killed before the allocation and started after it: the end is reported with its reason by the next agent" {
	agent_start
	launch --checkpoint --mem 32 F1 E1 T1 -- bash -c "until [ -e \"\$0\" ]; do sleep 0.02; done; exec python3 -c \"\$1\"" "$BATS_TEST_TMPDIR/go" "$(hog 96)"
	agent_ack
	agent_kill9
	touch "$BATS_TEST_TMPDIR/go"
	# The executor sees the OOM kill and records it (executor.exit).
	wait_for 30 bash -c 'grep -q memory-limit "$0"/meta/slaves/*-S0/frameworks/F1/executors/E1/runs/*-*/executor.exit' "$W"
	agent_start
	wait_event '.event=="update" and .task_id=="T1" and .state=="TASK_FAILED"' 1 30
	assert_equal "$(field '.event=="update" and .state=="TASK_FAILED"' reason)" REASON_CONTAINER_LIMITATION_MEMORY
	assert_equal "$(count '.event=="update" and .state=="TASK_LOST"')" 0
}

@test "--pids 20 stops a fork bomb at 20: its forks fail, it is not killed, usage shows it" {
	agent_start
	# Forks children that sleep until one fails; writes how many it got.
	cat > "$BATS_TEST_TMPDIR/bomb.py" <<'EOF'
import os, time
n = 0
try:
    while n < 200:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        n += 1
except OSError:
    pass
open('forked', 'w').write(str(n))
time.sleep(600)
EOF
	launch --checkpoint --pids 20 F1 E1 T1 -- python3 "$BATS_TEST_TMPDIR/bomb.py"
	s=$(sandbox F1 E1)
	wait_for 30 test -s "$s/forked"
	assert_equal "$(cat "$s/forked")" 19
	agent_send usage T1
	wait_event '.event=="usage_done"'
	assert_equal "$(field '.event=="usage"' statistics.processes)" 20
	assert_equal "$(field '.event=="usage"' statistics.processes_limit)" 20
	assert_equal "$(count '.event=="update" and .state=="TASK_FAILED"')" 0
}

@test "--disk 5M and a task writing 20 MB: killed, TASK_FAILED with REASON_CONTAINER_LIMITATION_DISK; files of another user are counted" {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	agent_start --disk-watch-interval 200ms
	# As nobody, in a directory only nobody may read.
	launch --checkpoint --user nobody --disk 5M F1 E1 T1 -- bash -c 'mkdir -m 700 hidden && head -c 20000000 /dev/zero > hidden/big && sleep 600'
	wait_event '.event=="update" and .task_id=="T1" and .state=="TASK_FAILED"' 1 30
	assert_equal "$(field '.event=="update" and .state=="TASK_FAILED"' reason)" REASON_CONTAINER_LIMITATION_DISK
	run field '.event=="update" and .state=="TASK_FAILED"' message
	assert_output --regexp '^disk limit 5 MB exceeded: the sandbox holds [0-9]+ MB$'
}

@test "usage before and after a restart: Mesos's statistics from the task's cgroups, and from /proc for a task without limits" {
	agent_start --update-retry-interval 10min
	launch --checkpoint --cpus 0.5 --mem 64 --disk 10 F1 E1 T1 -- python3 -c "$(hog 16)"
	launch --checkpoint F1 E2 T2 -- sleep 600
	wait_for 30 bash -c "[ \"\$(cat /proc/$(task_pid "$(field '.event=="launched" and .task_id=="T1"' pid)")/status | awk '/VmRSS/ {print \$2}')\" -gt 16000 ]"
	agent_send usage
	wait_event '.event=="usage_done"'
	run jq -c 'select(.event=="usage" and .task_id=="T1") | .statistics' "$EV"
	assert_output --regexp '"processes":1,"threads":[0-9]+,"cpus_user_time_secs":[0-9.e-]+,"cpus_system_time_secs":[0-9.e-]+,"cpus_limit":0.5,"cpus_nr_throttled":[0-9]+,"mem_rss_bytes":[0-9]+,"mem_total_bytes":[0-9]+,"mem_limit_bytes":67108864,'
	rss=$(jq -r 'select(.event=="usage" and .task_id=="T1") | .statistics.mem_rss_bytes' "$EV")
	[ "$rss" -gt $((16 << 20)) ]
	assert_equal "$(jq -r 'select(.event=="usage" and .task_id=="T2") | .statistics.processes' "$EV")" 1
	assert_equal "$(jq -r 'select(.event=="usage" and .task_id=="T2") | .statistics.mem_limit_bytes' "$EV")" null
	# After kill -9 and a restart: the same tasks, the same limits,
	# found again and checked (the recovery plan says so).
	agent_restart --update-retry-interval 10min
	wait_event '.event=="reregistered"' 1 30
	run jq -c 'select(.event=="recovery") | .runs[] | select(.executor_id=="E1") | .limits' "$EV"
	assert_output '{"cpus":0.5,"mem":67108864,"disk":10485760,"pids":0,"cgroups":"enforced"}'
	assert_equal "$(jq -c 'select(.event=="recovery") | .runs[] | select(.executor_id=="E2") | .limits' "$EV")" null
	agent_send usage T1 T9
	wait_event '.event=="usage_done"'
	assert_equal "$(jq -r 'select(.event=="usage" and .task_id=="T1") | .statistics.mem_limit_bytes' "$EV")" 67108864
	rss=$(jq -r 'select(.event=="usage" and .task_id=="T1") | .statistics.mem_rss_bytes' "$EV")
	[ "$rss" -gt $((16 << 20)) ]
	assert_equal "$(jq -r 'select(.event=="usage" and .task_id=="T9") | .error' "$EV")" "no running task of that name"
	# What the tasks were given is allocated again.
	assert_equal "$(field '.event=="reregistered"' allocated.cpus)" 0.5
	assert_equal "$(field '.event=="reregistered"' allocated.mem)" 64
}

@test "--resources: the total and what is allocated in registered; a launch that does not fit is refused naming the resource, unless --oversubscribe" {
	agent_start --resources 'cpus:1;mem:100;disk:1G'
	wait_event '.event=="registered"'
	assert_equal "$(field '.event=="registered"' resources.cpus)" 1
	assert_equal "$(field '.event=="registered"' resources.mem)" 100
	assert_equal "$(field '.event=="registered"' resources.disk)" 1024
	launch --checkpoint --mem 60 F1 E1 T1 -- sleep 600
	agent_send launch --checkpoint --mem 60 F1 E2 T2 -- sleep 600
	wait_event '.event=="error"'
	assert_equal "$(field '.event=="error"' message)" "launch of task T2: refused: mem: 60 asked, 40 free of 100 MB (--oversubscribe launches it anyway)"
	agent_send launch --checkpoint --cpus 2 F1 E3 T3 -- sleep 600
	wait_event '.event=="error"' 2
	run field '.event=="error"' message
	assert_output --regexp "^launch of task T3: refused: cpus: 2 asked, 1 free of 1 "
	agent_send launch --checkpoint --mem abc F1 E4 T4 -- sleep 600
	wait_event '.event=="error"' 3
	run field '.event=="error"' message
	assert_output --partial "launch: --mem: 'abc' is not a valid value"
	[ ! -e "$W/meta/slaves/latest/frameworks/F1/executors/E2" ]
	agent_kill9
	agent_start --resources 'cpus:1;mem:100;disk:1G' --oversubscribe
	wait_event '.event=="reregistered"'
	assert_equal "$(field '.event=="reregistered"' allocated.mem)" 60
	launch --checkpoint --mem 60 F1 E2 T2 -- sleep 600
	# The capability is recorded: an agent before limits must not
	# misread the dir.
	grep -qx limits "$W/meta/capabilities"
	run agent-run --resources 'cpus:x'
	assert_failure 64
	assert_output --partial "--resources: cpus: 'x' is not a number"
}

@test "a limit cgroup no run owns (an agent killed mid-launch) is removed at the next start, what ran in it killed" {
	[ "$CG" = v1 ] || skip "the orphan sweep covers the v1 hierarchies (v2: each run's own cgroup is its tracking cgroup)"
	agent_start
	launch --checkpoint --mem 64 F1 E1 T1 -- sleep 600
	dir=$(awk '$2=="memory" {print $3}' "$(echo "$W"/meta/slaves/*-S0/frameworks/F1/executors/E1/runs/*-*/pids/task.limits)")
	agent_kill9
	# A cgroup beside it, with a process, and no run.
	orphan=$(dirname "$dir")/0badc0de-0000-4000-8000-000000000000
	mkdir "$orphan"
	spawn sleep 600
	echo "$SPAWNED" > "$orphan/cgroup.procs"
	agent_start --log-level info
	wait_event '.event=="reregistered"' 1 30
	wait_for 10 dead "$SPAWNED"
	wait_for 10 test ! -e "$orphan"
	[ -d "$dir" ]
	grep -q "no run of this agent owns it" "$EV.err"
}

@test "the cgroup v2 path: the limits in the run's own cgroup (memory.max, cpu.max, pids.max)" {
	[ "$CG" = v2 ] || skip "no cgroup2 root with memory, cpu and pids enabled for its children here (a hybrid host: the tests above ran on the cgroup v1 path)"
	agent_start
	launch --checkpoint --cpus 0.5 --mem 64 --pids 30 F1 E1 T1 -- sleep 600
	f=$(echo "$W"/meta/slaves/*-S0/frameworks/F1/executors/E1/runs/*-*/pids/task.limits)
	grep -qx "v2 1" "$f"
	dir=$(awk '$2=="memory" {print $3}' "$f")
	assert_equal "$(cat "$dir/memory.max")" 67108864
	assert_equal "$(cat "$dir/cpu.max")" "50000 100000"
	assert_equal "$(cat "$dir/pids.max")" 30
}

@test "the cgroup v1 path: one directory per controller below the agent's own cgroup (memory.limit_in_bytes, cpu.cfs_quota_us, pids.max)" {
	[ "$CG" = v1 ] || skip "no writable cgroup v1 hierarchies here (a cgroup2 host: the tests above ran on the v2 path)"
	agent_start
	launch --checkpoint --cpus 0.5 --mem 64 --pids 30 F1 E1 T1 -- sleep 600
	f=$(echo "$W"/meta/slaves/*-S0/frameworks/F1/executors/E1/runs/*-*/pids/task.limits)
	grep -qx "v2 0" "$f"
	assert_equal "$(cat "$(awk '$2=="memory" {print $3}' "$f")/memory.limit_in_bytes")" 67108864
	assert_equal "$(cat "$(awk '$2=="cpu" {print $3}' "$f")/cpu.cfs_quota_us")" 50000
	assert_equal "$(cat "$(awk '$2=="pids" {print $3}' "$f")/pids.max")" 30
	# The task is in each.
	t=$(task_pid "$XPID")
	grep -qx "$t" "$(awk '$2=="memory" {print $3}' "$f")/cgroup.procs"
	grep -qx "$t" "$(awk '$2=="pids" {print $3}' "$f")/cgroup.procs"
	# Its end removes them.
	agent_send kill T1
	wait_event '.event=="update" and .state=="TASK_KILLED"' 1 30
	agent_ack
	wait_for 30 test ! -e "$(awk '$2=="memory" {print $3}' "$f")"
}
