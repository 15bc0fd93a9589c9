"""Summaries of bench.py's runs: Markdown tables of medians (with min-max),
ratios to the yardstick of the same rounds, the targets, and
docs/performance.md with its chart (gnuplot, SVG)."""
import os, platform, statistics, subprocess, tempfile, time

GIB = 1 << 30
MIB = 1 << 20


# ---------------------------------------------------------------- context


def _first_line_with(path, prefix):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def git_commit(repo):
    """The checked-out commit, read from .git (git itself is not needed)."""
    git = os.path.join(repo, ".git")
    try:
        with open(os.path.join(git, "HEAD")) as f:
            head = f.read().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if os.path.exists(os.path.join(git, ref)):
            with open(os.path.join(git, ref)) as f:
                return f.read().strip()
        with open(os.path.join(git, "packed-refs")) as f:
            for line in f:
                if line.rstrip().endswith(" " + ref):
                    return line.split()[0]
    except OSError:
        pass
    return "unknown"


def _build_type(binary):
    cache = os.path.join(os.path.dirname(binary), "CMakeCache.txt")
    value = _first_line_with(cache, "CMAKE_BUILD_TYPE:")
    return value.split("=", 1)[1] if "=" in value else value


def _version(binary):
    try:
        return subprocess.run([binary, "-v"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine(binary, repo):
    """What the figures depend on, recorded before the first run."""
    mem_kib = _first_line_with("/proc/meminfo", "MemTotal").split()[0]
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "nproc": os.cpu_count(), "cpu": _first_line_with("/proc/cpuinfo", "model name"),
            "ram_gib": round(int(mem_kib) / (1 << 20), 1) if mem_kib.isdigit() else None,
            "kernel": platform.release(), "loadavg": [round(x, 2) for x in os.getloadavg()],
            "commit": git_commit(repo), "build_type": _build_type(binary),
            "version": _version(binary), "python": platform.python_version()}


# ---------------------------------------------------------------- numbers


def span(values, fmt="{:.2f}", unit=""):
    """median (min–max) of values; just the value when there is one."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    med = fmt.format(statistics.median(values)) + unit
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return med if low == high else f"{med} ({low}–{high})"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _agents(run, prefix):
    return [a for a in run.get("agents", []) if a["role"].startswith(prefix)]


def cpu_per_gib(run):
    return sum(a["cpu_s"] for a in run["agents"]) / (run["bytes"] / GIB)


def peak_mib(run, prefix):
    found = _agents(run, prefix)
    return max(a["peak_rss_kib"] for a in found) / 1024 if found else None


def _ok(runs):
    return [r for r in runs if "failure" not in r]


def _select(results, **labels):
    return [r for r in results["runs"] if all(r.get(k) == v for k, v in labels.items())]


def _values(results, key, **labels):
    """Distinct values of `key`, in the order the runs came."""
    return list(dict.fromkeys(r[key] for r in _select(results, **labels) if key in r))


def ratio_per_round(results, numerator, denominator, size, mode,
                    measure=lambda run: run["wall_s"]):
    """measure(numerator) / measure(denominator) (wall time unless told) of
    every round, both measured in the same round."""
    ratios = []
    for run in _ok(_select(results, scenario="throughput", pair=numerator, size_mib=size,
                           mode=mode)):
        same = _ok(_select(results, scenario="throughput", pair=denominator, size_mib=size,
                           mode=mode, round=run["round"]))
        if same and measure(same[0]):
            ratios.append(measure(run) / measure(same[0]))
    return ratios


def _size_label(mib):
    return f"{mib / 1024:g} GiB" if mib >= 1024 else f"{mib:g} MiB"


# ---------------------------------------------------------------- tables


def throughput_table(results):
    rows = ["| data | mode | pair | runs ok | wall s, median (min–max) | × socat, same rounds "
            "| MiB/s | CPU s per GiB, both agents | peak RSS MiB, collector / aggregator |",
            "|---|---|---|---|---|---|---|---|---|"]
    for size in _values(results, "size_mib", scenario="throughput"):
        for mode in _values(results, "mode", scenario="throughput", size_mib=size):
            for pair in _values(results, "pair", scenario="throughput", size_mib=size, mode=mode):
                runs = _select(results, scenario="throughput", size_mib=size, mode=mode, pair=pair)
                rows.append(_throughput_row(results, size, mode, pair, runs))
    return "\n".join(rows)


def _throughput_row(results, size, mode, pair, runs):
    ok = _ok(runs)
    ratio = (span(ratio_per_round(results, pair, "socat", size, mode), unit="×")
             if pair != "socat" else "1")
    return (f"| {_size_label(size)} | {mode} | {pair} | {len(ok)}/{len(runs)} "
            f"| {span([r['wall_s'] for r in ok], '{:.3f}')} | {ratio} "
            f"| {span([r['bytes'] / MIB / r['wall_s'] for r in ok], '{:.0f}')} "
            f"| {span([cpu_per_gib(r) for r in ok])} "
            f"| {span([peak_mib(r, 'collector') for r in ok], '{:.1f}')} / "
            f"{span([peak_mib(r, 'aggregator') for r in ok], '{:.1f}')} |")


def latency_table(results):
    rows = ["| pair | rounds ok | lines per round | p50 ms | p90 ms | p99 ms | max ms "
            "| lost | duplicated | out of order |", "|---|---|---|---|---|---|---|---|---|---|"]
    for pair in _values(results, "pair", scenario="latency"):
        runs = _select(results, scenario="latency", pair=pair)
        done = [r for r in runs if "error" not in r]
        rows.append(
            f"| {pair} | {len(_ok(runs))}/{len(runs)} | {span([r['lines'] for r in done], '{:.0f}')} "
            + "".join(f"| {span([r[k] for r in done], '{:.2f}')} "
                      for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms"))
            + "".join(f"| {sum(r[k] for r in done)} "
                      for k in ("lost", "duplicated", "out_of_order")) + "|")
    return "\n".join(rows)


def fanin_table(results):
    rows = ["| collectors → aggregator | data | runs ok | wall s, median (min–max) "
            "| MiB/s, all streams | CPU s per GiB, all agents "
            "| peak RSS MiB, largest collector / aggregator |", "|---|---|---|---|---|---|---|"]
    runs = _select(results, scenario="fanin")
    if runs:
        ok, first = _ok(runs), runs[0]
        rows.append(
            f"| {first['collectors']} → 1, tcp | {_size_label(first['size_mib'])} each, "
            f"{first['mode']} | {len(ok)}/{len(runs)} | {span([r['wall_s'] for r in ok], '{:.3f}')} "
            f"| {span([r['bytes'] / MIB / r['wall_s'] for r in ok], '{:.0f}')} "
            f"| {span([cpu_per_gib(r) for r in ok])} "
            f"| {span([peak_mib(r, 'collector') for r in ok], '{:.1f}')} / "
            f"{span([peak_mib(r, 'aggregator') for r in ok], '{:.1f}')} |")
    return "\n".join(rows)


def idle_table(results):
    rows = ["| idle files | runs ok | window s | CPU % of one core | RSS MiB | peak RSS MiB |",
            "|---|---|---|---|---|---|"]
    for files in _values(results, "files", scenario="idle"):
        runs = _select(results, scenario="idle", files=files)
        ok = _ok(runs)
        rows.append(f"| {files:,} | {len(ok)}/{len(runs)} "
                    f"| {span([r['window_s'] for r in ok], '{:g}')} "
                    f"| {span([r['cpu_percent'] for r in ok], '{:.3f}')} "
                    f"| {span([r['rss_kib'] / 1024 for r in ok], '{:.1f}')} "
                    f"| {span([r['peak_rss_kib'] / 1024 for r in ok], '{:.1f}')} |")
    return "\n".join(rows)


def markdown_tables(results):
    parts = [("Throughput", "throughput", throughput_table),
             ("Latency", "latency", latency_table), ("Fan-in", "fanin", fanin_table),
             ("Idle files", "idle", idle_table), ("Targets", "", targets_table)]
    return "\n\n".join(f"{title}\n\n{table(results)}" for title, scenario, table in parts
                       if not scenario or _select(results, scenario=scenario))


# ---------------------------------------------------------------- targets


def _reference_size(results):
    """1 GiB if measured, else the largest size measured."""
    sizes = _values(results, "size_mib", scenario="throughput")
    return 1024 if 1024 in sizes else (max(sizes) if sizes else None)


def _target(name, value, limit, met, fmt="{:.2f}"):
    """A row of the targets table; met is None for a figure only reported."""
    shown = fmt.format(value) if value is not None else "not measured"
    if value is None or met is None:
        verdict = "–"
    else:
        verdict = "met" if met(value) else "**missed**"
    return f"| {name} | {limit} | {shown} | {verdict} |"


def targets_table(results):
    size = _reference_size(results)
    label = _size_label(size) if size else "–"
    walls = lambda pair: [r["wall_s"] for r in _ok(_select(
        results, scenario="throughput", pair=pair, size_mib=size, mode="append"))]
    tcp_runs = _ok(_select(results, scenario="throughput", pair="tcp", size_mib=size,
                           mode="append"))
    idle = [r["cpu_percent"] for r in _ok(_select(results, scenario="idle"))]
    caf_vs_tcp = [1 / x for x in ratio_per_round(results, "caf", "tcp", size, "append")]
    rows = ["| target (2 cores) | limit | measured (median) | |", "|---|---|---|---|",
            _target(f"{label} append, tcp wall ÷ socat wall, same rounds", median(
                ratio_per_round(results, "tcp", "socat", size, "append")), "≤ 1.6",
                lambda v: v <= 1.6),
            _target(f"CPU s per GiB, both agents (tcp, {label} append)",
                    median([cpu_per_gib(r) for r in tcp_runs]), "≤ 1.2", lambda v: v <= 1.2),
            _target(f"CPU s per GiB, tcp ÷ socat, same rounds (reported; 1.x: 1.2 ÷ 0.64 "
                    "= 1.9 on the reference machine)", median(ratio_per_round(
                        results, "tcp", "socat", size, "append", cpu_per_gib)), "–", None),
            _target(f"peak RSS, collector (tcp, {label} append)", median(
                [peak_mib(r, "collector") for r in tcp_runs]), "≤ 12 MiB",
                lambda v: v <= 12, "{:.1f} MiB"),
            _target(f"peak RSS, aggregator (tcp, {label} append)", median(
                [peak_mib(r, "aggregator") for r in tcp_runs]), "≤ 12 MiB",
                lambda v: v <= 12, "{:.1f} MiB"),
            _target(f"{label} append, deflate level 6, wall", median(walls("deflate6")),
                    "≤ 14 s", lambda v: v <= 14, "{:.1f} s"),
            _target(f"{label} append, deflate level 1, wall (reported)",
                    median(walls("deflate1")), "–", None, "{:.1f} s")]
    for pair in _values(results, "pair", scenario="latency"):
        p99 = median([r["p99_ms"] for r in _ok(_select(results, scenario="latency", pair=pair))])
        if pair == "socat":
            rows.append(_target("latency p99, floor: socat, no agent (reported)", p99, "–",
                                None, "{:.2f} ms"))
        else:
            rows.append(_target(f"latency p99, one line per 20 ms ({pair})", p99, "≤ 2 ms",
                                lambda v: v <= 2, "{:.2f} ms"))
    rows.append(_target(f"caf throughput ÷ tcp throughput, {label} append, same rounds",
                        median(caf_vs_tcp), "≥ 0.8", lambda v: v >= 0.8))
    files = _values(results, "files", scenario="idle")
    rows.append(_target(f"{files[-1] if files else 10000:,} idle files, CPU % of one core",
                        median(idle), "< 1 %", lambda v: v < 1, "{:.3f} %"))
    return "\n".join(rows)


# ---------------------------------------------------------------- chart


def write_chart(results, svg_path):
    """Median wall time per pair for each data set and mode (log scale)."""
    groups = [(s, m) for s in _values(results, "size_mib", scenario="throughput")
              for m in _values(results, "mode", scenario="throughput", size_mib=s)]
    names = _values(results, "pair", scenario="throughput")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "walls.dat")
        with open(data, "w") as f:
            f.write("group " + " ".join(names) + "\n")
            for size, mode in groups:
                cells = [median([r["wall_s"] for r in _ok(_select(
                    results, scenario="throughput", pair=p, size_mib=size, mode=mode))])
                    for p in names]
                f.write(f'"{_size_label(size)} {mode}" '
                        + " ".join(f"{c:.4f}" if c else "?" for c in cells) + "\n")
        script = f"""set terminal svg size 900,480 dynamic font "sans,12"
set output "{svg_path}"
set title "File → collector → aggregator → file: median wall time (log scale)"
set ylabel "seconds"
set logscale y
set grid ytics
set key top left
set datafile missing "?"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
plot for [i=2:{len(names) + 1}] "{data}" using i:xtic(1) title columnheader(i)
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


# ---------------------------------------------------------------- document


def _load_line(ctx, runs):
    one, five, fifteen = ctx["loadavg"]
    during = [r["loadavg"] for r in runs if "loadavg" in r]
    line = (f"load average before the run {one} / {five} / {fifteen} (1 / 5 / 15 min)"
            + (f", {min(during):.1f}–{max(during):.1f} at the start of the runs" if during else ""))
    if max([one] + during) > 0.5 * ctx["nproc"]:
        line += (": **the machine was shared, other jobs ran during the measurements**; "
                 "compare pairs through their ratios to the yardstick of the same rounds")
    return line


def _context_section(ctx, runs):
    return "\n".join([
        f"- Machine: {ctx['nproc']} cores ({ctx['cpu']}), {ctx['ram_gib']} GiB RAM, "
        f"Linux {ctx['kernel']}.",
        f"- Load: {_load_line(ctx, runs)}.",
        f"- Date: {ctx['date']}; commit `{ctx['commit']}`; {ctx['version']}, "
        f"build type {ctx['build_type']}; Python {ctx['python']}.",
        f"- Command: `{ctx['command']}`, {ctx['duration_s'] // 60} min "
        "(`make bench` runs it after the micro-benchmarks).",
    ])


METHOD = """\
How it is measured (`benchmarks/benchlib.py`): each agent is a command in its
own session, so every process it forks is counted. The aggregator starts
first (until its port listens), then the collector (until it watches its
folder with inotify), then the agents get the settle time to link up. The data
set is generated (seeded, application-like lines of about 130 bytes). *copy*:
the file appears whole in the watched folder, in one rename; *append*: it is
appended in 64 KiB chunks as fast as Python writes them. Wall time runs from
that rename or first write to the moment the output file holds every byte; the
output is then checked byte for byte (SHA-256). CPU seconds are utime + stime
of every process of both agents (read from /proc four times a second and at the
end, children that exited included), over the agents' whole life (start,
settle and transfer); peak RSS is the VmHWM of each agent's largest process
(for logpipe the worker; the monitor is smaller). The socat yardstick (`tail -c
+1 -F FILE | socat -u -b 262144 STDIN TCP:…` into `socat -u -b 262144
TCP-LISTEN:… OPEN:…`) moves the same bytes over loopback with no agent logic.
Each round runs every pair in turn, so all see the same load; ratios are
medians of per-round ratios."""


READING_THE_TARGETS = """The limits were set against logpipe 1.x on a machine of the same kind on
which the socat pair used 0.64 CPU s per GiB: compare CPU through its ratio
to socat in the same rounds. caf versus tcp: a caf output acknowledges a
block once the aggregator has written it, so the file input's window
(`window` × `block_size`) is held for a whole round trip; a tcp output
acknowledges once the kernel has the bytes."""


def _document(results, svg_name):
    ctx, runs = results["context"], results["runs"]
    failed = [r for r in runs if "failure" in r]
    return f"""# logpipe performance

<!-- Generated by `make bench` (benchmarks/bench.py --write-doc); do not edit by hand. -->

File → collector → loopback → aggregator → file, byte-identical output;
per-line latency; many collectors into one aggregator; many idle files.

{_context_section(ctx, runs)}
- Runs: {len(runs)}, failed: {len(failed)}.

## Targets

{targets_table(results)}

{READING_THE_TARGETS}

## Throughput

![Median wall time per pair, data set and mode]({svg_name})

{throughput_table(results)}

`× socat` is the median, over rounds, of the pair's wall time divided by the
socat yardstick's in the same round: above 1 is slower. Pairs: `tcp` is the
tcp output → tcp input (1.x wire protocol); `caf` the caf output → caf input
(acknowledged from the aggregator's disk); `deflate6` / `deflate1` the tcp
pair with `compress = "deflate"` and `compress_level` 6 / 1 on the collector
and `uncompress = "deflate"` on the aggregator.

## Latency

One 100-byte line every 20 ms appended to a watched file (created empty
before the agents start); each line's delay from just before its write() to
its appearance in the aggregator's file (polled every 0.2 ms by the same
Python process). Medians over rounds (min–max). `socat` (`tail -F | socat`)
is the floor: the same path, and the same measuring, with no agent logic.

{latency_table(results)}

## Fan-in

Every collector appends its own file; wall time until all outputs are
complete and byte-identical.

{fanin_table(results)}

## Idle files

Files of one line each in one watched folder (file input, read from the head,
→ null output). Once the checkpoints list every file, and a settle time
later, the agent's CPU time (all threads, from schedstat) is measured over the
window.

{idle_table(results)}

## Method

{METHOD}
"""


def write_doc(results, docs_dir):
    svg = os.path.join(docs_dir, "performance.svg")
    write_chart(results, svg)
    with open(os.path.join(docs_dir, "performance.md"), "w") as f:
        f.write(_document(results, "performance.svg"))
