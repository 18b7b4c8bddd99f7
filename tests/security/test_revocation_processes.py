"""Revocation across processes: access ended through process A closes the sockets that
process B holds, through the same Redis fan-out as every realtime event (two `porch serve`
processes sharing PostgreSQL and Redis, as behind a load balancer without sticky sessions)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws

from tests.faults.servers import flush_redis, migrate, scratch_database, serve, shared_env, stop
from tests.realtime.kit import WAIT, offer

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

MARKER = "sent after the revocation"


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with scratch_database("porch_revoke") as url:
        yield url


async def test_a_revocation_on_one_process_closes_sockets_on_the_other(
    database: str, tmp_path: Path
) -> None:
    await flush_redis()
    env = shared_env(database, tmp_path, PORCH_JOBS_QUEUE="memory", PORCH_ALLOW_SIGNUP="true")
    migrate(env)
    a, proc_a = serve(env)
    b, proc_b = serve(env)
    try:
        async with (
            httpx.AsyncClient(base_url=a, timeout=30) as owner_a,
            httpx.AsyncClient(base_url=b, timeout=30) as owner_b,
            httpx.AsyncClient(base_url=b, timeout=30) as member_b,
            httpx.AsyncClient(base_url=b, timeout=30) as visitor_b,
        ):
            await _scenario(owner_a, owner_b, member_b, visitor_b)
    finally:
        for proc in (proc_a, proc_b):
            stop(proc)


async def _outcome(ws: AsyncWebSocketSession) -> int | str:
    """The close code, or "open" once the marker arrived."""
    try:
        async with asyncio.timeout(WAIT):
            while True:
                f = json.loads(await ws.receive_text())
                if f.get("type") == "ping":
                    await ws.send_text('{"type":"pong"}')
                elif (f.get("message") or {}).get("content") == MARKER:
                    return "open"
    except WebSocketDisconnect as closed:
        return closed.code


async def _ready(ws: AsyncWebSocketSession) -> None:
    assert json.loads(await ws.receive_text(timeout=WAIT))["type"] == "ready"


async def _scenario(
    owner_a: httpx.AsyncClient,
    owner_b: httpx.AsyncClient,
    member_b: httpx.AsyncClient,
    visitor_b: httpx.AsyncClient,
) -> None:
    signup = await owner_a.post(
        "/api/v1/auth/signup", json={"email": "o@example.com", "password": "correct horse"}
    )
    csrf = {"X-CSRF-Token": signup.json()["csrf_token"]}
    owner_b.cookies = owner_a.cookies  # the session lives in the database: any process knows it
    invitation = await owner_a.post("/api/v1/invitations", headers=csrf, json={"role": "agent"})
    joined = await member_b.post(
        "/api/v1/auth/signup",
        json={
            "email": "agent@example.com",
            "password": "correct horse",
            "invitation_token": invitation.json()["token"],
        },
    )
    member_id = joined.json()["user"]["id"]
    w: dict[str, Any] = (
        await owner_a.post("/api/v1/widgets", headers=csrf, json={"name": "Help"})
    ).json()
    conv = (await visitor_b.post(f"/api/v1/widgets/{w['id']}/conversations", json={})).json()
    cid = conv["conversation_id"]
    inbox = b_url(member_b, "/api/v1/inbox/ws")
    async with (
        aconnect_ws(inbox, member_b) as member_socket,
        aconnect_ws(b_url(owner_b, "/api/v1/inbox/ws"), owner_b) as owner_socket,
        aconnect_ws(
            b_url(visitor_b, f"/api/v1/conversations/{cid}/ws"),
            visitor_b,
            subprotocols=offer(conv["visitor_token"]),
        ) as visitor_socket,
    ):
        for ws in (member_socket, owner_socket, visitor_socket):
            await _ready(ws)
        # Through process A: the member is removed, then a reply goes out.
        removed = await owner_a.delete(f"/api/v1/members/{member_id}", headers=csrf)
        assert removed.status_code == 204
        reply = await owner_a.post(
            f"/api/v1/conversations/{cid}/reply", headers=csrf, json={"content": MARKER}
        )
        assert reply.status_code == 201, reply.text
        got = await asyncio.gather(*(_outcome(ws) for ws in (member_socket, owner_socket)))
        assert got == [4401, "open"]
        assert await _outcome(visitor_socket) == "open"
        # Through process A again: the widget goes, and the visitor's socket on B with it.
        assert (await owner_a.delete(f"/api/v1/widgets/{w['id']}", headers=csrf)).status_code == 204
        assert await _outcome(visitor_socket) == 4404


def b_url(client: httpx.AsyncClient, path: str) -> str:
    return str(client.base_url).rstrip("/") + path
