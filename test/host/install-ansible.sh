#!/usr/bin/env bash
# Installs Debian's Ansible for the playbook tests (run as root): `ansible` (ansible-core 2.14
# with the community collections, among them ansible.posix and community.general) and
# `ansible-lint` (6.13, checks the exported playbooks against its default profile).
# Idempotent like install-deps.sh: only packages whose command is missing are installed, and
# apt-get update runs only when something is missing. Starts nothing.
set -euo pipefail

# command-that-must-exist:package
wanted=(
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
  fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-ansible: ansible and ansible-lint present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-ansible: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-ansible: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-ansible: done"
