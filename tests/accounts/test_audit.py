"""The audit log: who changed what, written by the services, read by owners and admins."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.accounts.kit import api_key, key_client, member
from tests.conftest import BOTH, OwnerClient, make_widget

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def test_owner_actions_recorded_newest_first_without_secrets(
    owner: OwnerClient, app: FastAPI
) -> None:
    widget = await make_widget(owner, name="Help")
    secret_prompt = "You are the Acme bot. Internal code kumquat-pelican."
    patched = await owner.patch(
        f"/api/v1/widgets/{widget['id']}", json={"system_prompt": secret_prompt, "title": "Hi"}
    )
    assert patched.status_code == 200
    source = await owner.post(
        f"/api/v1/widgets/{widget['id']}/sources",
        json={"type": "text", "title": "FAQ", "text": "Plans cost $12 per month."},
    )
    key = await api_key(owner, "admin")
    agent = await member(app, owner, "agent")
    agent_id = (await agent.get("/api/v1/auth/me")).json()["user"]["id"]
    assert (await owner.patch(f"/api/v1/members/{agent_id}", json={"role": "admin"})).is_success
    async with key_client(app, key) as bot:
        assert (await bot.delete(f"/api/v1/widgets/{widget['id']}")).status_code == 204

    log = await owner.get("/api/v1/audit-log")
    assert log.status_code == 200
    events = log.json()["events"]
    actions = [e["action"] for e in events]
    assert actions == [
        "widget.deleted",
        "member.role_changed",
        "member.joined",
        "invitation.created",
        "api_key.created",
        "source.created",
        "widget.updated",
        "widget.created",
        "workspace.created",
    ]
    by_action = {e["action"]: e for e in events}
    updated = by_action["widget.updated"]
    assert updated["changes"]["fields"] == ["system_prompt", "title"]
    # Old -> new for what changed; the prompt (internal instructions) only as changed.
    assert updated["changes"]["changed"]["title"][1] == "Hi"
    assert updated["changes"]["changed"]["system_prompt"][1] == "•••"
    assert updated["target_type"] == "widget" and updated["target_id"] == widget["id"]
    assert updated["actor"]["email"] == owner.email and updated["actor"]["via"] == "session"
    assert updated["ip"] == "198.51.100.9"
    assert by_action["source.created"]["target_id"] == source.json()["source_id"]
    assert by_action["member.role_changed"]["changes"] == {"before": "agent", "after": "admin"}
    assert by_action["member.joined"]["actor"]["email"] == agent.email
    deleted = by_action["widget.deleted"]
    assert deleted["actor"]["via"] == "api_key" and deleted["actor"]["api_key_id"]
    # Never the prompt's text, keys or tokens.
    assert secret_prompt not in log.text and key not in log.text and "kumquat" not in log.text

    # Paged: newest first, the cursor continues where the page ended.
    first = (await owner.get("/api/v1/audit-log?limit=4")).json()
    assert [e["action"] for e in first["events"]] == actions[:4]
    rest = (await owner.get(f"/api/v1/audit-log?limit=50&cursor={first['next_cursor']}")).json()
    assert [e["action"] for e in rest["events"]] == actions[4:]
    assert rest["next_cursor"] is None
    bad = await owner.get("/api/v1/audit-log?cursor=nope")
    assert bad.status_code == 400

    # Admins read it (the agent was just promoted); agents do not.
    assert (await agent.get("/api/v1/audit-log")).status_code == 200
    demoted = await owner.patch(f"/api/v1/members/{agent_id}", json={"role": "agent"})
    assert demoted.is_success
    refused = await agent.get("/api/v1/audit-log")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden_role"
    await agent.http.aclose()


async def test_dashboard_audit_and_team_pages(owner: OwnerClient, app: FastAPI) -> None:
    await make_widget(owner, name="<script>alert(1)</script>")
    agent = await member(app, owner, "agent")
    page = await owner.get("/app/audit")
    assert page.status_code == 200
    assert "widget.created" in page.text and owner.email in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in page.text.replace('<script src="', "")

    team = await owner.get("/app/team")
    assert team.status_code == 200
    assert agent.email in team.text and 'id="invite-form"' in team.text
    assert "team.js" in team.text
    # An agent sees the team, without the owner's controls, and no audit log.
    agent_team = await agent.get("/app/team")
    assert agent_team.status_code == 200 and 'id="invite-form"' not in agent_team.text
    assert (await agent.get("/app/audit")).status_code == 403
    assert (await agent.get("/app/api-keys")).status_code == 403
    join = await agent.http.get("/app/join")
    assert join.status_code == 200 and 'id="join"' in join.text
    script = await owner.get("/app/static/team.js")
    assert script.status_code == 200 and "invitations/accept" in script.text
    await agent.http.aclose()


async def test_widget_update_records_only_what_changed(owner: OwnerClient) -> None:
    widget = await make_widget(owner, name="Help")
    full = (await owner.get(f"/api/v1/widgets/{widget['id']}")).json()
    # The settings form sends every field back; only the greeting differs.
    body = {
        k: full[k]
        for k in ("name", "title", "subtitle", "theme", "position", "suggested_questions")
        if k in full
    }
    body["greeting"] = "Hello there"
    assert (await owner.patch(f"/api/v1/widgets/{widget['id']}", json=body)).status_code == 200
    # The same body again changes nothing and logs nothing.
    assert (await owner.patch(f"/api/v1/widgets/{widget['id']}", json=body)).status_code == 200
    events = (await owner.get("/api/v1/audit-log")).json()["events"]
    updates = [e for e in events if e["action"] == "widget.updated"]
    assert len(updates) == 1
    assert updates[0]["changes"]["fields"] == ["greeting"]
    assert updates[0]["changes"]["changed"] == {"greeting": [full["greeting"], "Hello there"]}
    page = await owner.get("/app/audit")
    assert "Hello there" in page.text and "→" in page.text
