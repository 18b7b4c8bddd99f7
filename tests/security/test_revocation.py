"""Access ends at once, for sockets already open too.

The matrix: each way access ends (sign-out, sign-out everywhere, removal, role change, key
deletion, workspace and widget deletion, session and visitor-token expiry) against each
kind of socket (the inbox and a conversation's, by session and by API key; the visitor's;
the owner's, who is never the one revoked but for the workspace's deletion). A revoked
socket is closed with its code before any later event reaches it; every other socket stays
open and keeps receiving. Both storage modes: on PostgreSQL the revocation crosses Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from sqlalchemy import delete, update

from porch import revocation
from porch.conversations.repository import conversations
from porch.models import OwnerSession
from porch.models.base import utcnow
from porch.realtime import auth
from tests.accounts.kit import api_key, member
from tests.conftest import BOTH, OwnerClient, VisitorSession, make_widget, start_conversation
from tests.realtime.kit import WAIT, frame, inbox_socket, offer, refused, visitor_socket, ws_client

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

MARKER = "sent after the revocation"
# How far off a session's or visitor token's end is put when sockets open (time to open them).
EXPIRES_IN = timedelta(seconds=4)

SOCKETS = (
    "inbox · session",
    "inbox · API key",
    "conversation · session",
    "conversation · API key",
    "visitor",
    "owner's inbox",
)
MEMBER = SOCKETS[:4]
SESSIONS = ("inbox · session", "conversation · session")
KEYS = ("inbox · API key", "conversation · API key")
ON_CONVERSATION = ("conversation · session", "conversation · API key", "visitor")


@dataclass
class Scene:
    app: FastAPI
    client: httpx.AsyncClient
    owner: OwnerClient
    member: OwnerClient  # an admin of the owner's workspace, with an API key of their own
    member_id: str
    key: str
    key_id: str
    widget: dict[str, Any]
    other_widget: dict[str, Any]
    visitor: VisitorSession


async def _scene(app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient) -> Scene:
    widget, other = await make_widget(owner), await make_widget(owner, name="Other")
    admin = await member(app, owner, "admin")
    member_id = (await admin.get("/api/v1/auth/me")).json()["user"]["id"]
    key = await api_key(admin, "admin")
    key_id = next(
        k["id"]
        for k in (await admin.get("/api/v1/api-keys")).json()["api_keys"]
        if key.endswith(k["last4"])
    )
    v = await start_conversation(client, widget["id"])
    return Scene(app, client, owner, admin, member_id, key, key_id, widget, other, v)


@contextlib.asynccontextmanager
async def _key_socket(app: FastAPI, key: str, path: str) -> AsyncIterator[AsyncWebSocketSession]:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        ws_client(app) as c,
        aconnect_ws("http://porch.test" + path, c, headers=headers) as ws,
    ):
        yield ws


@contextlib.asynccontextmanager
async def _open_all(s: Scene) -> AsyncIterator[dict[str, AsyncWebSocketSession]]:
    """Every kind of socket, each past its `ready` frame."""
    conversation = f"/api/v1/conversations/{s.visitor.conversation_id}/ws"
    openers = {
        "inbox · session": inbox_socket(s.app, s.member),
        "inbox · API key": _key_socket(s.app, s.key, "/api/v1/inbox/ws"),
        "conversation · session": inbox_socket(s.app, s.member, path=conversation),
        "conversation · API key": _key_socket(s.app, s.key, conversation),
        "visitor": visitor_socket(s.app, s.visitor.conversation_id, s.visitor.token),
        "owner's inbox": inbox_socket(s.app, s.owner),
    }
    async with contextlib.AsyncExitStack() as stack:
        sockets = {name: await stack.enter_async_context(o) for name, o in openers.items()}
        for name, ws in sockets.items():
            assert (await frame(ws))["type"] == "ready", name
        yield sockets


def _is_marker(f: dict[str, Any], marker_conversation: str | None) -> bool:
    message = f.get("message") or {}
    if f.get("type") in ("message.created", "agent.message") and message.get("content") == MARKER:
        return True
    return f.get("type") == "conversation.created" and f.get("conversation_id") == (
        marker_conversation
    )


async def _outcome(ws: AsyncWebSocketSession, marker: list[str | None]) -> int | str:
    """The close code, "open" once a marker event arrived, "silent" if neither did in time."""
    try:
        async with asyncio.timeout(WAIT):
            while True:
                f = json.loads(await ws.receive_text())
                if f.get("type") == "ping":
                    await ws.send_text('{"type":"pong"}')
                elif _is_marker(f, marker[0]):
                    return "open"
    except WebSocketDisconnect as closed:
        return closed.code
    except TimeoutError:
        return "silent"


async def _send_markers(s: Scene, marker: list[str | None]) -> None:
    """Events every socket still open would get: a reply in the visitor's conversation (all
    of them), a new conversation on the other widget (the inbox sockets). After a deletion
    either may be refused, which is fine: then no socket is expected to stay open for it."""
    await s.owner.post(
        f"/api/v1/conversations/{s.visitor.conversation_id}/reply", json={"content": MARKER}
    )
    other = await s.client.post(f"/api/v1/widgets/{s.other_widget['id']}/conversations", json={})
    if other.status_code == 201:
        marker[0] = other.json()["conversation_id"]


# ---- the ways access ends -------------------------------------------------------------------
async def _logout(s: Scene) -> None:
    assert (await s.member.post("/api/v1/auth/logout")).status_code == 204


async def _logout_everywhere(s: Scene) -> None:
    assert (await s.member.post("/api/v1/auth/logout-everywhere")).status_code == 204


async def _remove_member(s: Scene) -> None:
    assert (await s.owner.delete(f"/api/v1/members/{s.member_id}")).status_code == 204


async def _demote(s: Scene) -> None:
    resp = await s.owner.patch(f"/api/v1/members/{s.member_id}", json={"role": "agent"})
    assert resp.status_code == 200, resp.text


async def _delete_key(s: Scene) -> None:
    assert (await s.owner.delete(f"/api/v1/api-keys/{s.key_id}")).status_code == 204


async def _delete_workspace(s: Scene) -> None:
    resp = await s.owner.delete(f"/api/v1/workspaces/{s.owner.workspace_id}")
    assert resp.status_code == 204, resp.text


async def _delete_widget(s: Scene) -> None:
    assert (await s.owner.delete(f"/api/v1/widgets/{s.widget['id']}")).status_code == 204


async def _erase_the_visitor(s: Scene) -> None:
    """A privacy request: the erase job removes the conversation and all it holds."""
    resp = await s.owner.post(
        "/api/v1/privacy/erase",
        json={"subject": {"visitor_id": s.visitor.conversation_id}, "dry_run": False},
    )
    assert resp.status_code == 202, resp.text
    job = f"/api/v1/privacy/jobs/{resp.json()['job_id']}"
    async with asyncio.timeout(WAIT):
        while (await s.owner.get(job)).json()["status"] != "done":
            await asyncio.sleep(0.02)


async def _visitor_deletes_it(s: Scene) -> None:
    """The visitor deletes their conversation from the widget's menu."""
    resp = await s.client.delete(
        f"/api/v1/conversations/{s.visitor.conversation_id}", headers=s.visitor.auth
    )
    assert resp.status_code == 200 and resp.json()["deleted"] == 1, resp.text


