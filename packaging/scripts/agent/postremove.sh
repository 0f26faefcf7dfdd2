#!/bin/sh
# On purge, remove the state directory and the system user.
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
    rm -rf /var/lib/outpost-agent
    userdel outpost-agent >/dev/null 2>&1 || true
    groupdel outpost-agent >/dev/null 2>&1 || true
fi
exit 0
