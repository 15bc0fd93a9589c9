#!/usr/bin/env python3
"""logpipe's end-to-end benchmark suite. Each round runs every scenario, and
within it every pair in turn, so that all see the same machine load:

  throughput  a data set (100 MiB, 1 GiB) dropped whole (copy) or appended
              in 64 KiB chunks (append) into the collector's folder, until
              the aggregator's file is byte-identical: socat yardstick, tcp,
              caf, deflate level 6 and level 1 (pairs.py)
  latency     one 100-byte line every 20 ms, the delay of each (tcp, caf)
  fanin       4 collectors, each with its own file, into 1 aggregator (tcp)
  idle        10,000 idle files watched (file input -> null output)

Prints every run as a JSON line, then tables of medians (bench_report.py);
--write-doc also writes docs/performance.md and docs/performance.svg.
Exits non-zero if any run failed: output not byte-identical, lines lost or
duplicated, an agent that did not start or exited.

usage: bench.py [--smoke] [--rounds 3] [--sizes 100,1024] [--modes copy,append]
                [--pairs socat,tcp,caf,deflate6,deflate1]
                [--scenarios throughput,latency,fanin,idle] [--write-doc] ...
"""
import argparse, json, os, shlex, shutil, signal, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report, benchlib, pairs  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SCENARIOS = ["throughput", "latency", "fanin", "idle"]
SMOKE = {"sizes": "1", "rounds": 1, "pairs": "socat,tcp,caf", "latency_lines": 20,
         "idle_files": 100, "idle_window": 1.0, "idle_settle": 0.5, "fanin_mib": 1,
         "settle": 0.3, "timeout": 30}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--logpipe", default=os.path.join(REPO, "build", "logpipe"))
    ap.add_argument("--work", help="work folder (default /tmp/logpipe-bench; "
                                   "with --smoke a temporary one, removed at the end)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="100,1024", help="data set sizes in MiB")
    ap.add_argument("--modes", default="copy,append")
    ap.add_argument("--pairs", default="socat,tcp,caf,deflate6,deflate1",
                    help=f"throughput pairs, of {','.join(pairs.PAIRS)}")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--latency-pairs", default="socat,tcp,caf",
                    help="socat gives the floor: the same path with no agent logic")
    ap.add_argument("--latency-lines", type=int, default=500)
    ap.add_argument("--fanin-collectors", type=int, default=4)
    ap.add_argument("--fanin-mib", type=float, default=256, help="MiB per collector")
    ap.add_argument("--fanin-mode", default="append", choices=["copy", "append"])
    ap.add_argument("--idle-files", type=int, default=10000)
    ap.add_argument("--idle-window", type=float, default=10.0, help="seconds measured")
    ap.add_argument("--idle-settle", type=float, default=2.0,
                    help="seconds between all files tracked and the measurement")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the agents' start and the first byte")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run")
    ap.add_argument("--smoke", action="store_true",
                    help="a run of seconds: " + ", ".join(f"{k}={v}" for k, v in SMOKE.items()))
    ap.add_argument("--write-doc", action="store_true",
                    help="write docs/performance.md and docs/performance.svg")
    ap.add_argument("--json", help="write every run here (default WORK/results.json)")
    args = ap.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def throughput_runs(args, binary, work, data, round_no):
    for size in [float(s) for s in args.sizes.split(",")]:
        src = benchlib.data_set(data, size)
        for mode in args.modes.split(","):
            for pair in args.pairs.split(","):
                labels = {"scenario": "throughput", "round": round_no, "pair": pair,
                          "size_mib": size, "mode": mode}
                yield labels, lambda pair=pair, src=src, mode=mode: benchlib.run_e2e(
                    pairs.make_pipeline(pair, binary, work), src, mode,
                    os.path.join(work, "stage"), args.settle, args.timeout)


def latency_runs(args, binary, work, round_no):
    for pair in args.latency_pairs.split(","):
        labels = {"scenario": "latency", "round": round_no, "pair": pair}
        yield labels, lambda pair=pair: benchlib.run_latency(
            pairs.make_pipeline(pair, binary, work), args.latency_lines, settle=args.settle)


