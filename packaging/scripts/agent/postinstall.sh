#!/bin/sh
# First install: enable the unit but do not start it (the configuration needs
# editing first). Upgrade: restart the service if it runs.
# deb passes "configure [old-version]"; rpm passes 1 (install) or 2 (upgrade).
set -e
upgrade=no
case "$1" in
    configure) [ -n "$2" ] && upgrade=yes ;;
    [0-9]*) [ "$1" -ge 2 ] && upgrade=yes ;;
esac
install -d -m 0750 -o outpost-agent -g outpost-agent /var/lib/outpost-agent
chgrp outpost-agent /etc/outpost/agent.yaml 2>/dev/null || true
chmod 0640 /etc/outpost/agent.yaml 2>/dev/null || true

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ "$upgrade" = yes ]; then
        systemctl try-restart outpost-agent.service >/dev/null 2>&1 || true
    else
        systemctl enable outpost-agent.service >/dev/null 2>&1 || true
        echo "outpost-agent: edit /etc/outpost/agent.yaml, then: systemctl start outpost-agent"
    fi
else
    echo "outpost-agent: no systemd here; run it with: outpost-agent install --user outpost-agent && outpost-agent start"
fi
exit 0
