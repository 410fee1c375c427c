#!/usr/bin/env bash
# Every VS Code check, for scripts/test-all.sh and CI: installs what is missing (cached after
# the first run), runs test/vscode/suite through @vscode/test-electron's runTests (inside
# code-server, against a real test host), the runner's own test (a failing suite must fail the
# run), and packages + installs the VSIX and checks it through the UI.
#
#   bash scripts/vscode/test.sh [--suite-only] [testElectron.ts options, e.g. --grep 'chart|entries']
#   CTD_VSC_HOST=NAME picks the test host's name (default vsc), so that several runs can share a machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
suite_only=0
if [ "${1:-}" = "--suite-only" ]; then suite_only=1; shift; fi
name=${CTD_VSC_HOST:-vsc}
echo "== VS Code: install (cached)"; bash scripts/vscode/install.sh

echo "== VS Code: extension tests in code-server (against a real test host)"
# A real host for host.spec.ts: network namespace + sshd + kernel conntrack, removed on exit.
host=test/host/ctd-host
"$host" down "$name" >/dev/null 2>&1 || true
trap '"$host" down "$name" >/dev/null 2>&1 || true' EXIT
json=$("$host" up "$name")
read -r addr state key known < <(node -e 'const h = JSON.parse(process.argv[1]); console.log(h.address, h.statePath, h.users.root.key, h.knownHostsPath);' "$json")
cfg="$state/ssh_config"
: >"$state/empty_known_hosts"
{
  echo "Host vsc-host"
  echo "  HostName $addr"
  echo "  User root"
  echo "  IdentityFile $key"
  echo "  IdentitiesOnly yes"
  echo "  UserKnownHostsFile $known"
  echo "  StrictHostKeyChecking yes"
  echo "Host vsc-unknown-key"
  echo "  HostName $addr"
  echo "  User root"
  echo "  IdentityFile $key"
  echo "  IdentitiesOnly yes"
  echo "  UserKnownHostsFile $state/empty_known_hosts"
} >"$cfg"
"$host" fill "$name" --assured 2000 >/dev/null
# Through @vscode/test-electron's runTests (test/vscode/testElectron.ts), as on desktop VS Code;
# here its "VS Code executable" is scripts/vscode/code-shim (code-server + headless Chromium).
node --import tsx test/vscode/testElectron.ts \
  --env "CTD_TEST_SSH_CONFIG=$cfg" --env CTD_TEST_HOST=vsc-host --env "CTD_TEST_HOST_NAME=$name" \
  --env CTD_TEST_HOST_UNKNOWN_KEY=vsc-unknown-key --env "CTD_REPO=$PWD" "$@"
"$host" down "$name" >/dev/null 2>&1 || true
[ "$suite_only" -eq 1 ] && exit 0

echo "== VS Code: runner self-test"; node scripts/run-node-tests.mjs test/vscode
echo "== VS Code: VSIX package + install check"; bash scripts/vscode/package-and-install.sh
