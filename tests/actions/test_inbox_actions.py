"""Actions from the inbox: a call that waits for an agent's approval, an agent's own run, who
may do either, and the live `action_call.updated` events agents' sockets receive."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from porch.models import ActionCall
from tests.accounts.kit import member
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.actions.test_conversation import actions, reply, say, verified_visitor
from tests.conftest import (
    BOTH,
    OwnerClient,
    VisitorSession,
    make_widget,
    signup,
    start_conversation,
)
from tests.realtime.kit import inbox_socket, until

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def _waiting(client: httpx.AsyncClient, v: VisitorSession, order: str) -> dict[str, Any]:
    events = await say(client, v, f"Please cancel my order {order}")
    (event,) = actions(events)
    assert event["state"] == "waiting", event
    assert (
        reply(events)
        == f"A team member needs to approve this: Cancel an order (order id: {order})."
    )
    return event


def _calls_url(v: VisitorSession) -> str:
    return f"/api/v1/conversations/{v.conversation_id}/action-calls"


async def _flagged(owner: OwnerClient, widget_id: str, v: VisitorSession) -> bool:
    """What the inbox list says of the conversation when it is first drawn."""
    listed = (await owner.get(f"/api/v1/widgets/{widget_id}/conversations")).json()
    (row,) = [c for c in listed["conversations"] if c["id"] == v.conversation_id]
    return bool(row["awaiting_approval"])


async def _me(agent: OwnerClient) -> str:
    resp = await agent.get("/api/v1/auth/me")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return str(body.get("user", body).get("id"))


async def test_an_agent_approves_or_declines_what_the_visitor_cannot_confirm(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    agent = await member(app, owner, "agent")
    with Target() as target:
        made = await create(owner, widget["id"], cancel_order(target.base, approval="agent"))
        assert made["approval"] == "agent"
        v = await start_conversation(client, widget["id"])
        card = await _waiting(client, v, "C789")

        # The visitor can neither confirm it on a card nor by typing yes.
        own = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/confirmations/{card['call_id']}",
            json={"decision": "confirm"},
            headers=v.auth,
        )
        assert own.status_code == 403 and own.json()["error"]["code"] == "approval_by_agent"
        yes = await say(client, v, "yes")
        assert reply(yes).startswith("A team member needs to approve this")
        assert target.requests == []
        # After a reload the widget shows it waiting, with nothing for the visitor to answer.
        history = await client.get(
            f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
        )
        assert history.status_code == 200, history.text
        held = [a for m in history.json()["messages"] for a in m.get("actions") or []]
        assert [(a["state"], a["confirmation"]) for a in held] == [("waiting", "agent")]
        assert held[0]["arguments_hash"] is None
        assert held[0]["text"].startswith("A team member needs to approve this")

        listed = (await agent.get(_calls_url(v))).json()["calls"]
        assert [(c["state"], c["confirmation"]) for c in listed] == [("confirm", "agent")]
        approve = f"{_calls_url(v)}/{card['call_id']}/approve"
        ok = await agent.post(approve, json={})
        assert ok.status_code == 200, ok.text
        assert ok.json()["state"] == "succeeded" and ok.json()["text"] == "Order C789 is cancelled."
        replay = await agent.post(approve, json={})
        assert replay.status_code == 409 and replay.json()["error"]["code"] == "confirmation_closed"

        declined = await _waiting(client, v, "B456")
        no = await agent.post(f"{_calls_url(v)}/{declined['call_id']}/decline")
        assert no.status_code == 200 and no.json()["state"] == "declined", no.text

        stale = await _waiting(client, v, "E111")
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(stale["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        gone = await agent.post(f"{_calls_url(v)}/{stale['call_id']}/approve")
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "confirmation_expired"
        # A visitor's "yes" to an expired one is told so, and it stays unsent.
        late = await _waiting(client, v, "G333")
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(late["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        assert (
            reply(await say(client, v, "yes")) == "That confirmation expired, so nothing was done."
        )

        forged = await _waiting(client, v, "F222")
        wrong = await agent.post(
            f"{_calls_url(v)}/{forged['call_id']}/approve", json={"arguments_hash": "0" * 64}
        )
        assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "arguments_changed"
        # The owner changes the action while it waits: what was shown is no longer what runs.
        patched = await owner.patch(f"/api/v1/actions/{made['id']}", json={"title": "Cancel it"})
        assert patched.status_code == 200, patched.text
        changed = await agent.post(f"{_calls_url(v)}/{forged['call_id']}/approve")
        assert changed.status_code == 409 and changed.json()["error"]["code"] == "arguments_changed"

    # Exactly one request reached the owner's API: the approved one.
    sent = [(r.method, r.path, json.loads(r.body)) for r in target.requests]
    assert sent == [
        ("POST", "/orders/C789/cancel", {"order": "C789", "reason": "visitor asked in chat"})
    ]
    calls = {
        c["arguments"]["order_id"]: c for c in (await agent.get(_calls_url(v))).json()["calls"]
    }
    me = await _me(agent)
    assert calls["C789"]["confirmation"] == "confirmed" and calls["C789"]["decided_by"] == me
    assert calls["B456"]["confirmation"] == "declined" and calls["B456"]["decided_by"] == me
    assert calls["E111"]["confirmation"] == "expired"
    # The visitor reads each outcome in the conversation, as a message from the team.
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    by_agent = [m["content"] for m in history.json()["messages"] if m["role"] == "agent"]
    assert "Order C789 is cancelled." in by_agent and "Okay, I have not done it." in by_agent


async def test_an_agent_runs_an_action_and_cannot_choose_whose_data(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    agent = await member(app, owner, "agent")
    with Target() as target:
        lookup = await create(
            owner, widget["id"], order_status(target.base, requires_verified=True)
        )
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        offered = (await agent.get(f"/api/v1/conversations/{v.conversation_id}/actions")).json()
        (shown,) = offered["actions"]
        assert shown["slug"] == "order_status" and list(shown["parameters"]) == ["order_id"]

        run = f"/api/v1/conversations/{v.conversation_id}/actions/{lookup['id']}/run"
        resp = await agent.post(
            run, json={"arguments": {"order_id": "A123", "email": "bob@example.com"}}
        )
        assert resp.status_code == 201, resp.text
        call = resp.json()
        assert call["trigger"] == "agent" and call["state"] == "succeeded"
        assert call["arguments"]["email"] == "bob@example.com"  # as proposed, on the record
        assert call["sent_arguments"]["email"] == "alice@example.com"
        assert call["argument_sources"]["email"] == "identity.user_id"
        (seen,) = target.requests
        assert seen.query["email"] == ["alice@example.com"]

        bad = await agent.post(run, json={"arguments": {"order_id": "nope"}})
        assert bad.status_code == 201 and bad.json()["error_class"] == "invalid_arguments"

        anonymous = await start_conversation(client, widget["id"], user={"id": "bob@example.com"})
        url = f"/api/v1/conversations/{anonymous.conversation_id}/actions/{lookup['id']}/run"
        refused = await agent.post(url, json={"arguments": {"order_id": "A123"}})
        assert refused.status_code == 201 and refused.json()["error_class"] == "config"
    assert len(target.requests) == 1
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    contents = [m["content"] for m in history.json()["messages"] if m["role"] == "agent"]
    # The result reaches the visitor; the agent's own typo does not.
    assert contents == ["Order A123 is shipped, arriving Monday."]


@pytest.mark.settings(allow_signup=True)
async def test_another_workspace_sees_nothing_and_can_do_nothing(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    stranger = await signup(app)
    with Target() as target:
        made = await create(owner, widget["id"], cancel_order(target.base, approval="agent"))
        v = await start_conversation(client, widget["id"])
        card = await _waiting(client, v, "C789")
        base = f"/api/v1/conversations/{v.conversation_id}"
        for resp in (
            await stranger.get(f"{base}/action-calls"),
            await stranger.get(f"{base}/actions"),
            await stranger.post(f"{base}/action-calls/{card['call_id']}/approve"),
            await stranger.post(f"{base}/action-calls/{card['call_id']}/decline"),
            await stranger.post(f"{base}/actions/{made['id']}/run", json={"arguments": {}}),
        ):
            assert resp.status_code == 404, resp.text
            assert resp.json()["error"]["code"] == "conversation_not_found"
        # An action of another widget is not offered here either.
        other = await make_widget(owner, name="Other")
        elsewhere = await create(owner, other["id"], order_status(target.base))
        resp = await owner.post(f"{base}/actions/{elsewhere['id']}/run", json={"arguments": {}})
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "action_not_found"
        unknown = await owner.post(f"{base}/action-calls/{uuid.uuid4()}/approve")
        assert unknown.status_code == 404
    assert target.requests == []


async def test_agents_sockets_see_calls_wait_and_finish(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base, approval="agent"))
        v = await start_conversation(client, widget["id"])
        async with inbox_socket(app, owner) as ws:
            card = await _waiting(client, v, "J555")
            waiting = await until(ws, lambda f: f.get("type") == "action_call.updated")
            assert waiting["conversation_id"] == v.conversation_id
            assert waiting["call"]["id"] == card["call_id"]
            assert (waiting["call"]["state"], waiting["call"]["confirmation"]) == (
                "confirm",
                "agent",
            )
            assert await _flagged(owner, widget["id"], v) is True
            ok = await owner.post(f"{_calls_url(v)}/{card['call_id']}/approve")
            assert ok.status_code == 200, ok.text
            assert await _flagged(owner, widget["id"], v) is False
            done = await until(
                ws,
                lambda f: (
                    f.get("type") == "action_call.updated" and f["call"]["state"] == "succeeded"
                ),
            )
    assert done["call"]["sent_arguments"]["order_id"] == "J555"
    assert isinstance(done["id"], int)  # durable: a reconnecting inbox gets it again


async def test_an_agent_run_with_unstorable_text_is_refused_cleanly(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """PostgreSQL refuses a NUL in text, JSON included: the agent's input is checked first."""
    widget = await make_widget(owner)
    with Target() as target:
        lookup = await create(owner, widget["id"], order_status(target.base))
        v = await start_conversation(client, widget["id"])
        url = f"/api/v1/conversations/{v.conversation_id}/actions/{lookup['id']}/run"
        for value in ("A1\x0023", {"nested": "A\x00"}):
            resp = await owner.post(url, json={"arguments": {"order_id": value}})
            assert resp.status_code == 400, resp.text
            assert resp.json()["error"]["code"] == "validation_error", resp.text
    assert target.requests == []


async def test_the_waiting_text_is_the_owners_in_the_visitors_language(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        texts = {"awaiting_agent": "Ein Teammitglied muss das freigeben:"}
        await create(
            owner, widget["id"], cancel_order(target.base, approval="agent", error_texts=texts)
        )
        v = await start_conversation(client, widget["id"])
        events = await say(client, v, "Please cancel my order K777")
    assert reply(events) == "Ein Teammitglied muss das freigeben: Cancel an order (order id: K777)."
    assert target.requests == []
