"""Helpers for socket tests: a WebSocket-capable client on the app, frames with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi import FastAPI
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.conftest import OwnerClient

WAIT = 10.0  # generous: a deadline for hangs, never a measured duration


@contextlib.asynccontextmanager
async def ws_client(
    app: FastAPI, cookies: httpx.Cookies | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = ASGIWebSocketTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://porch.test") as c:
        if cookies is not None:
            c.cookies = cookies
        yield c


@contextlib.asynccontextmanager
async def visitor_socket(
    app: FastAPI, conversation_id: str, token: str, last_event_id: int | None = None
) -> AsyncIterator[AsyncWebSocketSession]:
    url = f"http://porch.test/api/v1/conversations/{conversation_id}/ws"
    if last_event_id is not None:
        url += f"?last_event_id={last_event_id}"
    # As the widget does: the token as a subprotocol, never in the URL.
    async with ws_client(app) as c, aconnect_ws(url, c, subprotocols=offer(token)) as ws:
        yield ws


def offer(token: str) -> list[str]:
    """The subprotocols a visitor's socket offers: the version and its token."""
    return ["porch.v1", f"porch.token.{token}"]


@contextlib.asynccontextmanager
async def inbox_socket(
    app: FastAPI,
    owner: OwnerClient,
    path: str = "/api/v1/inbox/ws",
    headers: dict[str, str] | None = None,
) -> AsyncIterator[AsyncWebSocketSession]:
    async with (
        ws_client(app, owner.http.cookies) as c,
        aconnect_ws("http://porch.test" + path, c, headers=headers or {}) as ws,
    ):
        yield ws


async def frame(ws: AsyncWebSocketSession) -> dict[str, Any]:
    text = await ws.receive_text(timeout=WAIT)
    result: dict[str, Any] = json.loads(text)
    return result


async def until(
    ws: AsyncWebSocketSession,
    match: Callable[[dict[str, Any]], bool],
    seen: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Frames until one matches (pings are answered); every frame read goes into `seen`."""
    async with asyncio.timeout(WAIT):
        while True:
            f = await frame(ws)
            if seen is not None:
                seen.append(f)
            if f.get("type") == "ping":
                await ws.send_text('{"type":"pong"}')
            if match(f):
                return f


def of_type(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f.get("type") == name


def _flatten(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [e for inner in exc.exceptions for e in _flatten(inner)]
    return [exc]


async def refused(opening: Any) -> int | None:
    """Open a socket that must be refused at the handshake; the close code (None: HTTP 403)."""
    from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError

    try:
        async with opening:
            pass
    except BaseException as exc:
        for inner in _flatten(exc):
            if isinstance(inner, WebSocketDisconnect):
                return inner.code
            if isinstance(inner, WebSocketUpgradeError):
                return None
        raise
    raise AssertionError("the socket was let in")
