#!/usr/bin/env bash
# README command 1: from a fresh clone to events flowing. Installs what is missing, builds, and runs
# `sluice up` on the bundled quick-start configuration (embedded nats-server and mariadbd, data in
# .sluice/, plus a demo receiver that prints every verified event).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "sluice quickstart: starting sluice up (embedded nats-server and mariadbd, a few seconds)…" >&2
exec node packages/cli/dist/bin.js up "$@"
