#!/usr/bin/env bash
# proofmesh's images without an image registry: the bases from Debian's packages (debootstrap) and this
# machine's own Node.js, the image itself from this checkout's own build (`npm run build`), copied in rather than
# compiled, so that `docker build` needs no registry and takes seconds. Needs root and a Docker engine.
#
#   docker/local-images.sh [--no-prometheus] [--rebuild-bases]
#
# Makes, each only when no image of that tag exists (the tags are the cache; --rebuild-bases makes them again):
#   $PROOFMESH_BASE_IMAGE        proofmesh-local/debian:<suite>   debootstrap --variant=minbase, docker import
#   $PROOFMESH_NODE_IMAGE        proofmesh-local/node:<version>   the base + this machine's node binary
#   $PROOFMESH_PROMETHEUS_IMAGE  proofmesh-prometheus:local       the base + Debian's prometheus package
# and every time (it is this checkout's build):
#   $PROOFMESH_IMAGE             proofmesh:local                  docker/Dockerfile --target prebuilt
#
# PROOFMESH_DEBIAN_MIRROR (default: the first Debian mirror in /etc/apt/sources.list{,.d}), PROOFMESH_DEBIAN_SUITE
# (default bookworm; the host's build must run on it, which the image build checks).
# Exit 77: this machine cannot do it (not root, no engine, no debootstrap, no mirror); anything else non-zero is
# a real failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
suite=${PROOFMESH_DEBIAN_SUITE:-bookworm}
base_image=${PROOFMESH_BASE_IMAGE:-proofmesh-local/debian:$suite}
node_bin=$(readlink -f "$(command -v node)")
node_version=$("$node_bin" --version)
node_image=${PROOFMESH_NODE_IMAGE:-proofmesh-local/node:${node_version#v}}
image=${PROOFMESH_IMAGE:-proofmesh:local}
prometheus_image=${PROOFMESH_PROMETHEUS_IMAGE:-proofmesh-prometheus:local}
prometheus=1
rebuild=0
for arg in "$@"; do
  case "$arg" in
    --no-prometheus) prometheus=0 ;;
    --rebuild-bases) rebuild=1 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { echo "local-images: $*" >&2; }
cannot() { say "cannot: $*"; exit 77; }
# the legacy builder: it needs no buildx plugin, and with --target it stops at that stage
export DOCKER_BUILDKIT=0

[ "$(id -u)" = 0 ] || cannot "needs root (debootstrap, docker)"
docker info >/dev/null 2>&1 || cannot "no Docker engine answers (start dockerd)"
[ -f "$repo/dist/node/cli.js" ] && [ -x "$repo/native/target/release/proofmesh-prover" ] \
  || { say "build first: npm run build (dist/ and native/target/release/proofmesh-prover)"; exit 2; }

have_image() { [ "$rebuild" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

# The first deb822 (URIs/Suites) or one-line source that serves "$suite" itself, else deb.debian.org
debian_mirror() {
  local file found
  for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    found=$(awk -v suite="$suite" '
      function stanza() { if (hit && uris != "" && !done) { print uris; done = 1; exit } uris = ""; hit = 0 }
      /^[ \t]*#/ { next }
      /^URIs:/ { uris = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      /^[ \t]*$/ { stanza() }
      /^deb[ \t]/ { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == suite) { print $i; done = 1; exit } }
      END { stanza() }
    ' "$file")
    [ -z "$found" ] || { echo "$found"; return; }
  done
  echo http://deb.debian.org/debian
}

install_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  say "installing debootstrap"
  command -v apt-get >/dev/null || cannot "no debootstrap and no apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 install -y -q debootstrap >/dev/null 2>&1 \
    || { apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null 2>&1 \
      && apt-get -o DPkg::Lock::Timeout=300 install -y -q debootstrap >/dev/null 2>&1; } \
    || cannot "could not install debootstrap with apt-get"
}

build_base() {
  local mirror rootfs started security
  mirror=${PROOFMESH_DEBIAN_MIRROR:-$(debian_mirror)}
  install_debootstrap
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/proofmesh-rootfs.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the folder of this call
  trap "rm -rf '$rootfs'" EXIT
  started=$SECONDS
  say "debootstrap --variant=minbase $suite from $mirror (a minute or two)"
  if ! debootstrap --variant=minbase --include=ca-certificates "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
    tail -n 5 "$rootfs.log" >&2
    if node -e "fetch(process.argv[1], { signal: AbortSignal.timeout(15000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" \
      "$mirror/dists/$suite/Release"; then
      say "debootstrap failed although $mirror answers; its log: $rootfs.log"
      exit 1
    fi
    rm -f "$rootfs.log"
    cannot "the Debian mirror $mirror does not answer"
  fi
  rm -f "$rootfs.log"
  # slim, as Debian's -slim images are: no documentation or translations now or from later installs, no caches
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Install-Recommends "false";
Acquire::Languages "none";
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,info}/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.cache
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  security=''
  case "$mirror" in */debian | */debian/) security="deb ${mirror%/}-security $suite-security main" ;; esac
  printf 'deb %s %s main\ndeb %s %s-updates main\n%s\n' "$mirror" "$suite" "$mirror" "$suite" "$security" \
    >"$rootfs/etc/apt/sources.list"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase --include=ca-certificates $suite $mirror" \
    - "$base_image" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  say "$base_image: $(docker image inspect -f '{{.Size}}' "$base_image" | awk '{printf "%d MB", $1 / 1e6}') in $((SECONDS - started)) s"
}

