"""SIGTERM with 100 streams open: each finishes and is stored, new requests meanwhile get a 503
with Retry-After, nothing is cut mid-write, and the process then exits by itself."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.fakes import OpenAIFake
from tests.faults.servers import serve, stop

pytestmark = pytest.mark.slow

STREAMS = 100
TOKENS = 30


async def test_sigterm_with_a_hundred_open_streams(tmp_path: Path, openai_fake: OpenAIFake) -> None:
    base, proc = serve(
        {
            "PORCH_DATA_DIR": str(tmp_path),
            "PORCH_LLM_PROVIDER": "openai",
            "PORCH_LLM_MODEL": "gpt-4o-mini",
            "PORCH_LLM_BASE_URL": openai_fake.base_url,
            "PORCH_LLM_API_KEY": "sk-test",
            "PORCH_EMBEDDINGS": "none",
            "PORCH_SHUTDOWN_GRACE_SECONDS": "30",
            "PORCH_DEFAULT_CONVERSATIONS_PER_IP_PER_HOUR": "10000",
        },
        "--demo",
    )
    try:
        openai_fake.control.script(tokens=TOKENS, token_latency=0.1)  # about 3 s per reply
        limits = httpx.Limits(max_connections=STREAMS + 10)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
            widget_id = (await c.get("/api/config")).json()["widget_id"]
            visitors = []
            for _ in range(STREAMS):
                conv = (await c.post(f"/api/v1/widgets/{widget_id}/conversations", json={})).json()
                visitors.append((conv["conversation_id"], conv["visitor_token"]))

            async def one(conv: str, token: str) -> tuple[list[str], str]:
                names, text = [], ""
                async with c.stream(
                    "POST",
                    f"/api/v1/conversations/{conv}/messages",
                    json={"content": "How much is the Pro plan?"},
                    headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
                ) as resp:
                    assert resp.status_code == 200
                    async for line in resp.aiter_lines():
                        if line.startswith("event: "):
                            names.append(line[7:])
                        elif line.startswith('data: {"delta"'):
                            text += line.split('"delta":"', 1)[1].rsplit('"', 1)[0]
                return names, text

            streams = [asyncio.create_task(one(conv, tok)) for conv, tok in visitors]
            await openai_fake.control.until(lambda ctl: ctl.request_count >= STREAMS, timeout=60)
            proc.send_signal(signal.SIGTERM)
            # While they drain, the process still answers, but turns new work away.
            async with httpx.AsyncClient(base_url=base, timeout=10) as fresh:
                refused = await fresh.post(f"/api/v1/widgets/{widget_id}/conversations", json={})
                ready = await fresh.get("/ready")
            results = await asyncio.gather(*streams)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"].isdigit()
        assert refused.json()["error"]["code"] == "shutting_down"
        assert ready.status_code == 503 and ready.json()["status"] == "draining"
        full = " ".join(f"tok{i}" for i in range(TOKENS))
        for names, text in results:
            assert names[0] == "start" and names[-1] == "done", names
            assert names.count("token") == TOKENS and text == full
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        with sqlite3.connect(tmp_path / "porch.db") as db:
            rows = db.execute(
                "SELECT content, status FROM messages WHERE role = 'assistant' "
                "AND provider = 'openai'"
            ).fetchall()
        assert len(rows) == STREAMS and set(rows) == {(full, "complete")}
    finally:
        stop(proc)
