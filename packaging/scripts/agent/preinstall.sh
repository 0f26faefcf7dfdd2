#!/bin/sh
# Create the system user before the files are unpacked, so their owner resolves.
set -e
if ! getent group outpost-agent >/dev/null 2>&1; then
    groupadd --system outpost-agent
fi
if ! getent passwd outpost-agent >/dev/null 2>&1; then
    useradd --system --gid outpost-agent --home-dir /var/lib/outpost-agent --no-create-home \
        --shell /usr/sbin/nologin --comment "Outpost agent" outpost-agent
fi
exit 0
