#!/usr/bin/env bash
# The README's first command: a demo host in trouble, diagnosed over SSH.
#   - brings up a real host (network namespace + Debian's sshd + the kernel's conntrack table),
#   - puts it in trouble: table above 90 % with one dominant source, INVALID traffic without a
#     drop rule, the 5-day established timeout, a sysctl.conf with the typical mistakes
#     (examples/host-in-trouble), legacy iptables tables next to nftables,
#   - runs `conntrack-doctor diagnose` and `conntrack-doctor entries` on it over SSH (host key
#     verified, key login), then removes everything (also on Ctrl-C).
# `--keep` leaves the host running and prints how to reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash scripts/setup.sh >/dev/null
name=demo
host=test/host/ctd-host
cleanup() { [ "$keep" -eq 1 ] || "$host" down "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$host" down "$name" >/dev/null 2>&1 || true
echo "== bringing up the demo host (network namespace ctd-$name, sshd, kernel conntrack)"
json=$("$host" up "$name")
read -r addr state key known < <(node -e '
  const h = JSON.parse(process.argv[1]);
  console.log(h.address, h.statePath, h.users.root.key, h.knownHostsPath);' "$json")
cfg="$state/ssh_config"
cat >"$cfg" <<EOF
Host demo
  HostName $addr
  User root
  IdentityFile $key
  IdentitiesOnly yes
  UserKnownHostsFile $known
  StrictHostKeyChecking yes
EOF
ssh_demo() { ssh -F "$cfg" -o BatchMode=yes demo "$@"; }

echo "== putting it in trouble"
# The typical sysctl mistakes, in the host's /etc (an overlay: the machine's /etc is untouched).
tar -C examples/host-in-trouble -cf - etc | ssh_demo 'tar -xf - -C / && ln -sfn ../sysctl.conf /etc/sysctl.d/99-sysctl.conf'
"$host" mix "$name" >/dev/null                                              # legacy tables next to nftables
"$host" fill "$name" --assured 150000 --src-count 400 >/dev/null           # ASSURED TCP
"$host" fill "$name" --unreplied 90000 --src 198.18.66.66 >/dev/null       # one dominant source
"$host" invalid "$name" 3000 >/dev/null                                    # INVALID, no drop rule
( for _ in 1 2 3; do sleep 1; "$host" invalid "$name" 2000 >/dev/null; done ) &   # keeps arriving while we look
echo "   $(ssh_demo conntrack -C) entries of $(ssh_demo cat /proc/sys/net/netfilter/nf_conntrack_max)"

echo
echo "== conntrack-doctor diagnose demo   (over SSH, two snapshots 2 s apart)"
set +e
node dist/cli.js diagnose demo --ssh-config "$cfg" --interval 2
rc=$?
echo
echo "== conntrack-doctor entries demo --top 5"
node dist/cli.js entries demo --ssh-config "$cfg" --top 5
set -e
wait
if [ "$keep" -eq 1 ]; then
  echo
  echo "The demo host keeps running: node dist/cli.js diagnose demo --ssh-config $cfg"
  echo "Remove it with: $host down $name"
fi
# diagnose exits 1 when it finds problems: that is the expected outcome here.
[ "$rc" -le 1 ]
