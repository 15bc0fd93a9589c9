#!/bin/sh
# Installs the Debian 12 packages that building, testing, the demo and the
# benchmarks of logpipe need. Idempotent: runs apt-get update only when a
# package is missing, and installs nothing when all are present.
set -eu

PACKAGES="
  build-essential cmake pkg-config
  libcaf-dev libssl-dev libtomlplusplus-dev libspdlog-dev libfmt-dev zlib1g-dev
  libcurl4-openssl-dev libdeflate-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 procps
  clang libclang-rt-14-dev
  socat openssl gnuplot-nox
"

missing=""
for pkg in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $pkg"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages:$missing" >&2
  echo "install-deps: run as root (or install them) to continue" >&2
  exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
