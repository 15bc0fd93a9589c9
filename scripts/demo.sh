#!/bin/sh
# Sets everything up and runs the live demo: an agent from examples/ ships
# what a command prints. Ends on Ctrl-C or after DEMO_SECONDS (default 15),
# and leaves no process behind.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null

seconds="${DEMO_SECONDS:-15}"
rm -rf /tmp/logpipe-demo
mkdir -p /tmp/logpipe-demo

echo "== logpipe demo: exec input -> bus -> stdout output ($seconds s, Ctrl-C ends it)"
./build/logpipe -f examples/demo.toml --no-daemon &
agent=$!
stop() {
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
echo "== demo over: the agent stopped cleanly"
