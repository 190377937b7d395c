#!/usr/bin/env bash
# Checks the systemd units with systemd-analyze verify (any warning fails),
# and that each unit gives a stopping worker more time than stop_timeout.
# Usage: bash scripts/systemd/verify.sh   (needs systemd-analyze)
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# verify wants the ExecStart binary to exist: point it at one built here.
CGO_ENABLED=0 go build -o "$work/queuectl" ./cmd/queuectl
mkdir -p "$work/system" "$work/user" "$work/run"
chmod 700 "$work/run"
sed "s#/usr/bin/queuectl#$work/queuectl#" scripts/systemd/queuectl-worker.service >"$work/system/queuectl-worker.service"
sed "s#/usr/bin/queuectl#$work/queuectl#" scripts/systemd/queuectl-worker-user.service >"$work/user/queuectl-worker.service"

fail=0
check() { # check NAME OUTPUT: verify passes only when it says nothing
	if [ -n "$2" ]; then
		printf 'systemd-analyze verify %s:\n%s\n' "$1" "$2" >&2
		fail=1
	else
		echo "ok: $1"
	fi
}
# --man=no: the man pages named in Documentation= come with the package.
check queuectl-worker.service "$(systemd-analyze verify --man=no "$work/system/queuectl-worker.service" 2>&1)"
check "queuectl-worker.service (user)" "$(XDG_RUNTIME_DIR=$work/run systemd-analyze --user verify --man=no "$work/user/queuectl-worker.service" 2>&1)"

# A graceful stop needs TimeoutStopSec above stop_timeout (the packaged
# configuration's, else the default 30 s), or systemd kills the job first.
stop_timeout=$(sed -n 's/^stop_timeout *= *\([0-9]*\).*/\1/p' scripts/packaging/queuectl.toml)
stop_timeout=${stop_timeout:-30}
for unit in scripts/systemd/queuectl-worker.service scripts/systemd/queuectl-worker-user.service; do
	t=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
	grep -qx 'KillMode=mixed' "$unit" || { echo "$unit: want KillMode=mixed (SIGTERM to queuectl alone)" >&2; fail=1; }
	if [ -z "$t" ] || [ "$t" -le "$stop_timeout" ]; then
		echo "$unit: TimeoutStopSec=${t:-unset} must be above stop_timeout ($stop_timeout s)" >&2
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "ok: TimeoutStopSec above stop_timeout ($stop_timeout s), KillMode=mixed"
exit "$fail"
