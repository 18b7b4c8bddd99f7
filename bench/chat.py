"""Chat throughput, server CPU per message and added first-token delay, against a baseline.

Starts a fake OpenAI-compatible server (zero latency), porch (one worker) on PostgreSQL, and a
bare Starlette app doing one INSERT per request; drives N concurrent visitors posting messages
(JSON, then SSE) and prints figures and ratios measured in this one run.

    python -m bench.chat [--visitors 100] [--messages 5] [--runs 3] [--database sqlite]
                         [--workers 1 2]

Throughput and CPU are measured for each `--workers` count (CPU summed over uvicorn's
supervisor and its workers); the paced first-token phase runs with the first count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.harness import (
    cpu_seconds,
    free_port,
    median,
    percentile,
    python,
    spawn,
    start_fake_model,
    stop,
    tree_cpu_seconds,
    wait_ready,
    wrk_rps,
)

PG = os.environ.get("PORCH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
# The client's pool hands an idle connection to whichever visitor asks next. httpx keeps
# idle connections 5 s, exactly as long as uvicorn does: a request sent on one just as the
# server closes it was reset (httpx.ReadError, about one phase in five with 2 workers, whose
# latencies leave connections idle that long). Below the server's timeout, no race.
KEEPALIVE_EXPIRY = 2.0
FAQ = "# Plans\nThe Pro plan costs $12 per month and includes unlimited sites.\n" * 3


@dataclass
class Phase:
    name: str
    messages: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_token_added: list[float] = field(default_factory=list)

    def row(self) -> dict[str, float]:
        return {
            "msgs_per_s": self.messages / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(self.latencies, 0.5) * 1000,
            "p99_ms": percentile(self.latencies, 0.99) * 1000,
            "cpu_ms_per_msg": self.cpu / self.messages * 1000 if self.messages else 0.0,
            "first_token_added_p50_ms": percentile(self.first_token_added, 0.5) * 1000,
            "first_token_added_p99_ms": percentile(self.first_token_added, 0.99) * 1000,
        }


def recreate_database(name: str) -> str:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(f"{PG}/postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(run())
    return f"{PG}/{name}"


async def seed(base: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        r = await c.post(
            "/api/v1/auth/signup", json={"email": "bench@example.com", "password": "bench password"}
        )
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        w = (
            await c.post(
                "/api/v1/widgets",
                headers=csrf,
                json={
                    "name": "bench",
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "history_limit": 6,
                    "limits": {
                        "visitor_messages_per_minute": 10_000,
                        "visitor_messages_per_day": 1_000_000,
                        "widget_messages_per_day": 100_000_000,
                        "conversations_per_ip_per_hour": 100_000,
                    },
                },
            )
        ).json()
        await c.post(
            f"/api/v1/widgets/{w['id']}/sources",
            headers=csrf,
            json={"type": "text", "title": "Plans", "text": FAQ},
        )
        return w["id"], csrf["X-CSRF-Token"]


async def visitors(base: str, widget_id: str, n: int) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        out = []
        for _ in range(n):
            body = (await c.post(f"/api/v1/widgets/{widget_id}/conversations", json={})).json()
            out.append((body["conversation_id"], body["visitor_token"]))
        return out


async def drive(
    base: str, convs: list[tuple[str, str]], per_visitor: int, stream: bool, phase: Phase
) -> None:
    limits = httpx.Limits(
        max_connections=len(convs),
        max_keepalive_connections=len(convs),
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:

        async def one(conv_id: str, token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            if stream:
                headers["Accept"] = "text/event-stream"
            for i in range(per_visitor):
                began = time.perf_counter()
                payload: Any = {"content": f"How much is the Pro plan? ({i})"}
                url = f"/api/v1/conversations/{conv_id}/messages"
                if not stream:
                    r = await c.post(url, json=payload, headers=headers)
                    assert r.status_code == 200, r.text
                else:
                    async with c.stream("POST", url, json=payload, headers=headers) as r:
                        assert r.status_code == 200
                        async for line in r.aiter_lines():
                            if line.startswith('data: {"delta":"T') and "|" in line:
                                # The fake stamps its first token with its monotonic clock.
                                sent_ns = int(line.split('"delta":"T', 1)[1].split("|", 1)[0])
                                phase.first_token_added.append(
                                    (time.monotonic_ns() - sent_ns) / 1e9
                                )
                phase.latencies.append(time.perf_counter() - began)
                phase.messages += 1

        await asyncio.gather(*(one(cid, tok) for cid, tok in convs))


def measure(
    pid: int, base: str, convs: list[tuple[str, str]], per_visitor: int, stream: bool, name: str
) -> Phase:
    phase = Phase(name)
    cpu0, t0 = tree_cpu_seconds(pid), time.perf_counter()
    asyncio.run(drive(base, convs, per_visitor, stream, phase))
    phase.seconds, phase.cpu = time.perf_counter() - t0, tree_cpu_seconds(pid) - cpu0
    return phase


async def drive_baseline(base: str, n: int, per_visitor: int, phase: Phase) -> None:
    limits = httpx.Limits(
        max_connections=n, max_keepalive_connections=n, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:

        async def one() -> None:
            for _ in range(per_visitor):
                began = time.perf_counter()
                r = await c.post("/insert", json={"content": "How much is the Pro plan?"})
                assert r.status_code == 200
                phase.latencies.append(time.perf_counter() - began)
                phase.messages += 1

        await asyncio.gather(*(one() for _ in range(n)))


def start_pair(
    args: argparse.Namespace, env: dict[str, str], latency_ms: float, workers: int = 1
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], str]:
    """A fake OpenAI server (zero latency, or paced per token) and porch pointed at it."""
    fake, fake_port = start_fake_model(args.tokens, latency_ms)
    porch_port = free_port()
    porch = spawn(
        [
            python(),
            "-m",
            "porch.cli",
            "serve",
            "--port",
            str(porch_port),
            "--workers",
            str(workers),
        ],
        {**env, "PORCH_LLM_BASE_URL": f"http://127.0.0.1:{fake_port}/v1"},
    )
    wait_ready(f"http://127.0.0.1:{fake_port}/v1/models", fake)
    wait_ready(f"http://127.0.0.1:{porch_port}/ready", porch)
    return fake, porch, f"http://127.0.0.1:{porch_port}"


def run_once(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    db_url = recreate_database("porch_bench") if args.database == "postgres" else None
    env = {
        "PORCH_DATA_DIR": f"/tmp/porch-bench-{os.getpid()}",
        "PORCH_LLM_PROVIDER": "openai",
        "PORCH_LLM_MODEL": "gpt-4o-mini",
        "PORCH_LLM_API_KEY": "sk-bench",
        "PORCH_LOG_LEVEL": "warning",
        "PORCH_ALLOW_SIGNUP": "true",
        # A shared PostgreSQL refuses past its max_connections: 2 workers x (10 + 10) fit.
        "PORCH_DATABASE_POOL_SIZE": "10",
    }
    if db_url:
        # Loopback: no TLS, as a deployment next to its database would run.
        env["PORCH_DATABASE_URL"] = (
            db_url.replace("postgresql://", "postgresql+asyncpg://") + "?ssl=disable"
        )
    else:
        shutil.rmtree(env["PORCH_DATA_DIR"], ignore_errors=True)
    base_port = free_port()
    baseline = spawn(
        [
            python(),
            "-m",
            "uvicorn",
            "bench.baseline_app:app",
            "--port",
            str(base_port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        {"PORCH_BENCH_DSN": recreate_database("porch_bench_base") + "?sslmode=disable"},
    )
    base_url = f"http://127.0.0.1:{base_port}"
    procs = [baseline]
    try:
        # 1. Throughput and CPU: a zero-latency model, so porch's own cost is what is left.
        throughput: list[Phase] = []
        convs: list[tuple[str, str]] = []
        public: list[float] = []
        bare: list[float] = []
        for n, workers in enumerate(args.workers):
            fake, porch, porch_url = start_pair(args, env, latency_ms=0, workers=workers)
            procs += [fake, porch]
            if n == 0:
                widget_id, _ = asyncio.run(seed(porch_url))
                convs = asyncio.run(visitors(porch_url, widget_id, args.visitors))
            suffix = "" if n == 0 else f"_{workers}w"
            measure(porch.pid, porch_url, convs[:10], 2, False, "warmup")
            throughput.append(
                measure(porch.pid, porch_url, convs, args.messages, False, "json" + suffix)
            )
            throughput.append(
                measure(porch.pid, porch_url, convs, args.messages, True, "sse" + suffix)
            )
            if n == 0:
                # Side by side, alternately: one wrk run each moved the ratio by ±0.1 with
                # whatever else the shared machine was doing in those five seconds.
                wait_ready(f"{base_url}/config", baseline)
                for _ in range(3):
                    pair = (
                        wrk_rps(f"{porch_url}/api/v1/widgets/{widget_id}/public"),
                        wrk_rps(f"{base_url}/config"),
                    )
                    if pair[0] and pair[1]:
                        public.append(pair[0])
                        bare.append(pair[1])
            for proc in (porch, fake):
                stop(proc)

        # 2. First-token delay: the model paces its tokens (as real ones do), so all the
        # visitors' streams are open at once without the CPU being saturated by design.
        fake, porch, porch_url = start_pair(
            args, env, latency_ms=args.pacing_ms, workers=args.workers[0]
        )
        procs += [fake, porch]
        measure(porch.pid, porch_url, convs[:10], 1, True, "warmup")
        paced = measure(porch.pid, porch_url, convs, 1, True, "sse_paced")

        base_phase = Phase("baseline")
        wait_ready(f"{base_url}/config", baseline)
        asyncio.run(drive_baseline(base_url, 10, 2, Phase("warmup")))
        cpu0, t0 = cpu_seconds(baseline.pid), time.perf_counter()
        asyncio.run(drive_baseline(base_url, args.visitors, args.messages, base_phase))
        base_phase.seconds = time.perf_counter() - t0
        base_phase.cpu = cpu_seconds(baseline.pid) - cpu0

        rows = {p.name: p.row() for p in (*throughput, paced, base_phase)}
        if public and bare:
            rows["public_config"] = {
                "porch_rps": median(public),
                "starlette_rps": median(bare),
                "ratio": median([p / b for p, b in zip(public, bare, strict=True)]),
            }
        return rows
    finally:
        for proc in procs:
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=100)
    parser.add_argument("--messages", type=int, default=5, help="per visitor, per phase")
    parser.add_argument("--tokens", type=int, default=20, help="tokens per fake reply")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pacing-ms",
        type=float,
        default=20.0,
        help="per-token pacing of the model in the first-token phase",
    )
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="uvicorn worker counts to measure"
    )
    args = parser.parse_args()

    runs = [run_once(args) for _ in range(args.runs)]
    print(
        f"\nchat benchmark: {args.visitors} concurrent visitors x {args.messages} messages, "
        f"{args.tokens}-token replies, porch {'/'.join(map(str, args.workers))} workers on "
        f"{args.database}; "
        f"median of {args.runs} runs"
    )
    for name in runs[0]:
        figures = {k: median([r[name][k] for r in runs if name in r]) for k in runs[0][name]}
        shown = ", ".join(f"{k}={v:.2f}" for k, v in figures.items() if v == v)
        print(f"  {name:14s} {shown}")
    json_cpu = median([r["json"]["cpu_ms_per_msg"] for r in runs])
    sse_cpu = median([r["sse"]["cpu_ms_per_msg"] for r in runs])
    base_cpu = median([r["baseline"]["cpu_ms_per_msg"] for r in runs])
    print(
        f"  ratio: porch CPU per message / bare Starlette INSERT: JSON {json_cpu / base_cpu:.2f}x,"
        f" SSE {sse_cpu / base_cpu:.2f}x (target: under 1.5 ms per message)"
    )
    for workers in args.workers[1:]:
        many = median([r[f"json_{workers}w"]["msgs_per_s"] for r in runs])
        one = median([r["json"]["msgs_per_s"] for r in runs])
        print(f"  ratio: JSON messages/s with {workers} workers / 1 worker: {many / one:.2f}x")
    if all("public_config" in r for r in runs):
        ratio = median([r["public_config"]["ratio"] for r in runs])
        print(f"  ratio: public config req/s / bare Starlette: {ratio:.2f} (target >= 0.6)")


if __name__ == "__main__":
    main()
