#!/usr/bin/env bash
# The README's first command (run as root on Debian/Ubuntu): a demo host in trouble, with a real
# VS Code connected to it.
#   1. installs what it needs (scripts/setup.sh, scripts/vscode/install.sh; cached after the
#      first run, which takes about 7 minutes),
#   2. packages the extension (scripts/vscode/package.sh),
#   3. brings up a real host — network namespace ctd-demo, Debian's sshd, the kernel's conntrack
#      table — and puts it in trouble: table above 90 % with one dominant source (a SYN flood
#      that goes on while the demo runs), INVALID packets arriving without a drop rule, the
#      5-day established timeout, a sysctl.conf with the typical mistakes
#      (examples/host-in-trouble), legacy iptables tables next to nftables,
#   4. diagnoses it with the CLI over SSH (host key verified, key login), then brings up a small
#      fleet (scripts/demo/fleet.ts: demo hosts demof1…3, one in trouble, node_exporter in each,
#      Prometheus scraping them) and ranks it with `conntrack-doctor fleet`,
#   5. starts code-server (a real VS Code, password-protected, on 127.0.0.1) with the VSIX
#      installed, the demo host and the demo Prometheus (Fleet view) configured, prints the URL
#      and the password, and waits.
# Ctrl-C (or SIGTERM) stops everything and removes it: code-server and its processes, the
# traffic, the host (namespace, sshd, state). No sysctl of the machine is changed.
#
# --check opens the page in headless Chromium instead of waiting, connects to the host through
# the UI, takes screenshots, prints the sidebar and exits non-zero if the extension did not
# connect or did not show the expected findings.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# shellcheck source=scripts/lib/fleet-url.sh
. scripts/lib/fleet-url.sh

usage() {
  cat <<'EOF'
usage: bash scripts/demo.sh [--port N] [--check] [--screenshots DIR]   (npm run demo -- …)

  --port N           serve VS Code on 127.0.0.1:N (default: a free port)
  --check            open the page in headless Chromium, connect to the demo host through the
                     UI, take screenshots, print the sidebar, exit 0 only if the extension
                     connected and shows the expected findings; then clean up
  --screenshots DIR  where --check puts its screenshots (default test-output/demo)
  --help             this text
EOF
}

check=0
port=
shots=test-output/demo
while [ $# -gt 0 ]; do
  case $1 in
    --check) check=1; shift ;;
    --port) port=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --screenshots) shots=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -n "$port" ] && ! [[ $port =~ ^[0-9]+$ && $port -ge 1024 && $port -le 65535 ]]; then
  echo "demo: --port needs a port number from 1024 to 65535, got '$port'" >&2
  exit 2
fi
# Ports browsers refuse to open (the Fetch standard's "bad ports" above 1024).
case " 1719 1720 1723 2049 3659 4045 4190 5060 5061 6000 6566 6665 6666 6667 6668 6669 6679 6697 10080 " in
  *" $port "*) [ -z "$port" ] || { echo "demo: browsers refuse port $port: pick another --port (e.g. 8080)" >&2; exit 2; } ;;
esac
if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "demo: 127.0.0.1:$port is already in use: pick another --port" >&2
  exit 2
fi
[ -n "$shots" ] || { echo "demo: --screenshots needs a folder" >&2; exit 2; }
# shellcheck source=lib/npm-env.sh
source scripts/lib/npm-env.sh
# shellcheck source=lib/preflight.sh
source scripts/lib/preflight.sh
# What this script starts (setup, installs, node, code-server) behaves the same under
# `npm run demo` as from a shell.
ctd_clean_npm_env
ctd_require_root
ctd_require_node

name=demo
host=harness/host/ctd-host
dominant=198.18.66.66
work=
traffic_pid=
node_pid=
fleet_pid=
host_up=0

# Processes still running with our work folder on their command line or in their environment
# (code-server and its children have XDG_* and TMPDIR there), left if the node part was killed
# before it could stop them: by pid, nothing else.
leftovers() {
  local d pid seen
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" != $$ ] || continue
    seen=$({ tr '\0' '\n' <"$d/cmdline"; tr '\0' '\n' <"$d/environ"; } 2>/dev/null) || true
    [[ $seen == *"$work/"* ]] && echo "$pid"
  done
  return 0
}

