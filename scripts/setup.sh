#!/usr/bin/env bash
# Installs what sluice needs and is missing: nats-server and mariadb-server from the OS packages
# (Debian/Ubuntu), the npm dependencies, and the build. Safe to run again; does nothing that is done.
# Says what it is doing at each step on stderr: a first run takes minutes, and silence reads as a hang.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "sluice setup: $*" >&2; }
# Seconds since the step began, for the "done" line of a step that can take a while.
began=$SECONDS
took() { echo "$((SECONDS - began)) s"; }
start() { began=$SECONDS; say "$*"; }

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; }

say "checking tools (node, nats-server, mariadbd, mariadb client, redis-server)"
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node -v 2>/dev/null || echo none))"
  exit 1
fi
missing=()
have nats-server || missing+=(nats-server)
{ have mariadbd || have mysqld; } && have mariadb-install-db || missing+=(mariadb-server)
have mariadb || have mysql || missing+=(mariadb-client)
# redis-server is only for the BullMQ baseline of the benchmark harness (npm run bench).
have redis-server || missing+=(redis-server)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    say "need root or sudo to run: apt-get install -y ${missing[*]}"; exit 1; fi
  if ! command -v apt-get >/dev/null; then
    say "no apt-get here; install ${missing[*]} with your package manager"; exit 1; fi
  start "installing ${missing[*]} from the OS packages (apt-get; about a minute)…"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d-less containers may try to start the services; sluice never uses the system ones.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  say "installed ${missing[*]} ($(took))"
else
  say "all tools present"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  start "installing npm packages (npm ci; about a minute)…"
  npm ci --no-audit --no-fund --loglevel=error
  say "npm packages installed ($(took))"
else
  say "npm packages up to date"
fi

# turbo replays a cached build in about a second; a first or changed build compiles every package.
start "building (about 30 s; a second when nothing changed)…"
npx turbo run build --output-logs=errors-only >&2
say "built ($(took))"
