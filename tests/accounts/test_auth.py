"""Owner sign-up, sign-in, sessions, CSRF and API keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, signup

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def test_signup_sets_http_only_cookie_and_returns_csrf(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/v1/auth/signup", json={"email": "Ada@Example.com", "password": "long enough"}
    )
    assert resp.status_code == 201
    body = resp.json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["workspace"]["name"]
    assert len(body["csrf_token"]) > 20
    cookie = resp.headers["set-cookie"]
    assert "porch_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["user"]["email"] == "ada@example.com"


async def test_second_signup_closed_by_default(app: FastAPI) -> None:
    await signup(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
        resp = await other.post(
            "/api/v1/auth/signup", json={"email": "b@example.com", "password": "long enough"}
        )
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "signup_closed"


@pytest.mark.settings(allow_signup=True)
async def test_duplicate_email_conflicts(app: FastAPI) -> None:
    await signup(app, "same@example.com")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
        resp = await other.post(
            "/api/v1/auth/signup", json={"email": "same@example.com", "password": "long enough"}
        )
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "email_taken"


async def test_login_logout_and_wrong_password(owner: OwnerClient, app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as fresh:
        bad = await fresh.post(
            "/api/v1/auth/login", json={"email": owner.email, "password": "wrong password"}
        )
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "invalid_credentials"
        unknown = await fresh.post(
            "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"}
        )
        assert unknown.status_code == 401
        assert unknown.json()["error"]["message"] == bad.json()["error"]["message"]
        ok = await fresh.post(
            "/api/v1/auth/login", json={"email": owner.email, "password": "correct horse"}
        )
        assert ok.status_code == 200
        csrf = ok.json()["csrf_token"]
        out = await fresh.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        gone = await fresh.get("/api/v1/auth/me")
        assert gone.status_code == 401


async def test_cookie_writes_need_csrf(owner: OwnerClient) -> None:
    missing = await owner.http.post("/api/v1/widgets", json={"name": "x"})
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = await owner.http.post(
        "/api/v1/widgets", json={"name": "x"}, headers={"X-CSRF-Token": "nope"}
    )
    assert wrong.status_code == 403
    ok = await owner.post("/api/v1/widgets", json={"name": "x"})
    assert ok.status_code == 201


async def test_api_key_shown_once_stored_hashed_and_revocable(
    owner: OwnerClient, app: FastAPI
) -> None:
    created = await owner.post("/api/v1/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("porch_sk_")
    listed = (await owner.get("/api/v1/api-keys")).json()["api_keys"]
    assert listed[0]["last4"] == key[-4:] and "key" not in listed[0]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {key}"}
    ) as bot:
        # API keys need no CSRF token.
        made = await bot.post("/api/v1/widgets", json={"name": "from automation"})
        assert made.status_code == 201
        assert made.json()["workspace_id"] == owner.workspace_id
        revoked = await owner.delete(f"/api/v1/api-keys/{created.json()['id']}")
        assert revoked.status_code == 204
        after = await bot.get("/api/v1/widgets")
        assert after.status_code == 401
        assert after.json()["error"]["code"] == "invalid_api_key"

    from sqlalchemy import text

    state = app.state.porch
    async with state.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash FROM api_keys"))).scalars().all()
    assert key not in stored


async def test_bad_bodies_are_clear_400s(client: httpx.AsyncClient) -> None:
    cases = [
        (b"{not json", "malformed_json"),
        (b'{"email": 5, "password": "long enough"}', "validation_error"),
        (b'{"email": "not-an-email", "password": "long enough"}', "validation_error"),
        (b'{"email": "a@example.com", "password": "short"}', "validation_error"),
        (
            b'{"email": "a@example.com", "password": "long enough", "admin": true}',
            "validation_error",
        ),
    ]
    for body, code in cases:
        resp = await client.post(
            "/api/v1/auth/signup", content=body, headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 400, (body, resp.text)
        error = resp.json()["error"]
        assert error["code"] == code and error["message"] and error["request_id"]
