#!/usr/bin/env bash
# net-cleanup.sh <state-dir>: undoes what the rehearsal's dockerd and host did to the machine's
# network: Docker's iptables rules and chains (filter and nat, IPv4 and IPv6), the host scripts'
# isolation chains (*-isolate-fwd, *-isolate-in) and the jumps to them, the bridges (docker0,
# br-*, the developers' devnet-<port>), the rehearsal's "internet" network namespace, and the
# FORWARD policy and ip_forward value engine.sh saved before the engine first started. Only the
# rehearsal's own engine runs here (engine.ts refuses to start beside another dockerd), so every
# DOCKER* chain and docker bridge is ours.
set -euo pipefail

state_dir=${1:?usage: net-cleanup.sh <state-dir>}

OURS='DOCKER[A-Z0-9-]*|[a-z][a-z0-9-]*-isolate-(fwd|in)'

# remove_docker_rules <iptables command> <table>: deletes the built-in chains' rules that jump to a
# chain of ours or name a bridge of ours, then flushes and deletes those chains.
remove_docker_rules() {
  local cmd=$1 table=$2 rule chain
  "$cmd" -t "$table" -S >/dev/null 2>&1 || return 0
  while IFS= read -r rule; do
    # shellcheck disable=SC2086  # the rule is iptables -S output: words to split, no globs in it
    "$cmd" -t "$table" ${rule/#-A /-D } 2>/dev/null || true
  done < <("$cmd" -t "$table" -S | grep -E '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) ' |
    grep -E -- "-j ($OURS)( |\$)|docker0|br-[0-9a-f]{12}|devnet-" || true)
  for chain in $("$cmd" -t "$table" -S | sed -En "s/^-N ($OURS)\$/\1/p"); do
    "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
  done
  for chain in $("$cmd" -t "$table" -S | sed -En "s/^-N ($OURS)\$/\1/p"); do
    "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
  done
}

for cmd in iptables ip6tables; do
  command -v "$cmd" >/dev/null || continue
  for table in filter nat raw; do
    remove_docker_rules "$cmd" "$table"
  done
done

# The rehearsal's internet (rehearse/internet.ts): its processes, then the namespace with its veth.
if ip netns list 2>/dev/null | grep -qw rehearsal-inet; then
  for pid in $(ip netns pids rehearsal-inet 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns delete rehearsal-inet 2>/dev/null || true
fi

for link in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(docker0|br-[0-9a-f]{12}|veth[0-9a-f]{7}|devnet-[0-9]+|rh-inet-host)$' || true); do
  ip link delete "$link" 2>/dev/null || true
done

if [[ -f $state_dir/forward-policy ]]; then
  iptables -P FORWARD "$(<"$state_dir/forward-policy")"
fi
if [[ -f $state_dir/ip-forward ]]; then
  sysctl -q -w "net.ipv4.ip_forward=$(<"$state_dir/ip-forward")"
fi
rm -f "$state_dir/forward-policy" "$state_dir/ip-forward"
