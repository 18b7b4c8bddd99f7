"""Workspaces, roles, invitations, members and switching, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from porch.models import Invitation
from porch.models.base import utcnow
from tests.accounts.kit import (
    PASSWORD,
    api_key,
    invite,
    join_by_signup,
    key_client,
    member,
    new_http,
)
from tests.conftest import BOTH, OwnerClient, make_widget, signup

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def test_invitation_link_shown_once_stored_hashed_and_used_once(
    owner: OwnerClient, app: FastAPI
) -> None:
    created = await invite(owner, "admin")
    token = created["token"]
    assert created["url"].endswith(f"/app/join#{token}")
    assert created["role"] == "admin" and created["expires_at"]
    listed = (await owner.get("/api/v1/invitations")).json()["invitations"]
    assert [i["id"] for i in listed] == [created["id"]]
    assert "token" not in listed[0] and "url" not in listed[0]
    async with app.state.porch.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT token_hash FROM invitations"))).scalars().all()
    assert token not in stored and len(stored) == 1

    # Sign-up is closed (the first owner exists), yet the invitation opens it for this person.
    joined, resp = await join_by_signup(app, token)
    assert resp.status_code == 201, resp.text
    assert resp.json()["workspace"] == {
        "id": owner.workspace_id,
        "name": resp.json()["workspace"]["name"],
        "role": "admin",
    }
    again, second = await join_by_signup(app, token)
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "invalid_invitation"
    assert (await owner.get("/api/v1/invitations")).json()["invitations"] == []
    members = (await owner.get("/api/v1/members")).json()["members"]
    assert {(m["email"], m["role"]) for m in members} == {
        (owner.email, "owner"),
        (joined.email, "admin"),
    }
    for c in (joined, again):
        await c.http.aclose()


async def test_expired_revoked_and_email_bound_invitations_refused(
    owner: OwnerClient, app: FastAPI
) -> None:
    expired = await invite(owner, "agent")
    async with app.state.porch.sessionmaker() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.id == uuid.UUID(expired["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    c1, resp = await join_by_signup(app, expired["token"])
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_invitation"

    revoked = await invite(owner, "agent")
    assert (await owner.delete(f"/api/v1/invitations/{revoked['id']}")).status_code == 204
    c2, resp = await join_by_signup(app, revoked["token"])
    assert resp.status_code == 400

    bound = await invite(owner, "agent", email="Right@Example.com")
    assert bound["email"] == "right@example.com"
    c3, resp = await join_by_signup(app, bound["token"], email="wrong@example.com")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invitation_email_mismatch"
    # The refused attempt changed nothing: the right person can still use it.
    c4, resp = await join_by_signup(app, bound["token"], email="right@example.com")
    assert resp.status_code == 201, resp.text

    c5, resp = await join_by_signup(app, "pi_not-a-real-token")
    assert resp.status_code == 400
    for c in (c1, c2, c3, c4, c5):
        await c.http.aclose()


@pytest.mark.settings(allow_signup=True)
async def test_signed_in_user_accepts_lists_and_switches_workspaces(
    owner: OwnerClient, app: FastAPI
) -> None:
    other = await signup(app)  # an owner of a workspace of their own
    widget_a = await make_widget(owner, name="in A")
    token = (await invite(owner, "agent"))["token"]

    accepted = await other.post("/api/v1/invitations/accept", json={"token": token})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["workspace"]["id"] == owner.workspace_id
    assert accepted.json()["workspace"]["role"] == "agent"
    # The session now acts in A, as an agent.
    me = (await other.get("/api/v1/auth/me")).json()
    assert me["workspace"]["id"] == owner.workspace_id
    listed = (await other.get("/api/v1/widgets")).json()["widgets"]
    assert [w["id"] for w in listed] == [widget_a["id"]]
    denied = await other.patch(f"/api/v1/widgets/{widget_a['id']}", json={"title": "x"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden_role"

    mine = (await other.get("/api/v1/workspaces")).json()["workspaces"]
    assert {(w["id"], w["role"], w["active"]) for w in mine} == {
        (other.workspace_id, "owner", False),
        (owner.workspace_id, "agent", True),
    }
    back = await other.post(f"/api/v1/workspaces/{other.workspace_id}/switch")
    assert back.status_code == 200 and back.json()["workspace"]["role"] == "owner"
    assert (await other.get("/api/v1/widgets")).json()["widgets"] == []
    # Owner in its own workspace again: widget A is not found there, not forbidden.
    gone = await other.get(f"/api/v1/widgets/{widget_a['id']}")
    assert gone.status_code == 404

    stranger = await signup(app)
    nope = await stranger.post(f"/api/v1/workspaces/{owner.workspace_id}/switch")
    assert nope.status_code == 404
    reused = await stranger.post("/api/v1/invitations/accept", json={"token": token})
    assert reused.status_code == 400
    twice = await invite(owner, "admin")
    already = await other.post("/api/v1/invitations/accept", json={"token": twice["token"]})
    assert already.status_code == 409 and already.json()["error"]["code"] == "already_member"
    for c in (other, stranger):
        await c.http.aclose()


async def test_role_changes_and_the_last_owner(owner: OwnerClient, app: FastAPI) -> None:
    agent = await member(app, owner, "agent")
    me = (await agent.get("/api/v1/auth/me")).json()
    agent_id = me["user"]["id"]
    owner_id = (await owner.get("/api/v1/auth/me")).json()["user"]["id"]

    demote_self = await owner.patch(f"/api/v1/members/{owner_id}", json={"role": "admin"})
    assert demote_self.status_code == 409 and demote_self.json()["error"]["code"] == "last_owner"
    remove_self = await owner.delete(f"/api/v1/members/{owner_id}")
    assert remove_self.status_code == 409

    # Agents and admins manage no one.
    by_agent = await agent.patch(f"/api/v1/members/{agent_id}", json={"role": "owner"})
    assert by_agent.status_code == 403 and by_agent.json()["error"]["code"] == "forbidden_role"

    promoted = await owner.patch(f"/api/v1/members/{agent_id}", json={"role": "owner"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    # Takes effect on the member's very next request.
    assert (await agent.get("/api/v1/auth/me")).json()["workspace"]["role"] == "owner"
    # With two owners, one may step down.
    step_down = await owner.patch(f"/api/v1/members/{owner_id}", json={"role": "admin"})
    assert step_down.status_code == 200
    bad = await agent.patch(f"/api/v1/members/{owner_id}", json={"role": "boss"})
    assert bad.status_code == 400

    removed = await agent.delete(f"/api/v1/members/{owner_id}")
    assert removed.status_code == 204
    # The removed account had no other workspace: its session is over.
    after = await owner.get("/api/v1/widgets")
    assert after.status_code == 401
    missing = await agent.delete(f"/api/v1/members/{owner_id}")
    assert missing.status_code == 404
    await agent.http.aclose()


@pytest.mark.settings(allow_signup=True)
async def test_rename_and_delete_workspace(owner: OwnerClient, app: FastAPI) -> None:
    admin = await member(app, owner, "admin")
    widget = await make_widget(owner)
    ws = owner.workspace_id

    forbidden = await admin.patch(f"/api/v1/workspaces/{ws}", json={"name": "Mine now"})
    assert forbidden.status_code == 403
    renamed = await owner.patch(f"/api/v1/workspaces/{ws}", json={"name": "  Acme  "})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme"
    blank = await owner.patch(f"/api/v1/workspaces/{ws}", json={"name": "   "})
    assert blank.status_code == 400

    # The owner also has a second workspace; the admin has only this one.
    second = await owner.post("/api/v1/workspaces", json={"name": "Second"})
    assert second.status_code == 201
    assert (await admin.delete(f"/api/v1/workspaces/{ws}")).status_code == 403
    deleted = await owner.delete(f"/api/v1/workspaces/{ws}")
    assert deleted.status_code == 204
    # The owner's session moved to the other workspace; the admin's ended.
    me = (await owner.get("/api/v1/auth/me")).json()
    assert me["workspace"]["id"] == second.json()["id"]
    assert (await admin.get("/api/v1/auth/me")).status_code == 401
    gone = await owner.get(f"/api/v1/widgets/{widget['id']}")
    assert gone.status_code == 404
    public = await owner.http.get(f"/api/v1/widgets/{widget['id']}/public")
    assert public.status_code == 404
    # A workspace id that is not the active one is "not found", even one's own.
    other = await owner.patch(f"/api/v1/workspaces/{ws}", json={"name": "x"})
    assert other.status_code == 404
    await admin.http.aclose()


async def test_removed_member_api_keys_stop(owner: OwnerClient, app: FastAPI) -> None:
    admin = await member(app, owner, "admin")
    key = await api_key(admin)
    async with key_client(app, key) as bot:
        assert (await bot.get("/api/v1/widgets")).status_code == 200
        admin_id = (await admin.get("/api/v1/auth/me")).json()["user"]["id"]
        assert (await owner.delete(f"/api/v1/members/{admin_id}")).status_code == 204
        assert (await bot.get("/api/v1/widgets")).status_code == 401
    # The account still exists and can sign in, but belongs to no workspace.
    http = new_http(app)
    resp = await http.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "no_workspace"
    await http.aclose()
    await admin.http.aclose()
    async with app.state.porch.sessionmaker() as session:
        # The invitation it joined with is used up.
        assert (await session.execute(select(Invitation))).first() is None
