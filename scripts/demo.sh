#!/bin/sh
# Sets everything up and runs the live demo: a collector agent
# (examples/collector.toml) watches /tmp/logpipe-demo/logs while two "applications"
# write log files there, one of them under a name nobody configured in advance.
# The agent ships every line as it is written and rotates the logs by size.
# Ends on Ctrl-C or after DEMO_SECONDS (default 15) and leaves no process behind.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null

seconds="${DEMO_SECONDS:-15}"
demo=/tmp/logpipe-demo
rm -rf "$demo"
mkdir -p "$demo/logs"

echo "== logpipe demo: file input -> bus -> stdout ($seconds s, Ctrl-C ends it)"
echo "== applications write to $demo/logs; the agent's log is $demo/collector.log"
./build/logpipe -f examples/collector.toml --no-daemon &
agent=$!

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
  kill -TERM "$agent" 2>/dev/null || true
  wait "$agent" 2>/dev/null || true
}
trap 'stop; echo "== demo stopped"; exit 0' INT TERM
i=0
while [ "$i" -lt "$seconds" ] && kill -0 "$agent" 2>/dev/null; do
  sleep 1
  i=$((i + 1))
done
stop
echo "== rotations done by the agent:"
cat "$demo/rotations.txt" 2>/dev/null || echo "(none yet)"
ls "$demo/logs"
echo "== demo over: the agent stopped cleanly"
