#!/bin/sh
# Configures and builds logpipe into build/ (or build-asan/ with
# LOGPIPE_SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer).
set -eu
cd "$(dirname "$0")/.."
if [ "${LOGPIPE_SANITIZE:-0}" = 1 ]; then
  dir=build-asan
  flags="-DLOGPIPE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DLOGPIPE_BUILD_BENCHMARKS=OFF"
else
  dir=build
  flags="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
fi
# shellcheck disable=SC2086
cmake -S . -B "$dir" $flags >/dev/null
cmake --build "$dir" -j "$(nproc)"
