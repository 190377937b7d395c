#!/usr/bin/env bash
# A tour of queuectl on the default spool (./spool): jobs enqueued every
# way, two detached workers, a job that succeeds, a job that fails, is
# retried with exponential backoff and lands in the dead letter queue,
# dlq retry, and a graceful stop. Usage: bash scripts/demo.sh
#
# The demo uses its own configuration (short retry delays) in a temporary
# file; ./queuectl.toml is not changed. Its workers run whatever waits in
# ./spool/pending, and are stopped before the demo ends.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
export QUEUECTL_CONFIG=$work/queuectl.toml
cleanup() {
	queuectl worker stop --timeout 5 >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$work/queuectl" ./cmd/queuectl
export PATH="$work:$PATH"
cat >"$QUEUECTL_CONFIG" <<EOF
# demo settings: fast retries
spool_dir = "$PWD/spool"
max_retries = 3
retry_delay = 0.25
EOF
run=$(date +%H%M%S) # ids are unique across the whole spool: one set per run

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

# wait_state ID STATE waits until job ID is in STATE.
wait_state() {
	for _ in $(seq 1 300); do
		if queuectl list --state "$2" --json | grep -q "\"id\": \"$1\""; then
			return 0
		fi
		sleep 0.1
	done
	echo "demo: job $1 did not reach $2" >&2
	return 1
}

show queuectl version
show queuectl config set backoff_base 2
show queuectl enqueue --id "hello-$run" --command "echo Hello Queue"
show queuectl enqueue --id "flaky-$run" --command "echo trying; exit 1" --max-retries 2
show queuectl enqueue --id "urgent-$run" --command "echo High Priority" --priority 10
show queuectl enqueue --id "slow-$run" --command "sleep 2; echo slept"
printf '\n$ echo %s | queuectl enqueue\n' "'{\"id\":\"json-$run\",\"command\":\"echo from JSON\"}'"
echo "{\"id\":\"json-$run\",\"command\":\"echo from JSON\"}" | queuectl enqueue

# Another tool drops a job: it writes under a dotfile name, which queuectl
# ignores, then renames the file into place in one step.
printf '\n# another tool drops a job file into spool/pending/\n'
printf '{"command": "echo dropped by hand"}\n' >"spool/pending/.dropped-$run.json"
mv "spool/pending/.dropped-$run.json" "spool/pending/dropped-$run.json"

show queuectl list --state pending
show queuectl worker start --count 2
sleep 0.5
show queuectl status

wait_state "flaky-$run" dead
wait_state "slow-$run" done
show queuectl list
printf '\n# the failing job ran 3 times, waiting 0.5 s, then 1 s (retry_delay x 2^n)\n'
show queuectl logs "flaky-$run"
show queuectl dlq list
show queuectl dlq retry "flaky-$run"
wait_state "flaky-$run" dead
show queuectl list --state dead
show queuectl worker stop
show queuectl status
