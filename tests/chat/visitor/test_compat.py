"""Aliases for clients written against the systems porch replaces."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import OwnerClient, parse_sse


async def test_chat_message_creates_then_continues_a_session(
    client: httpx.AsyncClient, widget: dict[str, Any]
) -> None:
    first = await client.post("/chat/message", json={"message": "Pro plan price?"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert "$12" in body["reply"] and body["sessionId"].startswith("pv_")
    again = await client.post(
        "/chat/message",
        json={"message": "How do I reset my password?", "sessionId": body["sessionId"]},
    )
    assert again.json()["sessionId"] == body["sessionId"]
    history = (await client.get(f"/chat/history/{body['sessionId']}")).json()
    assert [m["role"] for m in history["messages"]] == [
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert (await client.get("/chat/history/pv_nope")).status_code == 404
    unknown = await client.post("/chat/message", json={"message": "hi", "sessionId": "pv_nope"})
    assert unknown.status_code == 404


async def test_config_aliases_and_health(client: httpx.AsyncClient, widget: dict[str, Any]) -> None:
    named = (await client.get("/api/config", params={"agentId": widget["id"]})).json()
    default = (await client.get("/api/widget-config")).json()
    assert named == default and named["widget_id"] == widget["id"]
    assert (await client.get("/api/health")).json() == {"status": "ok"}
    env = (await client.get("/api/environment")).json()
    assert env["llm_provider"] == "extractive" and env["database"] in ("sqlite", "postgresql")


async def test_api_chat_streams(client: httpx.AsyncClient, widget: dict[str, Any]) -> None:
    resp = await client.post(
        "/api/chat", json={"message": "Pro plan price?", "widgetId": widget["id"]}
    )
    events = parse_sse(resp.text)
    assert events[0][0] == "start" and events[0][1]["sessionId"].startswith("pv_")
    assert events[-1][0] == "done"


async def test_owner_alias(owner: OwnerClient, widget: dict[str, Any]) -> None:
    listed = (await owner.get("/api/widgets")).json()["widgets"]
    assert [w["id"] for w in listed] == [widget["id"]]


async def test_no_widget_yet(client: httpx.AsyncClient) -> None:
    resp = await client.post("/chat/message", json={"message": "hi"})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "widget_not_found"
