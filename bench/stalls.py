"""How long a process holding many idle sockets keeps a request waiting.

Starts `porch serve` with one worker and a short WebSocket ping interval, then probes
`GET /live` every 5 ms for a while, first with no sockets open (the baseline) and then with
N idle visitor sockets, and prints the probe's latency p50 / p99 / max for both and their
ratio. Work a process does for all its sockets at once (a heartbeat sweep, a broadcast)
shows as the max: every request and every streaming token in that process waits for it.

    python -m bench.stalls [--sockets 5000] [--ping-seconds 2] [--seconds 12] [--runs 1]

Loopback only; the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import time
from dataclasses import dataclass

import aiohttp

from bench.connections import open_idle_sockets, raise_fd_limit, seed
from bench.harness import (
    client_gc_paused,
    free_port,
    median,
    percentile,
    python,
    spawn,
    stop,
    wait_ready,
)


@dataclass
class Probe:
    p50: float
    p99: float
    worst: float


async def probe(session: aiohttp.ClientSession, url: str, seconds: float) -> Probe:
    latencies: list[float] = []
    with client_gc_paused():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.perf_counter()
            async with session.get(url) as resp:
                await resp.read()
            latencies.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(0.005)
    return Probe(percentile(latencies, 0.5), percentile(latencies, 0.99), max(latencies))


async def drive(args: argparse.Namespace, base: str, port: int) -> tuple[Probe, Probe, int]:
    connector = aiohttp.TCPConnector(limit=0)
    jar = aiohttp.CookieJar(unsafe=True)  # the owner cookie, on 127.0.0.1
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as session:
        convs = await seed(session, base, args.sockets)
        quiet = await probe(session, f"{base}/live", args.seconds)
        sockets = await open_idle_sockets(port, convs)
        await asyncio.sleep(args.ping_seconds)  # every socket has joined a ping round
        loaded = await probe(session, f"{base}/live", args.seconds)
        for _reader, writer in sockets:
            writer.close()
        return quiet, loaded, len(sockets)


def run_once(args: argparse.Namespace) -> tuple[Probe, Probe, int]:
    env = {
        "PORCH_DATA_DIR": f"/tmp/porch-bench-stalls-{os.getpid()}",
        "PORCH_LOG_LEVEL": "warning",
        "PORCH_ALLOW_SIGNUP": "true",
        "PORCH_EMBEDDINGS": "none",
        "PORCH_LLM_PROVIDER": "extractive",
        "PORCH_WS_PING_SECONDS": str(args.ping_seconds),
        # The idle clients never answer; they must not be closed during the probe.
        "PORCH_WS_MISSED_PONGS": "100",
    }
    shutil.rmtree(env["PORCH_DATA_DIR"], ignore_errors=True)
    port = free_port()
    server = spawn([python(), "-m", "porch.cli", "serve", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/ready", server)
        return asyncio.run(drive(args, base, port))
    finally:
        stop(server)
        shutil.rmtree(env["PORCH_DATA_DIR"], ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--ping-seconds", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    raise_fd_limit()
    runs = [run_once(args) for _ in range(args.runs)]
    quiet = Probe(*(median([getattr(r[0], f) for r in runs]) for f in ("p50", "p99", "worst")))
    loaded = Probe(*(median([getattr(r[1], f) for r in runs]) for f in ("p50", "p99", "worst")))
    print(
        f"\nstalls benchmark: GET /live every 5 ms for {args.seconds:g} s, one worker, "
        f"pings every {args.ping_seconds:g} s; median of {args.runs} run(s)"
    )
    print(f"  idle sockets open                 {median([r[2] for r in runs]):.0f}")
    for name, p in (("no sockets (baseline)", quiet), (f"{args.sockets} idle sockets", loaded)):
        print(f"  {name:<32} p50 {p.p50:.1f} / p99 {p.p99:.1f} / max {p.worst:.1f} ms")
    print(f"  ratio: max with sockets / baseline max: {loaded.worst / quiet.worst:.2f}")
    print(f"  ratio: p99 with sockets / baseline p99: {loaded.p99 / quiet.p99:.2f}")


if __name__ == "__main__":
    main()
