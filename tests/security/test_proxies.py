"""X-Forwarded-For is believed only from PORCH_TRUSTED_PROXIES (none by default): anything
on the same machine, or anywhere, that sets it cannot pass a per-IP limit by changing it,
and `porch serve` leaves uvicorn's own trust of loopback off."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from porch import cli
from porch.settings import Settings
from tests.conftest import OwnerClient, make_widget


def _from(app: FastAPI, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40500))
    return httpx.AsyncClient(transport=transport, base_url="http://porch.test")


async def _starts(app: FastAPI, w: dict[str, Any], peer: str, forwarded: list[str]) -> list[int]:
    async with _from(app, peer) as c:
        url = f"/api/v1/widgets/{w['id']}/conversations"
        return [
            (await c.post(url, json={}, headers={"X-Forwarded-For": f})).status_code
            for f in forwarded
        ]


ROTATING = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]


async def test_by_default_no_peer_is_a_proxy(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner, limits={"conversations_per_ip_per_hour": 2})
    # From this machine, as a process next to porch would send it: still one client.
    assert await _starts(app, w, "127.0.0.1", ROTATING) == [201, 201, 429]
    assert await _starts(app, w, "203.0.113.50", ROTATING) == [201, 201, 429]


@pytest.mark.settings(trusted_proxies="127.0.0.1, 10.0.0.0/8")
async def test_a_trusted_proxy_names_the_client(app: FastAPI, owner: OwnerClient) -> None:
    w = await make_widget(owner, limits={"conversations_per_ip_per_hour": 2})
    assert await _starts(app, w, "127.0.0.1", ROTATING) == [201, 201, 201]
    assert await _starts(app, w, "10.1.2.3", ["198.51.100.1", "198.51.100.1"]) == [201, 429]
    # Anyone else's header is still ignored.
    assert await _starts(app, w, "203.0.113.50", ROTATING) == [201, 201, 429]


@pytest.mark.parametrize("value", ["10.0.0.1,nope", "example.com", "10.0.0.0/33"])
def test_the_setting_names_a_bad_entry(value: str) -> None:
    from porch.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="PORCH_TRUSTED_PROXIES"):
        load_settings(trusted_proxies=value)


def test_porch_serve_leaves_uvicorns_proxy_trust_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(cli, "_settings", lambda: Settings(data_dir=tmp_path))
    result = CliRunner().invoke(cli.app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False
    assert "forwarded_allow_ips" not in seen
