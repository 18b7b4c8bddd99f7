"""No limit can be bypassed through another door: every way a visitor starts a conversation
or sends a message meets the same per-IP conversation limit, the same per-visitor message
limits and the same budgets, counted together whichever doors are mixed.

The doors are a table. `test_every_route_is_in_the_table` walks the app's routes and fails
on any route that can write, or any socket, the table does not name, so a new way in cannot
ship without saying which limits it meets; `test_only_the_intake_creates_conversations`
fails when code outside the one intake starts a conversation or stores a visitor message.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from httpx_ws import aconnect_ws
from sqlalchemy import func, select

from porch.conversations.repository import conversations, messages
from tests.conftest import BOTH, OwnerClient, VisitorSession, make_widget, start_conversation
from tests.realtime.kit import frame, ws_client
from tests.security.world import ACCOUNT, ROLES, api_routes

# Storage-touching tests run on SQLite and on PostgreSQL with Redis.
both = pytest.mark.parametrize("backend", BOTH, indirect=True)
SRC = Path(__file__).resolve().parents[2] / "src" / "porch"
FALLBACK = "Our budget is spent; email help@example.com."

Call = Callable[[httpx.AsyncClient, dict[str, Any], VisitorSession | None], Awaitable[Any]]


@dataclass(frozen=True)
class Door:
    """One way in: `call` sends one visitor message through it (starting a conversation
    first when `starts` is set, else into the given visitor's conversation)."""

    name: str
    route: tuple[str, str]
    starts: bool
    call: Call


async def _native_start(c: httpx.AsyncClient, w: dict[str, Any], v: Any) -> httpx.Response:
    return await c.post(f"/api/v1/widgets/{w['id']}/conversations", json={})


async def _native_message(c: httpx.AsyncClient, w: dict[str, Any], v: Any) -> httpx.Response:
    return await c.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "How much is Pro?"},
        headers=v.auth,
    )


async def _native_stream(c: httpx.AsyncClient, w: dict[str, Any], v: Any) -> httpx.Response:
    return await c.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "How much is Pro?"},
        headers={**v.auth, "Accept": "text/event-stream"},
    )


def _compat(path: str, *, session: bool, named: str = "widgetId") -> Call:
    async def call(c: httpx.AsyncClient, w: dict[str, Any], v: Any) -> httpx.Response:
        body: dict[str, Any] = {"message": "How much is Pro?"}
        if session:
            body["sessionId"] = v.token
        elif named:
            body[named] = w["id"]
        return await c.post(path, json=body)

    return call


START = ("POST", "/api/v1/widgets/{widget_id}/conversations")
MESSAGE = ("POST", "/api/v1/conversations/{conversation_id}/messages")
CHAT = ("POST", "/chat/message")
API_CHAT = ("POST", "/api/chat")
DOORS = [
    Door("widget: start", START, True, _native_start),
    Door("widget: message", MESSAGE, False, _native_message),
    Door("widget: message, SSE", MESSAGE, False, _native_stream),
    Door("/chat/message, new", CHAT, True, _compat(CHAT[1], session=False)),
    Door("/chat/message, agentId", CHAT, True, _compat(CHAT[1], session=False, named="agentId")),
    Door("/chat/message, default widget", CHAT, True, _compat(CHAT[1], session=False, named="")),
    Door("/chat/message, sessionId", CHAT, False, _compat(CHAT[1], session=True)),
    Door("/api/chat, new", API_CHAT, True, _compat(API_CHAT[1], session=False)),
    Door(
        "/api/chat, default widget", API_CHAT, True, _compat(API_CHAT[1], session=False, named="")
    ),
    Door("/api/chat, sessionId", API_CHAT, False, _compat(API_CHAT[1], session=True)),
]
STARTS = [d for d in DOORS if d.starts]
CONTINUES = [d for d in DOORS if not d.starts]

