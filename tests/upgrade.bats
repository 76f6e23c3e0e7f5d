#!/usr/bin/env bats
# upgrade.bats: versions as a tested contract (agent-tools(7), "Upgrades
# and rollbacks").  The previous release, whose commit tests/upgrade.previous
# names, is built from git history into build/prev/; a build of this tree
# that speaks only executor protocol 3 and whose launches use a work-dir
# capability no release knows, into build/future/.  Agents of each are
# killed with -9 between them on one work dir, their binaries installed in
# place with install -m 0755 (what make install does); this tree under
# the name 0.0.0+next, into build/next/, is what executors are upgraded
# into in place.  Without git history (a dist tarball) what needs the
# previous release is skipped, saying so.

load helpers

setup_file() {
	local repo commit d
	repo=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	commit=$(cat "$repo/tests/upgrade.previous")
	mkdir -p "$repo/build"
	exec 8>"$repo/build/.upgrade.lock"
	flock 8
	export PREV="" PREV_WHY=""
	if ! git -C "$repo" rev-parse -q --verify "$commit^{commit}" >/dev/null 2>&1; then
		PREV_WHY="no git history here (a dist tarball, or a shallow clone): the previous release ${commit:0:7} (tests/upgrade.previous) cannot be built"
	else
		d=$repo/build/prev/$commit
		if [ ! -x "$d/build/bin/agent-run" ]; then
			rm -rf "$d"
			mkdir -p "$d"
			git -C "$repo" archive "$commit" | tar -x -C "$d"
			make -C "$d" -j2 all >"$d.log" 2>&1 || {
				echo "building the previous release ${commit:0:7} failed:" >&2
				tail -20 "$d.log" >&2
				return 1
			}
		fi
		PREV=$d/build/bin
	fi
	make -C "$repo" -j2 BUILD=build/future VERSION=0.0.0+future \
	    CFLAGS='-O0 -g -DPROTOCOL_MIN=3 -DPROTOCOL_MAX=3 -DDIR_CAPABILITY_EXTRA=\"test-future\"' \
	    all >"$repo/build/future.log" 2>&1 || {
		echo "building build/future failed:" >&2
		tail -20 "$repo/build/future.log" >&2
		return 1
	}
	export FUTURE=$repo/build/future/bin
	# This tree again under another release's name: what executors are
	# upgraded into in place.
	make -C "$repo" -j2 BUILD=build/next VERSION=0.0.0+next CFLAGS='-O0 -g' \
	    all >"$repo/build/next.log" 2>&1 || {
		echo "building build/next failed:" >&2
		tail -20 "$repo/build/next.log" >&2
		return 1
	}
	export NEXT=$repo/build/next/bin
	flock -u 8
}

setup() {
	common_setup
	HEAD=$BIN
	B=$BATS_TEST_TMPDIR/bin
	mkdir -p "$B"
	PATH=$B:$PATH
}

need_prev() { [ -n "$PREV" ] || skip "$PREV_WHY"; }

