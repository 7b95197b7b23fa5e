#!/usr/bin/env bash
# A multi-host proofmesh testnet without Docker: each node is a real host in its own Linux network namespace
# (own interface, own IP on 10.77.0.0/24), wired to a bridge that lives in a namespace of its own, so nothing
# touches the machine's real network: every address used is inside namespaces this script made. Once every
# peer table is full, host 0 proves a generated input in data mode across all hosts and the proof is verified
# against the input; with --cut-link HOST a second job runs and HOST's cable (its veth on the bridge) is pulled
# while the job is proving, for longer than jobs.peer_timeout (3 s), then plugged back: the job must still end
# with a verified proof. Everything it made (daemons, namespaces, veths, bridge, data) is removed on exit, on a
# failed step, on Ctrl-C and on SIGTERM. Needs root and iproute2; run `npm run build` first.
#
#   sudo docker/netns-testnet.sh [NODES] [--cut-link HOST] [--down SECONDS] [--size BYTES]
#   sudo docker/netns-testnet.sh 3 --cut-link 2   # 3 hosts, prove, then prove again while host 2 is cut off
#   sudo KEEP=1 docker/netns-testnet.sh 4         # leave it running after the proof; Ctrl-C tears it down
#
# HOST is a host index from 1 to NODES-1 (host 0 submits). Stdout: the peer tables, then `verified: <digest> …`
# per job and the timings; NETNS_PREFIX names the namespaces (default pm: pm-0…, pm-switch); KEEP_DATA=1
# leaves the data folder.
set -euo pipefail

usage() {
  echo "usage: $0 [NODES] [--cut-link HOST] [--down SECONDS] [--size BYTES]" >&2
  exit 2
}