build_node() {
  local context
  context=$(mktemp -d "${TMPDIR:-/tmp}/proofmesh-node.XXXXXX")
  cp "$node_bin" "$context/node"
  printf 'ARG BASE\nFROM ${BASE}\nCOPY node /usr/local/bin/node\nRUN node --version\n' >"$context/Dockerfile"
  docker build -q --build-arg BASE="$base_image" -t "$node_image" "$context" >/dev/null \
    || { rm -rf "$context"; say "the node image did not build"; exit 1; }
  rm -rf "$context"
  say "$node_image: this machine's node $node_version on $base_image"
}

# dist/ without the compiled tests, the UI's static files, the prover, and the production packages only
# (npm ls --omit=dev), as they are: better-sqlite3's addon was built for this node on this glibc
build_image() {
  local started packages previous context
  started=$SECONDS
  previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  # (a package inside another one's node_modules/ comes with it: tar must not get it twice)
  packages=$(cd "$repo" && npm ls --omit=dev --all --parseable 2>/dev/null | sed -n "s|^$repo/||p" \
    | grep '^node_modules/' | sort -u | awk '{
        n = split($0, part, "/node_modules/"); path = part[1]
        for (i = 2; i <= n; i++) { if (path in kept) next; path = path "/node_modules/" part[i] }
        kept[$0] = 1; print }')
  [ -n "$packages" ] || { say "npm ls --omit=dev found no production packages: run npm ci"; exit 1; }
  context=$(mktemp -d "${TMPDIR:-/tmp}/proofmesh-image.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the folder of this call
  trap "rm -rf '$context'" EXIT
  mkdir "$context/docker"
  cp "$repo/docker/Dockerfile" "$repo/docker/entrypoint.sh" "$repo/docker/healthcheck.sh" "$context/docker/"
  # shellcheck disable=SC2086 # one path per word
  tar -C "$repo" -c -f "$context/proofmesh.tar" --owner=0 --group=0 --transform 's,^,opt/proofmesh/,' \
    --exclude='dist/test' --exclude='*.map' --exclude='*/build/Release/obj*' --exclude='*/build/Release/.deps' \
    --exclude='node_modules/better-sqlite3/deps' --exclude='node_modules/better-sqlite3/src' --exclude='*.a' \
    package.json dist src/rpc/http/ui native/target/release/proofmesh-prover $packages
  docker build -f "$context/docker/Dockerfile" --target prebuilt \
    --build-arg BASE="$base_image" --build-arg NODE_IMAGE="$node_image" --build-arg PREBUILT=proofmesh.tar \
    --label org.opencontainers.image.revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "$image" "$context" >&2
  rm -rf "$context"
  trap - EXIT
  # the image this tag named before is of no use now (unless a container still runs it)
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  say "$image: this checkout's build on $node_image in $((SECONDS - started)) s"
}

build_prometheus() {
  local started=$SECONDS
  docker build --build-arg BASE="$base_image" -t "$prometheus_image" - <"$repo/docker/prometheus.Dockerfile" >&2
  say "$prometheus_image: Debian's prometheus on $base_image in $((SECONDS - started)) s"
}

if have_image "$base_image"; then say "$base_image: cached"; else build_base; fi
if have_image "$node_image"; then say "$node_image: cached"; else build_node; fi
build_image
if [ "$prometheus" = 1 ]; then
  if have_image "$prometheus_image"; then say "$prometheus_image: cached"; else build_prometheus; fi
fi
