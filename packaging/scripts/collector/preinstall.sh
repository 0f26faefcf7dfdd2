#!/bin/sh
# Create the system user before the files are unpacked, so their owner resolves.
set -e
if ! getent group outpost-collector >/dev/null 2>&1; then
    groupadd --system outpost-collector
fi
if ! getent passwd outpost-collector >/dev/null 2>&1; then
    useradd --system --gid outpost-collector --home-dir /var/lib/outpost-collector --no-create-home \
        --shell /usr/sbin/nologin --comment "Outpost collector" outpost-collector
fi
exit 0
