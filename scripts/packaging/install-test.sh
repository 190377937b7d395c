#!/usr/bin/env bash
# Builds queuectl's .deb for this machine with scripts/release.sh, installs
# it with dpkg -i, checks what it installed (queuectl version, the man
# pages, the units, the user queuectl), runs the service's command as the
# service would for one job and a SIGTERM, then purges the package.
# Installs software: run it as root on a machine you may change (CI does).
# Usage: bash scripts/packaging/install-test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

die() {
	echo "install-test: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "run as root: it installs a package"
command -v dpkg >/dev/null || die "no dpkg here"
if dpkg -s queuectl >/dev/null 2>&1; then
	die "a queuectl package is installed already; this test would replace and then remove it"
fi

work=$(mktemp -d)
cleanup() {
	[ -n "${worker:-}" ] && kill "$worker" 2>/dev/null
	dpkg --purge queuectl >/dev/null 2>&1 || true
	rm -rf "$work" /var/lib/queuectl/spool
}
trap cleanup EXIT

# The completions come from queuectl's completion command; a tree without
# it packages without them (and says so).
CGO_ENABLED=0 go build -o "$work/queuectl" ./cmd/queuectl
if ! "$work/queuectl" completion bash >/dev/null 2>&1; then
	export COMPLETIONS=skip
fi
version=v0.0.0-test+$(git rev-parse --short=12 HEAD 2>/dev/null || echo tree)
TARGETS=linux/$(go env GOARCH) PACKAGES=deb bash scripts/release.sh "$version"
deb=$(ls dist/queuectl_*_"$(dpkg --print-architecture)".deb)

dpkg -i "$deb"
got=$(/usr/bin/queuectl version)
[ "$got" = "queuectl $version" ] || die "queuectl version says \"$got\", want \"queuectl $version\""
echo "ok: $got"
for f in /usr/share/man/man1/queuectl.1.gz /usr/share/man/man1/queuectl-status.1.gz \
	/usr/lib/systemd/system/queuectl-worker.service /usr/lib/systemd/user/queuectl-worker.service \
	/etc/queuectl/queuectl.toml /etc/default/queuectl; do
	[ -f "$f" ] || die "$f is not installed"
done
if [ "${COMPLETIONS:-}" != skip ]; then
	for f in /usr/share/bash-completion/completions/queuectl /usr/share/zsh/vendor-completions/_queuectl \
		/usr/share/fish/vendor_completions.d/queuectl.fish; do
		[ -f "$f" ] || die "$f is not installed"
	done
fi
getent passwd queuectl >/dev/null || die "no user queuectl after the install"
echo "ok: man pages, units, configuration, user queuectl${COMPLETIONS:+ (completions skipped: no completion command)}"

# The service's command, as the unit runs it (systemd would make the state
# directory; here it is made by hand).
install -d -o queuectl -g queuectl -m 0750 /var/lib/queuectl
as_service() { # runs a command as the service does: its user, its environment
	setpriv --reuid=queuectl --regid=queuectl --init-groups env QUEUECTL_CONFIG=/etc/queuectl/queuectl.toml \
		QUEUECTL_SPOOL=/var/lib/queuectl/spool "$@"
}
# (exec: $! is then the pid of queuectl itself, which the SIGTERM is for.)
(cd /var/lib/queuectl && exec setpriv --reuid=queuectl --regid=queuectl --init-groups \
	env QUEUECTL_CONFIG=/etc/queuectl/queuectl.toml QUEUECTL_SPOOL=/var/lib/queuectl/spool \
	/usr/bin/queuectl worker start --foreground --count 2 2>"$work/worker.log") &
worker=$!
as_service /usr/bin/queuectl enqueue --id install-test --command 'echo from the package' >/dev/null
for _ in $(seq 1 300); do
	as_service /usr/bin/queuectl list --state done 2>/dev/null | grep -q '^install-test ' && break
	sleep 0.1
done
as_service /usr/bin/queuectl list --state done | grep -q '^install-test ' || die "the job did not run; worker log: $(cat "$work/worker.log")"
kill -TERM "$worker"
status=0
wait "$worker" || status=$?
[ "$status" = 0 ] || die "the worker exited $status on SIGTERM; log: $(cat "$work/worker.log")"
worker=
echo "ok: the service's command ran a job as queuectl and stopped on SIGTERM with exit 0"

dpkg --purge queuectl >/dev/null
[ ! -e /usr/bin/queuectl ] || die "/usr/bin/queuectl is left after dpkg --purge"
echo "ok: removed"
