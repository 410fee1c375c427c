#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian/Ubuntu machine (run as root).
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: busybox/dash/bash for the shell tests, conntrack/nftables/iptables/iproute2
# for the real-kernel tests, openssh-server for the test hosts (installed, never started as a
# service), gcc for the packet generator, ansible and ansible-lint for the exported playbooks.
# Only what is missing is installed.
bash test/host/install-deps.sh

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
