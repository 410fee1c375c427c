#!/usr/bin/env bash
# Keeps the demo host in trouble while the demo runs (scripts/demo.sh starts it, stops it with
# SIGTERM and waits for it):
#   - INVALID packets keep arriving (about one batch a second), so the INVALID rate between
#     two snapshots is never zero;
#   - the SYN flood from the dominant source keeps coming: its UNREPLIED entries live 120 s
#     (nf_conntrack_tcp_timeout_syn_sent), so the table is topped up to TARGET entries with new
#     SYNs from that source whenever expiry has taken it below, as a flood that goes on does.
#
#   bash scripts/demo/traffic.sh NAME TARGET_COUNT SOURCE_IP
set -uo pipefail
cd "$(dirname "$0")/../.."
host=harness/host/ctd-host
name=${1:?NAME}
target=${2:?TARGET_COUNT}
source_ip=${3:?SOURCE_IP}

stop=0
pause=
# A signal ends the loop after the command that is running (a batch takes well under a second).
on_signal() { stop=1; [ -n "$pause" ] && kill "$pause" 2>/dev/null; }
trap on_signal TERM INT

while [ "$stop" -eq 0 ]; do
  "$host" invalid "$name" 300 >/dev/null 2>&1
  [ "$stop" -eq 0 ] || break
  # The host is gone (removed by someone else): nothing left to do.
  count=$("$host" exec "$name" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null) || exit 1
  if [ $((target - count)) -gt 500 ]; then
    "$host" fill "$name" --unreplied $((target - count)) --src "$source_ip" >/dev/null 2>&1
  fi
  [ "$stop" -eq 0 ] || break
  sleep 1 &
  pause=$!
  wait "$pause" 2>/dev/null
  pause=
done
