#!/usr/bin/env bash
# Runs every check and test of queuectl: formatting, vet, staticcheck, the
# Windows and macOS builds, all tests under the race detector, a short run
# of each fuzz target, the systemd units (systemd-analyze verify), the
# Windows run under Wine (scripts/wine-test.sh, which installs Wine as root
# or in CI, and is skipped otherwise) and, as root in CI, the .deb package
# installed and run. Usage: bash scripts/test.sh   (FUZZTIME=30s or
# FUZZTIME=500000x for longer fuzzing; QUEUECTL_PACKAGE_TEST=1 to install the
# package outside CI, as root)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-}
staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
go run "$staticcheck" ./...

step "windows and macOS builds"
GOOS=windows go vet ./...
GOOS=darwin GOARCH=arm64 go build ./...
GOOS=darwin GOARCH=amd64 go build ./...

step "go test -race"
go test -race -count=1 ./...

step "fuzz (${fuzztime:-a fixed count of inputs} each)"
# go test -fuzz takes one target of one package at a time. The default
# budgets are counts of inputs, 3 to 20 s of each target on a 2-core
# machine: Go 1.26's fuzzing coordinator can fail a run bounded by time
# with "context deadline exceeded" when a worker is slow to stop at the
# deadline (golang/go#75804), which a busy CI machine hits; a count has no
# deadline to race. Each new input is minimized for at most 5 s (60 s by
# default, during which that worker runs nothing else).
for target in internal/job:FuzzParse:500000x internal/config:FuzzParseAndEdit:300000x scripts/vmtest:FuzzReadLog:100000x; do
	IFS=: read -r pkg fn count <<<"$target"
	go test -run '^$' -fuzz "^$fn\$" -fuzztime "${fuzztime:-$count}" -fuzzminimizetime 5s "./$pkg"
done

step "windows under Wine: spool and worker tests, the old tool's flow through the CLI"
bash scripts/wine-test.sh

step "chaos: worker kill -9 under load (1,000 jobs x 3 seeds)"
go run ./scripts/chaos -jobs 1000 -seeds 1-3

step "bench smoke (figures from a tiny run mean nothing; this keeps it working)"
go run ./scripts/bench -runs 1 -enqueue 50 -drain 50 -pickup 10 -depth 500

step "systemd units"
if ! command -v systemd-analyze >/dev/null && [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	# Debian's systemd package brings systemd-analyze; it is small.
	apt-get install -y -qq --no-install-recommends systemd >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends systemd >/dev/null; } || true
fi
if command -v systemd-analyze >/dev/null; then
	bash scripts/systemd/verify.sh
else
	echo "skipped: no systemd-analyze here (on Debian: apt-get install systemd)"
fi

step "packages: the .deb built, installed with dpkg -i, queuectl version run from it"
if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null && { [ "${CI:-}" = true ] || [ "${QUEUECTL_PACKAGE_TEST:-}" = 1 ]; }; then
	bash scripts/packaging/install-test.sh
else
	echo "skipped: it installs a package, so it runs as root on Debian in CI (CI=true) or with QUEUECTL_PACKAGE_TEST=1"
fi

step "all checks passed"
