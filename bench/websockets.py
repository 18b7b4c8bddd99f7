"""Idle WebSockets: memory per connection, and the time to deliver one message to all of them.

Holds N visitor sockets (default 5,000) on one porch process (SQLite, uvicorn), then sends one
agent reply and times until every socket has it. The same is measured in the same run for a
bare Starlette WebSocket endpoint (bench/baseline_ws.py) on the same uvicorn, and the ratio
printed. Run per uvicorn WebSocket backend to choose one:

    python -m bench.websockets --n 5000 --ws websockets-sansio wsproto websockets

Memory is the server's RSS after the sockets are open minus before, divided by N. The client
offers permessage-deflate, as browsers do; the servers refuse it as `porch serve` does, unless
`--deflate`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.harness import free_port, python, spawn, stop, wait_ready

BATCH = 250


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@dataclass
class Result:
    name: str
    n: int
    kb_per_socket: float
    deliver_ms: float


async def _open(url: str, n: int, subprotocols: list[str] | None) -> list[ClientConnection]:
    offered = [Subprotocol(p) for p in subprotocols] if subprotocols else None
    sockets: list[ClientConnection] = []
    for start in range(0, n, BATCH):
        batch = [
            connect(url, open_timeout=60, ping_interval=None, max_queue=4, subprotocols=offered)
            for _ in range(min(BATCH, n - start))
        ]
        sockets += await asyncio.gather(*batch)
    return sockets


async def _until(ws: ClientConnection, wanted: str) -> float:
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == wanted or frame.get("text") == wanted:
            return time.perf_counter()


async def _drain_ready(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(_until(ws, "ready") for ws in sockets))


async def measure(
    name: str,
    pid: int,
    url: str,
    n: int,
    send: object,
    wanted: str,
    ready: bool,
    subprotocols: list[str] | None = None,
) -> Result:
    await asyncio.sleep(1)
    before = rss_kb(pid)
    sockets = await _open(url, n, subprotocols)
    if ready:
        await _drain_ready(sockets)
    gc.collect()
    await asyncio.sleep(2)  # let the server settle: buffers freed, tasks parked
    after = rss_kb(pid)
    waits = [asyncio.create_task(_until(ws, wanted)) for ws in sockets]
    began = time.perf_counter()
    await send()  # type: ignore[operator]
    done = await asyncio.gather(*waits)
    deliver_ms = (max(done) - began) * 1000
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return Result(name, n, (after - before) / n, deliver_ms)


def _server_env(data: str, deflate: bool) -> dict[str, str]:
    return {
        "PORCH_DATA_DIR": data,
        "PORCH_LOG_LEVEL": "warning",
        "PORCH_ALLOW_SIGNUP": "true",
        "PORCH_WS_PING_SECONDS": "600",
        "PORCH_WS_QUEUE_SIZE": "64",
    }


def _uvicorn(target: str, port: int, ws: str, deflate: bool, factory: bool) -> list[str]:
    args = [python(), "-m", "uvicorn", target, "--port", str(port), "--ws", ws, "--loop", "uvloop"]
    args += ["--http", "httptools", "--log-level", "warning", "--ws-max-size", "65536"]
    if not deflate:
        args += ["--ws-per-message-deflate", "false"]
    return args + (["--factory"] if factory else [])


async def porch_run(n: int, ws: str, deflate: bool) -> Result:
    with tempfile.TemporaryDirectory() as data:
        env = _server_env(data, deflate)
        migrate = spawn([python(), "-m", "porch.cli", "migrate"], env)
        migrate.wait()
        port = free_port()
        proc = spawn(_uvicorn("porch.app:create_app_from_env", port, ws, deflate, True), env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{base}/ready", proc)
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                owner = await http.post(
                    "/api/v1/auth/signup",
                    json={"email": "b@example.com", "password": "bench password"},
                )
                csrf = owner.json()["csrf_token"]
                widget = await http.post(
                    "/api/v1/widgets", json={"name": "Bench"}, headers={"X-CSRF-Token": csrf}
                )
                conv = (
                    await http.post(f"/api/v1/widgets/{widget.json()['id']}/conversations", json={})
                ).json()
                url = f"ws://127.0.0.1:{port}/api/v1/conversations/{conv['conversation_id']}/ws"
                # As the widget offers it: the token as a subprotocol, never in the URL.
                offer = ["porch.v1", f"porch.token.{conv['visitor_token']}"]

                async def send() -> None:
                    r = await http.post(
                        f"/api/v1/conversations/{conv['conversation_id']}/reply",
                        json={"content": "Hello from a person"},
                        headers={"X-CSRF-Token": csrf},
                    )
                    r.raise_for_status()

                return await measure(
                    f"porch ({ws})", proc.pid, url, n, send, "agent.message", True, offer
                )
        finally:
            stop(proc)


async def baseline_run(n: int, ws: str, deflate: bool) -> Result:
    port = free_port()
    proc = spawn(_uvicorn("bench.baseline_ws:app", port, ws, deflate, False))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/broadcast", proc)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:

            async def send() -> None:
                (
                    await http.post("/broadcast", content=json.dumps({"text": "go"}))
                ).raise_for_status()

            return await measure(
                f"bare Starlette ({ws})",
                proc.pid,
                f"ws://127.0.0.1:{port}/ws",
                n,
                send,
                "go",
                False,
            )
    finally:
        stop(proc)


def report(rows: list[Result]) -> None:
    print(f"{'server':36} {'sockets':>8} {'KB/socket':>10} {'deliver to all':>15}")
    for r in rows:
        print(f"{r.name:36} {r.n:>8} {r.kb_per_socket:>10.1f} {r.deliver_ms:>12.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--ws", nargs="+", default=["websockets-sansio"])
    parser.add_argument("--deflate", action="store_true", help="servers accept permessage-deflate")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    deflate = args.deflate
    rows: list[Result] = []
    for ws in args.ws:
        ours = await porch_run(args.n, ws, deflate)
        base = await baseline_run(args.n, ws, deflate)
        rows += [ours, base]
        report([ours, base])
        print(
            f"  ratio porch/bare: memory {ours.kb_per_socket / max(base.kb_per_socket, 0.01):.2f}x,"
            f" delivery {ours.deliver_ms / max(base.deliver_ms, 0.01):.2f}x\n"
        )
    print(f"permessage-deflate offered by the client, {'on' if deflate else 'off'} in the servers")
    report(rows)


if __name__ == "__main__":
    asyncio.run(main())
