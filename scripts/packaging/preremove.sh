#!/bin/sh
# Before the package is removed (not upgraded): stop the service, which
# puts running jobs back. deb passes "remove", rpm 0 when erasing.
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl stop queuectl-worker.service || true
	fi
	;;
esac
