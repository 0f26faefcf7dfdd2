#!/bin/sh
# Stop the service before its files go away (not on upgrade).
set -e
case "$1" in
    remove|purge|0)
        if [ -d /run/systemd/system ]; then
            systemctl disable --now outpost-agent.service >/dev/null 2>&1 || true
        elif [ -x /etc/init.d/outpost-agent ]; then
            /etc/init.d/outpost-agent stop >/dev/null 2>&1 || true
        fi ;;
esac
exit 0
