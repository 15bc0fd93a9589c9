#!/usr/bin/env python3
"""Footprint of the file input with many idle files: N files of one line each
in the watched folder, file input -> null output. Once every file is tracked
(the checkpoints list N entries) and a settle time later, measures the agent's
CPU over --measure seconds and its memory. One JSON line per N.

usage: idle_files_bench.py LOGPIPE_BINARY [--files 1 1000 10000] [--measure 10]
"""
import argparse, json, os, shutil, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib, pairs  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--files", type=int, nargs="+", default=[1, 1000, 10000])
    ap.add_argument("--measure", type=float, default=10)
    ap.add_argument("--settle", type=float, default=2)
    ap.add_argument("--dir", default="/tmp/logpipe-idle-files-bench")
    a = ap.parse_args()
    for count in a.files:
        spec, ready = pairs.idle_agent(os.path.abspath(a.binary), a.dir, count)
        try:
            result = benchlib.run_idle(spec, ready, a.settle, a.measure)
        finally:
            benchlib.agent.stop_all()
        print(json.dumps({"files": count, **result}), flush=True)
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
