#!/usr/bin/env bash
# A Debian bookworm base with Debian's Python, made here (no image registry is reachable):
# debootstrap --variant=minbase, packed once into a cached tarball, imported as a local image.
#
#   scripts/image_base.sh IMAGE_NAME      e.g. localhost/tend-base:bookworm
#
# The tarball is kept under $TEND_IMAGE_BASE_CACHE (default /var/cache/tend-image-base) and
# rebuilt only when this script's package list changes.
set -euo pipefail

image=${1:?usage: image_base.sh IMAGE_NAME}
cache=${TEND_IMAGE_BASE_CACHE:-/var/cache/tend-image-base}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# python3-venv lets the build stage make the virtualenv; ca-certificates lets pip reach PyPI.
packages=python3,python3-venv,ca-certificates
key=$(printf '%s %s' "$packages" "$mirror" | sha256sum | cut -c1-12)
tarball=$cache/bookworm-minbase-$key.tar

if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "image base: debootstrap bookworm (minbase + $packages) into $root"
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
  tar -C "$root" --numeric-owner -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi

if ! podman image exists "$image"; then
  podman import --quiet --change 'CMD ["/usr/bin/python3"]' "$tarball" "$image" >/dev/null
fi
echo "image base: $image (from $tarball)"
