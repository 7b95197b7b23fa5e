#!/usr/bin/env bash
# docker/compose.yaml end to end, for test/e2e/docker-testnet.test.ts and by hand (as root, after npm run build):
#
#   1. a Docker engine: Debian's docker.io and docker-compose installed with apt-get if missing, dockerd started
#      if none answers (and stopped again at exit);
#   2. the images: docker/local-images.sh (the debootstrap and node bases only when no image of their tag exists;
#      proofmesh's own image, tagged for this run, from this checkout's build in seconds);
#   3. 4 containers of the compose testnet: bootstrap, 2 peers, submit (no Prometheus); submit proves a sample
#      and one peer holding unproved segments of its job is stopped (`docker stop`) mid-job;
#   4. submit must still exit 0 (its proof verified in the container); the proof is verified again here with
#      this checkout's CLI, and the stopped peer's segments must have moved;
#   5. everything it made is removed at exit (containers, network, volumes, the run's image), but the cached bases.
#
# Exit 0: passed, and one line `RESULT {json}` on stdout. Exit 77: this machine cannot run Docker (not root,
# no apt-get or mirror, dockerd does not start); the reason is the last line on stderr. Anything else: failed,
# with what was awaited and what was seen. PROOFMESH_TEST_SAMPLE_BYTES (default 1000000) sizes the job;
# PROOFMESH_TEST_WAIT_SECONDS (default 600) bounds each wait (a daemon's start, the job, submit's end: waits end
# as soon as what they wait for happens, the bound only has to be generous on a saturated host); KEEP=1 leaves
# the testnet up for a look.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
run=$$
project=pmtestnet$run
image=proofmesh:testnet-$run
work=$(mktemp -d "${TMPDIR:-/tmp}/proofmesh-docker-testnet.XXXXXX")
sample_bytes=${PROOFMESH_TEST_SAMPLE_BYTES:-1000000}
wait_seconds=${PROOFMESH_TEST_WAIT_SECONDS:-600}
dockerd_pid='' forward_policy='' had_docker0=''
compose_cmd=()
t0=$(date +%s%3N)

say() { echo "docker-testnet: [$(($(date +%s%3N) - t0)) ms] $*" >&2; }
cannot() { echo "docker-testnet: cannot: $*" >&2; exit 77; }
fail() { echo "docker-testnet: FAILED: $*" >&2; exit 1; }
ms() { date +%s%3N; }

compose() {
  PROOFMESH_IMAGE=$image PROOFMESH_P2P_PUBLISH=127.0.0.1:0 PROOFMESH_SUBMIT_MIN_PEERS=3 PROOFMESH_SUBMIT_UNITS=4 \
    PROOFMESH_SAMPLE_BYTES=$sample_bytes PROOFMESH_TESTNET_WAIT_SECONDS=$wait_seconds \
    "${compose_cmd[@]}" -p "$project" -f "$repo/docker/compose.yaml" "$@"
}

# A container's state and its last log lines, for a failure message
state_of() { docker inspect -f '{{.State.Status}} (exit code {{.State.ExitCode}})' "$1" 2>/dev/null || echo gone; }
tail_of() { docker logs --tail "${2:-15}" "$1" 2>&1 | sed 's/^/    /'; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "${KEEP:-}" ] && [ "$status" = 0 ]; then
    say "KEEP=1: left running; remove with: ${compose_cmd[*]} -p $project -f docker/compose.yaml down -v; docker rmi $image"
  else
    if [ "${#compose_cmd[@]}" -gt 0 ] && [ "$status" != 77 ]; then
      if [ "$status" != 0 ]; then
        say "the containers' last log lines:"
        compose logs --no-color --tail 25 >&2 2>/dev/null || true
      fi
      compose down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || say "compose down failed"
    fi
    docker image inspect "$image" >/dev/null 2>&1 && { docker rmi "$image" >/dev/null || say "could not remove $image"; }
    if [ -n "$dockerd_pid" ]; then
      say "stopping the dockerd this run started"
      kill -TERM "$dockerd_pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
      [ -z "$forward_policy" ] || iptables -P FORWARD "$forward_policy" 2>/dev/null || true
      [ -n "$had_docker0" ] || ip link delete docker0 2>/dev/null || true
    fi
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "docker-testnet: FAILED: line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