# use DIR: DIR's binaries installed over those in $B, as make install
# does (install -m 0755: running executors keep their image).
use() {
	local f
	for f in "$1"/*; do install -m 0755 "$f" "$B/"; done
}

# The updates every agent so far emitted and none acknowledged.
unacked() {
	local f all=() 
	for f in "$BATS_TEST_TMPDIR"/events.*; do
		[[ $f == *.err ]] || all+=("$f")
	done
	comm -23 <(jq -r 'select(.event=="update") | .uuid' "${all[@]}" | sort -u) \
	    <(jq -r 'select(.event=="acknowledged") | .uuid' "${all[@]}" | sort -u)
}

# Four checkpointing tasks: T1 runs (acknowledged), T2 runs with its
# updates never acknowledged, T3 and T4 end when a file appears (each
# while no agent runs).
four_tasks() {
	agent_start --update-retry-interval 10min
	wait_event '.event=="registered"' 1 30
	launch --checkpoint F1 E1 T1 -- sleep 1000
	launch --checkpoint F1 E2 T2 -- sleep 1000
	launch --checkpoint F1 E3 T3 -- bash -c 'until [ -e "$0" ]; do sleep 0.02; done' "$BATS_TEST_TMPDIR/go3"
	P3=$(task_pid "$XPID")
	launch --checkpoint F1 E4 T4 -- bash -c 'until [ -e "$0" ]; do sleep 0.02; done' "$BATS_TEST_TMPDIR/go4"
	P4=$(task_pid "$XPID")
	agent_ack '.task_id!="T2"'
}

# hop DIR [N]: kill -9 the agent; task TN (if given) ends while no agent
# runs; DIR's binaries installed; an agent of DIR recovers.  Every
# update not acknowledged before is delivered once, and no task is lost.
hop() {
	local before u n pid
	agent_kill9
	before=$(unacked)
	if [ -n "${2:-}" ]; then
		touch "$BATS_TEST_TMPDIR/go$2"
		pid=P$2
		wait_for 30 dead "${!pid}"
	fi
	use "$1"
	# (No retries of unacknowledged updates to drivers in between: what
	# is counted is what reaches the agent.)
	agent_start --update-retry-interval 10min
	wait_event '.event=="reregistered"' 1 60
	agent_send reconcile
	wait_event '.event=="reconciled"' 1 30
	assert_equal "$(field '.event=="reregistered"' lost)" 0
	assert_equal "$(count '.event=="update" and .state=="TASK_LOST"')" 0
	for u in $before; do
		n=$(count ".event==\"update\" and .uuid==\"$u\"")
		[ "$n" -eq 1 ] || fail "update $u, unacknowledged: delivered $n times by agent $AGENT_N ($1)"
	done
	if [ -n "${2:-}" ]; then
		assert_equal "$(count ".event==\"update\" and .task_id==\"T$2\" and .state==\"TASK_FINISHED\"")" 1
	fi
	# What ended is acknowledged (T2's updates never are).
	agent_ack '.task_id!="T2"'
}

# After the last hop: kill and reconcile work.
still_works() {
	agent_send kill T1
	wait_event '.event=="update" and .task_id=="T1" and .state=="TASK_KILLED"' 1 30
	agent_send reconcile
	wait_event '.event=="reconciled"' 2 30
	assert_equal "$(jq -r 'select(.event=="status" and .task_id=="T2") | .alive' "$EV" | tail -1)" true
	assert_equal "$(count '.event=="update" and .state=="TASK_LOST"')" 0
}

@test "--version: the release; agent-run and agent-executor add the executor protocol and the work-dir format; NEWS names the release; the previous release's string differs" {
	local p release
	release=$(sed -n 's/^VERSION *:= *//p' "$BATS_TEST_DIRNAME/../Makefile")
	for p in agent-run agent-executor ckpt-write ckpt-inspect recover executor-reconnect executor-kill; do
		run "$HEAD/$p" --version
		assert_success
		assert_line --index 0 --regexp "^$p $release( |\$)"
	done
	run "$HEAD/agent-run" --version
	assert_output "agent-run $release (executor protocol 2, speaks 1-2; work dir format 1)"
	run "$HEAD/agent-executor" --version
	assert_output "agent-executor $release (executor protocol 2, speaks 1-2; work dir format 1)"
	run "$FUTURE/agent-run" --version
	assert_output "agent-run 0.0.0+future (executor protocol 3, speaks 3-3; work dir format 1)"
	grep -q "^agent-tools ($release)" "$BATS_TEST_DIRNAME/../NEWS"
	need_prev
	run "$PREV/agent-run" --version
	assert_success
	refute_output --partial "$release"
}

@test "previous release to this one: every task kept, each unacknowledged update delivered once, a task that ended meanwhile reported; reconcile names the old executors" {
	need_prev
	use "$PREV"
	four_tasks
	hop "$HEAD" 3
	assert_equal "$(field '.event=="reregistered"' reconnected)" 4
	assert_equal "$(jq -r 'select(.event=="status") | .executor_version' "$EV" | sort -u)" "before 0.2.0"
	still_works
	# Each start is in the work dir: this one's release, the previous
	# release's (which wrote none) not.
	run tail -1 "$W/meta/versions"
	assert_output --regexp " agent-run [0-9.]+ executor-protocol 1-2 format 1 agent "
}

@test "this release to the previous one (rollback): its agent drives the newer executors and reads the dir, nothing lost" {
	need_prev
	use "$HEAD"
	four_tasks
	hop "$PREV" 3
	assert_equal "$(field '.event=="reregistered"' reconnected)" 4
	still_works
	# The readers of each release read the dir both wrote, exit 0.
	run "$PREV/ckpt-inspect" -d "$W" --verify
	assert_success
	run "$HEAD/ckpt-inspect" -d "$W" --verify
	assert_success
	run "$PREV/recover" -d "$W"
	assert_success
	run "$HEAD/recover" -d "$W"
	assert_success
}