# Routes that write but start no visitor conversation and store no visitor message, and why.
# The hosted chat page (/w/{id}) and the widget both use the widget's routes above
# (test_the_hosted_page_uses_the_widget_doors); visitor sockets take no messages
# (test_a_visitor_socket_takes_no_message).
NOT_DOORS: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/messages/{message_id}/feedback"): "rates an existing reply",
    ("POST", "/api/v1/conversations/{conversation_id}/handoff"): (
        "one note per handoff; asking again while waiting stores nothing"
    ),
    ("POST", "/api/v1/widgets/{widget_id}/visitor/conversations/{conversation_id}/resume"): (
        "a new token for an existing conversation; its messages count under that conversation"
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/confirmations/{call_id}"): (
        "one answer per action call the pipeline proposed; a second answer is refused"
    ),
    ("DELETE", "/api/v1/conversations/{conversation_id}"): (
        "a visitor erasing their own conversation stores nothing"
    ),
    ("WS", "/api/v1/conversations/{conversation_id}/ws"): "typing and pongs only",
    ("WS", "/api/v1/inbox/ws"): "agents' typing only",
    ("POST", "/api/v1/auth/signup"): "an owner account (sign-up throttling, docs/accounts.md)",
    ("POST", "/api/v1/auth/login"): "a session (sign-in throttling, docs/accounts.md)",
}
# Owner and agent routes are signed in, answerable to the workspace, and never meet visitor
# limits (an agent's reply is a person's, not the assistant's): tests/security/test_tenancy.py.
OWNER_SIDE = set(ROLES) | set(ACCOUNT)


def _doors_of(route: tuple[str, str]) -> list[Door]:
    return [d for d in DOORS if d.route == route]


def _writes(app: FastAPI) -> set[tuple[str, str]]:
    # /api/widgets… serves the very route objects of /api/v1/widgets… (chat/visitor/
    # compat_paths.py): the same door, so it is judged under the native path.
    found = {
        (m, r.path.replace("/api/widgets", "/api/v1/widgets", 1))
        for r in api_routes(app.routes)
        for m in r.methods
        if m not in ("GET", "HEAD")
    }
    found |= {("WS", r.path) for r in app.routes if isinstance(r, APIWebSocketRoute)}
    # The visitors' conversation socket is served before the router (realtime/fastpath.py).
    found.add(("WS", "/api/v1/conversations/{conversation_id}/ws"))
    return found


async def test_every_route_is_in_the_table(app: FastAPI) -> None:
    unknown = [
        r
        for r in sorted(_writes(app))
        if not _doors_of(r) and r not in NOT_DOORS and r not in OWNER_SIDE
    ]
    assert not unknown, (
        "a new route that writes: add it to DOORS (and send it through chat/visitor/intake.py and "
        f"pipeline.accept) or to NOT_DOORS with the reason, in {__file__}: {unknown}"
    )


def _code(resp: httpx.Response) -> str:
    """The error code: nested on porch's routes, beside the message on the compatibility
    routes (`{"error": "…", "code": "…"}`, docs/compatibility.md)."""
    body = resp.json()
    return str(body["code"] if isinstance(body["error"], str) else body["error"]["code"])


def _calls(tree: ast.AST, name: str) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == name)
            or (isinstance(node.func, ast.Name) and node.func.id == name)
        )
    )


def test_only_the_intake_creates_conversations() -> None:
    """Where conversations and visitor messages are written: the intake (limits, identity),
    the pipeline (limits, budgets) and the handoff note; an agent's reply is owner-side."""
    allowed = {
        "start_conversation": {"chat/visitor/intake.py"},
        "insert_message": {
            "chat/visitor/service.py",
            "chat/answer/pipeline.py",
            # The pipeline's writes (a message with its counters and event in one statement).
            "chat/answer/writes.py",
            "chat/handoff.py",
        },
    }
    for path in SRC.rglob("*.py"):
        where = str(path.relative_to(SRC))
        tree = ast.parse(path.read_text())
        for name, places in allowed.items():
            if where not in places:
                assert _calls(tree, name) == 0, (
                    f"{where} calls {name}: go through chat/visitor/intake.py"
                )
    service = (SRC / "chat/visitor/service.py").read_text()
    assert service.count("conversations.insert()") == 1


async def _count(app: FastAPI, table: Any, widget_id: str, **where: Any) -> int:
    query = select(func.count()).select_from(table).where(table.c.widget_id == uuid.UUID(widget_id))
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with app.state.porch.engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


