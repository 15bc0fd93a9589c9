#!/bin/sh
# Sets everything up and runs the whole test suite: the normal build, a short
# fuzz run of the wire decoder, then the AddressSanitizer +
# UndefinedBehaviorSanitizer build.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$PWD/test/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== normal build"
./scripts/build.sh
(cd build && ctest --output-on-failure -j 2)

echo "== fuzz the wire decoder (10 s)"
./scripts/fuzz.sh 10

echo "== sanitizer build (ASan + UBSan)"
LOGPIPE_SANITIZE=1 ./scripts/build.sh
(cd build-asan && ctest --output-on-failure -j 2)
