"""Helpers the curation and eval tests share."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import OwnerClient, VisitorSession, parse_sse


async def wait_ready(owner: OwnerClient, widget_id: str, timeout: float = 30.0) -> None:
    """Until every source of the widget is ready (ingestion runs in-process in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        resp = await owner.get(f"/api/v1/widgets/{widget_id}/sources")
        sources = resp.json()["sources"]
        if sources and all(s["status"] == "ready" for s in sources):
            return
        assert loop.time() < deadline, sources
        await asyncio.sleep(0.05)


async def curated(owner: OwnerClient, widget_id: str, **fields: Any) -> dict[str, Any]:
    body = {"status": "approved", **fields}
    resp = await owner.post(f"/api/v1/widgets/{widget_id}/curated-answers", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def ask(client: httpx.AsyncClient, v: VisitorSession, content: str) -> dict[str, Any]:
    """Send a message over SSE; the reply's text, sources and message id."""
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers={**v.auth, "Accept": "text/event-stream"},
    )
    assert resp.status_code == 200, resp.text
    events = parse_sse(resp.text)
    text = "".join(d["delta"] for e, d in events if e == "token")
    sources = next((d["sources"] for e, d in events if e == "sources"), [])
    done = next(d for e, d in events if e == "done")
    return {"text": text, "sources": sources, "message_id": done["message_id"], "events": events}