apt_install() { # PACKAGE...
  command -v apt-get >/dev/null || return 1
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 install -y -q "$@" >"$work/apt.log" 2>&1 && return 0
  apt-get -o DPkg::Lock::Timeout=300 update -q >>"$work/apt.log" 2>&1 \
    && apt-get -o DPkg::Lock::Timeout=300 install -y -q "$@" >>"$work/apt.log" 2>&1
}

# --- 1. the engine
[ "$(id -u)" = 0 ] || cannot "needs root to install and start a Docker engine"
[ -f "$repo/dist/node/cli.js" ] && [ -x "$repo/native/target/release/proofmesh-prover" ] \
  || fail "build first: npm run build"
engine_started=$(ms)
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null; then
    say "installing docker.io with apt-get"
    apt_install docker.io || cannot "could not install docker.io with apt-get: $(tail -n 1 "$work/apt.log" 2>/dev/null)"
  fi
  say "starting dockerd"
  # what dockerd changes on the host and does not undo when it stops, to undo here
  forward_policy=$(iptables -S FORWARD 2>/dev/null | sed -n 's/^-P FORWARD //p' || true)
  ip link show docker0 >/dev/null 2>&1 && had_docker0=1
  dockerd >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 150); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.2
  done
  if ! docker info >/dev/null 2>&1; then
    tail -n 5 "$work/dockerd.log" >&2 || true
    kill -0 "$dockerd_pid" 2>/dev/null || dockerd_pid=''
    cannot "dockerd did not start: $(tail -n 1 "$work/dockerd.log" | cut -c1-300)"
  fi
fi
if command -v docker-compose >/dev/null; then
  compose_cmd=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
else
  say "installing docker-compose with apt-get"
  apt_install docker-compose || cannot "could not install docker-compose with apt-get: $(tail -n 1 "$work/apt.log" 2>/dev/null)"
  compose_cmd=(docker-compose)
fi
engine_ms=$(($(ms) - engine_started))
say "engine: $(docker version -f '{{.Server.Version}}'), compose: ${compose_cmd[*]} ($engine_ms ms)"

# --- 2. the images
images_started=$(ms)
PROOFMESH_IMAGE=$image "$repo/docker/local-images.sh" --no-prometheus >"$work/images.log" 2>&1 || {
  status=$?
  grep -v '^ \| ---> \|^Step \|^Removing intermediate' "$work/images.log" | tail -n 20 >&2
  [ "$status" = 77 ] && cannot "$(sed -n 's/^local-images: cannot: //p' "$work/images.log" | tail -n 1)"
  fail "docker/local-images.sh exited with $status"
}
grep '^local-images:' "$work/images.log" >&2
images_ms=$(($(ms) - images_started))

# --- 3. up: bootstrap, 2 peers, submit
say "up: bootstrap, 2 peers, submit (sample of $sample_bytes bytes)"
up_started=$(ms)
compose up -d --scale peer=2 bootstrap peer submit >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "compose up"; }
up_ms=$(($(ms) - up_started))
submit=$(compose ps -q submit)
bootstrap=$(compose ps -q bootstrap)
read -r -a peers <<<"$(compose ps -q peer | tr '\n' ' ')"
[ -n "$submit" ] && [ -n "$bootstrap" ] && [ "${#peers[@]}" = 2 ] || fail "expected 4 containers: $(compose ps)"
name_of() { docker inspect -f '{{.Name}}' "$1" | sed 's|^/||'; }

