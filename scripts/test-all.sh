#!/usr/bin/env bash
# The README's test command runs this: install, build, type-check, lint, then every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== typecheck"; npx tsc --noEmit -p .
echo "== lint"; npx eslint .
echo "== unit + cli tests"; node scripts/run-node-tests.mjs test/unit test/cli
echo "== install path: preflight, npm environment, cold install into an empty tool cache (through npm)"
node scripts/run-node-tests.mjs test/install
echo "== ssh layer (real sshd on loopback)"; node scripts/run-node-tests.mjs test/io
echo "== test host (real sshd + kernel conntrack in network namespaces)"; node scripts/run-node-tests.mjs test/host
echo "== integration (the product against real hosts)"; node scripts/run-node-tests.mjs test/integration
echo "== faults (the real apply/rollback path against real sshd, with faults injected)"; node scripts/run-node-tests.mjs test/faults
echo "== VS Code (code-server): extension tests through @vscode/test-electron against a real host, VSIX install check"; bash scripts/vscode/test.sh
echo "== end-to-end (a real browser drives code-server against a real host)"; node scripts/run-node-tests.mjs test/e2e
echo "== the README's main command: npm run demo -- --check"; node scripts/run-node-tests.mjs test/demo
