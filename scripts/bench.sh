#!/bin/sh
# Runs every benchmark on a RelWithDebInfo build: the Google Benchmark
# micro-benchmarks, then the end-to-end suite (benchmarks/bench.py), which
# rewrites docs/performance.md and docs/performance.svg. Arguments go to
# bench.py (e.g. --rounds 5, --scenarios latency). Takes a while.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh

for benchmark in build/benchmarks/*_benchmark; do
  [ -x "$benchmark" ] || continue
  echo "== $benchmark"
  "$benchmark"
done

echo "== end-to-end (benchmarks/bench.py)"
python3 benchmarks/bench.py --logpipe build/logpipe --write-doc "$@"
