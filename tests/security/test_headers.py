"""Security headers everywhere; HSTS and Secure cookies only over HTTPS; no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import OwnerClient, make_widget

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "porch"


async def test_every_kind_of_response_has_the_headers(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    for url in (
        "/api/v1/widgets",  # owner API
        f"/api/v1/widgets/{w['id']}/public",  # routed, then from the fast path
        f"/api/v1/widgets/{w['id']}/public",
        f"/w/{w['id']}",
        "/widget.js",
        "/api/v1/no-such-route",
    ):
        resp = await owner.get(url)
        assert resp.headers["x-content-type-options"] == "nosniff", url
        assert resp.headers["referrer-policy"] == "strict-origin-when-cross-origin", url
        assert "strict-transport-security" not in resp.headers, url  # plain HTTP here
    login = await client.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": "correct horse"}
    )
    assert "secure" not in login.headers["set-cookie"].lower()


@pytest.mark.settings(public_url="https://chat.example.com")
async def test_https_deployments_get_hsts_and_secure_cookies(client: httpx.AsyncClient) -> None:
    signup = await client.post(
        "/api/v1/auth/signup", json={"email": "ann@example.com", "password": "correct horse"}
    )
    assert signup.status_code == 201
    cookie = signup.headers["set-cookie"].lower()
    assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    for url in ("/api/v1/widgets", "/app/login", "/health", "/api/v1/no-such-route"):
        resp = await client.get(url)
        assert resp.headers["strict-transport-security"].startswith("max-age="), url


async def test_dashboard_csp_is_strict_and_pages_hold_no_inline_script(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    for url in (
        "/app/login",
        "/app/",
        f"/app/widgets/{w['id']}",
        f"/app/widgets/{w['id']}/knowledge",
    ):
        resp = await (client.get(url) if url == "/app/login" else owner.get(url))
        assert resp.status_code == 200, url
        csp = resp.headers["content-security-policy"]
        assert (
            "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        )
        assert "frame-ancestors 'none'" in csp
        _no_inline_script(resp.text, url)


def _no_inline_script(html: str, where: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html, re.I):
        assert "src=" in tag or 'type="application/json"' in tag, (where, tag)
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), where  # no onclick= and friends
    assert "javascript:" not in html.lower(), where


def test_templates_hold_no_inline_script() -> None:
    for template in TEMPLATES.glob("*/templates/*.html"):
        text = template.read_text()
        if template.name == "demo.html":
            continue  # the demo host page stands in for a customer's site
        _no_inline_script(text, str(template))
