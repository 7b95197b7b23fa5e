#!/bin/bash
# The image's HEALTHCHECK: exit 0 when the daemon's local API answers GET /v1/health with 200. Plain bash over
# /dev/tcp rather than `node -e "fetch(…)"`: a node process needs ~40 ms of CPU just to start, which on a host
# whose cores are all proving took longer than the check's timeout and marked busy daemons unhealthy.
set -u
api=$(<"${PROOFMESH_DATA_DIR:-/data}/api.json") || exit 1
# {"url":"http://127.0.0.1:7400",…} or "http://[::1]:7400"
[[ $api =~ \"url\":\"http://\[?([^]\"/]*[^]:\"/])\]?:([0-9]+)\" ]] || {
  echo "no API address in api.json" >&2
  exit 1
}
host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /v1/health HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$host" "$port" >&3
read -r status <&3 || exit 1
[[ $status == "HTTP/1."?" 200 "* ]] || {
  echo "GET /v1/health: ${status%$'\r'}" >&2
  exit 1
}