def fanin_runs(args, binary, work, data, round_no):
    src = benchlib.data_set(data, args.fanin_mib)
    labels = {"scenario": "fanin", "round": round_no, "pair": "tcp",
              "collectors": args.fanin_collectors, "size_mib": args.fanin_mib,
              "mode": args.fanin_mode}
    yield labels, lambda: benchlib.run_e2e(
        pairs.make_pipeline("tcp", binary, work, args.fanin_collectors), src,
        args.fanin_mode, os.path.join(work, "stage"), args.settle, args.timeout)


def idle_runs(args, binary, work, round_no):
    labels = {"scenario": "idle", "round": round_no, "files": args.idle_files}

    def run():
        spec, ready = pairs.idle_agent(binary, os.path.join(work, "idle"), args.idle_files)
        result = benchlib.run_idle(spec, ready, args.idle_settle, args.idle_window)
        shutil.rmtree(os.path.join(work, "idle"), ignore_errors=True)
        return result
    yield labels, run


def one_round(args, binary, work, round_no):
    data = os.path.join(work, "data")
    scenarios = args.scenarios.split(",")
    if "throughput" in scenarios:
        yield from throughput_runs(args, binary, work, data, round_no)
    if "latency" in scenarios:
        yield from latency_runs(args, binary, work, round_no)
    if "fanin" in scenarios:
        yield from fanin_runs(args, binary, work, data, round_no)
    if "idle" in scenarios:
        yield from idle_runs(args, binary, work, round_no)


def failure_of(run):
    """Why a run failed, or None."""
    if "error" in run:
        return run["error"]
    if run["scenario"] in ("throughput", "fanin") and not run.get("identical"):
        return "output not byte-identical" if run.get("wall_s") else "output incomplete (timeout)"
    if run["scenario"] == "latency" and (run["lost"] or run["duplicated"]):
        return f"{run['lost']} lines lost, {run['duplicated']} duplicated"
    agents = run.get("agents") or []
    dead = [a["role"] for a in agents if not a["alive"]]
    if dead:
        return f"agent exited during the run: {', '.join(dead)}"
    stopped_badly = [a["stop_problem"] for a in agents if a.get("stop_problem")]
    return "; ".join(stopped_badly) if stopped_badly else None


def measure(args, binary, work):
    runs = []
    for round_no in range(args.rounds):
        for labels, run in one_round(args, binary, work, round_no):
            try:
                result = {**labels, **run()}
            except benchlib.run_error as e:
                result = {**labels, "error": str(e)}
            problem = failure_of(result)
            if problem:
                result["failure"] = problem
            print(json.dumps(result), flush=True)
            runs.append(result)
    return runs


def check_tools(args, binary):
    missing = [t for t in ("socat", "tail") if shutil.which(t) is None]
    if not os.access(binary, os.X_OK):
        missing.append(binary)
    if args.write_doc and shutil.which("gnuplot") is None:
        missing.append("gnuplot (package gnuplot-nox)")
    if missing:
        sys.exit(f"bench.py: missing: {', '.join(missing)} (scripts/install-deps.sh, "
                 f"scripts/build.sh)")


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv):
    args = parse_args(argv)
    binary = os.path.abspath(args.logpipe)
    check_tools(args, binary)
    temporary = args.smoke and not args.work
    work = args.work or (tempfile.mkdtemp(prefix="logpipe-bench-smoke-") if temporary
                         else "/tmp/logpipe-bench")
    os.makedirs(os.path.join(work, "stage"), exist_ok=True)
    signal.signal(signal.SIGTERM, on_signal)
    context = bench_report.machine(binary, REPO)
    context["command"] = " ".join(["python3", "benchmarks/bench.py"] + [shlex.quote(a) for a in argv])
    started = time.time()
    runs = []
    try:
        runs = measure(args, binary, work)
    finally:
        benchlib.agent.stop_all()
        if temporary and not any("failure" in r for r in runs):
            shutil.rmtree(work, ignore_errors=True)
    context["duration_s"] = round(time.time() - started)
    results = {"context": context, "runs": runs}
    if os.path.isdir(work):
        with open(args.json or os.path.join(work, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    print()
    print(bench_report.markdown_tables(results))
    if args.write_doc:
        bench_report.write_doc(results, os.path.join(REPO, "docs"))
    failed = [r for r in runs if "failure" in r]
    for r in failed:
        what = r.get("pair") or f"{r.get('files')} files"
        print(f"FAILED: {r['scenario']} {what} round {r['round']}: {r['failure']}",
              file=sys.stderr)
    if failed:
        print(f"agent logs and results in {work}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
