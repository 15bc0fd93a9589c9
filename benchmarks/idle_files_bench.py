#!/usr/bin/env python3
"""Footprint of the file input with many idle files: N files of one line each
in the watched folder, file input -> null output. Once every file is tracked
(the checkpoint file lists N entries), measures the worker's CPU over
--measure seconds and its peak RSS. One JSON line per N.

usage: idle_files_bench.py LOGPIPE_BINARY [--files 1 1000 10000] [--measure 10]
"""
import argparse, json, os, shutil, signal, subprocess, sys, time


def worker_of(monitor):
    with open(f"/proc/{monitor}/task/{monitor}/children") as f:
        kids = f.read().split()
    return int(kids[0]) if kids else None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024


def tracked(data):
    try:
        names = [n for n in os.listdir(data) if n.endswith(".checkpoints")]
        with open(os.path.join(data, names[0])) as f:
            return len(f.readlines()) - 1
    except (OSError, IndexError):
        return 0


def one(binary, work, count, measure):
    shutil.rmtree(work, ignore_errors=True)
    logs, data = os.path.join(work, "logs"), os.path.join(work, "data")
    os.makedirs(logs)
    for i in range(count):
        with open(os.path.join(logs, f"app-{i:05d}.log"), "w") as f:
            f.write(f"file {i} first line\n")
    config = os.path.join(work, "agent.toml")
    with open(config, "w") as f:
        f.write(f'[agent]\ndata_dir = "{data}"\n[log]\nfile = "{work}/agent.log"\nlevel = "warn"\n'
                f'[[inputs]]\ntype = "file"\npath = "{logs}"\nread_from_head = true\n'
                f'[[outputs]]\ntype = "null"\n')
    agent = subprocess.Popen([binary, "-f", config, "--no-daemon"])
    try:
        deadline = time.monotonic() + 120
        while tracked(data) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # let the tails read their line and go idle
        worker = worker_of(agent.pid)
        before = cpu_seconds(worker)
        time.sleep(measure)
        cpu = cpu_seconds(worker) - before
        return {"files": count, "tracked": tracked(data),
                "idle_cpu_percent": round(100 * cpu / measure, 2),
                "rss_mib": round(status(worker, "VmRSS"), 1),
                "peak_rss_mib": round(status(worker, "VmHWM"), 1),
                "threads": len(os.listdir(f"/proc/{worker}/task"))}
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--files", type=int, nargs="+", default=[1, 1000, 10000])
    ap.add_argument("--measure", type=float, default=10)
    ap.add_argument("--dir", default="/tmp/logpipe-idle-files-bench")
    a = ap.parse_args()
    for count in a.files:
        print(json.dumps(one(os.path.abspath(a.binary), a.dir, count, a.measure)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
