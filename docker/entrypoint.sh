#!/bin/sh
# The container's entry point. Its settings are TESTNET_* variables, not PROOFMESH_* ones (the daemon refuses
# unknown PROOFMESH_* variables); the daemon's own settings are PROOFMESH_* variables or flags, as anywhere.
#
#   TESTNET_ROLE=bootstrap  start the daemon; write the private network key to $TESTNET_SWARM_KEY if there is
#                           none yet, and this peer's address to $TESTNET_SHARED_DIR/bootstrap.addr
#   TESTNET_ROLE=peer       wait for that address, then join through it with the same key
#   TESTNET_ROLE=submit     a submit-only node: wait for TESTNET_MIN_PEERS peers in its peer table with
#                           TESTNET_UNITS free units in all, prove a random sample of TESTNET_SAMPLE_BYTES (data
#                           mode), verify the proof; exit 0 only on a verified proof
#   no role                 the arguments go to `proofmesh` (default: `daemon`), or run a program on PATH
#
#   TESTNET_SHARED_DIR      where the bootstrap address (and by default the key) are shared, default /shared
#   TESTNET_SWARM_KEY       the key file, default $TESTNET_SHARED_DIR/swarm.key; "none" = the public network
#   TESTNET_BOOTSTRAP_HOST  the name (or IPv4) the others reach the bootstrap peer at, default bootstrap
#   TESTNET_METRICS_PORT    (bootstrap, peer) serve the daemon's /metrics on this port, without the API token,
#                           for Prometheus; the API itself stays on 127.0.0.1
#   TESTNET_WAIT_SECONDS    how long to wait for the bootstrap address, the daemon's start and (submit) the peers,
#                           default 600: a saturated host starts daemons slowly. What was awaited and what was
#                           seen are printed as they change and when the wait gives up
set -eu
shared=${TESTNET_SHARED_DIR:-/shared}
key=${TESTNET_SWARM_KEY:-$shared/swarm.key}
addr_file=$shared/bootstrap.addr
data=${PROOFMESH_DATA_DIR:-/data}
wait_seconds=${TESTNET_WAIT_SECONDS:-600}

log() { echo "proofmesh-entrypoint: $*" >&2; }

api_field() {
  node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$data/api.json','utf8')).$1))"
}

wait_for_file() { # FILE SECONDS WHAT
  i=0
  until [ -s "$1" ]; do
    i=$((i + 1))
    [ "$i" -le $(($2 * 10)) ] || { log "no $3 after $2 s"; exit 1; }
    sleep 0.1
  done
}

key_flags() { [ "$key" = none ] || printf '%s\n' --swarm-key "$key"; }

metrics_proxy() {
  [ -n "${TESTNET_METRICS_PORT:-}" ] || return 0
  node -e '
const http = require("node:http"), fs = require("node:fs"), dir = process.env.PROOFMESH_DATA_DIR
http.createServer(async (req, res) => {
  try {
    if (req.url !== "/metrics") return void res.writeHead(404).end()
    const api = JSON.parse(fs.readFileSync(dir + "/api.json", "utf8"))
    const token = fs.readFileSync(dir + "/api.token", "utf8").trim()
    const r = await fetch(new URL("/metrics", api.url), {
      headers: { authorization: "Bearer " + token },
      signal: AbortSignal.timeout(5000) // named below when it fires
    })
    res.writeHead(r.status, { "content-type": r.headers.get("content-type") || "text/plain" }).end(await r.text())
  } catch (err) {
    res.writeHead(503).end(err.name === "TimeoutError" ? "GET /metrics from the daemon took longer than 5 s" : String(err))
  }
}).listen(Number(process.env.TESTNET_METRICS_PORT), "0.0.0.0")' &
  proxy=$!
}

