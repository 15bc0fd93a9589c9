"""Agent-agnostic measurement of log shipping pipelines.

An agent is any command line: it runs in its own session (and process group),
so every process it forks is found and accounted for. This module knows
nothing of logpipe; pairs.py says how to configure one.

- make_log(): deterministic application-like log text of any size.
- usage_sampler: CPU seconds and peak RSS of each agent, read from /proc.
- run_e2e(): files dropped (copy) or appended (append) into the collectors'
  folders until the aggregator's output files are byte-identical.
- run_latency(): one short line every interval, the delay of each.
- run_idle(): CPU and memory of one agent doing nothing.
"""
import hashlib, os, shutil, signal, subprocess, sys, threading, time
from dataclasses import dataclass, field

MIB = 1 << 20
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------- log data

_HOSTS = [f"{role}-{n:02d}" for role in ("web", "api", "db", "cache") for n in range(1, 9)]
_SERVICES = ["orders", "billing", "auth", "search", "gateway", "inventory", "mailer"]
_LEVELS = ["INFO ", "INFO ", "INFO ", "INFO ", "DEBUG", "DEBUG", "WARN ", "ERROR"]
_MODULES = ["http.handler", "db.pool", "cache.lru", "queue.consumer", "auth.token",
            "payment.client", "scheduler", "session.store"]
_EVENTS = [
    "request done method={m} path=/v1/{w}/{n} status={s} bytes={b} ms={t}",
    "query ok table={w} rows={n} ms={t} conn={c}",
    "cache {h} key={w}:{n} size={b} ttl={t}s",
    "message consumed topic={w} partition={c} offset={n} lag={t}",
    "token refreshed user={n} scope={w} expires_in={t}s",
    "retrying call to {w} attempt={c} backoff_ms={t} error=timeout",
    "job {w} finished id={n} duration_ms={t} items={b}",
]
_WORDS = ["users", "orders", "carts", "items", "accounts", "invoices", "sessions",
          "payments", "products", "shipments", "reviews", "coupons"]


class _picker:
    """Deterministic choices from the Mersenne Twister's raw bits (whose
    output is the same on every Python version, unlike choice())."""

    def __init__(self, seed):
        import random
        self.bits = random.Random(seed).getrandbits

    def below(self, n):
        return self.bits(32) % n

    def of(self, items):
        return items[self.bits(32) % len(items)]


def _log_line(pick, second):
    event = pick.of(_EVENTS).format(
        m=pick.of(["GET", "GET", "POST", "PUT"]), w=pick.of(_WORDS), n=pick.below(10**7),
        s=pick.of([200, 200, 200, 201, 204, 304, 404, 500]), b=pick.below(65536),
        t=pick.below(2000), c=pick.below(16), h=pick.of(["hit", "hit", "miss"]))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1795000000 + second))
    return (f"{stamp}.{pick.below(10**6):06d}Z {pick.of(_HOSTS)} "
            f"{pick.of(_SERVICES)}[{1000 + pick.below(60000)}]: {pick.of(_LEVELS)} "
            f"{pick.of(_MODULES)}: {event}\n")


def make_log(path, size, seed=42):
    """Writes exactly `size` bytes of log lines (about 130 bytes each; the
    last one is cut short and ends with a newline). Same seed, same bytes."""
    pick, second, written = _picker(seed), 0, 0
    with open(path + ".part", "wb") as f:
        while written < size:
            lines = []
            for _ in range(4096):
                second += pick.below(3)
                lines.append(_log_line(pick, second))
            chunk = "".join(lines).encode()[:size - written]
            if written + len(chunk) == size:
                chunk = chunk[:-1] + b"\n"
            f.write(chunk)
            written += len(chunk)
    os.replace(path + ".part", path)


