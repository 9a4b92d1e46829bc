#!/usr/bin/env bash
# Build Tend's image, or build it on a base made here and run a journey through real containers.
#
#   scripts/image.sh build IMAGE    `make image`: buildah, else podman, else docker (BASE=... to override)
#   scripts/image.sh test IMAGE     `make image-test`: debootstrap base + buildah + podman + journey
#
# `test` needs root, buildah, podman, runc and debootstrap. Under CI=true it installs them with
# apt-get (as scripts/services.sh does PostgreSQL) and must pass; elsewhere a machine without
# them gets one line saying the test was skipped and how to get them.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: image.sh build|test IMAGE}
image=${2:?usage: image.sh build|test IMAGE}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/containers.conf}
have() { command -v "$1" >/dev/null 2>&1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
build_args=(--build-arg "VERSION=$version"
            --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
            --build-arg "SOURCE=$(git remote get-url origin 2>/dev/null || echo unknown)")
[ -n "${BASE:-}" ] && build_args+=(--build-arg "BASE=$BASE")
# The build's pip trusts what this machine trusts (here a TLS-inspecting proxy's CA is in it):
# PIP_CERT, else the system bundle. A build secret: it never enters a layer.
pip_ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
if [ -s "$pip_ca" ]; then build_args+=(--secret "id=pip_ca,src=$pip_ca"); fi

build() {  # build IMAGE [extra build args...]; the builder's output goes to build/image-build.log
  local target=$1; shift
  local started=$SECONDS builder
  # --format docker: the OCI format has no HEALTHCHECK.
  # --pull=false: use a base already here (e.g. the one `test` imports) rather than ask a registry.
  if have buildah; then
    builder=(buildah build --isolation chroot --format docker --layers --network host --pull=false)
  elif have podman; then
    builder=(podman build --format docker --layers --network host --pull=false)
  elif have docker && docker info >/dev/null 2>&1; then
    builder=(docker build)
  else
    echo "image: no builder here: install buildah or podman (apt-get install buildah podman), or Docker" >&2
    return 1
  fi
  mkdir -p build
  echo "image: ${builder[0]} building $target (log: build/image-build.log)"
  if ! "${builder[@]}" "${build_args[@]}" "$@" -t "$target" -f Dockerfile . >build/image-build.log 2>&1; then
    tail -40 build/image-build.log >&2
    echo "image: building $target FAILED (whole log: build/image-build.log)" >&2
    return 1
  fi
  echo "image: built $target in $((SECONDS - started)) s"
}

case $mode in
  build)
    build "$image"
    ;;
  test)
    tools=(buildah podman runc debootstrap)
    missing=()
    for tool in "${tools[@]}"; do have "$tool" || missing+=("$tool"); done
    if [ ${#missing[@]} -gt 0 ] || [ "$(id -u)" != 0 ]; then
      if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ] && have apt-get; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tools[@]}" >/dev/null
      else
        need=${missing[*]}
        [ "$(id -u)" != 0 ] && need="root${need:+ and $need}"
        echo "SKIPPED image test (build, containers, journey): needs $need;" \
             "as root, 'apt-get install ${tools[*]}' (Debian), then 'make image-test'"
        exit 0
      fi
    fi
    started=$SECONDS
    base=localhost/tend-base:bookworm
    bash scripts/image_base.sh "$base"
    build "localhost/$image" --build-arg "BASE=$base" --pull=never
    .venv/bin/python scripts/image_journey.py --image "localhost/$image"
    echo "image test: passed in $((SECONDS - started)) s"
    ;;
  *)
    echo "usage: image.sh build|test IMAGE" >&2; exit 2
    ;;
esac
