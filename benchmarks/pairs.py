"""The measured pairs: how to run a collector and an aggregator of each kind.

  socat     the yardstick: `tail -F | socat` into `socat`, no agent logic
  tcp       logpipe, tcp output -> tcp input (the 1.x wire protocol)
  caf       logpipe, caf output -> caf input (acknowledged end to end)
  caf-tls   the same with `tls` on both sides (certificates from a test CA)
  deflate6  logpipe tcp with compress = "deflate", compress_level = 6
  deflate1  the same at compress_level = 1

Every collector watches its own folder; the aggregator writes one file per
stream (layout "flat") into work/out.
"""
import os, shutil, subprocess

from benchlib import agent_spec, free_port, pipeline

HERE = os.path.dirname(os.path.abspath(__file__))
PAIRS = ["socat", "tcp", "caf", "caf-tls", "deflate6", "deflate1"]


def _agent_config(path, name, work, body):
    data = os.path.join(work, f"{name}-data")
    shutil.rmtree(data, ignore_errors=True)  # every run starts without checkpoints
    with open(path, "w") as f:
        f.write(f'[agent]\nname = "{name}"\ndata_dir = "{data}"\n'
                f'[log]\nfile = "{work}/{name}.log"\nlevel = "warn"\n{body}')


def _tls_tables(pair, work):
    """`tls = {...}` lines for the aggregator's input and the collectors'
    outputs (empty without TLS)."""
    if pair != "caf-tls":
        return "", ""
    pki = os.path.join(work, "pki")
    if not os.path.exists(os.path.join(pki, "collector.crt")):
        subprocess.run([os.path.join(HERE, "..", "scripts", "make-tls-certs.sh"), pki,
                        "bench-ca", "aggregator", "collector"], check=True,
                       stdout=subprocess.DEVNULL)
    table = 'tls = {{ cert = "{0}/{1}.crt", key = "{0}/{1}.key", ca = "{0}/bench-ca.crt" }}\n'
    return table.format(pki, "aggregator"), table.format(pki, "collector")


def _link_tables(pair, port, work):
    """(aggregator input, collector output) tables for the pair's link."""
    if pair.startswith("caf"):
        agg_tls, col_tls = _tls_tables(pair, work)
        return (f'[[inputs]]\ntype = "caf"\nlisten = "127.0.0.1:{port}"\n{agg_tls}',
                f'[[outputs]]\ntype = "caf"\nconnect = "127.0.0.1:{port}"\n{col_tls}')
    return (f'[[inputs]]\ntype = "tcp"\nlisten = "127.0.0.1:{port}"\n',
            f'[[outputs]]\ntype = "tcp"\nendpoints = ["127.0.0.1:{port}"]\n')


def _deflate_level(pair):
    return int(pair[len("deflate"):]) if pair.startswith("deflate") else None


def _logpipe_pipeline(pair, binary, work, folders, names, port):
    level = _deflate_level(pair)
    receive, send = _link_tables(pair, port, work)
    out = os.path.join(work, "out")
    _agent_config(os.path.join(work, "aggregator.toml"), "aggregator", work,
                  receive + f'[[outputs]]\ntype = "file"\npath = "{out}"\n'
                  + ('uncompress = "deflate"\n' if level is not None else ""))
    aggregator = agent_spec("aggregator", f"exec {binary} --no-daemon -f {work}/aggregator.toml",
                            os.path.join(work, "aggregator.out"), exits_cleanly=True)
    collectors = []
    for i, (folder, name) in enumerate(zip(folders, names)):
        role = "collector" if len(folders) == 1 else f"collector-{i}"
        compress = (f'compress = "deflate"\ncompress_level = {level}\n'
                    if level is not None else "")
        _agent_config(os.path.join(work, f"{role}.toml"), role, work,
                      f'[[inputs]]\ntype = "file"\npath = "{folder}"\nfiles = ["{name}"]\n'
                      + compress + send)
        collectors.append(agent_spec(role, f"exec {binary} --no-daemon -f {work}/{role}.toml",
                                     os.path.join(work, f"{role}.out"), folder,
                                     exits_cleanly=True))
    return pipeline([aggregator], collectors, port,
                    streams=[(n, os.path.join(out, n)) for n in names])


def _socat_pipeline(work, folders, names, port):
    out = os.path.join(work, "out")
    # One listener per stream would need one port each: the yardstick has
    # one collector.
    assert len(folders) == 1, "the socat yardstick has a single collector"
    folder, name = folders[0], names[0]
    aggregator = agent_spec(
        "aggregator", f"exec socat -u -b 262144 TCP-LISTEN:{port},reuseaddr "
                      f"OPEN:{out}/{name},creat,trunc", os.path.join(work, "aggregator.out"))
    # tail -F follows the file with inotify only if it exists when tail
    # starts: the runner creates it empty first (precreate). --pid: tail
    # ends with the shell, even if the shell is killed.
    collector = agent_spec(
        "collector", f"tail -c +1 -F --pid=$$ {folder}/{name} | "
                     f"socat -u -b 262144 STDIN TCP:127.0.0.1:{port}",
        os.path.join(work, "collector.out"), folder)
    return pipeline([aggregator], [collector], port, precreate=True,
                    streams=[(name, os.path.join(out, name))])


def make_pipeline(pair, binary, work, collectors=1):
    """The pipeline of `pair` with `collectors` collectors, each watching
    work/in/<n> for its file stream-<n>.log."""
    if pair not in PAIRS:
        raise ValueError(f"unknown pair {pair!r}: expected one of {', '.join(PAIRS)}")
    folders = [os.path.join(work, "in", str(i)) for i in range(collectors)]
    names = [f"stream-{i}.log" for i in range(collectors)]
    for folder in folders + [os.path.join(work, "out")]:
        os.makedirs(folder, exist_ok=True)
    port = free_port()
    if pair == "socat":
        return _socat_pipeline(work, folders, names, port)
    return _logpipe_pipeline(pair, binary, work, folders, names, port)


def idle_agent(binary, work, count):
    """An agent whose file input watches `count` files of one line each
    (shipped from their head into the null output), and a function telling
    whether its checkpoints list them all."""
    shutil.rmtree(work, ignore_errors=True)
    logs, data = os.path.join(work, "logs"), os.path.join(work, "data")
    os.makedirs(logs)
    for i in range(count):
        with open(os.path.join(logs, f"app-{i:05d}.log"), "w") as f:
            f.write(f"file {i} first line\n")
    config = os.path.join(work, "agent.toml")
    with open(config, "w") as f:
        f.write(f'[agent]\nname = "idle"\ndata_dir = "{data}"\n'
                f'[log]\nfile = "{work}/agent.log"\nlevel = "warn"\n'
                f'[[inputs]]\ntype = "file"\npath = "{logs}"\nread_from_head = true\n'
                f'[[outputs]]\ntype = "null"\n')
    spec = agent_spec("agent", f"exec {binary} --no-daemon -f {config}",
                      os.path.join(work, "agent.out"), exits_cleanly=True)
    return spec, lambda: checkpointed_files(data) >= count


def checkpointed_files(data_dir):
    """Files listed in the checkpoint files under data_dir (the first line
    of each is a header)."""
    total = 0
    for root, _, names in os.walk(data_dir):
        for name in names:
            if name.endswith("checkpoints"):
                try:
                    with open(os.path.join(root, name)) as f:
                        total += max(0, len(f.readlines()) - 1)
                except OSError:
                    pass
    return total
