"""Cold start and idle memory of `porch serve` (the embedded default) against bare Starlette.

    python -m bench.startup [--runs 5] [--idle 10]

Each run starts a fresh process and times it from spawn until `/ready` answers 200, then
leaves it idle for `--idle` seconds and reads its resident memory (the whole process tree,
from /proc). One unmeasured start first migrates the SQLite database and warms the file
cache, so the measured starts see what a restart sees. The baseline is a bare Starlette
app (bench/baseline_ready.py) started through uvicorn with the same loop and parser.
Prints medians and porch's ratio to the baseline; targets: under 3 s and under 150 MB.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from bench.harness import free_port, log_tail, process_tree, python, spawn, stop, tree_cpu_seconds

TARGET_READY_S = 3.0
TARGET_RSS_MB = 150.0


def _ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/ready")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += sum(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return total / 1024


def start_once(args: Sequence[str], env: dict[str, str], idle: float) -> tuple[float, float, float]:
    """Seconds from spawn to a 200 from /ready, CPU seconds the process spent getting there
    (steadier than the wall clock on a shared machine), and MB resident after `idle` s."""
    port = free_port()
    began = time.perf_counter()
    proc = spawn([*args, "--port", str(port)], env)
    try:
        while not _ready(port):
            if proc.poll() is not None:
                raise RuntimeError(f"process exited: {log_tail(proc)}")
            if time.perf_counter() - began > 120:
                raise RuntimeError("not ready in 120 s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - began
        cpu = tree_cpu_seconds(proc.pid)
        time.sleep(idle)
        return elapsed, cpu, tree_rss_mb(proc.pid)
    finally:
        stop(proc)


def measure(
    name: str, args: Sequence[str], env: dict[str, str], runs: int, idle: float
) -> tuple[float, float, float]:
    start_once(args, env, 0)  # migrates, warms the page cache; not counted
    ready, cpu, rss = [], [], []
    for _ in range(runs):
        seconds, cpu_s, mb = start_once(args, env, idle)
        ready.append(seconds)
        cpu.append(cpu_s)
        rss.append(mb)
        print(
            f"  {name:9} ready {seconds:6.2f} s  cpu {cpu_s:5.2f} s  rss {mb:6.1f} MB", flush=True
        )
    return statistics.median(ready), statistics.median(cpu), statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=10.0)
    opts = parser.parse_args()
    # The embedded default: whatever PORCH_* this shell sets is not part of it.
    for key in [k for k in os.environ if k.startswith("PORCH_")]:
        del os.environ[key]
    data_dir = f"/tmp/porch-bench-startup-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    # The embedded default: SQLite, in-process jobs and cache, the offline answerer, MiniLM.
    env = {"PORCH_DATA_DIR": data_dir, "PORCH_LOG_LEVEL": "warning"}
    porch = [python(), "-m", "porch.cli", "serve"]
    bare = [
        python(),
        "-m",
        "uvicorn",
        "bench.baseline_ready:app",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
    ]
    try:
        porch_ready, porch_cpu, porch_rss = measure("porch", porch, env, opts.runs, opts.idle)
        bare_ready, bare_cpu, bare_rss = measure("starlette", bare, {}, opts.runs, opts.idle)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\nmedian of {opts.runs} starts, RSS after {opts.idle:g} s idle")
    print(f"{'':10}{'to /ready':>12}{'CPU':>10}{'idle RSS':>12}")
    print(f"{'porch':10}{porch_ready:>10.2f} s{porch_cpu:>8.2f} s{porch_rss:>9.1f} MB")
    print(f"{'starlette':10}{bare_ready:>10.2f} s{bare_cpu:>8.2f} s{bare_rss:>9.1f} MB")
    print(
        f"{'ratio':10}{porch_ready / bare_ready:>11.1f}x"
        f"{porch_cpu / max(bare_cpu, 0.01):>9.1f}x{porch_rss / bare_rss:>11.1f}x"
    )
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores (the wall clock suffers first)")
    ok_ready = "within" if porch_ready < TARGET_READY_S else "OVER"
    ok_rss = "within" if porch_rss < TARGET_RSS_MB else "OVER"
    print(f"targets: < {TARGET_READY_S:g} s ({ok_ready}), < {TARGET_RSS_MB:g} MB ({ok_rss})")


if __name__ == "__main__":
    main()
