#!/usr/bin/env bash
# Installs what sluice needs and is missing: nats-server and mariadb-server from the OS packages
# (Debian/Ubuntu), the npm dependencies, and the build. Safe to run again; does nothing that is done.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; }

missing=()
have nats-server || missing+=(nats-server)
{ have mariadbd || have mysqld; } && have mariadb-install-db || missing+=(mariadb-server)
have mariadb || have mysql || missing+=(mariadb-client)
# redis-server is only for the BullMQ baseline of the benchmark harness (npm run bench).
have redis-server || missing+=(redis-server)

if [ ${#missing[@]} -gt 0 ]; then
  echo "sluice setup: installing ${missing[*]} from the OS packages" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "sluice setup: need root or sudo to run: apt-get install -y ${missing[*]}" >&2; exit 1; fi
  if ! command -v apt-get >/dev/null; then
    echo "sluice setup: no apt-get here; install ${missing[*]} with your package manager" >&2; exit 1; fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d-less containers may try to start the services; sluice never uses the system ones.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "sluice setup: Node.js 20 or newer is required (found: $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "sluice setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

npx turbo run build --output-logs=errors-only >&2
