#!/bin/sh
# After the package is removed: systemd forgets its units. The user
# queuectl and the spool in /var/lib/queuectl stay: they hold jobs.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
