"""Retention: periods and previews over HTTP; the sweep, with a clock moved forward, read
back from the storage itself; holds; anonymize keeping every figure; a sweep under chat."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from porch.models import Conversation, Webhook, WebhookDelivery
from porch.models.base import utcnow
from porch.privacy.sweep import Sweeper
from tests.conftest import BOTH, OwnerClient, make_widget, signup, start_conversation
from tests.privacy.helpers import ask, stored

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


def sweeper(app: FastAPI, days_ahead: float = 0, batch: int = 2) -> Sweeper:
    s = app.state.porch
    return Sweeper(
        s.sessionmaker,
        s.engine,
        interval=0,
        batch=batch,
        clock=lambda: utcnow() + timedelta(days=days_ahead),
    )


async def age(app: FastAPI, days: int) -> None:
    """Every conversation so far last spoke `days` ago."""
    async with app.state.porch.engine.begin() as conn:
        await conn.execute(
            update(Conversation).values(last_message_at=utcnow() - timedelta(days=days))
        )


async def _count(app: FastAPI, table: str) -> int:
    return int((await stored(app, f"SELECT count(*) FROM {table}"))[0][0])


async def test_periods_validate_and_preview(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    for _ in range(3):
        v = await start_conversation(client, widget["id"])
        await ask(client, v, "What does the Pro plan cost?")
    initial = (await owner.get("/api/v1/privacy/retention")).json()
    assert initial["conversation_days"] is None and initial["mode"] == "delete"
    for bad in ({"conversation_days": 0}, {"mode": "shred"}, {"visitor_days": "x"}, {"extra": 1}):
        resp = await owner.http.put(
            "/api/v1/privacy/retention", json=bad, headers={"X-CSRF-Token": owner.csrf}
        )
        assert resp.status_code == 400, (bad, resp.text)
    put = await owner.http.put(
        "/api/v1/privacy/retention",
        json={"conversation_days": 30, "delivery_log_days": 7},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 200, put.text
    # Nothing is 30 days old yet.
    assert put.json()["preview"] == {"conversations": 0, "messages": 0}
    await app.state.porch.engine.dispose()
    async with app.state.porch.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(
            text("UPDATE conversations SET last_message_at = :t"),
            {"t": utcnow() - timedelta(days=31)},
        )
    shown = (await owner.get("/api/v1/privacy/retention")).json()
    assert shown["preview"]["conversations"] == 3
    assert shown["preview"]["messages"] == await _count(app, "messages")
    # A widget may keep longer: its own period, the workspace's mode.
    mine = await owner.http.put(
        f"/api/v1/widgets/{widget['id']}/retention",
        json={"conversation_days": 90},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert mine.status_code == 200, mine.text
    assert mine.json()["conversation_days"] == 90 and mine.json()["delivery_log_days"] == 7
    assert mine.json()["preview"] == {"conversations": 0, "messages": 0}
    missing = await owner.get("/api/v1/widgets/00000000-0000-0000-0000-000000000000/retention")
    assert missing.status_code == 404


async def _setup(
    owner: OwnerClient, client: httpx.AsyncClient, days: int, mode: str = "delete"
) -> dict[str, Any]:
    resp = await owner.http.put(
        "/api/v1/privacy/retention",
        json={"conversation_days": days, "mode": mode},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert resp.status_code == 200, resp.text
    return await make_widget(owner)


@pytest.mark.settings(allow_signup=True)
async def test_sweep_deletes_at_day_n_plus_one_and_spares_holds_and_other_workspaces(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await _setup(owner, client, days=10)
    gone = await start_conversation(client, widget["id"])
    await ask(client, gone, "a phrase only the swept one has: blue-otter-17")
    held = await start_conversation(client, widget["id"])
    await ask(client, held, "keep me for the lawyers")
    assert (
        await owner.post(f"/api/v1/conversations/{held.conversation_id}/hold")
    ).status_code == 200
    other = await signup(app)
    try:
        other_widget = await make_widget(other)
        theirs = await start_conversation(client, other_widget["id"])
        await ask(client, theirs, "other workspace, no policy")
    finally:
        await other.http.aclose()
    before = await _count(app, "messages")

    early = await sweeper(app, days_ahead=9).sweep()
    assert early.ran and early.conversations == 0
    assert await _count(app, "messages") == before

    late = await sweeper(app, days_ahead=11).sweep()
    assert late.conversations == 1 and late.messages >= 2
    ids = {str(r[0]).replace("-", "") for r in await stored(app, "SELECT id FROM conversations")}
    assert gone.conversation_id.replace("-", "") not in ids
    assert held.conversation_id.replace("-", "") in ids
    assert theirs.conversation_id.replace("-", "") in ids
    rows = await stored(app, "SELECT content FROM messages")
    assert not any("blue-otter-17" in r[0] for r in rows)
    # Its events and token went with it: the visitor's token no longer opens anything.
    resp = await client.get(
        f"/api/v1/conversations/{gone.conversation_id}/messages", headers=gone.auth
    )
    assert resp.status_code in (401, 404)
    # Lifting the hold lets the next sweep take it.
    assert (
        await owner.delete(f"/api/v1/conversations/{held.conversation_id}/hold")
    ).status_code == 200
    assert (await sweeper(app, days_ahead=11).sweep()).conversations == 1


async def test_anonymize_keeps_every_figure_and_removes_the_words(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await _setup(owner, client, days=5, mode="anonymize")
    v = await start_conversation(
        client,
        widget["id"],
        page_url="https://shop.example/cart",
        user={"id": "u1", "email": "ann@example.org"},
    )
    reply = await ask(client, v, "my name is Ann Example, where is my order?")
    feedback = await client.post(
        f"/api/v1/messages/{reply['message']['id']}/feedback", json={"rating": "up"}, headers=v.auth
    )
    assert feedback.status_code == 204
    path = f"/api/v1/widgets/{widget['id']}/analytics"
    before = (await owner.get(path)).json()
    report = await sweeper(app, days_ahead=6).sweep()
    assert report.anonymized == 1 and report.conversations == 0
    after = (await owner.get(path)).json()
    assert after["totals"] == before["totals"] and after["days"] == before["days"]
    assert after["totals"]["thumbs_up"] == 1
    text_now = " ".join(str(r) for r in await stored(app, "SELECT * FROM messages"))
    convs = " ".join(str(r) for r in await stored(app, "SELECT * FROM conversations"))
    assert "Ann Example" not in text_now
    assert "ann@example.org" not in convs and "shop.example" not in convs
    # A second sweep finds nothing more to do.
    assert (await sweeper(app, days_ahead=6).sweep()).anonymized == 0


async def test_sweep_while_messages_arrive_loses_nothing_live(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await _setup(owner, client, days=1)
    old = [await start_conversation(client, widget["id"]) for _ in range(12)]
    for v in old:
        await ask(client, v, "an old question")
    live = [await start_conversation(client, widget["id"]) for _ in range(3)]
    from sqlalchemy import text

    async with app.state.porch.engine.begin() as conn:
        await conn.execute(
            text("UPDATE conversations SET last_message_at = :t"),
            {"t": utcnow() - timedelta(days=3)},
        )
    sent: list[str] = []

    async def chatter(v: Any) -> None:
        for i in range(4):
            reply = await ask(client, v, f"live message {i}")
            sent.append(reply["user_message_id"])

    # Batches of 2: the sweep interleaves with the chat on the event loop.
    sweep = asyncio.create_task(sweeper(app, batch=2).sweep())
    await asyncio.gather(*(chatter(v) for v in live))
    report = await sweep
    await sweeper(app, batch=2).sweep()
    live_ids = [v.conversation_id for v in live]
    for v in live:
        msgs = await client.get(
            f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
        )
        if msgs.status_code == 200:
            contents = [m["content"] for m in msgs.json()["messages"]]
            assert [c for c in contents if c.startswith("live message")] == [
                f"live message {i}" for i in range(4)
            ]
        else:
            pytest.fail(f"live conversation {v.conversation_id} was swept")
    assert report.conversations == 12 and report.batches >= 6 and len(sent) == 12
    remaining = {
        str(r[0]).replace("-", "") for r in await stored(app, "SELECT id FROM conversations")
    }
    assert all(c.replace("-", "") in remaining for c in live_ids)
    assert not any(v.conversation_id.replace("-", "") in remaining for v in old)


@pytest.mark.settings(crawl_allow_private_networks=True, jobs_queue="memory")
async def test_delivery_log_entries_go_after_their_period_pending_ones_stay(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    resp = await owner.http.put(
        "/api/v1/privacy/retention",
        json={"delivery_log_days": 7},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert resp.status_code == 200, resp.text
    hook = await owner.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["message.created"]}
    )
    assert hook.status_code == 201, hook.text
    async with app.state.porch.sessionmaker() as session:
        hook_row = await session.get(Webhook, uuid.UUID(hook.json()["id"]))
        assert hook_row is not None
        for status in ("delivered", "failed", "pending"):
            session.add(
                WebhookDelivery(
                    webhook_id=hook_row.id,
                    workspace_id=hook_row.workspace_id,
                    event_type="message.created",
                    payload={},
                    status=status,
                    attempts=1,
                )
            )
        await session.commit()
    assert (await sweeper(app, days_ahead=6).sweep()).deliveries == 0
    report = await sweeper(app, days_ahead=8).sweep()
    assert report.deliveries == 2
    left = await stored(app, "SELECT status FROM webhook_deliveries")
    assert [r[0] for r in left] == ["pending"]
