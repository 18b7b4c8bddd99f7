"""Every error an allowed origin gets is readable to it; an origin that is not allowed reads none.

Each case fails in a different place: in a route after the widget allowed the origin (403,
422, 429), in a route before porch knows the widget (400, 401, 404), in the framework's
validation (400), in the body limit before any route (413), and in the drain gate (503).
The widget in each is the server's only one, so it is also the default widget that the
compatibility routes use when a request names none.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

SHOP = "https://shop.example"
EVIL = "https://evil.example"
Case = Callable[[FastAPI, httpx.AsyncClient, str, dict[str, str]], Awaitable[httpx.Response]]


async def _spur(client: httpx.AsyncClient, body: Any, origin: dict[str, str]) -> httpx.Response:
    return await client.post("/chat/message", json=body, headers=origin)


async def empty_message(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    return await _spur(c, {"message": ""}, o)


async def malformed_json(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    headers = {"Content-Type": "application/json", **o}
    return await c.post("/chat/message", content=b'{"message": ', headers=headers)


async def bad_field(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    url = f"/api/v1/widgets/{wid}/conversations"
    return await c.post(url, json={"locale": "not a locale!"}, headers=o)


async def no_token(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    v = await start_conversation(c, wid)
    return await c.get(f"/api/v1/conversations/{v.conversation_id}/messages", headers=o)


async def wrong_token(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    v = await start_conversation(c, wid)
    headers = {"Authorization": "Bearer pv_wrong", **o}
    return await c.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "hi"},
        headers=headers,
    )


async def bad_identity(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    body = {"user": {"id": "u-1", "hash": "0" * 64}}
    return await c.post(f"/api/v1/widgets/{wid}/conversations", json=body, headers=o)


async def unknown_session(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    return await c.get("/chat/history/pv_nobody", headers=o)


async def too_large(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    return await _spur(c, {"message": "x" * 4000, "pad": "y" * 4096}, o)


async def not_a_reply(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    v = await start_conversation(c, wid)
    sent = await c.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "Pro plan price?"},
        headers=v.auth,
    )
    question = sent.json()["user_message_id"]
    headers = {**v.auth, **o}
    return await c.post(
        f"/api/v1/messages/{question}/feedback", json={"rating": "up"}, headers=headers
    )


async def rate_limited(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    session = (await _spur(c, {"message": "hi"}, {})).json()["sessionId"]
    return await _spur(c, {"message": "again", "sessionId": session}, o)


async def draining(app: FastAPI, c: httpx.AsyncClient, wid: str, o: dict[str, str]) -> Any:
    app.state.porch.draining = True
    try:
        return await _spur(c, {"message": "hi"}, o)
    finally:
        app.state.porch.draining = False


CASES: list[tuple[Case, int, str]] = [
    (empty_message, 400, "validation_error"),
    (malformed_json, 400, "malformed_json"),
    (bad_field, 400, "validation_error"),
    (no_token, 401, "visitor_token_required"),
    (wrong_token, 404, "conversation_not_found"),
    (bad_identity, 403, "identity_invalid"),
    (unknown_session, 404, "session_not_found"),
    (too_large, 413, "payload_too_large"),
    (not_a_reply, 422, "not_a_reply"),
    (rate_limited, 429, "rate_limited"),
    (draining, 503, "shutting_down"),
]


def _code(resp: httpx.Response) -> str:
    error = resp.json()["error"]
    return str(error["code"] if isinstance(error, dict) else resp.json()["code"])


async def _widget(owner: OwnerClient) -> str:
    w = await make_widget(owner, allowed_origins=[SHOP], limits={"visitor_messages_per_minute": 1})
    assert (await owner.post(f"/api/v1/widgets/{w['id']}/identity-secret")).status_code == 201
    return str(w["id"])


@pytest.mark.settings(max_body_bytes=4096)
@pytest.mark.parametrize(("case", "status", "code"), CASES, ids=[c[0].__name__ for c in CASES])
async def test_an_allowed_origin_reads_every_error(
    app: FastAPI,
    owner: OwnerClient,
    client: httpx.AsyncClient,
    case: Case,
    status: int,
    code: str,
) -> None:
    wid = await _widget(owner)
    resp = await case(app, client, wid, {"Origin": SHOP})
    assert (resp.status_code, _code(resp)) == (status, code), resp.text
    assert resp.headers["access-control-allow-origin"] == SHOP
    assert "Retry-After" in resp.headers["access-control-expose-headers"]
    assert "Origin" in resp.headers["vary"]
    assert "access-control-allow-credentials" not in resp.headers


@pytest.mark.settings(max_body_bytes=4096)
@pytest.mark.parametrize(("case", "status", "code"), CASES, ids=[c[0].__name__ for c in CASES])
async def test_an_origin_not_allowed_reads_none(
    app: FastAPI,
    owner: OwnerClient,
    client: httpx.AsyncClient,
    case: Case,
    status: int,
    code: str,
) -> None:
    wid = await _widget(owner)
    resp = await case(app, client, wid, {"Origin": EVIL})
    # Where the route reaches the widget first, the refusal comes first.
    assert (resp.status_code, _code(resp)) in ((status, code), (403, "origin_not_allowed"))
    assert "access-control-allow-origin" not in resp.headers
    assert "Origin" in resp.headers["vary"]


async def test_unknown_ids_name_no_widget_so_their_errors_stay_readable(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    await _widget(owner)
    # No conversation, no widget: no origin list to keep anyone from.
    gone = await client.get(
        f"/api/v1/conversations/{uuid.uuid4()}/messages",
        headers={"Origin": EVIL, "Authorization": "Bearer pv_x"},
    )
    assert gone.status_code == 404 and gone.headers["access-control-allow-origin"] == EVIL
