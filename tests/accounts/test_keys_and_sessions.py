"""API keys scoped to a workspace and a role; sign-in throttling, session rotation and
signing out everywhere. On SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import update

from porch.app import create_app
from porch.models import ApiKey
from porch.settings import Settings
from tests.accounts.kit import PASSWORD, api_key, key_client, member, new_http, sign_in
from tests.conftest import BOTH, OwnerClient, make_widget

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def test_key_roles_default_admin_never_above_creator(
    owner: OwnerClient, app: FastAPI
) -> None:
    default = await owner.post("/api/v1/api-keys", json={"name": "ci"})
    assert default.status_code == 201 and default.json()["role"] == "admin"
    listed = (await owner.get("/api/v1/api-keys")).json()["api_keys"]
    assert listed[0]["prefix"] == "porch_sk_" and listed[0]["last4"] == default.json()["key"][-4:]
    assert "key" not in listed[0] and "key_hash" not in listed[0]

    admin = await member(app, owner, "admin")
    too_high = await admin.post("/api/v1/api-keys", json={"name": "x", "role": "owner"})
    assert too_high.status_code == 403 and too_high.json()["error"]["code"] == "forbidden_role"
    owner_key = await owner.post("/api/v1/api-keys", json={"name": "root", "role": "owner"})
    assert owner_key.status_code == 201
    # An admin may not revoke the owner's key, but the owner may revoke any.
    denied = await admin.delete(f"/api/v1/api-keys/{owner_key.json()['id']}")
    assert denied.status_code == 403
    agent = await member(app, owner, "agent")
    assert (await agent.post("/api/v1/api-keys", json={"name": "a"})).status_code == 403
    assert (await agent.get("/api/v1/api-keys")).status_code == 403
    for c in (admin, agent):
        await c.http.aclose()


async def test_agent_key_reads_the_inbox_but_changes_no_widget(
    owner: OwnerClient, app: FastAPI
) -> None:
    widget = await make_widget(owner)
    key = await api_key(owner, "agent")
    async with key_client(app, key) as bot:
        inbox = await bot.get(f"/api/v1/widgets/{widget['id']}/conversations")
        assert inbox.status_code == 200
        patched = await bot.patch(f"/api/v1/widgets/{widget['id']}", json={"title": "hacked"})
        assert patched.status_code == 403
        assert patched.json()["error"]["code"] == "forbidden_role"
        me = (await bot.get("/api/v1/auth/me")).json()
        assert me["workspace"]["role"] == "agent"


@pytest.mark.settings(allow_signup=True)
async def test_key_acts_in_its_workspace_whatever_the_session_does(
    owner: OwnerClient, app: FastAPI
) -> None:
    key = await api_key(owner)
    second = await owner.post("/api/v1/workspaces", json={"name": "Second"})
    assert (await owner.post(f"/api/v1/workspaces/{second.json()['id']}/switch")).status_code == 200
    async with key_client(app, key) as bot:
        made = await bot.post("/api/v1/widgets", json={"name": "by key"})
        assert made.json()["workspace_id"] == owner.workspace_id
        spaces = (await bot.get("/api/v1/workspaces")).json()["workspaces"]
        assert [w["id"] for w in spaces] == [owner.workspace_id]
        # Keys cannot hop workspaces or make new ones.
        hop = await bot.post(f"/api/v1/workspaces/{second.json()['id']}/switch")
        assert hop.status_code == 400 and hop.json()["error"]["code"] == "session_required"
    # The session, now in the second workspace, does not see the key's widget.
    assert (await owner.get("/api/v1/widgets")).json()["widgets"] == []


async def test_last_used_at_written_at_most_once_a_minute(owner: OwnerClient, app: FastAPI) -> None:
    key = await api_key(owner)
    assert (await owner.get("/api/v1/api-keys")).json()["api_keys"][0]["last_used_at"] is None
    async with key_client(app, key) as bot:
        await bot.get("/api/v1/widgets")
        first = (await owner.get("/api/v1/api-keys")).json()["api_keys"][0]["last_used_at"]
        assert first is not None
        await bot.get("/api/v1/widgets")
        again = (await owner.get("/api/v1/api-keys")).json()["api_keys"][0]["last_used_at"]
        assert again == first  # within the minute: no write
        async with app.state.porch.sessionmaker() as session:
            await session.execute(
                update(ApiKey).values(last_used_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
            await session.commit()
        await bot.get("/api/v1/widgets")
        later = (await owner.get("/api/v1/api-keys")).json()["api_keys"][0]["last_used_at"]
        assert later is not None and not later.startswith("2020") and later >= first


async def _wrong(app: FastAPI, email: str, ip: str) -> int:
    http = new_http(app, ip)
    resp = await http.post("/api/v1/auth/login", json={"email": email, "password": "wrong!"})
    await http.aclose()
    return resp.status_code


async def test_login_throttled_per_account_with_retry_after(
    owner: OwnerClient, app: FastAPI
) -> None:
    for i in range(5):
        assert await _wrong(app, owner.email, f"192.0.2.{100 + i}") == 401
    http = new_http(app, "192.0.2.200")
    # Even the right password is refused now: a guess learns nothing while throttled.
    resp = await http.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    error = resp.json()["error"]
    assert error["code"] == "too_many_attempts"
    assert owner.email not in error["message"]
    # Another account from the same address is unaffected.
    other = await http.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "y"})
    assert other.status_code == 401
    await http.aclose()


async def test_login_throttled_per_address_and_unknown_emails_count(app: FastAPI) -> None:
    ip = "198.18.0.1"
    for i in range(20):
        assert await _wrong(app, f"nobody{i}@example.com", ip) == 401
    assert await _wrong(app, "someone-else@example.com", ip) == 429
    assert await _wrong(app, "someone-else@example.com", "198.18.0.2") == 401


async def test_login_throttle_is_shared_across_processes(
    owner: OwnerClient, app: FastAPI, settings: Settings, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("two processes share counts only through Redis")
    second = create_app(settings)
    async with LifespanManager(second, startup_timeout=30, shutdown_timeout=30):
        for i in range(5):
            target = app if i % 2 else second
            assert await _wrong(target, owner.email, f"192.0.2.{i}") == 401
        assert await _wrong(app, owner.email, "192.0.2.50") == 429
        assert await _wrong(second, owner.email, "192.0.2.51") == 429


async def test_login_rotates_the_session(owner: OwnerClient, app: FastAPI) -> None:
    old_cookie = owner.http.cookies.get("porch_session")
    assert old_cookie
    again = await owner.http.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
    )
    assert again.status_code == 200
    new_cookie = again.cookies.get("porch_session")
    assert new_cookie and new_cookie != old_cookie
    assert again.json()["csrf_token"] != owner.csrf
    # The token the browser held before is worth nothing now.
    stale = new_http(app)
    stale.cookies.set("porch_session", old_cookie)
    assert (await stale.get("/api/v1/auth/me")).status_code == 401
    await stale.aclose()
    assert (await owner.http.get("/api/v1/auth/me")).status_code == 200


async def test_logout_everywhere_ends_every_session(owner: OwnerClient, app: FastAPI) -> None:
    laptop = await sign_in(app, owner.email)
    phone = await sign_in(app, owner.email, ip="192.0.2.21")
    key = await api_key(owner)
    out = await phone.post("/api/v1/auth/logout-everywhere")
    assert out.status_code == 204
    for c in (owner, laptop, phone):
        assert (await c.get("/api/v1/auth/me")).status_code == 401
    # API keys are not sessions: automation keeps working until its key is revoked.
    async with key_client(app, key) as bot:
        assert (await bot.get("/api/v1/widgets")).status_code == 200
    for c in (laptop, phone):
        await c.http.aclose()


async def test_csrf_still_required_for_team_writes(owner: OwnerClient) -> None:
    resp = await owner.http.post("/api/v1/invitations", json={"role": "agent"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "csrf_failed"


async def test_a_key_due_a_touch_leaves_no_write_open_for_the_route(
    owner: OwnerClient, app: FastAPI
) -> None:
    """The touch commits before the route runs: a request whose key was due one once held
    the write lock (SQLite's only one) for all its work, so a slow route failed every other
    writer meanwhile (seen in the API fuzz: 'database is locked')."""
    from porch.accounts import service

    key = await api_key(owner)
    async with app.state.porch.sessionmaker() as session:
        found = await service.owner_from_api_key(session, key)
        assert found is not None
        # Another connection sees the touch at once: it is committed, not pending.
        async with app.state.porch.engine.connect() as other:
            used = await other.scalar(
                ApiKey.__table__.select().with_only_columns(ApiKey.last_used_at)
            )
        assert used is not None
