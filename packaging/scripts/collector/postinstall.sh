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
install -d -m 0750 -o outpost-collector -g outpost-collector /var/lib/outpost-collector
chgrp outpost-collector /etc/outpost/collector.yaml 2>/dev/null || true
chmod 0640 /etc/outpost/collector.yaml 2>/dev/null || true
sysctl -q -p /usr/lib/sysctl.d/60-outpost-collector.conf >/dev/null 2>&1 || true
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ "$upgrade" = yes ]; then
        systemctl try-restart outpost-collector.service >/dev/null 2>&1 || true
    else
        systemctl enable outpost-collector.service >/dev/null 2>&1 || true
        echo "outpost-collector: edit /etc/outpost/collector.yaml, then: systemctl start outpost-collector"
    fi
else
    echo "outpost-collector: no systemd here; run it with: outpost-collector install --user outpost-collector && outpost-collector start"
fi
exit 0
