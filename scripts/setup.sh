#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian/Ubuntu machine (run as root).
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v busybox >/dev/null 2>&1 || need_apt+=(busybox)   # quoting is proven under dash, bash and busybox sh
command -v bash >/dev/null 2>&1 || need_apt+=(bash)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20.19 is required (found $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci installs exactly the lock file and runs our own "prepare" (the esbuild bundle).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi
