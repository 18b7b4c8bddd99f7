"""The demo page: its script comes from the configured public URL (never the request's Host
header, which the client chooses), it carries the chat page's CSP, and in production it is
off unless PORCH_DEMO_PAGE turns it on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from porch.web import pages
from tests.conftest import OwnerClient, make_widget

PUBLIC = "http://chat.example.com"  # not https: the test client keeps no Secure cookie


@pytest.mark.settings(public_url="http://127.0.0.1:8000")
async def test_the_script_comes_from_the_public_url_not_the_host_header(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    resp = await client.get("/demo", headers={"Host": "evil.example", "X-Forwarded-Host": "x"})
    assert resp.status_code == 200, resp.text
    assert f'<script src="http://127.0.0.1:8000/widget.js" data-widget-id="{w["id"]}"' in resp.text
    assert "evil.example" not in resp.text


@pytest.mark.settings(public_url=PUBLIC, demo_page=True)
async def test_it_carries_the_chat_pages_policy(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    chat = await client.get(f"/w/{w['id']}")
    demo = await client.get("/demo")
    assert demo.status_code == 200
    policy = _directives(demo.headers["content-security-policy"])
    chat_policy = _directives(chat.headers["content-security-policy"])
    assert set(policy) == set(chat_policy)
    for name in ("script-src", "connect-src", "frame-src", "default-src"):
        assert policy[name] == ["'self'", PUBLIC], name
    for name in ("style-src", "img-src", "font-src", "object-src", "base-uri", "form-action"):
        assert policy[name] == chat_policy[name], name
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in demo.headers["content-security-policy"]
    assert f'src="{PUBLIC}/widget.js"' in demo.text


def _directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize(
    ("settings_kw", "on"),
    [
        ({}, True),  # development, public URL on loopback
        ({"public_url": "http://localhost:3000"}, True),
        ({"env": "production"}, False),
        ({"public_url": PUBLIC}, False),
        ({"public_url": "http://10.0.0.5:8000"}, False),
        ({"env": "production", "demo_page": True}, True),
        ({"public_url": PUBLIC, "demo_page": True}, True),
        ({"demo_page": False}, False),
    ],
)
def test_off_in_production_unless_turned_on(settings_kw: dict[str, Any], on: bool) -> None:
    from porch.settings import Settings

    assert Settings(**settings_kw).demo_enabled is on


@pytest.mark.settings(env="production")
async def test_production_answers_404(owner: OwnerClient, client: httpx.AsyncClient) -> None:
    await make_widget(owner)
    resp = await client.get("/demo")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "demo_off"


def test_a_public_url_with_a_path_gives_its_origin() -> None:
    policy = _directives(pages.demo_csp("https://example.com/porch"))
    assert policy["script-src"] == ["'self'", "https://example.com"]