# --- the job: as soon as a peer other than the submitter holds segments it has not proved, stop it. One node
# process in the submit container, started at once (a 1 MB job can be over before every daemon's id is read here
# on a loaded host), polls its API, says on stderr how the job moves, and prints on stdout "jobId state peerId
# segment,segment" ("- -" for the last two when the job got past proving first, "- waited - -" when no job got
# that far within the bound). It ends with the container: submit exits when it gives up. Every remote peer of
# the job is a container of this testnet (its network is private); the bootstrap is spared when another will do.
watch_job() {
  docker exec "$submit" node -e '
    const fs = require("fs")
    const seconds = Number(process.argv[1])
    const bootstrap = () => {
      try {
        return fs.readFileSync("/shared/bootstrap.addr", "utf8").trim().split("/p2p/")[1]
      } catch {
        return undefined
      }
    }
    const started = Date.now()
    let said = ""
    const say = (what) => {
      if (what === said) return
      said = what
      process.stderr.write("docker-testnet: (watcher, " + Math.round((Date.now() - started) / 1000) + " s) " + what + "\n")
    }
    const tick = async () => {
      try {
        const api = JSON.parse(fs.readFileSync("/data/api.json", "utf8"))
        const token = fs.readFileSync("/data/api.token", "utf8").trim()
        const response = await fetch(new URL("/v1/jobs", api.url), {
          headers: { authorization: "Bearer " + token },
          signal: AbortSignal.timeout(10000)
        })
        const job = (await response.json())[0]
        if (job === undefined) say("no job yet: submit waits for its peers")
        else {
          say("job " + job.id + " is " + job.state)
          const open = (p) => job.segments.filter((g) => g.peerId === p.peerId && g.state !== "proved")
          const live = ["contributing", "proving"].includes(job.state)
            ? job.peers.filter((p) => !p.local && !["released", "failed"].includes(p.state) && open(p).length > 0)
            : []
          live.sort((a, b) => (a.peerId === bootstrap()) - (b.peerId === bootstrap()))
          if (live[0]) return console.log(job.id, job.state, live[0].peerId, open(live[0]).map((g) => g.index).join(","))
          if (["aggregating", "verifying", "succeeded", "failed", "cancelled"].includes(job.state))
            return console.log(job.id, job.state, "-", "-")
        }
      } catch (err) {
        say(err.code === "ENOENT" ? "the submit daemon is starting"
          : "the API of the submit daemon: " + (err.name === "TimeoutError" ? "GET /v1/jobs got no answer within 10 s" : err.message))
      }
      if (Date.now() - started > seconds * 1000) return console.log("-", "waited", "-", "-")
      setTimeout(tick, 150)
    }
    void tick()' "$((2 * wait_seconds))"
}
# Each daemon's peer id, from its own data dir, read meanwhile (on a loaded host the daemons start slowly):
# "peerId containerId" lines, or the reason on stderr
peer_ids() {
  local c json id
  for c in "$bootstrap" "${peers[@]}"; do
    id=''
    for _ in $(seq $((wait_seconds * 5))); do
      json=$(docker exec "$c" cat /data/api.json 2>/dev/null) || true
      [[ $json =~ \"peerId\":\"([^\"]+)\" ]] && id=${BASH_REMATCH[1]} && break
      sleep 0.2
    done
    [ -n "$id" ] || {
      echo "$(name_of "$c") wrote no API address (/data/api.json) in $wait_seconds s; it is $(state_of "$c"):"
      tail_of "$c"
      return 1
    } >&2
    echo "$id $c"
  done
}
peer_ids >"$work/peer-ids" 2>"$work/peer-ids.err" &
peer_ids_pid=$!
victim='' stop_ms=0
read -r job_id state peer moved_segments < <(watch_job) || true
wait "$peer_ids_pid" || fail "$(cat "$work/peer-ids.err")"
declare -A container_of=()
while read -r peer_id c; do container_of[$peer_id]=$c; done <"$work/peer-ids"

if [ -n "${peer:-}" ] && [ "$peer" != - ]; then
  victim=${container_of[$peer]:-}
  [ -n "$victim" ] || fail "job $job_id's peer $peer is none of this testnet's containers (${!container_of[*]})"
  stopped_in=$state
  say "job $job_id is $state; stopping $(name_of "$victim") (peer …${peer: -8}, unproved segments $moved_segments)"
  stopped_at=$(ms)
  docker stop "$victim" >/dev/null
  stop_ms=$(($(ms) - stopped_at))
fi
if [ -z "$victim" ]; then
  submit_state=$(state_of "$submit")
  case "${state:-}" in
    aggregating | verifying | succeeded | failed | cancelled)
      fail "job $job_id was already $state when the watcher first saw it past phase 1 with a peer to stop: the sample is proved too fast here, raise PROOFMESH_TEST_SAMPLE_BYTES" ;;
    waited)
      fail "no job reached contributing or proving within $((2 * wait_seconds)) s; submit is $submit_state:
