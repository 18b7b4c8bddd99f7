"""The first run, as the README tells it: the first owner signs up, later sign-ups follow
PORCH_ALLOW_SIGNUP, the login page offers sign-up only when it is open, and the tour's
requests (cookie + CSRF for the API key, then the key) work in that order; /docs is served
from porch itself."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

FIRST = {"email": "me@example.com", "password": "a long password"}


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://porch")


async def test_first_owner_signs_up_then_signup_closes(app: FastAPI) -> None:
    async with _client(app) as http:
        login = await http.get("/app/login")
        assert 'data-testid="signup-link"' in login.text  # nobody yet: the first may sign up
        assert (await http.post("/api/v1/auth/signup", json=FIRST)).status_code == 201
    async with _client(app) as http:
        login = await http.get("/app/login")
        assert login.status_code == 200
        assert 'data-testid="signup-link"' not in login.text
        assert "/app/signup" not in login.text
        page = await http.get("/app/signup")
        assert 'data-testid="signup-closed"' in page.text
        assert "signup-form" not in page.text
        refused = await http.post(
            "/api/v1/auth/signup", json={"email": "two@example.com", "password": "a long password"}
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "signup_closed"
        assert "PORCH_ALLOW_SIGNUP" in refused.json()["error"]["message"]


@pytest.mark.settings(allow_signup=True)
async def test_open_signup_is_offered_to_everyone(app: FastAPI) -> None:
    async with _client(app) as http:
        assert (await http.post("/api/v1/auth/signup", json=FIRST)).status_code == 201
    async with _client(app) as http:
        assert 'data-testid="signup-link"' in (await http.get("/app/login")).text
        assert 'data-testid="signup-form"' in (await http.get("/app/signup")).text
        second = {"email": "two@example.com", "password": "a long password"}
        assert (await http.post("/api/v1/auth/signup", json=second)).status_code == 201


async def test_readme_tour_in_order(app: FastAPI) -> None:
    async with _client(app) as http:
        signed = await http.post("/api/v1/auth/signup", json=FIRST)
        assert signed.status_code == 201
        csrf = signed.json()["csrf_token"]
        # Without the CSRF header a cookie-signed request is refused, as the README says.
        bare = await http.post("/api/v1/api-keys", json={"name": "scripts"})
        assert bare.status_code == 403
        made = await http.post(
            "/api/v1/api-keys", json={"name": "scripts"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert key.startswith("porch_sk_")
    async with _client(app) as http:  # no cookie from here on: the key alone
        auth = {"Authorization": f"Bearer {key}"}
        widget = await http.post(
            "/api/v1/widgets",
            headers=auth,
            json={
                "name": "Help",
                "greeting": "Hi! How can I help?",
                "allowed_origins": ["https://shop.example"],
                "limits": {"visitor_messages_per_minute": 10},
            },
        )
        assert widget.status_code == 201, widget.text
        wid = widget.json()["id"]
        source = await http.post(
            f"/api/v1/widgets/{wid}/sources",
            headers=auth,
            json={
                "type": "text",
                "title": "Refunds",
                "text": "Annual plans are refunded pro rata within 30 days.",
            },
        )
        assert source.status_code == 202, source.text
        embed = await http.get(f"/api/v1/widgets/{wid}/embed", headers=auth)
        assert wid in embed.json()["snippet"]


async def test_docs_served_without_a_cdn(app: FastAPI) -> None:
    async with _client(app) as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        assert "cdn." not in page.text and "https://" not in page.text
        for path in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert f"/docs/assets/{path}" in page.text
            asset = await http.get(f"/docs/assets/{path}")
            assert asset.status_code == 200 and len(asset.content) > 10_000
            assert "immutable" in asset.headers["cache-control"]
        assert (await http.get("/docs/assets/../../etc/passwd")).status_code == 404
        assert (await http.get("/docs/assets/index.html")).status_code == 404
        assert (await http.get("/redoc")).status_code == 404
