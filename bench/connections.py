"""Many idle visitor connections while many replies stream at once.

Starts the fake OpenAI server pacing its tokens (20 ms each, 50 tokens), `porch serve` with
2 workers, opens N WebSocket connections that stay idle (visitors between messages), then
streams M replies at once over SSE, and prints: whether every reply completed, server memory
per idle connection (RSS of all porch processes, delta / N), and the first-token delay porch
adds (the fake stamps its first token with its monotonic clock) at p50 and p99.

    python -m bench.connections [--idle 10000] [--streams 1000] [--workers 2]
                                [--database sqlite|postgres] [--runs 1]

Loopback only; every phase has a deadline and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.chat import recreate_database
from bench.harness import (
    client_gc_paused,
    free_port,
    log_tail,
    median,
    percentile,
    python,
    spawn,
    start_fake_model,
    stop,
    tree_cpu_seconds,
    tree_rss_kb,
    wait_ready,
)

REDIS = os.environ.get("PORCH_BENCH_REDIS", "redis://127.0.0.1:6379/14")
FAQ = "# Plans\nThe Pro plan costs $12 per month and includes unlimited sites.\n"


@dataclass
class Result:
    idle_open: int = 0
    rss_per_idle_kb: float = 0.0
    streams_done: int = 0
    streams_failed: int = 0
    added_ms: list[float] = field(default_factory=list)
    first_token_ms: list[float] = field(default_factory=list)  # from the visitor's POST
    unstamped: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def fail(self, reason: str) -> None:
        self.streams_failed += 1
        self.failures[reason] += 1

    stream_seconds: float = 0.0
    cpu_seconds: float = 0.0


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def seed(session: aiohttp.ClientSession, base: str, n: int) -> list[tuple[str, str]]:
    r = await session.post(
        f"{base}/api/v1/auth/signup",
        json={"email": "bench@example.com", "password": "bench password"},
    )
    csrf = {"X-CSRF-Token": (await r.json())["csrf_token"]}
    limits = {
        "visitor_messages_per_minute": 10_000,
        "visitor_messages_per_day": 1_000_000,
        "widget_messages_per_day": 100_000_000,
        "conversations_per_ip_per_hour": 100_000,
    }
    created = await session.post(
        f"{base}/api/v1/widgets",
        headers=csrf,
        json={"name": "bench", "provider": "openai", "model": "gpt-4o-mini", "limits": limits},
    )
    w = await created.json()
    if created.status != 201:
        raise RuntimeError(f"widget: {created.status} {w}")
    await session.post(
        f"{base}/api/v1/widgets/{w['id']}/sources",
        headers=csrf,
        json={"type": "text", "title": "Plans", "text": FAQ},
    )
    slots = asyncio.Semaphore(32)

    async def one() -> tuple[str, str]:
        async with slots:
            resp = await session.post(f"{base}/api/v1/widgets/{w['id']}/conversations", json={})
            body = await resp.json()
            return body["conversation_id"], body["visitor_token"]

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def open_idle_ws(
    port: int, conv: tuple[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket handshake by hand: the client side costs a socket and nothing more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /api/v1/conversations/{conv[0]}/ws HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Protocol: porch.v1, porch.token.{conv[1]}\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head[:200].decode(errors="replace"))
    return reader, writer


async def open_idle_sockets(
    port: int, convs: list[tuple[str, str]]
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """One idle socket per conversation, 200 handshakes at a time."""
    sockets: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots = asyncio.Semaphore(200)

    async def open_one(conv: tuple[str, str]) -> None:
        async with slots:
            sockets.append(await open_idle_ws(port, conv))

    await asyncio.gather(*(open_one(c) for c in convs))
    return sockets


async def stream_one(
    session: aiohttp.ClientSession, base: str, conv: tuple[str, str], result: Result
) -> None:
    posted = time.monotonic_ns()
    try:
        async with session.post(
            f"{base}/api/v1/conversations/{conv[0]}/messages",
            json={"content": "How much is the Pro plan?"},
            headers={"Authorization": f"Bearer {conv[1]}", "Accept": "text/event-stream"},
        ) as resp:
            if resp.status != 200:
                result.fail(f"HTTP {resp.status} {(await resp.text())[:120]}")
                return
            # Lines until the stamped first token; then raw chunks, only looking for the end:
            # 1,000 streams decoded line by line in one Python process saturate a core of
            # the two this machine has, and that client's lag would be counted as porch's.
            done, stamped, tail = False, False, b""
            async for raw in resp.content:
                if raw.startswith(b'data: {"delta":"T') and b"|" in raw:
                    now = time.monotonic_ns()
                    sent_ns = int(raw.split(b'"delta":"T', 1)[1].split(b"|", 1)[0])
                    result.added_ms.append((now - sent_ns) / 1e6)
                    result.first_token_ms.append((now - posted) / 1e6)
                    stamped = True
                    break
                done = done or raw.startswith(b"event: done")
            if not stamped:
                result.unstamped += 1  # answered without the model's tokens (a fallback)
            async for chunk in resp.content.iter_any():
                done = done or b"event: done" in tail + chunk
                tail = chunk[-16:]
            if done:
                result.streams_done += 1
            else:
                result.fail("the stream ended without a done event")
    except (TimeoutError, aiohttp.ClientError) as exc:
        result.fail(f"{type(exc).__name__}: {exc}"[:160])


async def drive(args: argparse.Namespace, base: str, port: int, pid: int) -> Result:
    result = Result()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=args.deadline)
    jar = aiohttp.CookieJar(unsafe=True)  # the owner cookie, on 127.0.0.1
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=jar
    ) as session:
        if args.overlap:  # the streaming visitors hold sockets too, as open widgets do
            convs = await seed(session, base, max(args.idle, args.streams))
            idle_convs, stream_convs = convs[: args.idle], convs[: args.streams]
        else:
            convs = await seed(session, base, args.idle + args.streams)
            idle_convs, stream_convs = convs[: args.idle], convs[args.idle :]
        # Warm the paths (and each worker) before measuring memory.
        await asyncio.gather(*(stream_one(session, base, c, Result()) for c in stream_convs[:20]))
        await asyncio.sleep(1)
        rss0 = tree_rss_kb(pid)
        sockets = await asyncio.wait_for(open_idle_sockets(port, idle_convs), args.deadline)
        result.idle_open = len(sockets)
        await asyncio.sleep(2)
        result.rss_per_idle_kb = (tree_rss_kb(pid) - rss0) / max(1, len(sockets))
        # Every stream at once, while the idle connections stay open.
        cpu0, t0 = tree_cpu_seconds(pid), time.perf_counter()
        with client_gc_paused():
            await asyncio.wait_for(
                asyncio.gather(*(stream_one(session, base, c, result) for c in stream_convs)),
                timeout=args.deadline,
            )
        result.stream_seconds = time.perf_counter() - t0
        result.cpu_seconds = tree_cpu_seconds(pid) - cpu0
        still_open = 0
        for reader, writer in sockets:
            if not reader.at_eof():
                still_open += 1
            writer.close()
        result.idle_open = min(result.idle_open, still_open)
    return result


def run_once(args: argparse.Namespace) -> Result:
    env: dict[str, str] = {
        "PORCH_DATA_DIR": f"/tmp/porch-bench-conn-{os.getpid()}",
        "PORCH_LLM_PROVIDER": "openai",
        "PORCH_LLM_MODEL": "gpt-4o-mini",
        "PORCH_LLM_API_KEY": "sk-bench",
        "PORCH_LOG_LEVEL": "warning",
        "PORCH_ALLOW_SIGNUP": "true",
        "PORCH_EMBEDDINGS": args.embeddings,
        "PORCH_STREAM_FLUSH_MS": str(args.flush_ms),
        "PORCH_DATABASE_POOL_SIZE": "10",
    }
    shutil.rmtree(env["PORCH_DATA_DIR"], ignore_errors=True)
    if args.database == "postgres":
        db = recreate_database("porch_bench_conn")
        env["PORCH_DATABASE_URL"] = db.replace("postgresql://", "postgresql+asyncpg://")
        env["PORCH_REDIS_URL"] = REDIS
        env["PORCH_JOBS_QUEUE"] = "memory"  # no `porch worker` in this benchmark
        import redis

        redis.Redis.from_url(REDIS).flushdb()
    fake, fake_port = start_fake_model(args.tokens, args.latency_ms)
    porch_port = free_port()
    if args.database == "postgres":  # migrate once, not in every worker at the same time
        import subprocess

        subprocess.run(
            [python(), "-m", "porch.cli", "migrate"], env={**os.environ, **env}, check=True
        )
        env["PORCH_AUTO_MIGRATE"] = "false"
    porch = spawn(
        [
            python(),
            "-m",
            "porch.cli",
            "serve",
            "--port",
            str(porch_port),
            "--workers",
            str(args.workers),
        ],
        {**env, "PORCH_LLM_BASE_URL": f"http://127.0.0.1:{fake_port}/v1"},
    )
    base = f"http://127.0.0.1:{porch_port}"
    try:
        wait_ready(f"http://127.0.0.1:{fake_port}/v1/models", fake)
        wait_ready(f"http://127.0.0.1:{porch_port}/ready", porch)
        result = asyncio.run(drive(args, base, porch_port, porch.pid))
        if result.streams_failed:
            for reason, count in result.failures.most_common(5):
                print(f"{count} replies failed: {reason}")
            print(f"server log (last lines):\n{log_tail(porch)}")
        return result
    finally:
        stop(porch)
        stop(fake)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=10_000, help="idle WebSocket connections")
    parser.add_argument("--streams", type=int, default=1_000, help="replies streamed at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the model's pacing")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--embeddings", default="none", help="none keeps the CPU for serving")
    parser.add_argument("--flush-ms", type=float, default=0.0, help="PORCH_STREAM_FLUSH_MS")
    parser.add_argument(
        "--overlap", action="store_true", help="stream on conversations that hold sockets"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds per phase")
    args = parser.parse_args()
    limit = raise_fd_limit()
    if args.idle + args.streams + 200 > limit:
        raise SystemExit(f"ulimit -n is {limit}: too few for {args.idle + args.streams}")
    runs = [run_once(args) for _ in range(args.runs)]
    print(
        f"\nconnections benchmark: {args.idle} idle WebSockets, {args.streams} SSE replies at "
        f"once ({args.tokens} tokens, {args.latency_ms:g} ms apart), porch {args.workers} "
        f"workers on {args.database}, flush {args.flush_ms:g} ms; median of {args.runs} run(s)"
    )
    pick: dict[str, Any] = {
        "idle connections kept open": median([r.idle_open for r in runs]),
        "replies completed": median([r.streams_done for r in runs]),
        "replies failed": median([r.streams_failed for r in runs]),
        "replies without the model's first token": median([r.unstamped for r in runs]),
        "server memory per idle connection (KB)": median([r.rss_per_idle_kb for r in runs]),
        "added first-token delay p50 (ms)": median([percentile(r.added_ms, 0.5) for r in runs]),
        "added first-token delay p99 (ms)": median([percentile(r.added_ms, 0.99) for r in runs]),
        "first token after the POST p50 (ms)": median(
            [percentile(r.first_token_ms, 0.5) for r in runs]
        ),
        "first token after the POST p99 (ms)": median(
            [percentile(r.first_token_ms, 0.99) for r in runs]
        ),
        "streaming phase (s)": median([r.stream_seconds for r in runs]),
        "server CPU per reply (ms)": median(
            [r.cpu_seconds / max(1, r.streams_done) * 1000 for r in runs]
        ),
    }
    for name, value in pick.items():
        print(f"  {name:42s} {value:.1f}")
    per_conn = pick["server memory per idle connection (KB)"]
    print(f"  ratio: memory per idle connection / 30 KB target: {per_conn / 30:.2f}")
    p99 = pick["added first-token delay p99 (ms)"]
    print(f"  ratio: added first-token p99 / 50 ms target: {p99 / 50:.2f}")


if __name__ == "__main__":
    main()