def data_set(folder, size_mib, seed=42):
    """The cached data set of size_mib MiB (made once, kept in folder)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"app-{size_mib:g}MiB-seed{seed}.log")
    if not os.path.exists(path) or os.path.getsize(path) != int(size_mib * MIB):
        make_log(path, int(size_mib * MIB), seed)
    return path


_sha_cache = {}


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


def source_digest(path):
    """SHA-256 of a data set, computed once per run of the program."""
    key = (path, os.path.getsize(path), os.path.getmtime(path))
    if key not in _sha_cache:
        _sha_cache[key] = sha256_of(path)
    return _sha_cache[key]


# ---------------------------------------------------------------- /proc


def _stat_fields(pid):
    """Fields of /proc/pid/stat after the command name (field 3 is [0])."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(root):
    """root and every process below it (through /proc/*/task/*/children)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


@dataclass
class _proc_sample:
    ppid: int
    own: float      # utime + stime, seconds
    reaped: float   # cutime + cstime: children it has waited for
    hwm_kib: int
    rss_kib: int


def _sample(pid):
    try:
        f = _stat_fields(pid)
        ticks = [int(x) for x in f[11:15]]
    except (OSError, ValueError, IndexError):
        return None
    return _proc_sample(int(f[1]), (ticks[0] + ticks[1]) / CLOCK_TICKS,
                        (ticks[2] + ticks[3]) / CLOCK_TICKS,
                        _status_kib(pid, "VmHWM"), _status_kib(pid, "VmRSS"))


def usage_of(samples, alive):
    """CPU seconds, peak and current RSS of one agent from its processes' last
    samples. A process that exited counts through its parent's cutime when
    the parent is still there (exact), else through its own last sample."""
    cpu = 0.0
    for pid, s in samples.items():
        if pid in alive:
            cpu += s.own + s.reaped
        elif s.ppid not in alive:
            cpu += s.own + s.reaped
    return {"cpu_s": round(cpu, 3), "procs": len(samples),
            "peak_rss_kib": max((s.hwm_kib for s in samples.values()), default=0),
            "rss_kib": max((s.rss_kib for s in samples.values() if s.rss_kib), default=0)}


# ---------------------------------------------------------------- agents


def _die_with_parent():
    """In the child: own session, and SIGKILL if the benchmark dies."""
    os.setsid()
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class agent_spec:
    """One agent: a role name, a shell command, the file its stdout and stderr
    go to, for collectors the folder it watches, and whether SIGTERM must end
    it with status 0 (a crash or a sanitizer report at exit does not)."""
    role: str
    command: str
    log: str
    watch_dir: str = ""
    exits_cleanly: bool = False


class agent:
    """A running agent: its command in a session of its own."""

    _running = set()  # every agent not yet stopped, for stop_all()

    def __init__(self, spec):
        self.spec = spec
        self.samples = {}
        with open(spec.log, "ab") as log:
            self.proc = subprocess.Popen(["/bin/sh", "-c", spec.command], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        agent._running.add(self)

    def sample(self):
        """Samples every process of the agent; returns the pids still there."""
        present = set()
        for pid in descendants(self.proc.pid):
            s = _sample(pid)
            if s:
                self.samples[pid] = s
                present.add(pid)
        return present

    def usage(self):
        return usage_of(self.samples, self.sample())

    def alive(self):
        # Not poll(): the leader stays unreaped until stop(), so its process
        # group id cannot be reused while we may still signal it.
        return not _has_exited(self.proc.pid)

    def stop(self, grace=10.0):
        """SIGTERM to the whole group, SIGKILL to what is left after grace.
        The leader is reaped last, so its group id cannot be reused by then."""
        pgid = self.proc.pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while not _has_exited(pgid) and time.monotonic() < deadline:
            time.sleep(0.01)
        _signal_group(pgid, signal.SIGKILL)
        self.proc.wait()
        agent._running.discard(self)

    def stopped_well(self):
        """Exit status after stop(): None if it is fine, else a description."""
        code = self.proc.returncode
        if not self.spec.exits_cleanly or code == 0:
            return None
        return f"{self.spec.role} ended with {'signal ' + str(-code) if code < 0 else code}" \
               f" when stopped (see {self.spec.log})"

    @staticmethod
    def stop_all():
        for a in list(agent._running):
            a.stop(grace=2.0)


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _has_exited(pid):
    """Whether our child pid has exited, without reaping it."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class usage_sampler(threading.Thread):
    """Samples every agent's processes every `interval` seconds, so that a
    process that exits before the end still counts."""

    def __init__(self, agents, interval=0.25):
        super().__init__(daemon=True)
        self.agents, self.interval, self.done = agents, interval, threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            for a in self.agents:
                a.sample()

    def finish(self):
        """Stops sampling; usage of each agent by role, from a last sample."""
        self.done.set()
        self.join()
        return [dict(role=a.spec.role, alive=a.alive(), **a.usage()) for a in self.agents]


