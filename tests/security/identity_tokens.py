"""Identity tokens as a site's server mints them (docs/security.md has it in Python and Node)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from tests.conftest import OwnerClient


async def identity_secret(owner: OwnerClient, widget_id: str) -> str:
    resp = await owner.post(f"/api/v1/widgets/{widget_id}/identity-secret")
    assert resp.status_code == 201, resp.text
    return str(resp.json()["identity_secret"])


def mint(secret: str, sub: str | None, *, ttl: int = 600, **claims: Any) -> str:
    """An HS256 token for `sub` that expires in `ttl` seconds, with `claims` as attributes."""
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now, "exp": now + ttl, **claims}
    if sub is not None:
        payload["sub"] = sub
    return jwt.encode(payload, secret, algorithm="HS256")


async def start(client: httpx.AsyncClient, widget_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/widgets/{widget_id}/conversations", json=body)
