#!/usr/bin/env python3
"""File input throughput: one file of SIZE MiB, read from its head by the file
input into the null output. Prints wall seconds, MiB/s, the worker's CPU
seconds and its peak RSS, as one JSON line.

usage: file_input_bench.py LOGPIPE_BINARY [--size-mib 1024] [--rounds 3] [--dir /tmp/x]
The agent is done when its checkpoint reaches the file's size (checkpoints
move only when the output has acknowledged the bytes).
"""
import argparse, json, os, shutil, signal, subprocess, sys, time


def make_file(path, size):
    line = b"2026-11-26T08:40:01.123456 host-01 app[4242]: request done status=200 bytes=5120 ms=12\n"
    chunk = line * ((1 << 20) // len(line) + 1)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(chunk[:left])
            left -= min(left, len(chunk))


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def checkpoint_offset(data_dir):
    best = 0
    for name in os.listdir(data_dir) if os.path.isdir(data_dir) else []:
        if not name.endswith(".checkpoints"):
            continue
        with open(os.path.join(data_dir, name)) as f:
            lines = f.readlines()
        # Format 2 added the source id before the offset.
        field = 5 if lines and lines[0].strip() == "logpipe-checkpoints 2" else 4
        for line in lines[1:]:
            parts = line.split()
            if len(parts) > field:
                best = max(best, int(parts[field]))
    return best


def one_round(binary, work, size):
    logs, data = os.path.join(work, "logs"), os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)
    config = os.path.join(work, "agent.toml")
    with open(config, "w") as f:
        f.write(f'[agent]\ndata_dir = "{data}"\nthreads = 2\n[log]\nfile = "{work}/agent.log"\n'
                f'level = "warn"\n[[inputs]]\ntype = "file"\npath = "{logs}"\n'
                f'read_from_head = true\n[[outputs]]\ntype = "null"\n')
    start = time.monotonic()
    agent = subprocess.Popen([binary, "-f", config, "--no-daemon"])
    worker = None
    try:
        while True:
            if worker is None:
                try:
                    with open(f"/proc/{agent.pid}/task/{agent.pid}/children") as f:
                        kids = f.read().split()
                    worker = int(kids[0]) if kids else None
                except OSError:
                    pass
            if checkpoint_offset(data) >= size:
                break
            if time.monotonic() - start > 600:
                raise RuntimeError("timed out")
            time.sleep(0.002)
        wall = time.monotonic() - start
        cpu = proc_cpu_seconds(worker)
        rss = peak_rss_mib(worker)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)
    return {"wall_s": round(wall, 3), "mib_per_s": round(size / 2**20 / wall, 1),
            "cpu_s": round(cpu, 2), "peak_rss_mib": round(rss, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/logpipe-file-input-bench")
    a = ap.parse_args()
    size = a.size_mib << 20
    os.makedirs(os.path.join(a.dir, "logs"), exist_ok=True)
    src = os.path.join(a.dir, "logs", "big.log")
    if not os.path.exists(src) or os.path.getsize(src) != size:
        make_file(src, size)
    rounds = [one_round(os.path.abspath(a.binary), a.dir, size) for _ in range(a.rounds)]
    walls = sorted(r["wall_s"] for r in rounds)
    print(json.dumps({"size_mib": a.size_mib, "rounds": rounds,
                      "median_wall_s": walls[len(walls) // 2],
                      "median_mib_per_s": round(a.size_mib / walls[len(walls) // 2], 1)}))


if __name__ == "__main__":
    sys.exit(main())
