"""/metrics and /status tell versions, the model, breakers, queues and traffic: by default
they answer only this machine, and only requests that came through no proxy; with
PORCH_OPS_TOKEN they answer its bearer from anywhere. /health, /live and /ready stay
public."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
GUARDED = ["/metrics", "/status"]
PUBLIC = ["/health", "/live", "/healthz", "/ready", "/readyz"]


def _from(app: FastAPI, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40600))
    return httpx.AsyncClient(transport=transport, base_url="http://porch.test")


async def test_only_this_machine_by_default(app: FastAPI) -> None:
    async with _from(app, "203.0.113.7") as remote, _from(app, "127.0.0.1") as local:
        for path in GUARDED:
            refused = await remote.get(path)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "ops_local_only"
            assert "PORCH_OPS_TOKEN" in refused.json()["error"]["message"]
            assert (await local.get(path)).status_code == 200, path
            # Through a proxy on this machine: not this machine's request.
            proxied = await local.get(path, headers={"X-Forwarded-For": "203.0.113.7"})
            assert proxied.status_code == 403, path
            ipv6 = _from(app, "::1")
            async with ipv6:
                assert (await ipv6.get(path)).status_code == 200
        for path in PUBLIC:
            assert (await remote.get(path)).status_code == 200, path


@pytest.mark.settings(ops_token="ops-secret-token")
async def test_the_token_opens_them_from_anywhere(app: FastAPI) -> None:
    async with _from(app, "203.0.113.7") as remote, _from(app, "127.0.0.1") as local:
        for path in GUARDED:
            for client, headers in (
                (remote, {}),
                (remote, {"Authorization": "Bearer wrong"}),
                (remote, {"Authorization": "Basic ops-secret-token"}),
                (local, {}),  # with a token set, this machine needs it too
            ):
                resp = await client.get(path, headers=headers)
                assert resp.status_code == 401, (path, headers)
                assert resp.json()["error"]["code"] == "ops_token_required"
                assert resp.headers["www-authenticate"] == "Bearer"
            ok = await remote.get(path, headers={"Authorization": "Bearer ops-secret-token"})
            assert ok.status_code == 200, path
        for path in PUBLIC:
            assert (await remote.get(path)).status_code == 200, path