# ---------------------------------------------------------------- readiness


def is_listening(port):
    """Something listens on TCP `port` (read from /proc, never connecting)."""
    suffix = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                if any(c[1].endswith(suffix) and c[3] == "0A" for c in map(str.split, f)):
                    return True
        except OSError:
            pass
    return False


def watches_folder(a, folder):
    """Some process of agent `a` has an inotify watch on `folder`."""
    inode = f"ino:{os.stat(folder).st_ino:x} "
    for pid in descendants(a.proc.pid):
        try:
            for fd in os.listdir(f"/proc/{pid}/fdinfo"):
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    if inode in f.read():
                        return True
        except OSError:
            pass
    return False


def wait_until(condition, timeout, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class run_error(Exception):
    pass


def stop_agents(agents, usage):
    """Stops every agent; notes in its usage entry how it ended."""
    for a in agents:
        a.stop()
    for entry, a in zip(usage or [], agents):
        entry["stop_problem"] = a.stopped_well()


def start_agents(pipeline, settle):
    """Aggregators first (until they listen), then collectors (until they
    watch their folders), then `settle` seconds for links to connect."""
    started = []
    try:
        for spec in pipeline.aggregators:
            started.append(agent(spec))
        if pipeline.port and not wait_until(lambda: is_listening(pipeline.port), 30):
            raise run_error(f"nothing listens on port {pipeline.port} after 30 s")
        for spec in pipeline.collectors:
            started.append(agent(spec))
        for a in started:
            if a.spec.watch_dir:
                wait_until(lambda: watches_folder(a, a.spec.watch_dir) or not a.alive(), 30)
        time.sleep(settle)
        dead = [f"{a.spec.role} (see {a.spec.log})" for a in started if not a.alive()]
        if dead:
            raise run_error(f"agent exited at start: {', '.join(dead)}")
        for a in started:
            if a.spec.watch_dir and not watches_folder(a, a.spec.watch_dir):
                raise run_error(f"{a.spec.role} does not watch {a.spec.watch_dir} after 30 s")
        return started
    except BaseException:
        for a in started:
            a.stop(grace=2.0)
        raise


# ---------------------------------------------------------------- e2e


@dataclass
class pipeline:
    """Agents of one measured pipeline and where its files go."""
    aggregators: list
    collectors: list
    port: int = 0
    precreate: bool = False  # create the watched files empty before the start
    streams: list = field(default_factory=list)  # (name in watch dir, output path)


def _remove(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def _drop_copy(src, targets, stage_dir):
    """Every target appears whole, in one rename; returns the time of the
    first rename. Hard links stand for the copies when the file system allows."""
    staged = []
    for i, target in enumerate(targets):
        tmp = os.path.join(stage_dir, f"stage-{i}")
        _remove(tmp)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        staged.append((tmp, target))
    start = time.monotonic()
    for tmp, target in staged:
        os.rename(tmp, target)
    return start


def _drop_append(src, targets, chunk):
    """Appends chunk after chunk to every target in turn, as fast as
    possible; returns the time of the first write."""
    fds = [os.open(t, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) for t in targets]
    try:
        with open(src, "rb") as f:
            start = time.monotonic()
            for block in iter(lambda: f.read(chunk), b""):
                for fd in fds:
                    os.write(fd, block)
    finally:
        for fd in fds:
            os.close(fd)
    return start


def _wait_outputs(outputs, size, start, timeout):
    """Time at which each output reached `size` bytes (None: never)."""
    reached = [None] * len(outputs)
    while time.monotonic() - start < timeout and None in reached:
        for i, path in enumerate(outputs):
            if reached[i] is None:
                try:
                    if os.path.getsize(path) >= size:
                        reached[i] = time.monotonic()
                except OSError:
                    pass
        time.sleep(0.002)
    return reached


def _identical(path, size, digest):
    try:
        return os.path.getsize(path) == size and sha256_of(path) == digest
    except OSError:
        return False


def run_e2e(pipe, src, mode, stage_dir, settle=1.0, timeout=300, chunk=65536):
    """Ships `src` through `pipe` once per stream: wall seconds from the first
    byte the collectors can see to the last byte present in the outputs,
    whether every output is byte-identical, and each agent's CPU and RSS."""
    size, digest = os.path.getsize(src), source_digest(src)
    targets = [os.path.join(c.watch_dir, name)
               for c, (name, _) in zip(pipe.collectors, pipe.streams)]
    outputs = [out for _, out in pipe.streams]
    _remove(*targets, *outputs)
    if pipe.precreate:
        for t in targets:
            open(t, "wb").close()
    agents = start_agents(pipe, settle)
    sampler = usage_sampler(agents)
    result = {"mode": mode, "bytes": size * len(targets), "loadavg": os.getloadavg()[0],
              "agents": None}
    try:
        sampler.start()
        if mode == "copy":
            start = _drop_copy(src, targets, stage_dir)
        else:
            start = _drop_append(src, targets, chunk)
        reached = _wait_outputs(outputs, size, start, timeout)
        complete = None not in reached
        time.sleep(0.1)  # a duplicate written just after the last byte shows now
        result["wall_s"] = round(max(reached) - start, 4) if complete else None
        result["identical"] = complete and all(_identical(o, size, digest) for o in outputs)
        result["agents"] = sampler.finish()
    finally:
        sampler.done.set()
        stop_agents(agents, result["agents"])
    if result["identical"]:
        _remove(*outputs)
    _remove(*targets)
    return result


# ---------------------------------------------------------------- latency


def percentile(ordered, p):
    """p-th percentile of sorted values, interpolating between ranks."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class _line_watcher(threading.Thread):
    """Reads the output file as it grows; notes when each numbered line
    first appears, and counts duplicates, reordering and foreign lines."""

    def __init__(self, path, count, poll):
        super().__init__(daemon=True)
        self.path, self.poll, self.stop = path, poll, threading.Event()
        self.seen = [None] * count
        self.duplicated = self.out_of_order = self.foreign = 0

    def run(self):
        while not self.stop.is_set() and not os.path.exists(self.path):
            time.sleep(self.poll)
        if self.stop.is_set():
            return
        with open(self.path, "rb") as f:
            pending, highest = b"", -1
            while not self.stop.is_set():
                data = f.read()
                if not data:
                    time.sleep(self.poll)
                    continue
                now = time.monotonic()
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    highest = self._note(line, now, highest)

    def _note(self, line, now, highest):
        seq = _probe_number(line)
        if seq is None or seq >= len(self.seen):
            self.foreign += 1
        elif self.seen[seq] is not None:
            self.duplicated += 1
        else:
            self.seen[seq] = now
            self.out_of_order += seq < highest
            highest = max(highest, seq)
        return highest


def _probe_line(seq, size):
    head = b"latency-probe seq=%08d " % seq
    return head + b"." * (size - len(head) - 1) + b"\n"


def _probe_number(line):
    if not line.startswith(b"latency-probe seq="):
        return None
    try:
        return int(line[18:26])
    except ValueError:
        return None


def run_latency(pipe, lines, interval=0.02, line_size=100, settle=1.0, poll=0.0002, drain=5.0):
    """Appends `lines` numbered lines, one every `interval` seconds, to the
    first collector's watched file (created empty before the agents start);
    the delay of each from just before its write() to its appearance in the
    first output."""
    name, out = pipe.streams[0]
    target = os.path.join(pipe.collectors[0].watch_dir, name)
    _remove(target, out)
    open(target, "wb").close()
    agents = start_agents(pipe, settle)
    sampler, watcher = usage_sampler(agents, interval=1.0), _line_watcher(out, lines, poll)
    usage = None
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)  # the watcher thread must not wait for the GIL
    try:
        sampler.start()
        watcher.start()
        written, late = _write_probes(target, lines, interval, line_size)
        wait_until(lambda: None not in watcher.seen, drain)
        time.sleep(0.2)  # duplicates of the last lines would arrive now
        usage = sampler.finish()
    finally:
        watcher.stop.set()
        sampler.done.set()
        sys.setswitchinterval(switch)
        stop_agents(agents, usage)
    watcher.join()
    _remove(target, out)
    return _latency_result(watcher, written, late, interval, usage)


def _write_probes(path, lines, interval, line_size):
    written, late = [None] * lines, 0
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        start = time.monotonic()
        for seq in range(lines):
            delay = start + seq * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -interval:
                late += 1
            data = _probe_line(seq, line_size)
            written[seq] = time.monotonic()  # before write(): the watcher may run first
            os.write(fd, data)
    finally:
        os.close(fd)
    return written, late


def _latency_result(watcher, written, late, interval, usage):
    delays = sorted((seen - sent) * 1000 for seen, sent in zip(watcher.seen, written)
                    if seen is not None)
    result = {"lines": len(written), "interval_ms": interval * 1000,
              "received": len(delays), "lost": len(written) - len(delays),
              "duplicated": watcher.duplicated, "out_of_order": watcher.out_of_order,
              "foreign_lines": watcher.foreign, "writer_late": late,
              "loadavg": os.getloadavg()[0], "agents": usage}
    for p in (50, 90, 99):
        value = percentile(delays, p)
        result[f"p{p}_ms"] = round(value, 3) if delays else None
    result["max_ms"] = round(delays[-1], 3) if delays else None
    return result


# ---------------------------------------------------------------- idle


def run_idle(spec, is_ready, settle=2.0, window=10.0, ready_timeout=300):
    """Starts one agent, waits until is_ready() (e.g. every file tracked) and
    `settle` more seconds, then measures its CPU over `window` seconds as a
    percentage of one core, and its memory."""
    a = agent(spec)
    try:
        ready = wait_until(lambda: is_ready() or not a.alive(), ready_timeout, step=0.1)
        if not ready or not a.alive():
            raise run_error(f"{spec.role} not ready after {ready_timeout} s"
                            if a.alive() else f"{spec.role} exited")
        time.sleep(settle)
        before = run_time_ns(a)
        time.sleep(window)
        busy = run_time_ns(a) - before
        after = a.usage()
    finally:
        a.stop()
    return {"window_s": window, "cpu_percent": round(100 * busy / 1e9 / window, 3),
            "rss_kib": after["rss_kib"], "peak_rss_kib": after["peak_rss_kib"],
            "procs": after["procs"], "loadavg": os.getloadavg()[0],
            "agents": [dict(role=spec.role, alive=True, stop_problem=a.stopped_well())]}


def run_time_ns(a):
    """CPU time of every thread of agent `a`, in nanoseconds: schedstat is
    exact where utime and stime count whole clock ticks."""
    total = 0
    for pid in descendants(a.proc.pid):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total
