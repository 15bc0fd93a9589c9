# Shortcuts; the scripts do the work and need nothing but /bin/sh to start.
.PHONY: all demo test build bench config-reference clean

all: build

build:
	./scripts/build.sh

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

# Micro-benchmarks, then the end-to-end suite; rewrites docs/performance.md.
bench:
	./scripts/bench.sh

config-reference: build
	./build/logpipe --config-reference > docs/config-reference.md

clean:
	rm -rf build build-asan
