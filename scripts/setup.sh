#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian/Ubuntu machine (run as root).
# Idempotent: packages already present are not reinstalled. Stops at once, saying what is
# missing and how to get it, when it cannot work (not root, Node too old, no registry).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/npm-env.sh
source scripts/lib/npm-env.sh
# shellcheck source=lib/preflight.sh
source scripts/lib/preflight.sh
# `npm ci` below must not take the state of the npm that started us (`npm test`) for config.
ctd_clean_npm_env

ctd_require_root
ctd_require_node

# Debian packages: busybox/dash/bash for the shell tests, conntrack/nftables/iptables/iproute2
# for the real-kernel tests, openssh-server for the test hosts (installed, never started as a
# service), gcc for the packet generator, ansible and ansible-lint for the exported playbooks.
# Only what is missing is installed.
bash harness/host/install-deps.sh

# npm ci installs exactly the lock file and runs our own "prepare" (the esbuild bundle).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  ctd_require_npm_registry "the project's npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi
