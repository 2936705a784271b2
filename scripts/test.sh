#!/usr/bin/env bash
# README command 2 (and what CI runs): installs what is missing, builds, then runs every test
# project (unit, integration, e2e). Tests start their own servers on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec npx vitest run "$@"
