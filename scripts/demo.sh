#!/usr/bin/env bash
# A tour of queuectl on the default spool (./spool, named by ./queuectl.toml):
# enqueue in every way, drop a job file from another tool, list, status,
# config and the dead letter queue. Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/queuectl" ./cmd/queuectl
export PATH="$bin:$PATH"
run=$(date +%H%M%S)  # ids are unique across the whole spool: one set per run

# show prints a command as it would be typed, then runs it.
show() {
	local line="" arg
	for arg in "$@"; do
		case $arg in
		*[[:space:]\"\'\$\;\&\|\<\>]*) line+=" '$arg'" ;;
		*) line+=" $arg" ;;
		esac
	done
	printf '\n$%s\n' "$line"
	"$@"
}

show queuectl version
show queuectl enqueue --id "hello-$run" --command "echo Hello Queue"
show queuectl enqueue --id "flaky-$run" --command "exit 1" --max-retries 3
show queuectl enqueue --id "urgent-$run" --command "echo High Priority" --priority 10
show queuectl enqueue --id "later-$run" --command "echo Later" --delay 5m
printf '\n$ echo %s | queuectl enqueue\n' "'{\"id\":\"json-$run\",\"command\":\"echo from JSON\"}'"
echo "{\"id\":\"json-$run\",\"command\":\"echo from JSON\"}" | queuectl enqueue

# Another tool drops a job: write it under a dotfile name (ignored by
# queuectl), then rename it into place in one step.
printf '\n# a job dropped by another tool: write .dropped-%s.json, then rename it\n' "$run"
printf '{"command": "echo dropped by hand"}\n' >"spool/pending/.dropped-$run.json"
mv "spool/pending/.dropped-$run.json" "spool/pending/dropped-$run.json"

show queuectl list --state pending
show queuectl status

printf '\n$ queuectl enqueue --id hello-%s --command true   # the id is taken\n' "$run"
queuectl enqueue --id "hello-$run" --command true && exit 1 || echo "exit code $?"

show queuectl config list
show queuectl config get retry_delay
show queuectl dlq list

printf '\nThe jobs above wait in spool/pending/ for workers.\n'