cleanup() {
  local rc=$?
  # A second Ctrl-C must not interrupt the cleanup.
  trap - EXIT
  trap '' INT TERM
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  if [ -n "$fleet_pid" ]; then
    # scripts/demo/fleet.ts stops its Prometheus, exporters and hosts (demof1…) on SIGTERM
    kill -TERM "$fleet_pid" 2>/dev/null || true
    wait "$fleet_pid" 2>/dev/null || true
  fi
  if [ -n "$traffic_pid" ]; then
    kill -TERM "$traffic_pid" 2>/dev/null || true
    wait "$traffic_pid" 2>/dev/null || true
  fi
  # Only the host this run brought up (another run's demo host is left alone).
  [ "$host_up" -eq 0 ] || "$host" down "$name" >/dev/null 2>&1 || true
  if [ -n "$work" ]; then
    local pids
    pids=$(leftovers)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    rm -rf "$work"
  fi
  echo "== demo stopped: code-server, traffic and the host (namespace ctd-$name) are gone"
  exit "$rc"
}
# One demo per machine (its names are fixed): say so before installing anything. A demo host
# whose run crashed (its owner process is gone) is removed; one still in use is not.
if [ -x "$host" ] && command -v ip >/dev/null 2>&1; then
  "$host" reap >/dev/null 2>&1 || true
  # Not `list | grep -q`: grep stops at the first match, list dies of SIGPIPE, and pipefail
  # turns the match into a failure.
  up_hosts=$("$host" list 2>/dev/null) || up_hosts=
  if grep -qx "$name" <<<"$up_hosts"; then
    # The pid that started it (ctd-host's registry records OWNER=pid:start-time).
    owner=$(sed -n 's/^OWNER=\([0-9]*\):.*/\1/p' "${CTD_HOSTS_ROOT:-/tmp/ctd-hosts}/.registry/$name" 2>/dev/null) || owner=
    echo "demo: a demo is already running on this machine (host ctd-$name is up${owner:+, started by pid $owner})." >&2
    echo "      Stop it with Ctrl-C in its terminal${owner:+ (or: kill $owner)}, or remove a stale one with: $host down $name" >&2
    exit 1
  fi
fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== installing what the demo needs (cached after the first run; the first takes ~7 min)"
bash scripts/setup.sh >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/ctd-demo.XXXXXX")
if ! bash scripts/vscode/install.sh >"$work/install.log" 2>&1; then
  tail -n 40 "$work/install.log" >&2
  echo "demo: bash scripts/vscode/install.sh failed (log above)" >&2
  exit 1
fi

echo "== packaging the extension"
if ! vsix=$(bash scripts/vscode/package.sh "$work/vsix" 2>"$work/package.log"); then
  cat "$work/package.log" >&2
  echo "demo: packaging failed (log above)" >&2
  exit 1
fi
tail -n 1 "$work/package.log" | sed 's/^package: /   /'

"$host" down "$name" >/dev/null 2>&1 || true   # what a half-made host may have left
echo "== bringing up the demo host (network namespace ctd-$name, sshd, kernel conntrack)"
host_up=1
json=$("$host" up "$name" --owner $$)
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
"$host" fill "$name" --unreplied 90000 --src "$dominant" >/dev/null        # one dominant source
"$host" invalid "$name" 3000 >/dev/null                                    # INVALID, no drop rule
count=$("$host" exec "$name" cat /proc/sys/net/netfilter/nf_conntrack_count)
# Keeps arriving while the demo runs: INVALID packets, and the flood's SYNs (their entries expire
# after 120 s): the table stays at this count.
bash scripts/demo/traffic.sh "$name" "$count" "$dominant" </dev/null &
traffic_pid=$!
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
# diagnose exits 1 when it finds problems: that is the expected outcome here.
if [ "$rc" -gt 1 ]; then
  echo "demo: conntrack-doctor diagnose failed (exit $rc)" >&2
  exit 1
fi

echo
# The fleet: demo hosts demof1…3 (one in trouble), node_exporter in each, Prometheus scraping them.
mkdir -p "$work/fleet"
node --import tsx "$repo/scripts/demo/fleet.ts" --prefix demof --hosts 3 --dir "$work/fleet" </dev/null &
fleet_pid=$!
prom_url=$(fleet_url "$work/fleet/fleet.json" "$fleet_pid" "demo: the demo fleet" 180) || exit 1
# "Diagnose over SSH" on a fleet row connects to the host's address: known key, key login.
cat "$work/fleet/ssh_config" >>"$cfg"
echo
echo "== conntrack-doctor fleet --prometheus $prom_url   (the fleet from Prometheus, worst first)"
set +e
node dist/cli.js fleet --prometheus "$prom_url"
set -e

echo
echo "== starting code-server (a real VS Code) with the extension and the demo host"
mkdir -p "$work/workspace"
cp -r examples/host-in-trouble "$work/workspace/"
args=(--vsix "$vsix" --ssh-config "$cfg" --host demo --state "$work/code-server" --workspace "$work/workspace/host-in-trouble" --prometheus "$prom_url")
[ -n "$port" ] && args+=(--port "$port")
[ "$check" -eq 1 ] && args+=(--check --screenshots "$shots" --dominant "$dominant")
# In the background, so that a signal to this script reaches the trap at once; the trap hands
# it on (SIGTERM) and waits for code-server to be stopped.
node --import tsx "$repo/scripts/demo/demo.ts" "${args[@]}" </dev/null &
node_pid=$!
set +e
wait "$node_pid"
rc=$?
set -e
node_pid=
exit "$rc"
