#!/usr/bin/env bash
# Installs what harness/host/ctd-host needs on a fresh Debian/Ubuntu machine (run as root), its host
# variants included (busybox and opendoas for `--variant busybox`, locales for `--variant locale-de`).
# Idempotent: only packages whose command is missing are installed, and apt-get update runs
# only when something is missing. Starts nothing: no service is enabled or launched
# (ctd-host runs its own sshd inside each test network namespace; the fleet tests start their
# own prometheus, node_exporter and tinyproxy processes).
set -euo pipefail

# command-that-must-exist:package
wanted=(
  /usr/sbin/sshd:openssh-server
  ssh:openssh-client
  ssh-keygen:openssh-client
  ssh-keyscan:openssh-client
  conntrack:conntrack
  iptables:iptables
  iptables-legacy:iptables
  nft:nftables
  ip:iproute2
  tc:iproute2
  sudo:sudo
  sysctl:procps
  # systemd-sysctl is run by hand on test files (test/integration/sysctlKernel.test.ts); Debian ships
  # it only in the systemd package, which installs fine without systemd running as init.
  /lib/systemd/systemd-sysctl:systemd
  ps:procps
  tcpdump:tcpdump
  gcc:gcc
  /usr/include/linux/if_packet.h:linux-libc-dev
  /usr/include/stdio.h:libc6-dev
  busybox:busybox
  # a fish login shell: the quoting must give the same words there (test/unit/fix/quote.test.ts)
  fish:fish
  doas:opendoas
  localedef:libc-bin
  /usr/share/i18n/locales/de_DE:locales
  unshare:util-linux
  nsenter:util-linux
  flock:util-linux
  setsid:util-linux
  dmesg:util-linux
  chpasswd:passwd
  update-alternatives:dpkg
  # the fleet view's real parts: a Prometheus scraping one node_exporter per test host, and a
  # real HTTP proxy in front of it (tests start their own processes; never the packages' services)
  /usr/bin/prometheus:prometheus
  /usr/bin/prometheus-node-exporter:prometheus-node-exporter
  /usr/bin/tinyproxy:tinyproxy
  openssl:openssl
  curl:curl
  # Debian's Ansible (ansible-core 2.14; the `ansible` package adds the community collections,
  # among them ansible.posix and community.general) and ansible-lint 6.13: the exported
  # playbooks are run against the test hosts and linted (test/integration/ansible*.test.ts).
  ansible-playbook:ansible-core
  /usr/lib/python3/dist-packages/ansible_collections/ansible/posix:ansible
  /usr/lib/python3/dist-packages/ansible_collections/community/general:ansible
  ansible-lint:ansible-lint
)

missing=()
for item in "${wanted[@]}"; do
  cmd=${item%%:*}
  pkg=${item#*:}
  if [[ $cmd == /* ]]; then
    [[ -e $cmd ]] && continue
  else
    command -v "$cmd" >/dev/null 2>&1 && continue
    [[ -x /usr/sbin/$cmd || -x /sbin/$cmd ]] && continue
  fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all test-host prerequisites present"
  exit 0
fi
# shellcheck source=../../scripts/lib/preflight.sh
source "$(dirname "$0")/../../scripts/lib/preflight.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
ctd_require_apt "${missing[@]}"
echo "install-deps: apt-get install ${missing[*]}"
# policy-rc.d 101 keeps openssh-server's postinst from trying to start the machine's own sshd
# (there is no init system here anyway; this makes it explicit and harmless on machines that have one).
# Only installed if absent, and removed again afterwards.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap 'if [[ $made_policy -eq 1 ]]; then rm -f "$policy"; fi' EXIT
ctd_apt_install "${missing[@]}"
echo "install-deps: done"