nodes=3
cut=
down=6
size=$((2 * 1024 * 1024))
while [ $# -gt 0 ]; do
  case $1 in
    --cut-link) [ $# -ge 2 ] || usage; cut=$2; shift 2 ;;
    --down) [ $# -ge 2 ] || usage; down=$2; shift 2 ;;
    --size) [ $# -ge 2 ] || usage; size=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) nodes=$1; shift ;;
  esac
done
prefix=${NETNS_PREFIX:-pm}
subnet=10.77.0
units=2 # per host, so that a job of every unit spreads over every host
capacity=$((units * (nodes < 16 ? nodes : 16))) # jobs.max_peers_per_job is 16
repo=$(cd "$(dirname "$0")/.." && pwd)
cli="$repo/dist/node/cli.js"

[[ $nodes =~ ^[0-9]+$ ]] && [ "$nodes" -ge 2 ] && [ "$nodes" -le 200 ] || { echo "NODES: 2 to 200, got $nodes" >&2; exit 2; }
[[ $size =~ ^[0-9]+$ ]] && [ "$size" -ge 1 ] || { echo "--size: a byte count, got $size" >&2; exit 2; }
[[ $down =~ ^[0-9]+$ ]] && [ "$down" -ge 1 ] || { echo "--down: whole seconds, got $down" >&2; exit 2; }
if [ -n "$cut" ]; then
  cut=${cut#"$prefix-"}
  [[ $cut =~ ^[0-9]+$ ]] && [ "$cut" -ge 1 ] && [ "$cut" -lt "$nodes" ] ||
    { echo "--cut-link: a host from 1 to $((nodes - 1)) (host 0 submits), got $cut" >&2; exit 2; }
fi
[ -f "$cli" ] || { echo "build first: npm run build" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
started=$(now_ms)

root=$(mktemp -d /tmp/proofmesh-netns-XXXXXX)
pids=()  # daemons
child=   # the command waited for in the background (see waited)
job_pid= # job 2's `prove --wait`, while the link is cut
made=()  # namespaces this run created, and only those are removed

# a pid is killed only while it is still this shell's child (never a process that took over a reaped pid)
ours() { [ -n "$1" ] && [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ]; }

cleanup() {
  local rc=$?
  set +e
  trap '' INT TERM
  local all=() pid alive ns
  for pid in "${pids[@]}" "$child" "$job_pid"; do ours "$pid" && all+=("$pid"); done
  for pid in "${all[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 100); do
    alive=0
    for pid in "${all[@]}"; do ours "$pid" && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${all[@]}"; do ours "$pid" && kill -KILL "$pid" 2>/dev/null; done
  # whatever still runs in our namespaces (a prover a killed daemon left behind) is ours too
  for ns in "${made[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  wait 2>/dev/null
  # the veths and the bridge live in these namespaces and go with them
  for ns in "${made[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "${KEEP_DATA:-}" ] || rm -rf "$root"
  echo "torn down: ${#pids[@]} daemons stopped, ${#made[@]} namespaces removed$([ -n "${KEEP_DATA:-}" ] && echo "; data kept in $root")" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# Runs a command in the background and waits for it, so that Ctrl-C or SIGTERM is handled at once (bash runs a
# trap only after a foreground command ends) and the command is killed at teardown
waited() {
  local rc=0
  "$@" &
  child=$!
  wait "$child" || rc=$?
  child=
  return "$rc"
}

add_ns() { ip netns add "$1"; made+=("$1"); }

add_ns "$prefix-switch"
ip -n "$prefix-switch" link add br0 type bridge
ip -n "$prefix-switch" link set br0 up
for i in $(seq 0 $((nodes - 1))); do
  ns="$prefix-$i"
  add_ns "$ns"
  ip link add "v$i" netns "$prefix-switch" type veth peer name eth0 netns "$ns"
  ip -n "$prefix-switch" link set "v$i" master br0 up
  ip -n "$ns" addr add "$subnet.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

in_node() { local i=$1; shift; ip netns exec "$prefix-$i" "$@"; }
cli_of() { local i=$1; shift; in_node "$i" node "$cli" "$@" --data-dir "$root/node-$i"; }
# json FILE EXPR: EXPR evaluated with `j` the parsed file, printed
json() { node -e "const j=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));process.stdout.write(String($2))" "$1"; }

start_node() {
  local i=$1; shift
  mkdir -p "$root/node-$i"
  # ip netns exec execs node, so $! is the daemon itself (through a shell function it would be a subshell,
  # and the TERM at teardown would miss the daemon). One operator's testnet: a submitter may lease all of a peer's
  # units (security.max_units_per_submitter is half of them by default, against strangers).
  PROOFMESH_SECURITY_MAX_UNITS_PER_SUBMITTER="$units" ip netns exec "$prefix-$i" node "$cli" daemon --data-dir "$root/node-$i" --listen "/ip4/$subnet.$((10 + i))/tcp/4001" \
    --api-port 7400 --advert-interval 1s --log-format json --compute-units "$units" "$@" >"$root/node-$i/daemon.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do [ -f "$root/node-$i/api.json" ] && return 0; sleep 0.1; done
  echo "node $i did not start; its log:" >&2; cat "$root/node-$i/daemon.log" >&2; exit 1
}

peer_id() { json "$root/node-$1/api.json" j.peerId; }
start_node 0
seed="/ip4/$subnet.10/tcp/4001/p2p/$(peer_id 0)"
for i in $(seq 1 $((nodes - 1))); do start_node "$i" --bootstrap "$seed"; done
echo "started $nodes hosts on $subnet.0/24 in $(secs $(($(now_ms) - started))) s; seed $seed; data in $root" >&2

peers_of() { cli_of "$1" peers --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(String(JSON.parse(s).length)))"; }
# converge SECONDS: until every peer table lists every other host
converge() {
  local deadline=$((SECONDS + $1)) full i
  until [ "$SECONDS" -ge "$deadline" ]; do
    full=1
    for i in $(seq 0 $((nodes - 1))); do [ "$(peers_of "$i" 2>/dev/null)" = $((nodes - 1)) ] || { full=0; break; }; done
    [ "$full" = 1 ] && return 0
    sleep 0.5
  done
  return 1
}
converge 60 || { echo "the peer tables did not fill within 60 s" >&2; exit 1; }
echo "every peer table full $(secs $(($(now_ms) - started))) s after start" >&2

for i in $(seq 0 $((nodes - 1))); do
  echo "== host $prefix-$i ($subnet.$((10 + i)))"
  cli_of "$i" peers
done
echo "== status of host $prefix-1 asked from host $prefix-0 over /proofmesh/status/1.0.0"
in_node 0 node "$cli" status --data-dir "$root/node-0" --peer "/ip4/$subnet.11/tcp/4001/p2p/$(peer_id 1)"

# submit N: host 0 proves $root/input-N with every unit of every host, in the background, into
# $root/job-N.{json,log,proof}; finish N waits for it
submit() {
  ip netns exec "$prefix-0" node "$cli" prove --data-dir "$root/node-0" -x --inputs "$root/input-$1" \
    -c "$capacity" --data-id "netns-job-$1" --wait --json --out "$root/job-$1.proof" \
    >"$root/job-$1.json" 2>"$root/job-$1.log" &
  job_pid=$!
}
finish() {
  local rc=0
  wait "$job_pid" || rc=$?
  job_pid=
  if [ "$rc" != 0 ]; then
    echo "job $1 failed (prove exited $rc); its events:" >&2
    cat "$root/job-$1.log" >&2
    exit 1
  fi
}
# verified N [LABEL]: checks job N's proof against its input on host 0, prints `verified: <digest> (…)`
job_ms=()
verified() {
  local n=$1 out digest
  out=$(cli_of 0 verify "$root/job-$n.proof" --input "$root/input-$n") ||
    { echo "job $n: the proof does not verify against its input: $out" >&2; exit 1; }
  digest=$(sed -n 's/^valid: \([0-9a-f]*\) .*/\1/p' <<<"$out")
  [ -n "$digest" ] && [ "$digest" = "$(json "$root/job-$n.json" j.digest)" ] ||
    { echo "job $n: verify said '$out', the job's digest is $(json "$root/job-$n.json" j.digest)" >&2; exit 1; }
  job_ms[n]=$(json "$root/job-$n.json" 'j.finishedAt-j.createdAt')
  echo "verified${2:-}: $digest (job $(json "$root/job-$n.json" j.id), $(json "$root/job-$n.json" j.segments.length) segments on" \
    "$(json "$root/job-$n.json" 'new Set(j.segments.map(s=>s.peerId)).size') hosts, $size bytes, job $(secs "${job_ms[n]}") s)"
}

echo "== job 1: $size random bytes proved from host $prefix-0 over $capacity units of $nodes hosts"
head -c "$size" /dev/urandom >"$root/input-1"
submit 1
finish 1
verified 1
echo "first verified proof $(secs $(($(now_ms) - started))) s after start"

if [ -n "$cut" ]; then
  echo "== job 2: host $prefix-$cut's link (v$cut on the bridge) cut for $down s while the job is proving"
  head -c "$size" /dev/urandom >"$root/input-2"
  cut_peer=$(peer_id "$cut")
  submit 2
  # the cut comes the moment the job's event stream (prove's stderr, one line per event) says it is proving,
  # while every segment is still being proved; the stream also says which segments the host contributed
  until grep -q '] state proving' "$root/job-2.log" 2>/dev/null; do
    ours "$job_pid" || { finish 2; echo "job 2 ended before it was seen proving" >&2; exit 1; }
    waited sleep 0.1
  done
  ip -n "$prefix-switch" link set "v$cut" down
  cut_at=$(now_ms)
  held=$(sed -n "s/.* segment \([0-9]*\) on …${cut_peer: -8} contributed.*/\1/p" "$root/job-2.log" | paste -sd, -)
  waited sleep "$down"
  ip -n "$prefix-switch" link set "v$cut" up
  up_at=$(now_ms)
  echo "link of $prefix-$cut down for $(secs $((up_at - cut_at))) s from the start of proving (it held segments ${held:-none}), then up again"
  # while it was down, the submitter's view of the job: `proofmesh job ID --json` on host 0
  id=$(cli_of 0 jobs --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s).find(r=>r.request.dataId==='netns-job-2');process.stdout.write(j?j.id:'')})")
  [ -n "$id" ] || { echo "job 2 is not in host $prefix-0's job list" >&2; exit 1; }
  cli_of 0 job "$id" --json >"$root/job-2.after-cut.json"
  echo "job $id just after the link came up: $(json "$root/job-2.after-cut.json" \
    "j.state+', segments on '+new Set(j.segments.map(s=>s.peerId)).size+' hosts, peers: '+j.peers.map(p=>p.peerId.slice(-8)+' '+p.state).join(', ')")"
  finish 2
  verified 2 " after cut"
  moved=$(json "$root/job-2.json" "[${held}].filter(i=>j.segments.find(s=>s.index===i)?.peerId!=='$cut_peer').length+' of '+[${held}].length")
  left=$(json "$root/job-2.json" "j.segments.filter(s=>s.peerId==='$cut_peer').length")
  echo "job 2 took $(secs "${job_ms[2]}") s with the cut vs $(secs "${job_ms[1]}") s for job 1;" \
    "$moved segments of $prefix-$cut moved elsewhere, $left proved by it"
  converge 30 || { echo "host $prefix-$cut is still missing from a peer table $(secs $(($(now_ms) - up_at))) s after its link came up" >&2; exit 1; }
  # when it came back, from the hosts' logs: the last `peer joined the peer table` that restored the full mesh
  back=$(node -e '
    const fs = require("fs"); const [root, n, cut, upAt] = process.argv.slice(1).map((a, i) => (i ? Number(a) : a));
    const ids = [...Array(n).keys()].map((i) => JSON.parse(fs.readFileSync(`${root}/node-${i}/api.json`, "utf8")).peerId);
    let last = upAt;
    for (let i = 0; i < n; i++) {
      const joined = fs.readFileSync(`${root}/node-${i}/daemon.log`, "utf8").split("\n").flatMap((line) => {
        try { const e = JSON.parse(line); return e.msg === "peer joined the peer table" && e.time >= upAt ? [e] : []; } catch { return []; }
      });
      for (const peer of i === cut ? ids.filter((_, k) => k !== cut) : [ids[cut]]) {
        const e = joined.find((j) => j.peer === peer);
        if (e) last = Math.max(last, e.time);
      }
    }
    process.stdout.write(String(last - upAt));' "$root" "$nodes" "$cut" "$up_at")
  echo "host $prefix-$cut back in every peer table $(secs "$back") s after its link came up"
fi

if [ -n "${KEEP:-}" ]; then
  echo "running; Ctrl-C tears it down (data in $root)" >&2
  while true; do waited sleep 3600; done
fi
