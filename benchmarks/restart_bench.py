#!/usr/bin/env python3
"""How a caf link recovers when one end is killed: a collector ships a file
that grows at a steady rate to an aggregator (caf output -> caf input ->
file output, layout by_origin); mid-stream one agent is killed with SIGKILL
(its whole process group: monitor and worker), left down for a while, and
started again. Prints, per round and as medians:
  - resume_s: from the restart to the first new byte in the output file;
  - listening_s (aggregator kills): from the restart until its caf input
    listens again;
  - identical: whether the output is byte-identical to the source at the end;
  - duplicate_bytes: bytes in the output beyond the source (expected 0);
  - skipped_bytes: re-sent bytes the aggregator recognised and did not write.

usage: restart_bench.py [--logpipe build/logpipe] [--rounds 3] [--victim aggregator,collector]
                        [--down 1.0] [--rate-mib 20] [--work /tmp/logpipe-restart-bench]
"""
import argparse, json, os, re, shutil, signal, socket, statistics, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, name, work, body):
    with open(path, "w") as f:
        f.write(f'[agent]\nname = "{name}"\ndata_dir = "{work}/{name}-data"\n'
                f'[log]\nfile = "{work}/{name}.log"\nlevel = "info"\n{body}')


def start(binary, config):
    return subprocess.Popen([binary, "--no-daemon", "-f", config], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_group(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def size_of(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def wait_for(condition, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.001)
    return False


def log_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class writer(threading.Thread):
    """Appends numbered lines of about 100 bytes at `rate` bytes per second."""

    def __init__(self, path, rate):
        super().__init__(daemon=True)
        self.path, self.rate, self.stop = path, rate, threading.Event()
        self.line = 0

    def run(self):
        started = time.monotonic()
        written = 0
        with open(self.path, "ab", buffering=0) as f:
            while not self.stop.is_set():
                due = int((time.monotonic() - started) * self.rate)
                chunk = []
                while written < due:
                    text = f"line {self.line:012d} " + "x" * (80 + self.line % 13) + "\n"
                    chunk.append(text.encode())
                    written += len(text)
                    self.line += 1
                if chunk:
                    f.write(b"".join(chunk))
                time.sleep(0.002)


def one_round(binary, work, victim, down, rate):
    shutil.rmtree(work, ignore_errors=True)
    for d in ("in", "out"):
        os.makedirs(f"{work}/{d}")
    port = free_port()
    write_config(f"{work}/aggregator.toml", "aggregator", work,
                 f'[[inputs]]\ntype = "caf"\nlisten = "127.0.0.1:{port}"\n'
                 f'[[outputs]]\ntype = "file"\npath = "{work}/out"\nlayout = "by_origin"\n')
    write_config(f"{work}/collector.toml", "collector", work,
                 f'[[inputs]]\ntype = "file"\npath = "{work}/in"\nfiles = ["*.log"]\n'
                 f'[[outputs]]\ntype = "caf"\nconnect = "127.0.0.1:{port}"\n')
    src, out = f"{work}/in/app.log", f"{work}/out/collector/app.log"
    open(src, "w").close()
    agents = {"aggregator": start(binary, f"{work}/aggregator.toml")}
    wait_for(lambda: "listening on" in log_text(f"{work}/aggregator.log"), 10)
    agents["collector"] = start(binary, f"{work}/collector.toml")
    wait_for(lambda: "watching" in log_text(f"{work}/collector.log"), 10)
    w = writer(src, rate)
    w.start()
    wait_for(lambda: size_of(out) > 2 * rate, 30)  # about two seconds of flow
    kill_group(agents[victim])
    time.sleep(down)  # the outage being measured, not a check
    before = size_of(out)
    listened_before = log_text(f"{work}/aggregator.log").count("listening on")
    restarted = time.monotonic()
    agents[victim] = start(binary, f"{work}/{victim}.toml")
    result = {"victim": victim}
    if victim == "aggregator":
        wait_for(lambda: log_text(f"{work}/aggregator.log").count("listening on")
                 > listened_before, 30)
        result["listening_s"] = round(time.monotonic() - restarted, 4)
    resumed = wait_for(lambda: size_of(out) > before, 30)
    result["resume_s"] = round(time.monotonic() - restarted, 4) if resumed else None
    time.sleep(1.0)  # keep writing a little after the recovery
    w.stop.set()
    w.join()
    total = size_of(src)
    wait_for(lambda: size_of(out) >= total, 60)
    time.sleep(0.5)  # anything written twice would arrive now
    for proc in agents.values():
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    with open(src, "rb") as a, open(out, "rb") as b:
        source, output = a.read(), b.read()
    result["source_bytes"] = len(source)
    result["identical"] = source == output
    result["duplicate_bytes"] = max(0, len(output) - len(source))
    result["missing_bytes"] = max(0, len(source) - len(output))
    result["skipped_bytes"] = sum(int(n) for n in re.findall(
        r"skipped (\d+) bytes of", log_text(f"{work}/aggregator.log")))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logpipe", default=os.path.join(HERE, "..", "build", "logpipe"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--victim", default="aggregator,collector")
    ap.add_argument("--down", type=float, default=1.0, help="seconds the killed agent is down")
    ap.add_argument("--rate-mib", type=float, default=20, help="MiB/s appended to the source")
    ap.add_argument("--work", default="/tmp/logpipe-restart-bench")
    a = ap.parse_args()
    binary = os.path.abspath(a.logpipe)
    results = {}
    for r in range(a.rounds):
        for victim in a.victim.split(","):
            res = one_round(binary, a.work, victim, a.down, int(a.rate_mib * 1024 * 1024))
            res["round"] = r
            print(json.dumps(res), flush=True)
            results.setdefault(victim, []).append(res)
    print()
    print("| killed | rounds identical | restart to flow, median (min-max) s "
          "| duplicate bytes | re-sent bytes skipped, median |")
    print("|---|---|---|---|---|")
    for victim, runs in results.items():
        times = [x["resume_s"] for x in runs if x["resume_s"] is not None]
        span = (f"{statistics.median(times):.3f} ({min(times):.3f}-{max(times):.3f})"
                if times else "never")
        print(f"| {victim} | {sum(x['identical'] for x in runs)}/{len(runs)} | {span} "
              f"| {sum(x['duplicate_bytes'] for x in runs)} "
              f"| {statistics.median(x['skipped_bytes'] for x in runs):.0f} |")


if __name__ == "__main__":
    sys.exit(main())
