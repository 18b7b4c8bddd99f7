"""A real `porch serve` process: streaming without buffering, disconnects, graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes import OpenAIFake
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(
    tmp_path: Path, openai_fake: OpenAIFake
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {
        **os.environ,
        "PORCH_DATA_DIR": str(tmp_path),
        "PORCH_LLM_PROVIDER": "openai",
        "PORCH_LLM_MODEL": "gpt-4o-mini",
        "PORCH_LLM_BASE_URL": openai_fake.base_url,
        "PORCH_LLM_API_KEY": "sk-test",
        "PORCH_SHUTDOWN_GRACE_SECONDS": "10",
        "PORCH_LOG_LEVEL": "warning",
        "PORCH_LLM_TIMEOUT": "5",
        "PORCH_HTTP_KEEPALIVE_SECONDS": "7",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "porch.cli", "serve", "--port", str(port), "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _widget_and_visitor(base: str) -> tuple[str, str, str]:
    with httpx.Client(base_url=base) as c:
        widget_id = c.get("/api/config").json()["widget_id"]
        conv = c.post(f"/api/v1/widgets/{widget_id}/conversations", json={}).json()
    return widget_id, conv["conversation_id"], conv["visitor_token"]


def _assistant_rows(data_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "porch.db") as db:
        return db.execute(
            "SELECT content, status FROM messages WHERE role = 'assistant' "
            "AND content NOT LIKE 'Hi!%' ORDER BY id"
        ).fetchall()


async def test_tokens_arrive_as_they_are_made(
    server: tuple[str, subprocess.Popen[bytes]], openai_fake: OpenAIFake
) -> None:
    base, _ = server
    openai_fake.control.script(tokens=10, token_latency=0.1)
    _, conv, token = _widget_and_visitor(base)
    arrivals: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        began = time.monotonic()
        async with c.stream(
            "POST",
            f"/api/v1/conversations/{conv}/messages",
            json={"content": "How much is the Pro plan?"},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        ) as resp:
            assert resp.headers["x-accel-buffering"] == "no"
            async for line in resp.aiter_lines():
                if line.startswith("event: token"):
                    arrivals.append(time.monotonic() - began)
    assert len(arrivals) == 10
    # Unbuffered: the first token lands long before the last (0.9 s of pacing between them).
    assert arrivals[-1] - arrivals[0] > 0.6


async def test_reply_completes_and_is_stored_after_the_visitor_leaves(
    server: tuple[str, subprocess.Popen[bytes]], openai_fake: OpenAIFake, tmp_path: Path
) -> None:
    base, _ = server
    openai_fake.control.script(tokens=12, token_latency=0.05)
    _, conv, token = _widget_and_visitor(base)
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as c,
        c.stream(
            "POST",
            f"/api/v1/conversations/{conv}/messages",
            json={"content": "How much is the Pro plan?"},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        ) as resp,
    ):
        async for line in resp.aiter_lines():
            if line.startswith("event: token"):
                break  # the visitor closes the tab after the first token
    # The visitor is gone; the server finishes the reply and stores it whole.
    expected = (" ".join(f"tok{i}" for i in range(12)), "complete")
    await wait_until(lambda: _assistant_rows(tmp_path)[-1:] == [expected], timeout=20)


async def test_sigterm_lets_streams_in_flight_finish(
    server: tuple[str, subprocess.Popen[bytes]], openai_fake: OpenAIFake, tmp_path: Path
) -> None:
    base, proc = server
    openai_fake.control.script(tokens=20, token_latency=0.1)  # about 2 s per reply
    visitors = [_widget_and_visitor(base) for _ in range(5)]

    started: set[str] = set()

    async def one(conv: str, token: str, c: httpx.AsyncClient) -> list[str]:
        names = []
        async with c.stream(
            "POST",
            f"/api/v1/conversations/{conv}/messages",
            json={"content": "How much is the Pro plan?"},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        ) as resp:
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    names.append(line[7:])
                    if line == "event: token":
                        started.add(conv)
        return names

    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        streams = [asyncio.create_task(one(conv, tok, c)) for _, conv, tok in visitors]
        await openai_fake.control.until(lambda ctl: ctl.request_count >= 5)
        # Every reply mid-stream when the signal comes.
        await wait_until(lambda: len(started) == len(visitors), timeout=20)
        proc.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*streams)
    for names in results:
        assert names[0] == "start" and names[-1] == "done" and names.count("token") == 20
    # uvicorn re-raises SIGTERM after its graceful shutdown, as a well-behaved server should.
    assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    rows = _assistant_rows(tmp_path)
    assert len(rows) == 5 and {status for _, status in rows} == {"complete"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/health", timeout=2)


def test_idle_connections_are_kept_as_long_as_configured(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Kept past uvicorn's own 5 s (a proxy in front keeps its side open longer, and a
    server that closes first races the next request on it), then closed."""
    import socket

    port = int(server[0].rsplit(":", 1)[1])
    request = f"GET /live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(request)
            response = b""
            while b'{"status":"ok"}' not in response:  # head and body may come apart
                chunk = sock.recv(65536)
                assert chunk, f"closed early: {response!r}"
                response += chunk
            assert response.startswith(b"HTTP/1.1 200"), response[:100]
            time.sleep(6)  # idle longer than uvicorn's default keep-alive
        sock.settimeout(5)
        assert sock.recv(1) == b""  # closed by the server after its 7 s