async def _session_ends_soon(s: Scene) -> None:
    """Before the sockets open: the member's session ends in a few seconds."""
    async with s.app.state.porch.engine.begin() as conn:
        await conn.execute(
            update(OwnerSession)
            .where(OwnerSession.user_id == uuid.UUID(s.member_id))
            .values(expires_at=utcnow() + EXPIRES_IN)
        )


async def _token_idles_out_soon(s: Scene) -> None:
    """Before the sockets open: the visitor token's idle hour is up in a few seconds."""
    hours = s.app.state.porch.settings.visitor_token_idle_hours
    async with s.app.state.porch.engine.begin() as conn:
        await conn.execute(
            update(conversations)
            .where(conversations.c.id == uuid.UUID(s.visitor.conversation_id))
            .values(last_message_at=utcnow() - timedelta(hours=hours) + EXPIRES_IN)
        )


Action = Callable[[Scene], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    act: Action
    closes: dict[str, int]  # socket -> close code; every other socket stays open
    timed: bool = False  # access ends by time: `act` runs before the sockets open


CASES = {
    "sign-out": Case(_logout, dict.fromkeys(SESSIONS, 4401)),
    "sign-out everywhere": Case(_logout_everywhere, dict.fromkeys(SESSIONS, 4401)),
    "member removed": Case(_remove_member, dict.fromkeys(MEMBER, 4401)),
    "role lowered": Case(_demote, dict.fromkeys(MEMBER, 4403)),
    "API key deleted": Case(_delete_key, dict.fromkeys(KEYS, 4401)),
    "workspace deleted": Case(_delete_workspace, dict.fromkeys(SOCKETS, 4401)),
    "widget deleted": Case(_delete_widget, dict.fromkeys(ON_CONVERSATION, 4404)),
    "conversation erased": Case(_erase_the_visitor, dict.fromkeys(ON_CONVERSATION, 4404)),
    "visitor deleted it": Case(_visitor_deletes_it, dict.fromkeys(ON_CONVERSATION, 4404)),
    "session expired": Case(_session_ends_soon, dict.fromkeys(SESSIONS, 4401), timed=True),
    "visitor token idle": Case(_token_idles_out_soon, {"visitor": 4401}, timed=True),
}


# In-process jobs on both modes: an erase runs as a job, and no worker runs in tests.
@pytest.mark.settings(visitor_token_idle_hours=1, jobs_queue="memory")
@pytest.mark.parametrize("kind", list(CASES))
async def test_revoked_sockets_close_with_their_code_and_the_others_keep_receiving(
    kind: str, app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    case = CASES[kind]
    s = await _scene(app, client, owner)
    if case.timed:
        await case.act(s)
    marker: list[str | None] = [None]
    async with _open_all(s) as sockets:
        if not case.timed:
            await case.act(s)
            await _send_markers(s, marker)
        # Those that must close: closed before any marker could reach them.
        closing = {n: sockets[n] for n in case.closes}
        got = dict(
            zip(
                closing,
                await asyncio.gather(*(_outcome(w, marker) for w in closing.values())),
                strict=True,
            )
        )
        if case.timed:
            await _send_markers(s, marker)
        staying = {n: w for n, w in sockets.items() if n not in case.closes}
        got |= dict(
            zip(
                staying,
                await asyncio.gather(*(_outcome(w, marker) for w in staying.values())),
                strict=True,
            )
        )
    expected = {n: case.closes.get(n, "open") for n in SOCKETS}
    assert {n: got[n] for n in SOCKETS} == expected, f"{kind}: got {got}"
    # Closed ones and those that left are forgotten: nothing kept per socket afterwards.
    revoker = app.state.porch.realtime.revoker
    async with asyncio.timeout(WAIT):
        while revoker.sockets:
            await asyncio.sleep(0.02)


# ---- what the matrix does not show -----------------------------------------------------------
async def _closed(ws: AsyncWebSocketSession) -> int | str:
    return await _outcome(ws, [None])


async def test_a_removed_agent_can_send_no_more_typing(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    s = await _scene(app, client, owner)
    cid = s.visitor.conversation_id
    async with (
        inbox_socket(app, s.member) as agent,
        visitor_socket(app, cid, s.visitor.token) as visitor,
    ):
        await frame(agent)
        await frame(visitor)
        await _remove_member(s)
        assert await _closed(agent) == 4401
        with contextlib.suppress(Exception):  # closed: the frame goes nowhere
            await agent.send_json({"type": "typing", "conversation_id": cid, "on": True})
        # The owner's typing comes after; nothing of the removed agent's came before it.
        typed = await s.owner.post(f"/api/v1/conversations/{cid}/typing", json={"on": True})
        assert typed.status_code == 204
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT):
            while not (seen and seen[-1].get("type") == "agent.typing"):
                seen.append(await frame(visitor))
        typing = [f for f in seen if f["type"] == "agent.typing"]
        # One frame, the owner's; visitors get a display name or none, never an e-mail's part.
        assert len(typing) == 1
        assert owner.email.split("@")[0] not in str(typing)
    over_http = await s.member.post(f"/api/v1/conversations/{cid}/typing", json={"on": True})
    assert over_http.status_code == 401
    assert await refused(inbox_socket(app, s.member)) in (1008, None)


# In-process jobs on both modes: an erase runs as a job, and no worker runs in tests.
@pytest.mark.settings(visitor_token_idle_hours=1, jobs_queue="memory")
async def test_a_message_keeps_an_open_visitor_socket_alive_past_its_first_deadline(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    s = await _scene(app, client, owner)
    await _token_idles_out_soon(s)
    revoker = app.state.porch.realtime.revoker
    async with visitor_socket(app, s.visitor.conversation_id, s.visitor.token) as ws:
        assert (await frame(ws))["type"] == "ready"
        (conn,) = [c for g in revoker._by_workspace.values() for c in g]
        sent = await client.post(
            f"/api/v1/conversations/{s.visitor.conversation_id}/messages",
            json={"content": "still here"},
            headers=s.visitor.auth,
        )
        assert sent.status_code == 200
        # At the first deadline the token is checked again and found in use: a new deadline
        # an hour on, and the socket goes on receiving.
        async with asyncio.timeout(WAIT):
            while not time.monotonic() + 600 < conn.deadline < float("inf"):
                await asyncio.sleep(0.05)
        await _send_markers(s, [None])
        assert await _closed(ws) == "open"


# In-process jobs on both modes: an erase runs as a job, and no worker runs in tests.
@pytest.mark.settings(visitor_token_idle_hours=1, jobs_queue="memory")
async def test_a_visitor_token_idle_too_long_is_refused_at_the_handshake(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """As over HTTP (401 visitor_token_expired): the socket does not open either."""
    s = await _scene(app, client, owner)
    async with app.state.porch.engine.begin() as conn:
        await conn.execute(
            update(conversations)
            .where(conversations.c.id == uuid.UUID(s.visitor.conversation_id))
            .values(last_message_at=utcnow() - timedelta(hours=2))
        )
    opening = visitor_socket(app, s.visitor.conversation_id, s.visitor.token)
    assert await refused(opening) in (1008, None)


async def test_a_socket_let_in_while_its_access_was_being_revoked_is_closed(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The credentials were read before the sign-out committed; its revocation arrived before
    the socket registered. Registering checks the revocations received since the read."""
    s = await _scene(app, client, owner)
    revoker = app.state.porch.realtime.revoker
    read = auth.agent

    async def read_then_revoked(state: Any, ws: Any) -> auth.Agent | None:
        agent = await read(state, ws)
        if agent is not None and agent.owner.session_id is not None:
            revoker.apply(revocation.session_ended(agent.owner.session_id))
        return agent

    monkeypatch.setattr(auth, "agent", read_then_revoked)
    async with inbox_socket(app, s.member) as ws:
        assert await _closed(ws) == 4401
    monkeypatch.setattr(auth, "agent", read)
    # A revocation from before the credentials were read does not touch a later socket.
    async with inbox_socket(app, s.member) as ws:
        assert (await frame(ws))["type"] == "ready"
        await _send_markers(s, [None])
        assert await _closed(ws) == "open"


async def test_after_a_pubsub_gap_agent_sockets_are_checked_against_the_database(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    """A revocation published while this process's subscription was down is lost; when the
    subscription comes back, every agent socket's grant is read again."""
    s = await _scene(app, client, owner)
    state = app.state.porch
    async with inbox_socket(app, s.member) as agent, inbox_socket(app, s.owner) as bystander:
        await frame(agent)
        await frame(bystander)
        # Signed out without a word on pub/sub (as if the message had been lost).
        async with state.engine.begin() as conn:
            await conn.execute(
                delete(OwnerSession).where(OwnerSession.user_id == uuid.UUID(s.member_id))
            )
        await state.pubsub._reconnected()
        assert await _closed(agent) == 4401
        marker: list[str | None] = [None]
        await _send_markers(s, marker)
        assert await _outcome(bystander, marker) == "open"


async def test_the_visitor_token_stays_out_of_the_url(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    s = await _scene(app, client, owner)
    base = f"http://porch.test/api/v1/conversations/{s.visitor.conversation_id}/ws"
    async with ws_client(app) as c:
        # Offered as a subprotocol: let in, and answered with porch's own.
        async with aconnect_ws(base, c, subprotocols=offer(s.visitor.token)) as ws:
            assert ws.subprotocol == "porch.v1"
            assert (await frame(ws))["type"] == "ready"
        # In the query string, where access logs and proxies keep it: refused, even valid.
        assert await refused(aconnect_ws(f"{base}?token={s.visitor.token}", c)) in (1008, None)
        # In the first frame (for clients that set no subprotocol): let in.
        async with aconnect_ws(base, c) as ws:
            await ws.send_json({"type": "auth", "token": s.visitor.token})
            assert (await frame(ws))["type"] == "ready"
