"""Process and measurement helpers shared by the benchmarks."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    # stderr goes to a file, never a pipe: under load a server logs more than a pipe holds,
    # and a full pipe nobody reads would block it mid-benchmark.
    log = tempfile.NamedTemporaryFile(prefix="porch-bench-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        list(args),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    LOGS[proc.pid] = Path(log.name)
    log.close()
    return proc


LOGS: dict[int, Path] = {}


def log_tail(proc: subprocess.Popen[bytes], size: int = 2000) -> str:
    path = LOGS.get(proc.pid)
    return path.read_text(errors="replace")[-size:] if path and path.exists() else ""


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited: {log_tail(proc)}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / TICK


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def wrk_rps(url: str, seconds: int = 5, connections: int = 32) -> float | None:
    """Requests per second from wrk (one thread), or None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return None


def python() -> str:
    return sys.executable


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (uvicorn's workers under its supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and all its live descendants (workers are not reaped while running)."""
    total = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime + stime, plus the CPU of children already reaped (a restarted worker)
        total += sum(int(f) for f in fields[11:15]) / TICK
    return total


def tree_rss_kb(pid: int) -> int:
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def start_fake_model(tokens: int, latency_ms: float) -> tuple[subprocess.Popen[bytes], int]:
    """The fake OpenAI-compatible server, pacing `tokens` tokens `latency_ms` apart and
    stamping its first one with its monotonic clock; returns the process and its port."""
    port = free_port()
    proc = spawn(
        [
            python(),
            "-m",
            "tests.fakes.openai_server",
            "--port",
            str(port),
            "--tokens",
            str(tokens),
            "--latency-ms",
            str(latency_ms),
            "--stamp",
        ]
    )
    return proc, port


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """No garbage collection in the load generator while it measures.

    Its full collections walk every object it holds (10,000 sockets' worth in
    bench/connections.py) and paused it for 141 and 202 ms inside one run's measured phase,
    which read as the server's delay. What is alive now is frozen out of collection first.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
