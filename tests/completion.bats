#!/usr/bin/env bats
# Completions: options, option values and ids from the work dir, by
# calling the bash completion function as bash would.

load helpers

# complete_words WORDS...: what bash would offer for the last word.
complete_words() {
	source "$BATS_TEST_DIRNAME/../completions/agent-tools.bash"
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_agent_tools
	printf '%s\n' "${COMPREPLY[@]}"
}

@test "bash: options of every binary" {
	for b in agent-run agent-executor ckpt-write ckpt-inspect recover executor-reconnect executor-kill; do
		run complete_words "$b" --hel
		assert_output --help
	done
	run complete_words recover --or
	assert_output --orphans
}

@test "bash: option values" {
	run complete_words agent-run --recover=c
	assert_output cleanup
	run complete_words ckpt-inspect --state TASK_F
	assert_output TASK_FINISHED$'\n'TASK_FAILED
	run complete_words ckpt-inspect --type up
	assert_output updates
	run complete_words ckpt-write -d "$W" se
	assert_output sentinel
}

@test "bash: frameworks, executors and tasks read from the work dir" {
	make_workdir
	echo '{"name":"t","task_id":"T9","framework_id":"F1","executor_id":"E1","slave_id":"A1","state":"TASK_STAGING"}' | ckpt-write -d "$W" task
	run complete_words ckpt-inspect -d "$W" --framework ""
	assert_output F1
	run complete_words executor-kill -d "$W" -f F1 -e ""
	assert_output E1
	run complete_words ckpt-inspect -d "$W" --task T
	assert_output T1$'\n'T9
	AGENT_WORK_DIR=$W run complete_words ckpt-inspect --task T9
	assert_output T9
}

@test "zsh: the completion file parses" {
	command -v zsh >/dev/null || skip "no zsh"
	run zsh -n "$BATS_TEST_DIRNAME/../completions/_agent-tools"
	assert_success
}

@test "zsh: frameworks, executors and tasks read from the work dir" {
	command -v zsh >/dev/null || skip "no zsh"
	make_workdir
	echo '{"name":"t","task_id":"T9","framework_id":"F1","executor_id":"E1","slave_id":"A1","state":"TASK_STAGING"}' | ckpt-write -d "$W" task
	# compadd and _arguments stand in for the completion system: what
	# _agent_tools_ids offers is what compadd would be given.
	run zsh -f -c '
compadd() { shift; print -l -- "${(@P)1}"; }
_arguments() { :; }
typeset -A opt_args
source "$1"
opt_args=(-d "$2")
_agent_tools_ids frameworks; _agent_tools_ids executors; _agent_tools_ids tasks' \
	    zsh "$BATS_TEST_DIRNAME/../completions/_agent-tools" "$W"
	assert_success
	assert_output "F1
E1
T1
T9"
}

@test "bash: -d offers directories only; executors and tasks follow -f" {
	make_workdir
	echo '{"user":"u","name":"fw2","id":"F2","checkpoint":true}' | ckpt-write -d "$W" framework
	echo '{"executor_id":"E2","framework_id":"F2","command":{"value":"true","arguments":["true"],"shell":false}}' | ckpt-write -d "$W" executor
	touch "$BATS_TEST_TMPDIR/wfile"
	run complete_words ckpt-inspect -d "$BATS_TEST_TMPDIR/w"
	assert_output "$BATS_TEST_TMPDIR/w"
	run complete_words ckpt-inspect -d "$BATS_TEST_TMPDIR/wf"
	assert_output ""
	run complete_words executor-kill -d "$W" -e ""
	assert_output E1$'\n'E2
	run complete_words executor-kill -d "$W" -f F2 -e ""
	assert_output E2
	run complete_words executor-kill -d "$W" --framework=F1 -e ""
	assert_output E1
}