# Runs the daemon in the background so that this shell can do its part, and passes TERM/INT on to it
proxy=''
daemon=''
start_daemon() {
  rm -f "$data/api.json"
  if [ -n "${daemon_log:-}" ]; then proofmesh "$@" >"$daemon_log" 2>&1 & else proofmesh "$@" & fi
  daemon=$!
  trap 'stop_daemon; exit 143' TERM
  trap 'stop_daemon; exit 130' INT
  i=0
  until [ -s "$data/api.json" ]; do
    kill -0 "$daemon" 2>/dev/null || { wait "$daemon" || true; log "the daemon exited before it started"; exit 1; }
    i=$((i + 1))
    [ "$i" -le $((wait_seconds * 10)) ] || { log "the daemon (pid $daemon, running) wrote no API address in $wait_seconds s"; exit 1; }
    sleep 0.1
  done
  metrics_proxy
}
stop_daemon() {
  [ -z "$proxy" ] || kill -TERM "$proxy" 2>/dev/null || true
  [ -z "$daemon" ] || { kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
  daemon=''
}
wait_daemon() {
  status=0
  wait "$daemon" || status=$?
  [ -z "$proxy" ] || kill -TERM "$proxy" 2>/dev/null || true
  exit "$status"
}

bootstrap_addr() {
  wait_for_file "$addr_file" "$wait_seconds" "bootstrap address in $addr_file (the bootstrap container writes it once its daemon runs)"
  cat "$addr_file"
}

case "${TESTNET_ROLE:-}" in
  bootstrap)
    rm -f "$addr_file"
    if [ "$key" != none ] && [ ! -s "$key" ]; then proofmesh swarm-key "$key"; fi
    # shellcheck disable=SC2046 # key_flags prints whole words
    start_daemon "$@" $(key_flags)
    host=${TESTNET_BOOTSTRAP_HOST:-bootstrap}
    case "$host" in *[!0-9.]*) proto=dns4 ;; *) proto=ip4 ;; esac
    echo "/$proto/$host/tcp/4001/p2p/$(api_field peerId)" >"$addr_file.tmp"
    mv "$addr_file.tmp" "$addr_file"
    log "bootstrap address $(cat "$addr_file")"
    wait_daemon
    ;;
  peer)
    addr=$(bootstrap_addr)
    # shellcheck disable=SC2046
    start_daemon "$@" --bootstrap "$addr" $(key_flags)
    wait_daemon
    ;;
  submit)
    units=${TESTNET_UNITS:-4}
    min_peers=${TESTNET_MIN_PEERS:-2}
    bytes=${TESTNET_SAMPLE_BYTES:-1000000}
    addr=$(bootstrap_addr)
    daemon_log=$data/daemon.log
    # shellcheck disable=SC2046
    start_daemon daemon --no-offer --bootstrap "$addr" $(key_flags)
    log "waiting for $min_peers peers with $units free units in all in the peer table (up to $wait_seconds s)"
    # One process polling the API (a `proofmesh peers` every half second would cost a node start each). It waits for
    # what a job needs: peers in the table (fresh adverts) with free units; the job dials them itself.
    node -e '
const fs = require("fs"), dir = process.env.PROOFMESH_DATA_DIR
const [minPeers, units, seconds] = process.argv.slice(1).map(Number)
const api = JSON.parse(fs.readFileSync(dir + "/api.json", "utf8"))
const token = fs.readFileSync(dir + "/api.token", "utf8").trim()
const started = Date.now()
const say = (line) => process.stderr.write("proofmesh-entrypoint: " + line + "\n")
let seen = "no answer from the daemon yet"
let said = ""
const tick = async () => {
  try {
    const response = await fetch(new URL("/v1/peers", api.url), {
      headers: { authorization: "Bearer " + token },
      signal: AbortSignal.timeout(10000)
    }).catch((err) => {
      throw new Error(err.name === "TimeoutError" ? "GET /v1/peers got no answer within 10 s" : err.message)
    })
    if (!response.ok) throw new Error("GET /v1/peers: HTTP " + response.status)
    const peers = await response.json()
    const offering = peers.filter((p) => p.capacity && p.capacity.unitsFree > 0)
    const free = offering.reduce((sum, p) => sum + p.capacity.unitsFree, 0)
    seen = peers.length + " peers in the table, " + offering.length + " with free units, " + free + " units free"
    if (offering.length >= minPeers && free >= units) {
      say(seen + ": enough")
      process.exit(0)
    }
  } catch (err) {
    seen = "the daemon did not answer: " + err.message
  }
  if (seen !== said) {
    say("after " + Math.round((Date.now() - started) / 1000) + " s: " + seen)
    said = seen
  }
  if (Date.now() - started > seconds * 1000) {
    say("gave up after " + seconds + " s waiting for " + minPeers + " peers with " + units + " free units in all; last seen: " + seen)
    process.exit(1)
  }
  setTimeout(tick, 500)
}
void tick()' "$min_peers" "$units" "$wait_seconds" || {
      log "no job: too few peers with free units (the peer table, as the submitter's daemon saw it last:)"
      proofmesh peers >&2 || true
      stop_daemon
      exit 1
    }
    sample=/inputs/sample-$(hostname).bin
    [ -w /inputs ] || sample=$data/sample.bin
    head -c "$bytes" /dev/urandom >"$sample"
    proof=$data/sample.proof
    log "proving $sample ($bytes bytes) with $units units"
    status=0
    proofmesh prove -x --inputs "$sample" -c "$units" --wait --json --out "$proof" >"$data/job.json" || status=$?
    cat "$data/job.json"
    if [ "$status" = 0 ]; then proofmesh verify "$proof" --input "$sample" || status=$?; fi
    if [ "$status" = 0 ]; then
      log "verified: $proof proves $sample"
    else
      log "no verified proof (exit $status); the daemon's log:"
      tail -n 40 "$daemon_log" >&2 || true
    fi
    stop_daemon
    exit "$status"
    ;;
  *)
    # `docker run IMAGE sh` (any program on PATH) runs it; anything else is a proofmesh command
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ] && command -v "$1" >/dev/null 2>&1; then exec "$@"; fi
    exec proofmesh "$@"
    ;;
esac