@test "this release, the previous one, this one again: nothing lost at either hop, the executors' versions in reconcile and ckpt-inspect" {
	need_prev
	use "$HEAD"
	four_tasks
	hop "$PREV" 3
	hop "$HEAD" 4
	assert_equal "$(field '.event=="reregistered"' reconnected)" 3
	assert_equal "$(jq -r 'select(.event=="status" and .task_id=="T2") | .executor_version' "$EV")" \
	    "$(sed -n 's/^VERSION *:= *//p' "$BATS_TEST_DIRNAME/../Makefile")"
	run ckpt-inspect -d "$W" --json
	assert_success
	assert_output --partial '"executor_version":"'
	still_works
}

@test "the executor binary replaced in place while its executors run: an agent of either release drives old and new executors" {
	need_prev
	use "$PREV"
	four_tasks
	# make install of this release while the previous one's agent runs:
	# its next launch starts this release's executor.
	use "$HEAD"
	cp "$PREV/agent-run" "$BATS_TEST_TMPDIR/prev-agent-run"
	launch --checkpoint F1 E5 T5 -- sleep 1000
	agent_ack '.task_id=="T5"'
	hop "$HEAD" 3
	assert_equal "$(field '.event=="reregistered"' reconnected)" 5
	run jq -r 'select(.event=="status") | "\(.task_id) \(.executor_version)"' "$EV"
	assert_line "T1 before 0.2.0"
	assert_line --regexp "^T5 [0-9]+\.[0-9]+\.[0-9]+$"
	# And back: the previous agent drives both kinds.
	hop "$PREV" 4
	assert_equal "$(field '.event=="reregistered"' reconnected)" 4
	still_works
}

@test "an agent drives an executor of the previous release (default bounds); a bound that executor lacks fails the task in the executor's own words, not lost" {
	need_prev
	use "$HEAD"
	agent_start --executor "$PREV/agent-executor"
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	agent_start --executor "$PREV/agent-executor" --task-log-max 1M
	wait_event '.event=="reregistered"' 1 30
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	agent_send launch --checkpoint F1 E2 T2 -- sleep 1000
	wait_event '.event=="update" and .task_id=="T2" and .state=="TASK_FAILED"' 1 30
	run field '.event=="update" and .task_id=="T2"' message
	assert_output --regexp "^the executor exited with status 64 before it registered: .*unrecognized option '--task-log-max'"
	assert_equal "$(count '.event=="update" and .state=="TASK_LOST"')" 0
	assert_equal "$(count '.event=="executor_timeout"')" 0
}

@test "no protocol version shared: refused on both sides, both versions named; the agent reports incompatible (never lost, never killed); a compatible agent takes over; --recover=cleanup kills it" {
	use "$HEAD"
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID
	agent_kill9
	# An agent that speaks protocol 3 only.
	use "$FUTURE"
	agent_start
	wait_event '.event=="incompatible"' 1 30
	run field '.event=="incompatible"' reason
	assert_output --regexp "^agent-run 0\.0\.0\+future speaks executor protocol 3-3; this agent-executor [0-9.]+ speaks 1-2: no version shared$"
	wait_event '.event=="reregistered"' 1 30
	assert_equal "$(field '.event=="reregistered"' incompatible)" 1
	assert_equal "$(field '.event=="reregistered"' lost)" 0
	agent_send kill T1
	wait_event '.event=="error" and (.message|contains("incompatible"))'
	agent_send shutdown
	agent_wait_exit
	# Only what was checkpointed before (redelivered): no end made up.
	assert_equal "$(count '.event=="update" and (.redelivered|not)')" 0
	alive "$x1"
	grep -q "refused agent: agent-run 0.0.0+future speaks executor protocol 3-3" "$(sandbox F1 E1)/executor.log"
	# The other way: this agent, an executor that speaks 3 only.
	use "$HEAD"
	agent_start --executor "$FUTURE/agent-executor"
	agent_send launch --checkpoint F2 E2 T2 -- sleep 1000
	wait_event '.event=="incompatible" and .task_id=="T2"' 1 30
	run field '.event=="incompatible" and .task_id=="T2"' reason
	assert_output --regexp "^agent-run [0-9.]+ speaks executor protocol 1-2; this agent-executor 0\.0\.0\+future speaks 3-3: no version shared$"
	x2=$(field '.event=="launched" and .task_id=="T2"' pid)
	agent_kill9
	# A compatible agent takes T1 over; T2's executor refuses it too.
	agent_start
	wait_event '.event=="reregistered"' 1 30
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	assert_equal "$(field '.event=="reregistered"' incompatible)" 1
	assert_equal "$(count '.event=="update" and .state=="TASK_LOST"')" 0
	alive "$x2"
	agent_kill9
	# --recover=cleanup kills every executor, the incompatible one too.
	run agent-run -d "$W" --recover=cleanup --grace 1s </dev/null
	assert_success
	wait_for 30 dead "$x1"
	wait_for 30 dead "$x2"
}

