#!/usr/bin/env bash
# A multi-host proofmesh testnet without Docker: each node is a real host in its own Linux network namespace
# (own interface, own IP on 10.77.0.0/24), wired to a bridge that lives in a namespace of its own, so nothing
# touches the machine's real network. Needs root and iproute2; run `npm run build` first.
#
#   sudo docker/netns-testnet.sh [NODES]          # start, wait until every peer table is full, print, tear down
#   sudo KEEP=1 docker/netns-testnet.sh 4         # leave it running; Ctrl-C tears it down
set -euo pipefail

nodes=${1:-3}
prefix=${NETNS_PREFIX:-pm}
subnet=10.77.0
repo=$(cd "$(dirname "$0")/.." && pwd)
cli="$repo/dist/node/cli.js"
root=$(mktemp -d /tmp/proofmesh-netns-XXXXXX)
pids=()

[ -f "$cli" ] || { echo "build first: npm run build" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for i in $(seq 0 $((nodes - 1))); do ip netns del "$prefix-$i" 2>/dev/null || true; done
  ip netns del "$prefix-switch" 2>/dev/null || true
  [ -n "${KEEP_DATA:-}" ] || rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$prefix-switch"
ip -n "$prefix-switch" link add br0 type bridge
ip -n "$prefix-switch" link set br0 up
for i in $(seq 0 $((nodes - 1))); do
  ns="$prefix-$i"
  ip netns add "$ns"
  ip link add "v$i" netns "$prefix-switch" type veth peer name eth0 netns "$ns"
  ip -n "$prefix-switch" link set "v$i" master br0 up
  ip -n "$ns" addr add "$subnet.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

in_node() { local i=$1; shift; ip netns exec "$prefix-$i" "$@"; }

start_node() {
  local i=$1; shift
  mkdir -p "$root/node-$i"
  # ip netns exec execs node, so $! is the daemon itself (through a shell function it would be a subshell,
  # and the TERM at teardown would miss the daemon)
  ip netns exec "$prefix-$i" node "$cli" daemon --data-dir "$root/node-$i" --listen "/ip4/$subnet.$((10 + i))/tcp/4001" \
    --api-port 7400 --advert-interval 1s --log-format json "$@" >"$root/node-$i/daemon.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do [ -f "$root/node-$i/api.json" ] && return 0; sleep 0.1; done
  echo "node $i did not start; its log:" >&2; cat "$root/node-$i/daemon.log" >&2; exit 1
}

start_node 0
seed_id=$(node -e "process.stdout.write(JSON.parse(require('fs').readFileSync('$root/node-0/api.json')).peerId)")
seed="/ip4/$subnet.10/tcp/4001/p2p/$seed_id"
for i in $(seq 1 $((nodes - 1))); do start_node "$i" --bootstrap "$seed"; done
echo "started $nodes hosts on $subnet.0/24; seed $seed; data in $root" >&2

peers_of() { in_node "$1" node "$cli" peers --data-dir "$root/node-$1" --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(String(JSON.parse(s).length)))"; }
deadline=$((SECONDS + 60))
until [ "$SECONDS" -ge "$deadline" ]; do
  full=1
  for i in $(seq 0 $((nodes - 1))); do [ "$(peers_of "$i")" = $((nodes - 1)) ] || { full=0; break; }; done
  [ "$full" = 1 ] && break
  sleep 0.5
done
[ "$full" = 1 ] || { echo "the peer tables did not fill within 60 s" >&2; exit 1; }

for i in $(seq 0 $((nodes - 1))); do
  echo "== host $prefix-$i ($subnet.$((10 + i)))"
  in_node "$i" node "$cli" peers --data-dir "$root/node-$i"
done
echo "== status of host $prefix-1 asked from host $prefix-0 over /proofmesh/status/1.0.0"
peer1=$(node -e "process.stdout.write(JSON.parse(require('fs').readFileSync('$root/node-1/api.json')).peerId)")
in_node 0 node "$cli" status --peer "/ip4/$subnet.11/tcp/4001/p2p/$peer1"

if [ -n "${KEEP:-}" ]; then
  echo "running; Ctrl-C tears it down (data in $root)" >&2
  while true; do sleep 3600; done
fi
