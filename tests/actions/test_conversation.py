"""Actions in conversations with the offline answerer: asked-for parameters, identity,
confirmations (accepted, declined, expired, replayed), and the call log."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from porch.models import ActionCall, ConversationEvent
from porch.settings import Settings
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.conftest import (
    BOTH,
    OwnerClient,
    VisitorSession,
    make_widget,
    ops_get,
    parse_sse,
    start_conversation,
)

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def say(client: httpx.AsyncClient, v: VisitorSession, content: str) -> list[tuple[str, Any]]:
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers={**v.auth, "Accept": "text/event-stream"},
    )
    assert resp.status_code == 200, resp.text
    return parse_sse(resp.text)


def reply(events: list[tuple[str, Any]]) -> str:
    return "".join(data["delta"] for name, data in events if name == "token")


def actions(events: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [data for name, data in events if name == "action"]


async def verified_visitor(
    owner: OwnerClient, client: httpx.AsyncClient, widget_id: str, user_id: str
) -> VisitorSession:
    made = await owner.post(f"/api/v1/widgets/{widget_id}/identity-secret")
    assert made.status_code == 201, made.text
    secret = made.json()["identity_secret"]
    digest = hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return await start_conversation(client, widget_id, user={"id": user_id, "hash": digest})


async def test_offline_asks_for_the_missing_order_number_then_looks_it_up(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        first = await say(client, v, "Where is my order? I'm bob@example.com")
        assert reply(first) == "What is your order number (like A123)?"
        assert actions(first) == [] and target.requests == []
        wrong = await say(client, v, "it's 12")
        assert "doesn't look right" in reply(wrong) and target.requests == []
        second = await say(client, v, "It is A123")
    assert reply(second) == "Order A123 is shipped, arriving Monday."
    states = [a["state"] for a in actions(second)]
    assert states == ["started", "succeeded"]
    assert actions(second)[1]["text"] == "Order A123 is shipped, arriving Monday."
    (seen,) = target.requests
    # Identity-sourced: the verified user, never what the visitor typed.
    assert seen.query["email"] == ["alice@example.com"]

    calls = (await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls")).json()["calls"]
    (call,) = calls
    assert call["trigger"] == "offline" and call["state"] == "succeeded"
    assert call["conversation_id"] == v.conversation_id
    assert call["sent_arguments"] == {"order_id": "A123", "email": "alice@example.com"}
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    contents = [m["content"] for m in history.json()["messages"]]
    assert contents[-1] == "Order A123 is shipped, arriving Monday."
    metrics = (await ops_get(app, "/metrics")).text
    assert (
        'porch_action_calls_total{error_class="none",state="succeeded",trigger="offline"} 1.0'
        in (metrics)
    )


async def test_unverified_visitor_is_asked_to_sign_in_and_nothing_is_sent(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base, requires_verified=True))
        v = await start_conversation(client, widget["id"], user={"id": "alice@example.com"})
        events = await say(client, v, "where is my order A123")
    assert "sign in" in reply(events).lower()
    assert target.requests == []


async def test_questions_that_name_no_action_are_answered_as_before(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, widget: dict[str, Any]
) -> None:
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await start_conversation(client, widget["id"])
        events = await say(client, v, "How much does the Pro plan cost?")
    assert "$12" in reply(events) and actions(events) == []
    async with app.state.porch.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM action_calls"))).scalar() == 0


async def _propose(client: httpx.AsyncClient, v: VisitorSession, order: str) -> dict[str, Any]:
    events = await say(client, v, f"Please cancel my order {order}")
    (card,) = actions(events)
    assert card["state"] == "confirm" and card["arguments"] == {"order_id": order}
    assert order in card["text"] and "yes" in reply(events)
    return card


async def _answer(
    client: httpx.AsyncClient, v: VisitorSession, card: dict[str, Any], **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{v.conversation_id}/confirmations/{card['call_id']}",
        json=body,
        headers=v.auth,
    )


async def test_confirmations_accepted_declined_expired_and_replayed(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])

        declined = await _propose(client, v, "B456")
        resp = await _answer(client, v, declined, decision="decline")
        assert resp.status_code == 200 and resp.json()["state"] == "declined"
        again = await _answer(client, v, declined, decision="confirm")
        assert again.status_code == 409 and again.json()["error"]["code"] == "confirmation_closed"

        card = await _propose(client, v, "C789")
        changed = await _answer(client, v, card, decision="confirm", arguments={"order_id": "D000"})
        assert changed.status_code == 409 and changed.json()["error"]["code"] == "arguments_changed"
        forged = await _answer(client, v, card, decision="confirm", arguments_hash="0" * 64)
        assert forged.status_code == 409
        ok = await _answer(
            client, v, card, decision="confirm", arguments_hash=card["arguments_hash"]
        )
        assert ok.status_code == 200, ok.text
        assert ok.json() == {
            "state": "succeeded",
            "text": "Order C789 is cancelled.",
            "call_id": card["call_id"],
        }
        replay = await _answer(client, v, card, decision="confirm")
        assert replay.status_code == 409

        stale = await _propose(client, v, "E111")
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(stale["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        expired = await _answer(client, v, stale, decision="confirm")
        assert (
            expired.status_code == 410 and expired.json()["error"]["code"] == "confirmation_expired"
        )

        typed = await _propose(client, v, "F222")
        yes = await say(client, v, "yes")
        assert reply(yes) == "Order F222 is cancelled."
        assert [a["state"] for a in actions(yes)] == ["started", "succeeded"]
        assert typed["call_id"] == actions(yes)[0]["call_id"]

    # Only the two accepted confirmations ever reached the owner's API.
    sent = [(r.method, r.path, json.loads(r.body)) for r in target.requests]
    assert sent == [
        ("POST", "/orders/C789/cancel", {"order": "C789", "reason": "visitor asked in chat"}),
        ("POST", "/orders/F222/cancel", {"order": "F222", "reason": "visitor asked in chat"}),
    ]
    calls = (await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls")).json()["calls"]
    by_order = {c["arguments"]["order_id"]: c for c in calls}
    assert by_order["B456"]["confirmation"] == "declined"
    assert by_order["B456"]["error_class"] == "declined"
    assert by_order["C789"]["confirmation"] == "confirmed"
    assert by_order["E111"]["confirmation"] == "expired"
    assert by_order["F222"]["state"] == "succeeded"
    # Each answered card's outcome is a stored reply the inbox was told of, as it is shown.
    async with app.state.porch.engine.connect() as conn:
        told = (
            await conn.execute(
                select(ConversationEvent.data).where(
                    ConversationEvent.conversation_id == uuid.UUID(v.conversation_id),
                    ConversationEvent.type == "message.created",
                )
            )
        ).scalars()
        contents = [d["message"]["content"] for d in told if d["message"]["role"] == "assistant"]
    assert "Order C789 is cancelled." in contents
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    assert "Order C789 is cancelled." in [m["content"] for m in history.json()["messages"]]


async def test_no_write_lock_is_held_while_the_owners_api_answers(
    client: httpx.AsyncClient, owner: OwnerClient, settings: Settings
) -> None:
    """On SQLite one writer at a time: a confirmed call that kept its update pending across
    the request would stop every other conversation's writes for as long as the API took."""
    if not settings.is_sqlite:
        pytest.skip("the single write lock is SQLite's")
    widget = await make_widget(owner)
    free: list[bool] = []

    def try_to_write(_seen: Any) -> None:
        with sqlite3.connect(settings.data_dir / "porch.db", timeout=0) as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                db.rollback()
                free.append(True)
            except sqlite3.OperationalError:
                free.append(False)

    with Target(while_waiting=try_to_write) as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        card = await _propose(client, v, "G333")
        ok = await _answer(client, v, card, decision="confirm")
        assert ok.status_code == 200 and ok.json()["state"] == "succeeded", ok.text
        await _propose(client, v, "H444")
        assert reply(await say(client, v, "yes")) == "Order H444 is cancelled."
        await create(owner, widget["id"], order_status(target.base))
        reader = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        read = await say(client, reader, "Where is my order A123?")
        assert reply(read) == "Order A123 is shipped, arriving Monday.", reply(read)
    assert free == [True, True, True]


async def test_an_answered_card_reaches_the_inbox_live(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """The outcome of a confirmation is published to agents' sockets as it is stored, not
    only recorded for a later reload."""
    from tests.realtime.kit import inbox_socket, until

    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        card = await _propose(client, v, "J555")
        async with inbox_socket(app, owner) as agent:
            ok = await _answer(client, v, card, decision="confirm")
            assert ok.status_code == 200, ok.text
            told = await until(
                agent,
                lambda f: (
                    f.get("type") == "message.created"
                    and f["message"]["content"] == "Order J555 is cancelled."
                ),
            )
    assert told["conversation_id"] == v.conversation_id