@test "a work-dir capability this release lacks: the agent refuses before it changes anything (exit 76, listed); readers read the dir; --recover=cleanup starts afresh" {
	use "$FUTURE"
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID
	agent_kill9
	grep -qx test-future "$W/meta/capabilities"
	before=$(cd "$W" && find . -printf '%p %s %T@\n' | sort)
	use "$HEAD"
	run agent-run -d "$W" </dev/null
	assert_failure 76
	assert_output --regexp "^agent-run: $W/meta/capabilities: the work dir's tasks use what release [0-9.]+ lacks: test-future \(a newer release recorded it"
	assert_equal "$(cd "$W" && find . -printf '%p %s %T@\n' | sort)" "$before"
	alive "$x1"
	run ckpt-inspect -d "$W" --verify
	assert_success
	run recover -d "$W"
	assert_success
	run agent-run -d "$W" --recover=cleanup --grace 1s </dev/null
	assert_success
	wait_for 30 dead "$x1"
	[ ! -e "$W/meta/capabilities" ]
	tail -1 "$W/meta/versions" | grep -q ' cleanup$'
}

@test "mixed writers: records without the checksum appended after records with one (an older writer) are accepted and reported; the agent starts strict and delivers them" {
	use "$HEAD"
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_ack
	agent_kill9
	f=$(echo "$W"/meta/slaves/*-S0/frameworks/F1/executors/E1/runs/*-*/tasks/T1/task.updates)
	off=$(stat -c %s "$f")
	# A TASK_RUNNING update as a writer without checksums appends it:
	# written by ckpt-write, then its checksum trailer cut off.
	u=$(echo '{"framework_id":"F1","executor_id":"E1","status":{"task_id":"T1","state":"TASK_RUNNING","message":"from an older writer"},"timestamp":1700000000.5}' |
	    ckpt-write -d "$W" -f F1 -e E1 update)
	python3 - "$f" "$off" <<'EOF'
import struct, sys
path, off = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()
n = struct.unpack('<I', data[off:off + 4])[0]
body = data[off + 4:off + 4 + n - 6]
open(path, 'wb').write(data[:off] + struct.pack('<I', len(body)) + body)
EOF
	run ckpt-inspect -d "$W" --verify
	assert_success
	assert_output "$f: offset $off: note: 1 record without the checksum after records with one (an older writer appended them): accepted"
	run ckpt-inspect -d "$W" --json-lines
	assert_output --partial '"unchecked_records":1,"unchecked_at":'"$off"
	run recover -d "$W"
	assert_success
	agent_start
	wait_event '.event=="reregistered"' 1 30
	assert_equal "$(field '.event=="reregistered"' reconnected)" 1
	assert_equal "$(count ".event==\"update\" and .uuid==\"$u\"")" 1
	assert_equal "$(field ".event==\"update\" and .uuid==\"$u\"" message)" "from an older writer"
}

