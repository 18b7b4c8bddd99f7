"""`action.completed` and `action.failed` webhooks, delivered to a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from porch.actions import calls, notify
from porch.models import ActionCall, ConversationEvent, WebhookDelivery
from porch.models.base import utcnow
from porch.webhooks import signing
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.actions.test_conversation import say, verified_visitor
from tests.conftest import BOTH, OwnerClient, VisitorSession, make_widget, start_conversation
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
# Jobs in process even on Redis: no `porch worker` runs beside these tests.
LOOPBACK = pytest.mark.settings(crawl_allow_private_networks=True, jobs_queue="memory")
SECRET = "sk_live_never_in_a_webhook_77"


async def _received(receiver: Receiver, want: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(20):
        while len(receiver.requests) < want:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # nothing more arrives
    return [json.loads(r.body) for r in receiver.requests]


async def _subscribe(owner: OwnerClient, url: str, events: list[str]) -> None:
    made = await owner.post("/api/v1/webhooks", json={"url": url, "events": events})
    assert made.status_code == 201, made.text


@LOOPBACK
async def test_each_test_call_is_sent_once_as_the_call_log_shows_it(owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    put = await owner.http.put(
        f"/api/v1/widgets/{widget['id']}/secrets/orders_key",
        json={"value": SECRET},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 204, put.text
    with Target() as target, Receiver() as receiver:
        await _subscribe(owner, receiver.url, ["action.completed", "action.failed"])
        good = await create(
            owner,
            widget["id"],
            order_status(target.base, auth={"type": "bearer", "secret": "orders_key"}),
        )
        bad = await create(
            owner,
            widget["id"],
            {"slug": "probe", "title": "Probe", "url": target.base + "/fail"}
            | {"allowed_hosts": ["127.0.0.1"]},
        )
        ran = await owner.post(
            f"/api/v1/actions/{good['id']}/test",
            json={"arguments": {"order_id": "A123"}, "visitor": {"user_id": "al@example.com"}},
        )
        assert ran.status_code == 200 and ran.json()["error_class"] is None, ran.text
        failed = await owner.post(f"/api/v1/actions/{bad['id']}/test", json={})
        assert failed.json()["error_class"] == "http_5xx"
        bodies = await _received(receiver, 2)

    assert len(bodies) == 2
    by_type = {b["type"]: b for b in bodies}
    assert set(by_type) == {"action.completed", "action.failed"}
    listed = (await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls")).json()["calls"]
    shown = {c["id"]: c for c in listed}
    for body in bodies:
        call = body["data"]["call"]
        # The same record the call log lists, nothing more.
        assert call == shown[call["id"]]
        assert body["event_id"] == call["id"] and body["conversation_id"] is None
    done = by_type["action.completed"]["data"]["call"]
    assert done["trigger"] == "test" and done["state"] == "succeeded"
    assert done["response"] == {"order": {"status": "shipped", "eta": "Monday"}}
    assert by_type["action.failed"]["data"]["call"]["error_class"] == "http_5xx"
    raw = b"".join(r.body for r in receiver.requests)
    # Neither the secret nor what the projection drops ever leaves.
    assert SECRET.encode() not in raw and b"fraud score" not in raw


@LOOPBACK
async def test_an_offline_conversation_call_is_sent_to_its_subscribers_only(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target, Receiver() as completed, Receiver() as failed:
        await _subscribe(owner, completed.url, ["action.completed"])
        await _subscribe(owner, failed.url, ["action.failed"])
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        await say(client, v, "Where is my order A123?")
        (body,) = await _received(completed, 1)
    assert failed.requests == []
    call = body["data"]["call"]
    assert body["type"] == "action.completed" and call["trigger"] == "offline"
    assert body["conversation_id"] == v.conversation_id == call["conversation_id"]
    assert call["sent_arguments"]["email"] == "alice@example.com"


@LOOPBACK
async def test_calls_that_end_before_any_request_are_sent_once_each_and_signed(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """Declined (on the card, and typed "no" while a parameter is asked for), expired and
    refused for a missing sign-in: each one `action.failed`, no request to the owner's API."""
    widget = await make_widget(owner)
    with Target() as target, Receiver() as receiver:
        made = await owner.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["action.failed"]}
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        await create(owner, widget["id"], cancel_order(target.base))
        parcel = order_status(
            target.base, requires_verified=True, examples=["track my parcel"], description=""
        )
        await create(owner, widget["id"], parcel)
        v = await start_conversation(client, widget["id"])
        declined = await _card(client, v, "B456")
        answer = await _confirm(client, v, declined, "decline")
        assert answer.json()["state"] == "declined"
        stale = await _card(client, v, "E111")
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(stale["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        assert (await _confirm(client, v, stale, "confirm")).status_code == 410
        refused = await say(client, v, "Track my parcel A123")
        assert "sign in" in "".join(d["delta"] for n, d in refused if n == "token").lower()
        asked = await say(client, v, "Please cancel my order")
        assert "order" in "".join(d["delta"] for n, d in asked if n == "token").lower()
        await say(client, v, "no")
        bodies = await _received(receiver, 4)
    assert target.requests == []
    assert len(bodies) == 4
    now = int(time.time())
    for request in receiver.requests:
        assert signing.verify(secret, request.headers["Porch-Signature"], request.body, now=now)
    by_class: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        assert body["type"] == "action.failed" and body["conversation_id"] == v.conversation_id
        call = body["data"]["call"]
        assert call["state"] == "failed" and call["conversation_id"] == v.conversation_id
        by_class.setdefault(call["error_class"], []).append(call)
    assert sorted((k, len(c)) for k, c in by_class.items()) == [
        ("config", 1),
        ("declined", 2),
        ("expired", 1),
    ]
    assert by_class["expired"][0]["id"] == stale["call_id"]
    assert declined["call_id"] in {c["id"] for c in by_class["declined"]}
    assert by_class["config"][0]["action_id"] != by_class["expired"][0]["action_id"]
    # Once each: the same call never comes back in another delivery.
    assert len({b["event_id"] for b in bodies}) == 4


@LOOPBACK
async def test_a_card_nobody_answers_expires_on_time_once(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """The expiry pass records it expired, sends its `action.failed` and tells the inbox,
    without the visitor writing again; a second pass finds nothing."""
    widget = await make_widget(owner)
    with Target() as target, Receiver() as receiver:
        await _subscribe(owner, receiver.url, ["action.failed"])
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        fresh = await _card(client, v, "F222")
        stale = await _card(client, v, "E111")
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(stale["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        expiry = app.state.porch.expiry
        assert await expiry.expire() == 1
        assert await expiry.expire() == 0
        (body,) = await _received(receiver, 1)
        listed = (await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls")).json()
    assert target.requests == []
    assert body["data"]["call"]["id"] == stale["call_id"]
    assert body["data"]["call"]["error_class"] == "expired"
    states = {c["id"]: (c["state"], c["confirmation"]) for c in listed["calls"]}
    assert states[stale["call_id"]] == ("failed", "expired")
    assert states[fresh["call_id"]] == ("confirm", "pending")
    async with app.state.porch.engine.connect() as conn:
        told = await conn.scalar(
            select(func.count()).where(
                ConversationEvent.type == "action_call.updated",
                ConversationEvent.conversation_id == uuid.UUID(v.conversation_id),
            )
        )
    assert told is not None and told >= 3  # two cards shown, one expired


async def _card(client: httpx.AsyncClient, v: VisitorSession, order: str) -> dict[str, Any]:
    events = await say(client, v, f"Please cancel my order {order}")
    (card,) = [d for n, d in events if n == "action"]
    assert card["state"] == "confirm"
    return dict(card)


async def _confirm(
    client: httpx.AsyncClient, v: VisitorSession, card: dict[str, Any], decision: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/conversations/{v.conversation_id}/confirmations/{card['call_id']}",
        json={"decision": decision},
        headers=v.auth,
    )


@LOOPBACK
async def test_a_rolled_back_call_sends_nothing_and_a_committed_one_is_queued(
    app: FastAPI, owner: OwnerClient
) -> None:
    """The call's deliveries are rows of its own transaction: queued when it commits."""
    widget = await make_widget(owner)
    state = app.state.porch
    with Target() as target, Receiver() as receiver:
        await _subscribe(owner, receiver.url, ["action.failed"])
        made = await create(owner, widget["id"], order_status(target.base))
        (action,) = await state.actions.enabled(uuid.UUID(widget["id"]))
        assert str(action.id) == made["id"]
        ids = []
        for commit in (False, True):
            async with state.sessionmaker() as session:
                call = calls.new_call(action, trigger="test", status="failed", proposed={})
                call.error_class, call.finished_at = "declined", utcnow()
                session.add(call)
                await session.flush()
                ids.append(str(call.id))
                await notify.finished(session, call)
                stored = await session.scalar(select(func.count()).select_from(WebhookDelivery))
                assert stored == 1  # written in the call's transaction, before it ends
                await (session.commit() if commit else session.rollback())
        (body,) = await _received(receiver, 1)
    assert body["event_id"] == ids[1] and body["data"]["call"]["error_class"] == "declined"
    async with state.engine.connect() as conn:
        left = (await conn.execute(select(WebhookDelivery.payload))).scalars().all()
    assert [p["event_id"] for p in left] == [ids[1]]
