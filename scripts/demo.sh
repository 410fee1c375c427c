#!/usr/bin/env bash
# The README's first command. Until the demo host exists (a real network namespace with sshd and a
# full conntrack table, coming with the SSH issue), the main job runs the linter over the example
# host tree shipped in examples/host-in-trouble: a Debian-like /etc with the typical mistakes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
echo "== conntrack-doctor lint --root examples/host-in-trouble"
set +e
node dist/cli.js lint --root examples/host-in-trouble
rc=$?
set -e
echo "(exit status $rc: 1 means findings at warning or above, as CI would see it)"
[ "$rc" -le 1 ]
