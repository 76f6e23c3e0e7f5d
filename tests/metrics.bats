#!/usr/bin/env bats
# metrics.bats: the `metrics` command against what the test itself did,
# across a restart; the Prometheus text that `--attach --metrics` prints,
# checked by promtool; the file it writes for node_exporter.

load helpers

m() { field '.event=="metrics"' "\"$1\""; }

@test "metrics: the figures are what the test did (tasks by state, updates, pending, drivers, protocol), and after a restart the recovery's" {
	agent_start --update-retry-interval 10min
	launch --checkpoint F1 E1 T1 -- sleep 600
	launch --checkpoint F1 E2 T2 -- sleep 600
	launch --checkpoint F1 E3 T3 -- true
	wait_event '.event=="update" and .task_id=="T3" and .state=="TASK_FINISHED"'
	agent_send kill T2
	wait_event '.event=="update" and .task_id=="T2" and .state=="TASK_KILLED"'
	# Acknowledge all but T1's two.
	agent_ack '.task_id!="T1"'
	agent_send metrics
	wait_event '.event=="metrics"'
	assert_equal "$(m slave/registered)" 1
	assert_equal "$(m slave/tasks_running)" 1
	assert_equal "$(m slave/tasks_finished)" 1
	assert_equal "$(m slave/tasks_killed)" 1
	assert_equal "$(m slave/tasks_failed)" 0
	assert_equal "$(m slave/valid_status_updates)" "$(count '.event=="update"')"
	assert_equal "$(m slave/invalid_status_updates)" 0
	assert_equal "$(m agent/updates_pending)" 2
	assert_equal "$(m agent/drivers)" 1
	[ "$(m agent/executors_protocol_2)" -ge 1 ]
	[ "$(m agent/fdatasyncs)" -gt 0 ]
	awk -v a="$(m agent/oldest_pending_update_secs)" 'BEGIN { exit !(a > 0 && a < 600) }'
	awk -v a="$(m slave/uptime_secs)" 'BEGIN { exit !(a > 0) }'
	# A restart: what it recovered.
	wait_for 30 dead "$(field '.event=="launched" and .task_id=="T3"' pid)"
	agent_restart --update-retry-interval 10min
	wait_event '.event=="reregistered"' 1 30
	agent_send metrics
	wait_event '.event=="metrics"'
	assert_equal "$(m agent/recovery_reconnected)" 1
	assert_equal "$(m agent/recovery_lost)" 0
	assert_equal "$(m slave/executors_running)" 1
	assert_equal "$(m slave/tasks_running)" 1
	assert_equal "$(m agent/updates_pending)" 2
	awk -v a="$(m agent/recovery_secs)" 'BEGIN { exit !(a > 0 && a < 60) }'
	# A command with words is refused, as the other word-less ones.
	agent_send metrics now
	wait_event '.event=="error" and (.message|contains("takes no arguments"))'
}

@test "--attach --metrics: Prometheus text that promtool accepts; --metrics-file written whole for node_exporter (0644); json; no agent: 69" {
	command -v promtool >/dev/null || skip "no promtool here (Debian package prometheus)"
	set_socket
	agent_start --listen "$S"
	launch --checkpoint F1 E1 T1 -- sleep 600
	run agent-run --attach "$S" --metrics
	assert_success
	assert_line "agent_registered 1"
	assert_line --regexp '^agent_valid_status_updates_total [0-9]+$'
	assert_line '# TYPE agent_tasks_finished_total counter'
	assert_line 'agent_executors_by_protocol{protocol="2"} 1'
	assert_line --regexp '^agent_info\{version="[0-9.]+"\} 1$'
	echo "$output" | promtool check metrics
	f=$BATS_TEST_TMPDIR/textfile/agent-run.prom
	mkdir -p "$(dirname "$f")"
	run agent-run --attach "$S" --metrics-file "$f"
	assert_success
	assert_output ""
	assert_equal "$(stat -c %a "$f")" 644
	promtool check metrics < "$f"
	[ -z "$(ls "$(dirname "$f")" | grep -v '^agent-run.prom$')" ]
	run agent-run --attach "$S" --metrics=json
	assert_success
	assert_equal "$(echo "$output" | jq -r '.event')" metrics
	run agent-run --attach "$S" --metrics=xml
	assert_failure 64
	agent_send shutdown
	agent_wait_exit
	run agent-run --attach "$S" --metrics --timeout 2s
	assert_failure 69
}
