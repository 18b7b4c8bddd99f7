"""WebSockets in process: visitor and agent sockets, handoff, resume, auth, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect, aconnect_ws

from tests.conftest import (
    BOTH,
    OwnerClient,
    VisitorSession,
    make_widget,
    parse_sse,
    signup,
    start_conversation,
)
from tests.realtime.kit import (
    frame,
    inbox_socket,
    of_type,
    offer,
    refused,
    until,
    visitor_socket,
    ws_client,
)

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def _handoff_widget(owner: OwnerClient, **handoff: Any) -> dict[str, Any]:
    w = await make_widget(
        owner,
        features={"handoff": True},
        handoff={"mode": "on_request", **handoff},
    )
    resp = await owner.post(
        f"/api/v1/widgets/{w['id']}/sources",
        json={
            "type": "text",
            "title": "Help",
            "text": "To reset your password, click Forgot password.",
        },
    )
    assert resp.status_code == 202
    return w


async def _ask(client: httpx.AsyncClient, v: VisitorSession, text: str) -> list[tuple[str, Any]]:
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": text},
        headers={**v.auth, "Accept": "text/event-stream"},
    )
    assert resp.status_code == 200, resp.text
    return parse_sse(resp.text)


async def test_agent_sees_the_visitor_and_the_streamed_answer_then_replies(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    async with inbox_socket(app, owner) as agent:
        ready = await frame(agent)
        assert ready["type"] == "ready"
        v = await start_conversation(client, w["id"], page_url="https://shop.example/help")
        created = await until(agent, of_type("conversation.created"))
        assert created["conversation_id"] == v.conversation_id
        assert created["conversation"]["page_url"] == "https://shop.example/help"

        async with visitor_socket(app, v.conversation_id, v.token) as visitor:
            assert (await frame(visitor))["type"] == "ready"
            events = await _ask(client, v, "How do I reset my password?")
            streamed = "".join(d["delta"] for name, d in events if name == "token")
            seen: list[dict[str, Any]] = []
            question = await until(
                agent,
                lambda f: f["type"] == "message.created" and f["message"]["role"] == "user",
                seen,
            )
            assert question["message"]["content"] == "How do I reset my password?"
            answer = await until(
                agent,
                lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant",
                seen,
            )
            # The agent saw the same tokens the visitor did, before the stored reply.
            deltas = "".join(f["delta"] for f in seen if f["type"] == "message.delta")
            assert deltas == streamed == answer["message"]["content"]
            assert any(f["type"] == "message.started" for f in seen)

            reply = await owner.post(
                f"/api/v1/conversations/{v.conversation_id}/messages",
                json={"content": "Hi, this is Dana from support."},
            )
            assert reply.status_code == 201, reply.text
            assert reply.json()["message"]["role"] == "agent"
            assert reply.json()["status"] == "agent"
            got = await until(visitor, of_type("agent.message"))
            assert got["message"]["content"] == "Hi, this is Dana from support."
            assert got["message"]["role"] == "agent"
            # No display name: the widget shows its neutral label, never the address.
            assert got["message"]["author_name"] is None
            assert isinstance(got["id"], int)

    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    roles = [m["role"] for m in history.json()["messages"]]
    assert roles[-1] == "agent"


async def test_handoff_silences_the_assistant_until_released(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    async with visitor_socket(app, v.conversation_id, v.token) as visitor:
        await frame(visitor)
        resp = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/handoff",
            json={"reason": "billing"},
            headers=v.auth,
        )
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert body["status"] == "waiting_for_agent" and body["online"] is True
        status = await until(visitor, of_type("status"))
        assert status["status"] == "waiting_for_agent"

        events = await _ask(client, v, "How do I reset my password?")
        done = dict(events)["done"]
        assert done["message_id"] is None and done["status"] == "handed_off"
        assert not [e for e in events if e[0] == "token"]

        detail = await owner.get(f"/api/v1/conversations/{v.conversation_id}")
        assert detail.json()["status"] == "waiting_for_agent"
        assert detail.json()["unread_count"] == 1

        taken = await owner.post(f"/api/v1/conversations/{v.conversation_id}/assign", json={})
        assert taken.status_code == 200, taken.text
        assert taken.json()["status"] == "agent"
        assert (await until(visitor, of_type("status")))["status"] == "agent"

        read = await owner.post(f"/api/v1/conversations/{v.conversation_id}/read")
        assert read.status_code == 200
        detail = await owner.get(f"/api/v1/conversations/{v.conversation_id}")
        assert detail.json()["unread_count"] == 0
        assert detail.json()["assigned_user_id"] is not None

        released = await owner.post(f"/api/v1/conversations/{v.conversation_id}/release")
        assert released.json()["status"] == "open"
        events = await _ask(client, v, "How do I reset my password?")
        assert dict(events)["done"]["message_id"] is not None
        assert "Forgot password" in "".join(d["delta"] for n, d in events if n == "token")


async def test_reconnect_resumes_from_the_last_event_id(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    async with visitor_socket(app, v.conversation_id, v.token) as visitor:
        await frame(visitor)
        await owner.post(
            f"/api/v1/conversations/{v.conversation_id}/reply", json={"content": "one"}
        )
        first = await until(visitor, of_type("agent.message"))
    last = first["id"]
    # While the visitor is away: two more replies and a close.
    for text in ("two", "three"):
        r = await owner.post(
            f"/api/v1/conversations/{v.conversation_id}/reply", json={"content": text}
        )
        assert r.status_code == 201
    async with visitor_socket(app, v.conversation_id, v.token, last_event_id=last) as visitor:
        ready = await frame(visitor)
        assert ready["type"] == "ready" and ready["resumed"] is True
        second = await until(visitor, of_type("agent.message"))
        third = await until(visitor, of_type("agent.message"))
        assert [second["message"]["content"], third["message"]["content"]] == ["two", "three"]
        assert last < second["id"] < third["id"]
        # Live again after the replay, and nothing sent twice.
        await owner.post(
            f"/api/v1/conversations/{v.conversation_id}/reply", json={"content": "four"}
        )
        fourth = await until(visitor, of_type("agent.message"))
        assert fourth["message"]["content"] == "four"


async def test_typing_goes_both_ways(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    async with (
        inbox_socket(app, owner) as agent,
        visitor_socket(app, v.conversation_id, v.token) as visitor,
    ):
        await frame(agent)
        await frame(visitor)
        await visitor.send_json({"type": "typing", "on": True})
        typing = await until(agent, of_type("typing"))
        assert typing["who"] == "visitor" and typing["conversation_id"] == v.conversation_id
        await agent.send_json({"type": "typing", "conversation_id": v.conversation_id, "on": True})
        shown = await until(visitor, of_type("agent.typing"))
        # No display name: the widget's neutral label, never the address or its local part.
        assert shown["name"] is None
        assert owner.email.split("@")[0] not in str(shown)


async def test_visitors_see_display_names_never_addresses(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    from sqlalchemy import update

    from porch.models import User

    state = app.state.porch
    async with state.sessionmaker() as session:
        await session.execute(update(User).values(display_name="Ana from Support"))
        await session.commit()
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    async with (
        inbox_socket(app, owner) as agent,
        visitor_socket(app, v.conversation_id, v.token) as visitor,
    ):
        await frame(agent)
        await frame(visitor)
        await agent.send_json({"type": "typing", "conversation_id": v.conversation_id, "on": True})
        shown = await until(visitor, of_type("agent.typing"))
        assert shown["name"] == "Ana from Support"
        r = await owner.post(f"/api/v1/conversations/{v.conversation_id}/typing", json={"on": True})
        assert r.status_code == 204
        again = await until(visitor, of_type("agent.typing"))
        assert again["name"] == "Ana from Support"
        r = await owner.post(
            f"/api/v1/conversations/{v.conversation_id}/reply", json={"content": "hi"}
        )
        assert r.status_code == 201
        said = await until(visitor, of_type("agent.message"))
        assert said["message"]["author_name"] == "Ana from Support"
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        headers={"Authorization": f"Bearer {v.token}"},
    )
    agents = [m for m in history.json()["messages"] if m["role"] == "agent"]
    assert [m["author_name"] for m in agents] == ["Ana from Support"]
    assert owner.email not in history.text and owner.email.split("@")[0] not in history.text


async def test_visitor_token_in_the_first_frame(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    url = f"http://porch.test/api/v1/conversations/{v.conversation_id}/ws"
    async with ws_client(app) as c, aconnect_ws(url, c) as ws:
        await ws.send_json({"type": "auth", "token": v.token})
        assert (await frame(ws))["type"] == "ready"
    async with ws_client(app) as c, aconnect_ws(url, c) as ws:
        await ws.send_json({"type": "auth", "token": "pv_wrong"})
        with pytest.raises(WebSocketDisconnect) as closed:
            await frame(ws)
        assert closed.value.code == 4401


@pytest.mark.settings(allow_signup=True)
async def test_sockets_refuse_wrong_tokens_and_foreign_origins(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    assert await refused(visitor_socket(app, v.conversation_id, "pv_not-the-token")) in (1008, None)
    # A cookie rides along with any site's request: another origin may not open an agent socket.
    foreign = inbox_socket(app, owner, headers={"Origin": "https://evil.example"})
    assert await refused(foreign) in (1008, None)
    async with inbox_socket(app, owner, headers={"Origin": "http://porch.test"}) as ok:
        assert (await frame(ok))["type"] == "ready"
    # Without credentials the inbox socket is closed at the handshake.
    async with ws_client(app) as c:
        assert await refused(aconnect_ws("http://porch.test/api/v1/inbox/ws", c)) in (1008, None)
    # An agent of another workspace cannot watch this conversation.
    stranger = await signup(app)
    try:
        path = f"/api/v1/conversations/{v.conversation_id}/ws"
        assert await refused(inbox_socket(app, stranger, path=path)) in (1008, None)
    finally:
        await stranger.http.aclose()


async def test_agent_reply_needs_an_owner(client: httpx.AsyncClient, owner: OwnerClient) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    anon = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/reply", json={"content": "x"}
    )
    assert anon.status_code == 401
    blank = await owner.post(
        f"/api/v1/conversations/{v.conversation_id}/reply", json={"content": "  "}
    )
    assert blank.status_code == 400
    # The visitor's own POST /messages is still the visitor's.
    events = await _ask(client, v, "How do I reset my password?")
    assert dict(events)["done"]["message_id"] is not None


async def test_socket_parameters_are_checked_at_the_handshake(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    base = "http://porch.test/api/v1/conversations"
    async with ws_client(app) as c:
        for bad, token in (
            (f"{base}/not-a-uuid/ws", v.token),
            (f"{base}/{v.conversation_id}/ws?last_event_id=-1", v.token),
            (f"{base}/{v.conversation_id}/ws?last_event_id=abc", v.token),
            (f"{base}/{v.conversation_id}/ws", "x" * 201),
            # The token in the URL (where access logs keep it) is refused, even a good one.
            (f"{base}/{v.conversation_id}/ws?token={v.token}", None),
        ):
            offered = offer(token) if token else None
            assert await refused(aconnect_ws(bad, c, subprotocols=offered)) in (1008, None), bad
    # The same socket with good parameters opens, resuming from an event id.
    async with visitor_socket(app, v.conversation_id, v.token, last_event_id=0) as ws:
        ready = await frame(ws)
        assert ready["type"] == "ready" and ready["resumed"] is True


@pytest.mark.settings(ws_ping_seconds=0.2, ws_missed_pongs=1)
async def test_a_socket_that_stops_answering_pings_is_closed_and_forgotten(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    broker = app.state.porch.realtime.broker
    async with visitor_socket(app, v.conversation_id, v.token) as ws:
        assert (await frame(ws))["type"] == "ready"
        assert broker.sockets == 1
        frames, code = await _until_closed(ws)  # pings arrive and go unanswered
        assert code == 4000
        assert frames and {f["type"] for f in frames} == {"ping"}
    async with asyncio.timeout(5):
        while broker.sockets:
            await asyncio.sleep(0.02)


async def test_a_client_too_far_behind_is_dropped_with_4008(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """More frames than the outbox holds arrive before the socket could send any: the
    client is closed (it resumes from its last event id) instead of the server buffering."""
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    state = app.state.porch
    async with visitor_socket(app, v.conversation_id, v.token) as ws:
        assert (await frame(ws))["type"] == "ready"
        (conn,) = state.realtime.broker._conversations[uuid.UUID(v.conversation_id)]
        for i in range(state.settings.ws_queue_size + 1):
            conn.push(f'{{"type":"burst","n":{i}}}')
        frames, code = await _until_closed(ws)
        assert code == 4008
        assert len(frames) < state.settings.ws_queue_size  # dropped, not delivered
    async with asyncio.timeout(5):
        while state.realtime.broker.sockets:
            await asyncio.sleep(0.02)


async def _until_closed(ws: Any) -> tuple[list[dict[str, Any]], int]:
    """Every frame until the server closes the socket, and its close code."""
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(await frame(ws))
    except WebSocketDisconnect as closed:
        return frames, closed.code


@pytest.mark.settings(ws_ping_seconds=0.02, ws_missed_pongs=100)
async def test_ready_is_the_first_frame_even_when_pings_are_due_at_once(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """A socket joins the heartbeat only once `ready` is out: with pings due every
    millisecond, none overtakes it while the socket reads the database."""
    w = await _handoff_widget(owner)
    v = await start_conversation(client, w["id"])
    for _ in range(20):
        async with visitor_socket(app, v.conversation_id, v.token) as ws:
            assert (await frame(ws))["type"] == "ready"
