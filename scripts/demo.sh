#!/bin/sh
# Sets everything up and runs the live demo, the C original's first use case:
# a collector agent (examples/collector.toml) watches /tmp/logpipe-demo/logs
# while two "applications" write log files there, one of them under a name
# nobody configured in advance; it forwards every line over TCP to an
# aggregator agent (examples/aggregator.toml), which writes each stream under
# the same file name in /tmp/logpipe-demo/received. The collector also rotates
# the applications' logs by size. Ends on Ctrl-C or after DEMO_SECONDS
# (default 15) and leaves no process behind.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null

seconds="${DEMO_SECONDS:-15}"
demo=/tmp/logpipe-demo
rm -rf "$demo"
mkdir -p "$demo/logs"

echo "== logpipe demo: file input -> TCP -> aggregator -> file output ($seconds s, Ctrl-C ends it)"
echo "== applications write to $demo/logs; the aggregator writes to $demo/received"
echo "== the agents' own logs: $demo/collector.log, $demo/aggregator.log"
# Waits up to 10 s until the agent's log ($1) has a line containing $2.
await_log() {
  n=0
  until grep -q "$2" "$1" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -gt 100 ]; then
      echo "== $1 never said \"$2\"" >&2
      return 1
    fi
    sleep 0.1
  done
}

./build/logpipe -f examples/aggregator.toml --no-daemon &
aggregator=$!
await_log "$demo/aggregator.log" "listening on"
./build/logpipe -f examples/collector.toml --no-daemon &
collector=$!
# Files that exist when a collector starts are read from their end (as with
# logpipe 1.x): start the applications once it watches the folder.
await_log "$demo/collector.log" "watching"

# Two applications: each opens its log, appends a line, closes it.
app() {
  i=0
  while :; do
    i=$((i + 1))
    echo "$(date +%T.%N) $1 request $i done" >> "$demo/logs/$1.log"
    sleep "$2"
  done
}
app web 0.3 &
web=$!
app worker-$$ 0.7 &
worker=$!

stop() {
  kill "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
  # Give the last lines a moment to travel, then stop the collector first.
  sleep 1
  kill -TERM "$collector" 2>/dev/null || true
  wait "$collector" 2>/dev/null || true
  kill -TERM "$aggregator" 2>/dev/null || true
  wait "$aggregator" 2>/dev/null || true
}

# What arrived at the aggregator so far: lines per file and the newest line.
show() {
  for f in "$demo"/received/*; do
    [ -f "$f" ] || continue
    printf '   %-22s %4s lines, last: %s\n' "$(basename "$f")" \
      "$(wc -l < "$f")" "$(tail -n 1 "$f")"
  done
}

trap 'stop; echo "== demo stopped"; exit 0' INT TERM
i=0
while [ "$i" -lt "$seconds" ] && kill -0 "$collector" 2>/dev/null \
      && kill -0 "$aggregator" 2>/dev/null; do
  sleep 1
  i=$((i + 1))
  echo "-- after ${i} s, at the aggregator:"
  show
done
stop
echo "== rotations done by the collector:"
cat "$demo/rotations.txt" 2>/dev/null || echo "(none yet)"
echo "== lines written by the applications (current and rotated files) and received:"
for name in web "worker-$$"; do
  written=$(cat "$demo/logs/$name.log" "$demo"/logs/_"$name".log-* 2>/dev/null | wc -l)
  received=$(wc -l < "$demo/received/$name.log" 2>/dev/null || echo 0)
  printf '   %-22s written %4s, received %4s\n' "$name.log" "$written" "$received"
done
echo "== demo over: both agents stopped cleanly"
