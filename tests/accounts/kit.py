"""Helpers for team tests: members of a workspace in each role, signed in with their own
clients (real invitations, real sign-ups)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import OwnerClient

PASSWORD = "correct horse"


def new_http(app: FastAPI, ip: str = "192.0.2.10") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40100))
    return httpx.AsyncClient(transport=transport, base_url="http://porch.test")


async def invite(owner: OwnerClient, role: str, **body: Any) -> dict[str, Any]:
    resp = await owner.post("/api/v1/invitations", json={"role": role, **body})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def join_by_signup(
    app: FastAPI, token: str, email: str | None = None
) -> tuple[OwnerClient, httpx.Response]:
    http = new_http(app)
    email = email or f"member-{uuid.uuid4().hex[:8]}@example.com"
    resp = await http.post(
        "/api/v1/auth/signup",
        json={"email": email, "password": PASSWORD, "invitation_token": token},
    )
    body = resp.json()
    csrf = body.get("csrf_token", "") if resp.status_code == 201 else ""
    workspace = body.get("workspace", {}).get("id", "") if resp.status_code == 201 else ""
    return OwnerClient(http, csrf, workspace, email), resp


async def member(app: FastAPI, owner: OwnerClient, role: str) -> OwnerClient:
    """A new account that joined `owner`'s workspace with `role`."""
    invitation = await invite(owner, role)
    client, resp = await join_by_signup(app, invitation["token"])
    assert resp.status_code == 201, resp.text
    assert client.workspace_id == owner.workspace_id
    return client


async def sign_in(app: FastAPI, email: str, ip: str = "192.0.2.20") -> OwnerClient:
    http = new_http(app, ip)
    resp = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return OwnerClient(http, body["csrf_token"], body["workspace"]["id"], email)


async def api_key(owner: OwnerClient, role: str | None = None) -> str:
    body: dict[str, Any] = {"name": f"key-{role or 'default'}"}
    if role:
        body["role"] = role
    resp = await owner.post("/api/v1/api-keys", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["key"])


def key_client(app: FastAPI, key: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.30", 40200))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://porch.test",
        headers={"Authorization": f"Bearer {key}"},
    )
