"""The visitor's history carries each message's action calls: chips for finished ones, an
answerable card for a pending confirmation, declined and expired shown as such; read in one
query per page."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update

from porch.models import ActionCall
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.conftest import (
    BOTH,
    OwnerClient,
    VisitorSession,
    make_widget,
    parse_sse,
    start_conversation,
)

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def say(client: httpx.AsyncClient, v: VisitorSession, content: str) -> list[dict[str, Any]]:
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers={**v.auth, "Accept": "text/event-stream"},
    )
    assert resp.status_code == 200, resp.text
    return [data for name, data in parse_sse(resp.text) if name == "action"]


async def history(client: httpx.AsyncClient, v: VisitorSession, **query: Any) -> dict[str, Any]:
    resp = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", params=query, headers=v.auth
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def calls_of(page: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(content, actions) of each message that carries calls."""
    return [(m["content"], m["actions"]) for m in page["messages"] if m["actions"]]


async def test_a_lookup_shows_as_a_chip_on_its_reply(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    made = await owner.post(f"/api/v1/widgets/{widget['id']}/identity-secret")
    secret = made.json()["identity_secret"]
    digest = hmac.new(secret.encode(), b"alice@example.com", hashlib.sha256).hexdigest()
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await start_conversation(
            client, widget["id"], user={"id": "alice@example.com", "hash": digest}
        )
        live = await say(client, v, "Where is my order? It is A123")
        await say(client, v, "thanks")
    # The progress event names the call it is about, as its outcome does.
    assert [(a["state"], a["call_id"]) for a in live] == [
        ("started", live[-1]["call_id"]),
        ("succeeded", live[-1]["call_id"]),
    ]
    page = await history(client, v)
    ((content, shown),) = calls_of(page)
    assert content == "Order A123 is shipped, arriving Monday."
    assert shown == [
        {
            "call_id": live[-1]["call_id"],
            "slug": "order_status",
            "state": "succeeded",
            "text": "Order A123 is shipped, arriving Monday.",
            "confirmation": "none",
            "arguments": None,
            "arguments_hash": None,
            "expires_at": None,
        }
    ]
    # The visitor's own messages carry none.
    assert all(m["actions"] == [] for m in page["messages"] if m["role"] == "user")


async def test_a_pending_card_survives_a_reload_and_can_be_answered_from_it(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        (card,) = await say(client, v, "Please cancel my order C789")
        ((_, (pending,)),) = calls_of(await history(client, v))
        # Everything the card needs, exactly as the stream gave it.
        assert pending["state"] == "confirm" and pending["confirmation"] == "pending"
        assert pending["call_id"] == card["call_id"]
        assert pending["text"] == card["text"]
        assert pending["arguments"] == card["arguments"] == {"order_id": "C789"}
        assert pending["arguments_hash"] == card["arguments_hash"]
        assert datetime.fromisoformat(pending["expires_at"]) == datetime.fromisoformat(
            card["expires_at"]
        )
        ok = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/confirmations/{pending['call_id']}",
            json={"decision": "confirm", "arguments_hash": pending["arguments_hash"]},
            headers=v.auth,
        )
        assert ok.status_code == 200, ok.text
        assert len(target.seen("/orders/C789/cancel")) == 1
    page = await history(client, v)
    ((content, (chip,)),) = calls_of(page)
    assert "Please confirm" in content
    assert chip["state"] == "succeeded" and chip["confirmation"] == "confirmed"
    assert chip["text"] == "Order C789 is cancelled." and chip["arguments_hash"] is None
    assert page["messages"][-1]["content"] == "Order C789 is cancelled."


async def test_declined_and_expired_cards_show_as_such(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        (declined,) = await say(client, v, "Please cancel my order B456")
        await say(client, v, "no")
        (stale,) = await say(client, v, "Please cancel my order E111")
        # Never answered, and past its time: a reload must not offer it again.
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(stale["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        page = await history(client, v)
    assert target.requests == []
    shown = {a["call_id"]: a for _, actions in calls_of(page) for a in actions}
    assert shown[declined["call_id"]]["state"] == "failed"
    assert shown[declined["call_id"]]["confirmation"] == "declined"
    assert shown[declined["call_id"]]["text"] == "Okay, I have not done it."
    assert shown[stale["call_id"]]["state"] == "failed"
    assert shown[stale["call_id"]]["confirmation"] == "expired"
    assert shown[stale["call_id"]]["text"] == "That confirmation expired, so nothing was done."
    assert shown[stale["call_id"]]["arguments_hash"] is None


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = app.state.porch.engine.sync_engine

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def test_one_query_reads_the_calls_of_a_page(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        for order in ("A001", "A002", "A003", "A004"):
            await say(client, v, f"Please cancel my order {order}")
            await say(client, v, "no")
        with statements(app) as seen:
            page = await history(client, v)
        assert len([a for _, actions in calls_of(page) for a in actions]) == 4
        assert len([s for s in seen if "action_calls" in s]) == 1
        # The older page reads its own calls, again in one query.
        newest_four = page["messages"][-4:]
        with statements(app) as seen:
            older = await history(client, v, before=newest_four[0]["id"], limit=8)
        assert len(calls_of(older)) == 2
        assert len([s for s in seen if "action_calls" in s]) == 1


async def test_a_json_reply_carries_its_calls(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        resp = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/messages",
            json={"content": "Please cancel my order C789"},
            headers=v.auth,
        )
    assert resp.status_code == 200, resp.text
    (card,) = resp.json()["message"]["actions"]
    assert card["state"] == "confirm" and card["arguments"] == {"order_id": "C789"}
    assert len(card["arguments_hash"]) == 64
