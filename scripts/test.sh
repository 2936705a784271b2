#!/usr/bin/env bash
# README command 2 (and what CI runs): installs what is missing, builds, then runs every test
# project (unit, integration, e2e). Tests start their own servers on free ports.
# vitest.config.ts picks the reporter: one line per finished test file, then the failures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "sluice test: running the test suite (unit, integration, e2e); one line per finished file…" >&2
exec npx vitest run "$@"
