#!/usr/bin/env bats
# Issue 10, containment: killing a task kills its whole process tree, with
# and without cgroups, and never anything else.

load helpers

# tree MARK: a child, a double-forked grandchild, a setsid'd one and a
# daemon (double fork, setsid, cd /), while the main process sleeps:
# five processes `sleep MARK+1..5`.
tree() {
	cat > "$BATS_TEST_TMPDIR/tree.sh" <<'SH'
m=$1
sleep $((m + 1)) &
(sleep $((m + 2)) &)
setsid sleep $((m + 3)) &
(setsid sh -c "cd / && exec sleep $((m + 4))" &)
exec sleep $((m + 5))
SH
	echo "$BATS_TEST_TMPDIR/tree.sh"
}
# left MARK: how many of them are alive (zombies aside)
left() {
	local p n=0
	for p in $(pgrep -f "^sleep ${1%?}[1-5]\$"); do
		[ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = Z ] || n=$((n + 1))
	done
	echo "$n"
}
left_is() { [ "$(left "$1")" -eq "$2" ]; }

# Sets m to the writable cgroup2 mount, or skips the test.  Called
# directly, never as $(...): a skip in a subshell does not skip the test.
need_cgroup2() {
	m=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	[ -n "$m" ] && [ -w "$m/cgroup.procs" ] || skip "no writable cgroup2 here (--cgroup-root auto needs one)"
}

@test "kill: a task that forks, double-forks, setsids and daemonizes leaves no process (no cgroup: the executor is a subreaper)" {
	agent_start --cgroup-root none
	wait_event '.event=="registered"'
	launch F E1 T1 -- sh "$(tree)" 81000
	wait_for 10 left_is 81000 5
	agent_send kill T1
	wait_event '.state=="TASK_KILLED"'
	wait_for 10 left_is 81000 0
}

@test "kill with --cgroup-root: the tree is killed through its cgroup, which is removed at the end" {
	need_cgroup2
	agent_start --cgroup-root auto
	wait_event '.event=="registered"'
	launch F E1 T1 -- sh "$(tree)" 82000
	wait_for 10 left_is 82000 5
	run_id=$(field '.event=="launched"' run_id)
	assert_file_exist "$m/agent-run/$run_id/cgroup.procs"
	[ "$(wc -l < "$m/agent-run/$run_id/cgroup.procs")" -ge 5 ]
	agent_send kill T1
	wait_event '.state=="TASK_KILLED"'
	wait_for 10 left_is 82000 0
	for u in $(jq -r 'select(.event=="update") | .uuid' "$EV"); do agent_send ack "$u"; done
	wait_event '.event=="terminated"'
	wait_for 10 bash -c "! test -e '$m/agent-run/$run_id'"
}

@test "--cgroup-root that is not a cgroup: a clear error, exit 69" {
	run agent-run -d "$W" --cgroup-root "$BATS_TEST_TMPDIR" </dev/null
	assert_failure 69
	assert_output --partial "is not a writable cgroup v2 directory"
}

@test "the main process exits: what it left behind is killed; the state is the main process's" {
	agent_start
	wait_event '.event=="registered"'
	agent_send launch F E1 T1 -- sh -c "'setsid sleep 83001 & sleep 83002 & sleep 0.3; exit 3'"
	wait_event '.state=="TASK_FAILED"'
	assert_equal "$(field '.state=="TASK_FAILED"' message)" "exited with status 3"
	wait_for 10 left_is 83000 0
}

@test "an executor killed -9 while the agent is down: its task dies with it, nothing is left after the restart" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F E1 T1 -- sleep 85001
	tpid=$(pgrep -f '^sleep 85001$')
	assert_file_exist "$W/meta/slaves/latest/frameworks/F/executors/E1/runs/latest/pids/task.pid"
	assert_equal "$(cut -d' ' -f1 "$W/meta/slaves/latest/frameworks/F/executors/E1/runs/latest/pids/task.pid")" "$tpid"
	agent_kill9
	kill -9 "$XPID"
	wait_for 10 dead "$tpid"
	agent_start
	wait_event '.state=="TASK_LOST"'
	assert_equal "$(left 85000)" 0
}

@test "with cgroups, an executor killed -9 while the agent is down: the restarted agent empties its task's cgroup" {
	need_cgroup2
	agent_start --cgroup-root auto
	wait_event '.event=="registered"'
	launch --checkpoint F E1 T1 -- sh "$(tree)" 84000
	wait_for 10 left_is 84000 5
	agent_kill9
	kill -9 "$XPID"
	agent_start --cgroup-root auto
	wait_event '.state=="TASK_LOST"'
	wait_for 10 left_is 84000 0
}

@test "--cgroup-root self: each task's cgroup below its executor's own (a delegated scope under systemd); its tree killed whole, the cgroup removed" {
	need_cgroup2
	agent_start --cgroup-root self
	wait_event '.event=="registered"'
	launch --checkpoint F E1 T1 -- sh "$(tree)" 84200
	wait_for 10 left_is 84200 5
	cg=$(cat "$W"/meta/slaves/latest/frameworks/F/executors/E1/runs/latest/pids/task.cgroup)
	self=$(awk -F: '$1 == "0" {print $3}' "/proc/$XPID/cgroup")
	assert_equal "$cg" "$m${self%/}/$(readlink "$W"/meta/slaves/latest/frameworks/F/executors/E1/runs/latest)"
	agent_send kill F T1
	wait_event '.state=="TASK_KILLED"'
	wait_for 10 left_is 84200 0
	agent_send ack "$(field '.state=="TASK_KILLED"' uuid)"
	wait_event '.event=="terminated"'
	wait_for 10 test ! -d "$cg"
}

@test "executor-kill refuses an executor a running agent owns (75) unless --force" {
	agent_start
	wait_event '.event=="registered"'
	launch --checkpoint F E1 T1 -- sleep 86001
	run executor-kill -d "$W" -f F -e E1
	assert_failure 75
	assert_output --partial '"result":"refused"'
	assert_output --partial "a running agent owns"
	alive "$XPID"
	run executor-kill --force --grace 2s -d "$W" -f F -e E1
	assert_success
	assert_output --partial '"result":"killed"'
	wait_for 10 left_is 86000 0
}
