#!/bin/sh
# After the package is installed: the system user of the service, and
# systemd told of the new units. The service is not enabled: see the README.
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers queuectl.conf
elif ! getent passwd queuectl >/dev/null 2>&1; then
	useradd --system --user-group --home-dir /var/lib/queuectl --no-create-home \
		--shell /usr/sbin/nologin --comment "queuectl job queue" queuectl
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
