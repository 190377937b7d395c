#!/usr/bin/env bash
# The Windows test run, under Wine 8 (Debian 12's): the spool and worker
# tests cross-compiled for windows/amd64, then the old tool's PowerShell
# flow as a CLI scenario run by queuectl.exe. Called by scripts/test.sh;
# alone: bash scripts/wine-test.sh
#
# Needs wine64, binutils-mingw-w64-x86-64 and jq. They are installed with
# apt-get when CI=true, or when they are missing and the user is root;
# otherwise the run is skipped with a message saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

WINE=/usr/lib/wine/wine64 # Debian's wine64; the package wine would add /usr/bin/wine
packages="wine64 binutils-mingw-w64-x86-64 jq"
have() { [ -x "$WINE" ] && command -v x86_64-w64-mingw32-dlltool >/dev/null && command -v jq >/dev/null; }
if [ "${CI:-}" = true ] || { ! have && [ "$(id -u)" = 0 ]; }; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends $packages >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages >/dev/null; }
elif ! have; then
	echo "skipped: the Windows run needs $packages (as root: apt-get install $packages)"
	exit 0
fi

W=$(mktemp -d /tmp/queuectl-wine.XXXXXX)
export WINEPREFIX=$W/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() {
	"$WINE" "$W/queuectl.exe" --spool "$W/run/spool" worker stop --timeout 0 >/dev/null 2>&1 || true
	/usr/lib/wine/wineserver -k 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
t0=$SECONDS
"$WINE" wineboot --init >/dev/null 2>&1
# Go 1.22 and later need bcryptprimitives.dll!ProcessPrng, which Wine 8
# lacks: a forwarder DLL to advapi32.SystemFunction036 (RtlGenRandom).
printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng = advapi32.SystemFunction036\n' >"$W/bcp.def"
x86_64-w64-mingw32-dlltool --def "$W/bcp.def" --output-exp "$W/bcp.exp"
x86_64-w64-mingw32-ld --dll -e 0 --subsystem windows -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" "$W/bcp.exp"
/usr/lib/wine/wineserver -p 60 2>/dev/null || true # one server for all the calls below
echo "wine prefix ready ($((SECONDS - t0))s)"

# Package tests. QUEUECTL_TEST_WINE tells them where they run: Wine's
# os.RemoveAll fails, so they make and remove their directories by hand.
export GOOS=windows GOARCH=amd64
go build -o "$W/queuectl.exe" ./cmd/queuectl
for pkg in spool worker; do
	go test -c -o "$W/$pkg.test.exe" "./internal/$pkg"
done
unset GOOS GOARCH
for pkg in spool worker; do
	t=$SECONDS
	QUEUECTL_TEST_WINE=1 "$WINE" "$W/$pkg.test.exe" -test.count=1 -test.timeout=4m >"$W/$pkg.out" 2>&1 ||
		{ cat "$W/$pkg.out"; echo "FAIL: internal/$pkg under Wine" >&2; exit 1; }
	echo "ok internal/$pkg under Wine ($((SECONDS - t))s)"
done

# The CLI scenario: the old tool's README flow, from PowerShell to cmd.
t=$SECONDS
mkdir -p "$W/run" && cd "$W/run"
q() { "$WINE" "$W/queuectl.exe" "$@"; }
fail() {
	echo "FAIL: $*" >&2
	q list >&2 || true
	tail -n 20 spool/workers/*.log >&2 2>/dev/null || true
	exit 1
}
# jq filter selecting job $1 of list --json
job() { printf '.[] | select(.id == "%s")' "$1"; }
# wait_for WHAT SECONDS FILTER: until list --json passes the jq filter
wait_for() {
	local end=$((SECONDS + $2))
	until q list --json | jq -e "$3" >/dev/null; do
		[ $SECONDS -lt $end ] || fail "$1 within $2s"
		sleep 0.2
	done
}
# pings NAME: how many of the scenario's ping processes run (Wine runs
# each Windows process as a Linux one named by its command line)
pings() { pgrep -fc "^ping -n $1 " || true; }

q version
q config set retry_delay 0.2 >/dev/null
q enqueue --id hello --command "cmd /c echo Hello Queue" >/dev/null
echo '{"id":"job-004","command":"cmd /c echo Hello"}' | q enqueue >/dev/null
printf '{\n  "id": "job-005",\n  "command": "cmd /c echo Hello from file"\n}\n' >job.json
q enqueue --file job.json >/dev/null
q enqueue --id job-002 --command "cmd /c exit 1" --max-retries 1 >/dev/null
[ "$(q list --json | jq length)" = 4 ] || fail "four jobs enqueued"

[ "$(q worker start --count 2 | grep -c '^started worker')" = 2 ] || fail "two workers started"
wait_for "the echo jobs done" 60 '[.[] | select(.state == "done")] | length == 3'
q list --json | jq -e "$(job hello) | .attempts == 1 and .exit_code == 0 and (.output | contains(\"Hello Queue\"))" >/dev/null ||
	fail "hello done with its output in list --json"
q list --json | jq -e "$(job job-005) | .output | contains(\"Hello from file\")" >/dev/null || fail "job-005 output"
wait_for "cmd /c exit 1 dead after its retry" 60 "$(job job-002) | .state == \"dead\" and .attempts == 2 and .exit_code == 1"
q dlq list | grep -q '^job-002 ' || fail "job-002 in dlq list"
dead_at=$(q list --json | jq -r "$(job job-002) | .updated_at")
q dlq retry job-002 >/dev/null
wait_for "job-002 run again by dlq retry, dead again" 60 \
	"$(job job-002) | .state == \"dead\" and .attempts == 2 and .updated_at != \"$dead_at\""
echo "ok enqueue (flags, stdin, --file), 2 workers, done, dead, dlq retry ($((SECONDS - t))s)"

# worker stop: the stop flag, then after --timeout the worker is
# terminated; its job goes back uncounted, its ping ended with it.
t=$SECONDS
q enqueue --id long --command "cmd /c ping -n 30 127.0.0.1 >nul" >/dev/null
wait_for "long running" 30 "$(job long) | .state == \"processing\" and .attempts == 1"
s=$SECONDS
out=$(q worker stop --timeout 2)
echo "$out"
[ $((SECONDS - s)) -lt 20 ] || fail "worker stop --timeout 2 took $((SECONDS - s))s"
grep -q "terminating pid" <<<"$out" || fail "the busy worker terminated"
q list --json | jq -e "$(job long) | .state == \"pending\" and .attempts == 0" >/dev/null ||
	fail "long back in pending, its run not counted"
[ -z "$(ls -A spool/processing)" ] || fail "processing/ empty after worker stop: $(ls -A spool/processing)"
"$WINE" cmd /c 'dir /b spool\pending' | tr -d '\r' | grep -qx 'long.json' || fail "dir spool\\pending shows long.json"
for _ in $(seq 50); do [ "$(pings 30)" = 0 ] && break; sleep 0.1; done
[ "$(pings 30)" = 0 ] || fail "the stopped job's ping still runs"
echo "ok worker stop --timeout 2 put long back uncounted ($((SECONDS - t))s)"

# A worker killed while it runs a job: the job's process tree dies with it
# (its Job Object), and another worker recovers the job, counting the run.
t=$SECONDS
q enqueue --id victim --command 'if %QUEUECTL_ATTEMPT%==1 (ping -n 60 127.0.0.1 >nul) else (echo recovered)' >/dev/null
q worker start --count 2 >/dev/null
wait_for "victim running" 30 "$(job victim) | .state == \"processing\""
end=$((SECONDS + 20))
until pid=$(q status --json | jq -e '.workers[] | select(.job == "victim") | .pid'); do
	[ $SECONDS -lt $end ] || fail "victim's worker in status --json"
	sleep 0.2
done
"$WINE" taskkill /f /pid "$pid" >/dev/null
wait_for "victim recovered by the other worker" 30 \
	"$(job victim) | (.state == \"pending\" or .state == \"done\") and .attempts >= 1"
for _ in $(seq 50); do [ "$(pings 60)" = 0 ] && break; sleep 0.1; done
[ "$(pings 60)" = 0 ] || fail "the killed worker's ping still runs"
q worker start >/dev/null # the survivor is busy with long
wait_for "victim done on its second run" 60 \
	"$(job victim) | .state == \"done\" and .attempts == 2 and (.output | contains(\"recovered\"))"
q worker stop --timeout 2 >/dev/null
[ -z "$(ls -A spool/processing)" ] || fail "processing/ empty at the end: $(ls -A spool/processing)"
q status
echo "ok killed worker's job recovered ($((SECONDS - t))s)"
echo "Windows run under Wine passed ($((SECONDS - t0))s)"