@both
@pytest.mark.parametrize("door", STARTS, ids=lambda d: d.name)
async def test_the_per_ip_conversation_limit_holds_on_every_door(
    door: Door, owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner, limits={"conversations_per_ip_per_hour": 3})
    # Two through the widget's own route, one through this door: the same count.
    await start_conversation(client, w["id"])
    await start_conversation(client, w["id"])
    ok = await door.call(client, w, None)
    assert ok.status_code in (200, 201), ok.text
    refused = await door.call(client, w, None)
    assert refused.status_code == 429, refused.text
    assert _code(refused) == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert await _count(app, conversations, w["id"]) == 3
    # Another address has its own allowance.
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("198.51.100.77", 40000)),
        base_url="http://porch.test",
    )
    async with other:
        assert (await door.call(other, w, None)).status_code in (200, 201)


@both
@pytest.mark.parametrize("door", CONTINUES, ids=lambda d: d.name)
async def test_the_visitor_message_limit_holds_on_every_door(
    door: Door, owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner, limits={"visitor_messages_per_minute": 2})
    v = await start_conversation(client, w["id"])
    assert (await _native_message(client, w, v)).status_code == 200
    assert (await door.call(client, w, v)).status_code == 200
    refused = await door.call(client, w, v)
    assert refused.status_code == 429, refused.text
    assert _code(refused) == "rate_limited"
    refused_native = await _native_message(client, w, v)
    assert refused_native.status_code == 429
    # Nothing stored for the refused ones.
    assert await _count(app, messages, w["id"], role="user") == 2


@both
@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
async def test_a_spent_budget_answers_with_the_fallback_on_every_door(
    door: Door, owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner, limits={"widget_messages_per_day": 1}, fallback_message=FALLBACK)
    v = await start_conversation(client, w["id"])
    assert (await _native_message(client, w, v)).status_code == 200
    resp = await door.call(client, w, v)
    if door.route == START:
        v = VisitorSession(resp.json()["conversation_id"], resp.json()["visitor_token"], [])
        resp = await _native_message(client, w, v)
    assert resp.status_code in (200, 201), resp.text
    assert FALLBACK in resp.text
    replies = await _count(app, messages, w["id"], role="assistant", status="fallback")
    assert replies == 1


@both
async def test_a_visitor_socket_takes_no_message(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Frames a client might try, as message or otherwise, store nothing and count nothing."""
    w = await make_widget(owner)
    v = await start_conversation(client, w["id"])
    before = await _count(app, messages, w["id"])
    url = f"http://porch.test/api/v1/conversations/{v.conversation_id}/ws"
    async with ws_client(app) as c, aconnect_ws(url, c) as ws:
        await ws.send_text(json.dumps({"type": "auth", "token": v.token}))
        assert (await frame(ws))["type"] == "ready"
        for attempt in (
            {"type": "message", "content": "hello"},
            {"type": "message.created", "message": {"role": "user", "content": "hello"}},
            {"type": "send", "content": "hello"},
            {"content": "hello"},
        ):
            await ws.send_text(json.dumps(attempt))
        await ws.send_text('{"type":"ping"}')
        assert (await frame(ws))["type"] == "pong"  # every frame before it was handled
    assert await _count(app, messages, w["id"]) == before


def _posts(script: str) -> set[str]:
    """The paths a script POSTs to, variables as {}: request('POST', 'a/' + x + '/b', …)."""
    found = set()
    for start in re.finditer(r"request\('POST',\s*", script):
        expr, depth = "", 0
        for char in script[start.end() :]:
            if char in ",)" and depth == 0:
                break
            depth += (char == "(") - (char == ")")
            expr += char
        parts = re.split(r"('[^']*')", expr)
        found.add("".join(p[1:-1] if p.startswith("'") else "{}" for p in parts if p.strip(" +")))
    return found


def test_the_hosted_page_uses_the_widget_doors() -> None:
    """The chat page (/w/{id}, which the loader frames) starts conversations and sends
    messages only through the widget's routes in the table, so it meets their limits."""
    posts = _posts((SRC / "web/static/chat.js").read_text())
    assert posts == {
        "widgets/{}/conversations",  # DOORS: widget: start
        "conversations/{}/messages",  # DOORS: widget: message (JSON or SSE)
        "messages/{}/feedback",  # NOT_DOORS
        "conversations/{}/handoff",  # NOT_DOORS
        "{}/{}/resume",  # NOT_DOORS: widgets/{id}/visitor/conversations/{cid}/resume
        # NOT_DOORS: the card's answer to a pending action (its reply is stored by chat)
        "conversations/{}/confirmations/{}",
    }, posts
