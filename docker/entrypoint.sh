#!/bin/sh
# Container entry point (TESTNET_* rather than PROOFMESH_*: the daemon refuses unknown PROOFMESH_* variables).
# TESTNET_ROLE=seed: start the daemon and publish its multiaddr in /shared so the
# other containers can bootstrap from it. TESTNET_ROLE=peer: wait for that address, then join through it.
# Without a role, arguments go straight to `proofmesh`.
set -eu
shared=${TESTNET_SHARED_DIR:-/shared}
seed_host=${TESTNET_SEED_HOST:-seed}

case "${TESTNET_ROLE:-}" in
  seed)
    rm -f "$shared/seed.addr"
    proofmesh "$@" &
    daemon=$!
    trap 'kill -TERM $daemon' TERM INT
    i=0
    until [ -f "$PROOFMESH_DATA_DIR/api.json" ]; do
      i=$((i + 1)); [ $i -le 300 ] || { echo "seed: the daemon never wrote its API address" >&2; exit 1; }
      sleep 0.1
    done
    peer_id=$(node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(process.env.PROOFMESH_DATA_DIR+'/api.json')).peerId)")
    echo "/dns4/$seed_host/tcp/4001/p2p/$peer_id" > "$shared/seed.addr.tmp"
    mv "$shared/seed.addr.tmp" "$shared/seed.addr"
    wait $daemon
    ;;
  peer)
    i=0
    until [ -f "$shared/seed.addr" ]; do
      i=$((i + 1)); [ $i -le 600 ] || { echo "peer: no seed address in $shared after 60 s" >&2; exit 1; }
      sleep 0.1
    done
    exec proofmesh "$@" --bootstrap "$(cat "$shared/seed.addr")"
    ;;
  *)
    exec proofmesh "$@"
    ;;
esac