@test "upgrade in place: each executor re-execs into the installed agent-executor, same pid, its task its child; not one update lost or repeated; then a rollback of the agent drives them" {
	use "$HEAD"
	agent_start --update-retry-interval 10min
	launch --checkpoint F1 E1 T1 -- sleep 1000
	x1=$XPID t1=$(task_pid "$XPID")
	# T2 reports a line on fd 3 each time its file appears.
	launch --checkpoint F1 E2 T2 -- bash -c 'while :; do if [ -e "$0" ]; then echo step >&3; echo "step out"; rm -f "$0"; fi; sleep 0.02; done' "$BATS_TEST_TMPDIR/step"
	x2=$XPID t2=$(task_pid "$XPID")
	launch --checkpoint F1 E3 T3 -- bash -c 'until [ -e "$0" ]; do sleep 0.02; done' "$BATS_TEST_TMPDIR/go3"
	x3=$XPID
	agent_ack '.task_id!="T2"'
	use "$NEXT"
	agent_send upgrade
	wait_event '.event=="upgrading"'
	assert_equal "$(field '.event=="upgrading"' 'tasks|length')" 3
	wait_event '.event=="upgraded"' 3 30
	run jq -r 'select(.event=="upgraded") | "\(.task_id) \(.from) \(.executor_version)"' "$EV"
	assert_line --regexp "^T1 [0-9.]+ 0\.0\.0\+next$"
	# The same processes: the executors kept their pids, the tasks theirs.
	assert_equal "$(field '.event=="upgraded" and .task_id=="T1"' pid)" "$x1"
	alive "$x1"
	assert_equal "$(task_pid "$x1")" "$t1"
	assert_equal "$(task_pid "$x2")" "$t2"
	grep -qx "0.0.0+next 2" "$(echo "$W"/meta/slaves/*-S0/frameworks/F1/executors/E1/runs/*-*/pids/executor.version)"
	# Not one update repeated (T2's two are still unacknowledged).
	assert_equal "$(jq -r 'select(.event=="update") | .uuid' "$EV" | sort | uniq -d)" ""
	# The new image does what the old one did: progress, an end, a kill.
	touch "$BATS_TEST_TMPDIR/step"
	wait_event '.event=="update" and .task_id=="T2" and .message=="step"' 1 30
	# ... and its output still reaches the sandbox's stdout.
	wait_for 10 grep -qx "step out" "$(sandbox F1 E2)/stdout"
	touch "$BATS_TEST_TMPDIR/go3"
	wait_event '.event=="update" and .task_id=="T3" and .state=="TASK_FINISHED"' 1 30
	agent_ack '.task_id=="T3"'
	wait_for 30 dead "$x3"
	agent_send reconcile
	wait_event '.event=="reconciled"'
	assert_equal "$(jq -r 'select(.event=="status" and .task_id=="T1") | .executor_version' "$EV")" "0.0.0+next"
	assert_equal "$(jq -r 'select(.event=="update") | .uuid' "$EV" | sort | uniq -d)" ""
	# A rollback of the agent: it drives the upgraded executors.
	need_prev
	hop "$PREV"
	assert_equal "$(field '.event=="reregistered"' reconnected)" 2
	still_works
}

@test "recover --upgrade-executors while no agent runs: upgraded, the previous release's executor skipped (said why), refused while an agent runs; an image that cannot take the state over leaves the executor as it was" {
	need_prev
	use "$PREV"
	agent_start
	launch --checkpoint F1 E1 T1 -- sleep 1000
	agent_kill9
	use "$HEAD"
	agent_start
	wait_event '.event=="reregistered"' 1 30
	launch --checkpoint F1 E2 T2 -- sleep 1000
	x2=$XPID
	run recover -d "$W" --upgrade-executors
	assert_failure 75
	assert_output --partial "an agent runs: ask it, \`upgrade\`"
	agent_kill9
	use "$NEXT"
	run recover -d "$W" --upgrade-executors --summary
	assert_success
	assert_line --regexp '"task_id":"T1",.*"from":"before 0.2.0","skipped":"agent-executor before 0.2.0 cannot re-exec itself'
	assert_line --regexp '"task_id":"T2",.*"pid":'"$x2"',"from":"[0-9.]+","to":"0.0.0\+next"'
	assert_line --regexp '^recover: upgrade-executors: 1 upgraded into .*, 1 cannot be, 0 failed$'
	alive "$x2"
	# An agent-executor that does not read the state (the previous
	# release's): the executor carries on as it was, and says why.
	agent_start
	wait_event '.event=="reregistered"' 1 30
	assert_equal "$(field '.event=="reregistered"' reconnected)" 2
	use "$PREV"
	agent_send upgrade T2
	wait_event '.event=="upgrade_failed"' 1 30
	run field '.event=="upgrade_failed"' reason
	assert_output --regexp "cannot take this executor's state over"
	alive "$x2"
	agent_send kill T2
	wait_event '.event=="update" and .task_id=="T2" and .state=="TASK_KILLED"' 1 30
}
