# bash completion for agent-run, agent-executor, ckpt-write, ckpt-inspect,
# recover, executor-reconnect and executor-kill.  Ids (frameworks,
# executors, tasks) are read from the work dir given with -d (or
# $AGENT_WORK_DIR).

_agent_tools_workdir() {
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		case ${COMP_WORDS[i]} in
		-d | --work-dir) echo "${COMP_WORDS[i + 1]}"; return ;;
		--work-dir=*) echo "${COMP_WORDS[i]#--work-dir=}"; return ;;
		esac
	done
	echo "${AGENT_WORK_DIR:-}"
}

# _agent_tools_option OPT...: the value of the first of these options on
# the command line.
_agent_tools_option() {
	local i o
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		for o in "$@"; do
			[ "${COMP_WORDS[i]}" = "$o" ] && { echo "${COMP_WORDS[i + 1]}"; return; }
			case ${COMP_WORDS[i]} in "$o"=*) echo "${COMP_WORDS[i]#"$o"=}"; return ;; esac
		done
	done
}

# _agent_tools_ids frameworks|executors|tasks: ids found in the work dir
# (executors and tasks of the framework given with -f, when one is).
_agent_tools_ids() {
	local w a d f
	w=$(_agent_tools_workdir)
	[ -n "$w" ] && [ -d "$w/meta/slaves" ] || return
	a=$w/meta/slaves/latest
	f=$(_agent_tools_option -f --framework)
	f=${f:-*}
	case $1 in
	frameworks) d=("$a"/frameworks/*/) ;;
	executors) d=("$a"/frameworks/$f/executors/*/) ;;
	tasks) d=("$a"/frameworks/$f/executors/*/runs/*/tasks/*/) ;;
	esac
	local p
	for p in "${d[@]}"; do
		[ -d "$p" ] && basename "$p"
	done | sort -u
}

_agent_tools() {
	local cur prev cmd opts
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=${COMP_WORDS[0]##*/}
	case $cmd in
	agent-run) opts="--work-dir --agent-id --hostname --recover= --strict --no-strict --recovery-timeout --grace --executor-reregistration-timeout --executor --launcher --log --log-level --cgroup-root --listen --attach --timeout --retry --update-retry-interval --driver-queue --disk-reserve --executor-registration-timeout --task-log-max --task-log-keep --resources --oversubscribe --best-effort-limits --disk-watch-interval --metrics --metrics= --metrics-file --help --version" ;;
	agent-executor) opts="--work-dir --agent --framework --executor --run --task --socket --checkpoint --recovery-timeout --grace --register-timeout --secret-fd --cgroup-root --user --task-log-max --task-log-keep --disk-reserve --cpus --mem --disk --pids --disk-watch-interval --best-effort-limits --health-cmd --health-tcp --health-http --health-delay --health-interval --health-timeout --health-grace --health-failures --resume --resume-check --help --version" ;;
	ckpt-write) opts="--work-dir --agent --framework --executor --run --task --file --force --help --version" ;;
	ckpt-inspect) opts="--work-dir --json --json-lines --framework --executor --task --state --unacked --verify --updates --file --type --exit-status --help --version" ;;
	recover) opts="--work-dir --strict --no-strict --repair --orphans --json --table --framework --executor --task --state --unacked --gc --disk-headroom --dry-run --print0 --exit-status --summary --quarantine --upgrade-executors --executor-path --help --version" ;;
	executor-reconnect) opts="--work-dir --framework --executor --run --timeout --help --version" ;;
	executor-kill) opts="--work-dir --framework --executor --run --grace --force --summary --help --version" ;;
	esac
	case $cur in
	--recover=*)
		COMPREPLY=($(compgen -W "reconnect cleanup" -- "${cur#--recover=}"))
		return ;;
	--metrics=*)
		COMPREPLY=($(compgen -W "prometheus json" -- "${cur#--metrics=}"))
		return ;;
	esac
	case $prev in
	-d | --work-dir | --cgroup-root)
		# Directories, shown as such (a trailing /) and entered.
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	--file | --log | --executor-path | --listen | --attach | --metrics-file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-f | --framework)
		COMPREPLY=($(compgen -W "$(_agent_tools_ids frameworks)" -- "$cur"))
		return ;;
	-e | --executor)
		if [ "$cmd" = agent-run ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_agent_tools_ids executors)" -- "$cur"))
		fi
		return ;;
	-t | --task)
		COMPREPLY=($(compgen -W "$(_agent_tools_ids tasks)" -- "$cur"))
		return ;;
	--state)
		COMPREPLY=($(compgen -W "TASK_STAGING TASK_STARTING TASK_RUNNING TASK_KILLING TASK_FINISHED TASK_FAILED TASK_KILLED TASK_ERROR TASK_LOST TASK_DROPPED TASK_UNREACHABLE TASK_GONE TASK_GONE_BY_OPERATOR TASK_UNKNOWN" -- "$cur"))
		return ;;
	--type)
		COMPREPLY=($(compgen -W "agent framework executor task updates" -- "$cur"))
		return ;;
	--recover)
		COMPREPLY=($(compgen -W "reconnect cleanup" -- "$cur"))
		return ;;
	--user)
		COMPREPLY=($(compgen -u -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		[[ ${COMPREPLY[0]:-} == *= ]] && compopt -o nospace 2>/dev/null
	elif [ "$cmd" = ckpt-write ]; then
		COMPREPLY=($(compgen -W "agent framework framework-pid executor run task update ack boot-id sentinel" -- "$cur"))
	fi
}

complete -F _agent_tools agent-run agent-executor ckpt-write ckpt-inspect recover executor-reconnect executor-kill
