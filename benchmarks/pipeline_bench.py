#!/usr/bin/env python3
"""File -> collector -> loopback -> aggregator -> file, with the shared
agent-agnostic tools (../shared/bench or $LOGPIPE_BENCH_TOOLS): e2e.py for
throughput and latency.py for per-line delay. Each round measures, in turn,
every pair asked for, so that all see the same machine load:
  socat    the yardstick (no agent logic)
  logpipe  tcp output -> tcp input (the 1.x wire protocol)
  deflate  the same with compress / uncompress = "deflate"
  caf      caf output -> caf input (CAF's distribution layer, acked end to end)
  caf-tls  the same with `tls` on both sides (certificates from a test CA)
Prints every run as a JSON line, then a table of medians.

usage: pipeline_bench.py [--logpipe build/logpipe] [--sizes 100,1024]
                         [--modes copy,append] [--rounds 3]
                         [--pairs socat,logpipe,deflate,caf,caf-tls] [--latency]
                         [--work /tmp/logpipe-bench]
"""
import argparse, json, os, shutil, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.environ.get("LOGPIPE_BENCH_TOOLS",
                       os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench")))


def agent_config(path, name, work, body):
    with open(path, "w") as f:
        f.write(f'[agent]\nname = "{name}"\ndata_dir = "{work}/{name}-data"\n'
                f'[log]\nfile = "{work}/{name}.log"\nlevel = "warn"\n{body}')


def pair_commands(pair, binary, work, port, src_name):
    """(aggregator command, collector command) for one pair."""
    watch, out = f"{work}/in", f"{work}/out"
    if pair == "socat":
        agg = (f"socat -u -b 262144 TCP-LISTEN:{port},reuseaddr "
               f"OPEN:{out}/{src_name},creat,trunc")
        # socat reads a file that is still being written to its end and
        # stops: wait for the file, then follow it with tail -c +1 -F.
        col = (f"while [ ! -e {watch}/{src_name} ]; do sleep 0.001; done; "
               f"tail -c +1 -F {watch}/{src_name} 2>/dev/null | "
               f"socat -u -b 262144 STDIN TCP:127.0.0.1:{port}")
        return agg, col
    compress = pair == "deflate"
    for d in (f"{work}/aggregator-data", f"{work}/collector-data"):
        shutil.rmtree(d, ignore_errors=True)
    if pair.startswith("caf"):
        tls = {name: "" for name in ("aggregator", "collector")}
        if pair == "caf-tls":
            pki = f"{work}/pki"
            if not os.path.exists(f"{pki}/collector.crt"):
                subprocess.run([os.path.join(HERE, "..", "scripts", "make-tls-certs.sh"), pki,
                                "bench-ca", "aggregator", "collector"], check=True)
            for name in tls:
                tls[name] = (f'tls = {{ cert = "{pki}/{name}.crt", key = "{pki}/{name}.key", '
                             f'ca = "{pki}/bench-ca.crt" }}\n')
        receiver = f'[[inputs]]\ntype = "caf"\nlisten = "127.0.0.1:{port}"\n' + tls["aggregator"]
        sender = (f'[[outputs]]\ntype = "caf"\nconnect = "127.0.0.1:{port}"\n'
                  + tls["collector"])
    else:
        receiver = f'[[inputs]]\ntype = "tcp"\nlisten = "127.0.0.1:{port}"\n'
        sender = f'[[outputs]]\ntype = "tcp"\nendpoints = ["127.0.0.1:{port}"]\n'
    agent_config(f"{work}/aggregator.toml", "aggregator", work,
                 receiver + f'[[outputs]]\ntype = "file"\npath = "{out}"\n'
                 + ('uncompress = "deflate"\n' if compress else ""))
    agent_config(f"{work}/collector.toml", "collector", work,
                 f'[[inputs]]\ntype = "file"\npath = "{watch}"\nfiles = ["*.log"]\n'
                 + ('compress = "deflate"\n' if compress else "") + sender)
    return (f"exec {binary} --no-daemon -f {work}/aggregator.toml",
            f"exec {binary} --no-daemon -f {work}/collector.toml")


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return {"error": out.stdout + out.stderr}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logpipe", default=os.path.join(HERE, "..", "build", "logpipe"))
    ap.add_argument("--sizes", default="100,1024", help="MiB, comma-separated")
    ap.add_argument("--modes", default="copy,append")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pairs", default="socat,logpipe,deflate")
    ap.add_argument("--latency", action="store_true", help="also run latency.py")
    ap.add_argument("--work", default="/tmp/logpipe-bench")
    ap.add_argument("--port", type=int, default=15151)
    a = ap.parse_args()
    binary = os.path.abspath(a.logpipe)
    work = a.work
    os.makedirs(f"{work}/in", exist_ok=True)
    os.makedirs(f"{work}/out", exist_ok=True)
    os.makedirs(f"{work}/data", exist_ok=True)
    results = {}
    for size in [int(s) for s in a.sizes.split(",")]:
        src = f"{work}/data/a{size}.log"
        if not os.path.exists(src):
            subprocess.run([sys.executable, f"{TOOLS}/genlog.py", src, str(size), "42"],
                           check=True, stdout=subprocess.DEVNULL)
        for r in range(a.rounds):
            for mode in a.modes.split(","):
                for pair in a.pairs.split(","):
                    src_name = os.path.basename(src)
                    agg, col = pair_commands(pair, binary, work, a.port, src_name)
                    res = run_json([sys.executable, f"{TOOLS}/e2e.py", "--agg", agg,
                                    "--col", col, "--src", src, "--in-dir", f"{work}/in",
                                    "--out-file", f"{work}/out/{src_name}",
                                    "--mode", mode, "--port", str(a.port),
                                    "--timeout", "600", "--label", pair,
                                    "--log-dir", work])
                    res.update({"size_mib": size, "round": r})
                    print(json.dumps(res), flush=True)
                    results.setdefault((size, mode, pair), []).append(res)
    print()
    print("| size | mode | pair | runs ok | wall s | MiB/s | CPU s (both agents) "
          "| peak RSS collector / aggregator MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for (size, mode, pair), runs in results.items():
        ok = [x for x in runs if x.get("sha_ok")]
        if not ok:
            print(f"| {size} MiB | {mode} | {pair} | 0/{len(runs)} | | | | |")
            continue
        med = lambda f: statistics.median(f(x) for x in ok)
        print(f"| {size} MiB | {mode} | {pair} | {len(ok)}/{len(runs)} "
              f"| {med(lambda x: x['wall_s']):.2f} | {med(lambda x: x['mib_s']):.0f} "
              f"| {med(lambda x: x['col']['cpu_s'] + x['agg']['cpu_s']):.2f} "
              f"| {med(lambda x: x['col']['hwm_kib_max']) / 1024:.1f} / "
              f"{med(lambda x: x['agg']['hwm_kib_max']) / 1024:.1f} |")
    if a.latency:
        print()
        for pair in [p for p in a.pairs.split(",") if p in ("logpipe", "caf", "caf-tls")]:
            agg, col = pair_commands(pair, binary, work, a.port, "lat.log")
            for r in range(a.rounds):
                res = run_json([sys.executable, f"{TOOLS}/latency.py", "--agg", agg,
                                "--col", col, "--in-dir", f"{work}/in",
                                "--out-file", f"{work}/out/lat.log", "--port",
                                str(a.port), "--label", pair, "--log-dir", work])
                print(json.dumps(res), flush=True)


if __name__ == "__main__":
    sys.exit(main())
