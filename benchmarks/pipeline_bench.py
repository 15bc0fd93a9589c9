#!/usr/bin/env python3
"""File -> collector -> loopback -> aggregator -> file: the throughput (and
with --latency the latency) scenarios of bench.py, under their former option
names. Pairs: socat (yardstick), logpipe (tcp output -> tcp input), deflate
(the same with deflate at level 6), caf, caf-tls.

usage: pipeline_bench.py [--logpipe build/logpipe] [--sizes 100,1024]
                         [--modes copy,append] [--rounds 3]
                         [--pairs socat,logpipe,deflate,caf,caf-tls] [--latency]
                         [--work /tmp/logpipe-bench]
"""
import argparse, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

FORMER_NAMES = {"logpipe": "tcp", "deflate": "deflate6"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logpipe", default=os.path.join(bench.REPO, "build", "logpipe"))
    ap.add_argument("--sizes", default="100,1024", help="MiB, comma-separated")
    ap.add_argument("--modes", default="copy,append")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pairs", default="socat,logpipe,deflate")
    ap.add_argument("--latency", action="store_true", help="also measure per-line latency")
    ap.add_argument("--work", default="/tmp/logpipe-bench")
    a = ap.parse_args()
    chosen = [FORMER_NAMES.get(p, p) for p in a.pairs.split(",")]
    latency_pairs = [p for p in chosen if p in ("tcp", "caf", "caf-tls")]
    scenarios = "throughput,latency" if a.latency and latency_pairs else "throughput"
    return bench.main(["--logpipe", a.logpipe, "--sizes", a.sizes, "--modes", a.modes,
                       "--rounds", str(a.rounds), "--pairs", ",".join(chosen),
                       "--scenarios", scenarios, "--latency-pairs", ",".join(latency_pairs),
                       "--work", a.work])


if __name__ == "__main__":
    sys.exit(main())