$(tail_of "$submit" 25)" ;;
    *)
      fail "the watcher in submit ended before any job reached contributing or proving: submit is $submit_state:
$(tail_of "$submit" 25)" ;;
  esac
fi

# --- 4. submit's verdict, and ours
code=$(timeout "$wait_seconds" docker wait "$submit") \
  || fail "submit did not end within $wait_seconds s of the stop; it is $(state_of "$submit"):
$(tail_of "$submit" 25)"
verified_ms=$(($(ms) - up_started))
docker logs -t "$submit" >"$work/submit.log" 2>&1 || true
grep 'proofmesh-entrypoint:' "$work/submit.log" | sed 's/^/  submit: /' >&2 || true
[ "$code" = 0 ] || { tail -n 30 "$work/submit.log" >&2; fail "submit exited with $code: no verified proof"; }
docker cp "$submit:/data/job.json" "$work/job.json"
docker cp "$submit:/data/sample.proof" "$work/sample.proof"
input=$(node -e "process.stdout.write(JSON.parse(require('fs').readFileSync('$work/job.json','utf8')).request.input)")
docker cp "$submit:$input" "$work/sample.bin"
node "$repo/dist/node/cli.js" verify "$work/sample.proof" --input "$work/sample.bin" >"$work/verify.txt" 2>&1 \
  || { cat "$work/verify.txt" >&2; fail "the proof does not verify outside the containers"; }
[ "$(docker inspect -f '{{.State.Running}}' "$victim")" = false ] || fail "the stopped peer is running again"
[ "$(docker exec "$bootstrap" id -u)" = 10001 ] || fail "the daemon runs as root"
bootstrap_health=$(docker inspect -f '{{.State.Health.Status}}' "$bootstrap")
[ "$bootstrap_health" = healthy ] || fail "bootstrap is $bootstrap_health"

node -e '
  const fs = require("fs")
  const [jobFile, victimPeer, segments, victimName] = process.argv.slice(1)
  const job = JSON.parse(fs.readFileSync(jobFile, "utf8"))
  const moved = segments.split(",").map(Number)
  const still = job.segments.filter((g) => moved.includes(g.index) && g.peerId === victimPeer)
  if (job.state !== "succeeded") { console.error("job state " + job.state); process.exit(1) }
  if (still.length > 0) { console.error("segments " + still.map((g) => g.index) + " still on the stopped peer " + victimName); process.exit(1) }
  if (!job.segments.every((g) => g.state === "proved")) { console.error("unproved segments"); process.exit(1) }
' "$work/job.json" "$peer" "$moved_segments" "$(name_of "$victim")" || fail "the job record: see above"

result=$(node -e '
  const fs = require("fs")
  const a = JSON.parse(process.argv[1])
  const job = JSON.parse(fs.readFileSync(a.jobFile, "utf8"))
  delete a.jobFile
  console.log(JSON.stringify({ ...a, verified: true, job: { id: job.id, state: job.state, peers: job.peers.length,
    segments: job.segments.length, inputSize: job.inputSize, digest: job.digest,
    ms: (job.finishedAt ?? job.updatedAt) - job.createdAt } }))
' "{\"jobFile\":\"$work/job.json\",\"containers\":4,\"stopped\":\"$(name_of "$victim")\",\"stoppedIn\":\"$stopped_in\",\
\"movedSegments\":[${moved_segments}],\"stopMs\":$stop_ms,\"engineMs\":$engine_ms,\"imagesMs\":$images_ms,\"upMs\":$up_ms,\
\"upToVerifiedMs\":$verified_ms,\"user\":10001,\"startedDockerd\":$([ -n "$dockerd_pid" ] && echo true || echo false)}")
say "verified: $(cat "$work/verify.txt")"
say "up → verified proof: $verified_ms ms (engine $engine_ms ms, images $images_ms ms); tearing down"
echo "RESULT $result"
