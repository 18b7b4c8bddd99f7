"""What the security suite walks: every route, classified by who may call it, and a world
with one of everything in workspace A, its members by role, and workspace B next door.

A route the tables here do not know fails `test_every_route_is_classified`
(tests/security/test_tenancy.py): a new route must say who may call it to ship.
"""

from __future__ import annotations

import copy
import re
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from porch.accounts.roles import Role
from tests.accounts.kit import api_key, invite, member
from tests.conftest import OwnerClient, VisitorSession, make_widget, signup, start_conversation

AGENT, ADMIN, OWNER = Role.agent, Role.admin, Role.owner

# The least role each workspace route needs.
ROLES: dict[tuple[str, str], Role] = {
    # inbox: agents read, reply, close, reopen, assign
    ("GET", "/api/v1/widgets"): AGENT,
    ("GET", "/api/v1/widgets/{widget_id}"): AGENT,
    ("GET", "/api/v1/widgets/{widget_id}/conversations"): AGENT,
    ("GET", "/api/v1/conversations/{conversation_id}"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/close"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/reopen"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/reply"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/release"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/read"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/typing"): AGENT,
    ("GET", "/api/v1/inbox/members"): AGENT,
    # actions in the inbox: agents see a conversation's calls, approve them, run actions
    ("GET", "/api/v1/conversations/{conversation_id}/action-calls"): AGENT,
    ("GET", "/api/v1/conversations/{conversation_id}/actions"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/action-calls/{call_id}/approve"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/action-calls/{call_id}/decline"): AGENT,
    ("POST", "/api/v1/conversations/{conversation_id}/actions/{action_id}/run"): AGENT,
    ("GET", "/api/v1/members"): AGENT,
    # widgets, knowledge, analytics, usage, keys, webhooks, the audit log: admins
    ("POST", "/api/v1/widgets"): ADMIN,
    ("PATCH", "/api/v1/widgets/{widget_id}"): ADMIN,
    ("DELETE", "/api/v1/widgets/{widget_id}"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/embed"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/identity-secret"): ADMIN,
    ("DELETE", "/api/v1/widgets/{widget_id}/identity-secret"): ADMIN,
    ("PUT", "/api/v1/widgets/{widget_id}/provider-key"): ADMIN,
    ("DELETE", "/api/v1/widgets/{widget_id}/provider-key"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/sources"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/sources"): ADMIN,
    ("GET", "/api/v1/sources/{source_id}"): ADMIN,
    ("PATCH", "/api/v1/sources/{source_id}"): ADMIN,
    ("DELETE", "/api/v1/sources/{source_id}"): ADMIN,
    ("GET", "/api/v1/sources/{source_id}/pages"): ADMIN,
    ("POST", "/api/v1/sources/{source_id}/resync"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/search"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/context-rules"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/context-rules"): ADMIN,
    ("DELETE", "/api/v1/widgets/{widget_id}/context-rules/{rule_id}"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/analytics"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/conversations.csv"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/usage"): ADMIN,
    ("GET", "/api/v1/usage"): ADMIN,
    ("POST", "/api/v1/api-keys"): ADMIN,
    ("GET", "/api/v1/api-keys"): ADMIN,
    ("DELETE", "/api/v1/api-keys/{key_id}"): ADMIN,
    ("POST", "/api/v1/webhooks"): ADMIN,
    ("GET", "/api/v1/webhooks"): ADMIN,
    ("GET", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): ADMIN,
    ("GET", "/api/v1/audit-log"): ADMIN,
    # privacy: retention, requests from a person, redaction rules, legal holds
    ("GET", "/api/v1/privacy/retention"): ADMIN,
    ("PUT", "/api/v1/privacy/retention"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/retention"): ADMIN,
    ("PUT", "/api/v1/widgets/{widget_id}/retention"): ADMIN,
    ("POST", "/api/v1/privacy/export"): ADMIN,
    ("POST", "/api/v1/privacy/erase"): ADMIN,
    ("GET", "/api/v1/privacy/jobs"): ADMIN,
    ("GET", "/api/v1/privacy/jobs/{job_id}"): ADMIN,
    ("GET", "/api/v1/privacy/jobs/{job_id}/download"): ADMIN,
    ("POST", "/api/v1/privacy/redaction-rules"): ADMIN,
    ("GET", "/api/v1/privacy/redaction-rules"): ADMIN,
    ("DELETE", "/api/v1/privacy/redaction-rules/{redaction_rule_id}"): ADMIN,
    ("POST", "/api/v1/privacy/redaction-rules/test"): ADMIN,
    ("POST", "/api/v1/conversations/{conversation_id}/hold"): ADMIN,
    ("DELETE", "/api/v1/conversations/{conversation_id}/hold"): ADMIN,
    # curated answers, suggestions, evals: agents read, test and improve; admins change
    ("POST", "/api/v1/widgets/{widget_id}/curated-answers"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/curated-answers"): AGENT,
    ("GET", "/api/v1/curated-answers/{qid}"): AGENT,
    ("PATCH", "/api/v1/curated-answers/{qid}"): ADMIN,
    ("DELETE", "/api/v1/curated-answers/{qid}"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/curated-answers/match"): AGENT,
    ("POST", "/api/v1/widgets/{widget_id}/curated-answers/import"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/curated-answers/export"): ADMIN,
    ("POST", "/api/v1/messages/{message_id}/improve"): AGENT,
    ("GET", "/api/v1/widgets/{widget_id}/suggestions"): AGENT,
    ("POST", "/api/v1/suggestions/{sid}/approve"): ADMIN,
    ("POST", "/api/v1/suggestions/{sid}/dismiss"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/eval-cases"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/eval-cases"): AGENT,
    ("GET", "/api/v1/eval-cases/{eid}"): AGENT,
    ("PATCH", "/api/v1/eval-cases/{eid}"): ADMIN,
    ("DELETE", "/api/v1/eval-cases/{eid}"): ADMIN,
    ("POST", "/api/v1/conversations/{conversation_id}/eval-case"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/eval-cases/from-curated"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/eval-cases/import"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/eval-runs"): ADMIN,
    ("GET", "/api/v1/eval-runs/{rid}"): AGENT,
    ("GET", "/api/v1/widgets/{widget_id}/eval-runs"): AGENT,
    ("POST", "/api/v1/widgets/{widget_id}/playground"): AGENT,
    # actions and their secrets, the call log, the search threshold: admins
    ("POST", "/api/v1/widgets/{widget_id}/actions"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/actions"): ADMIN,
    ("POST", "/api/v1/widgets/{widget_id}/actions/import"): ADMIN,
    ("GET", "/api/v1/actions/{action_id}"): ADMIN,
    ("PATCH", "/api/v1/actions/{action_id}"): ADMIN,
    ("DELETE", "/api/v1/actions/{action_id}"): ADMIN,
    ("POST", "/api/v1/actions/{action_id}/test"): ADMIN,
    ("PUT", "/api/v1/widgets/{widget_id}/secrets/{name}"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/secrets"): ADMIN,
    ("DELETE", "/api/v1/widgets/{widget_id}/secrets/{name}"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/action-calls"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/search/threshold"): ADMIN,
    ("PATCH", "/api/v1/widgets/{widget_id}/search/threshold"): ADMIN,
    ("GET", "/api/v1/widgets/{widget_id}/search/threshold/preview"): ADMIN,
    # the team and the workspace itself: owners
    ("PATCH", "/api/v1/members/{user_id}"): OWNER,
    ("DELETE", "/api/v1/members/{user_id}"): OWNER,
    ("POST", "/api/v1/invitations"): OWNER,
    ("GET", "/api/v1/invitations"): OWNER,
    ("DELETE", "/api/v1/invitations/{invitation_id}"): OWNER,
    ("PATCH", "/api/v1/workspaces/{workspace_id}"): OWNER,
    ("DELETE", "/api/v1/workspaces/{workspace_id}"): OWNER,
}

# Signed in, but about the account rather than one workspace's data.
ACCOUNT = {
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-everywhere"),
    ("GET", "/api/v1/workspaces"),
    ("POST", "/api/v1/workspaces"),
    ("POST", "/api/v1/workspaces/{workspace_id}/switch"),
    ("POST", "/api/v1/invitations/accept"),
}

# No owner credentials: visitors (their own token, checked per conversation), sign-in, probes.
PUBLIC = {
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/widgets/{widget_id}/public"),
    ("POST", "/api/v1/widgets/{widget_id}/conversations"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/messages/{message_id}/feedback"),
    ("POST", "/api/v1/conversations/{conversation_id}/handoff"),
    ("DELETE", "/api/v1/conversations/{conversation_id}"),
    ("POST", "/api/v1/conversations/{conversation_id}/confirmations/{call_id}"),
    ("GET", "/api/v1/widgets/{widget_id}/visitor/conversations"),
    ("POST", "/api/v1/widgets/{widget_id}/visitor/conversations/{conversation_id}/resume"),
}
OPERATIONS = re.compile(r"^/(healthz|live|health|readyz|ready|status|metrics)$")

# Bodies valid enough to get past validation, so that what answers is the scope.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/widgets"): {"name": "matrix"},
    ("PATCH", "/api/v1/widgets/{widget_id}"): {"title": "matrix"},
    ("PUT", "/api/v1/widgets/{widget_id}/provider-key"): {"api_key": "sk-matrix-test-key"},
    ("POST", "/api/v1/widgets/{widget_id}/sources"): {
        "type": "text",
        "title": "matrix",
        "text": "Matrix text.",
    },
    ("PATCH", "/api/v1/sources/{source_id}"): {"title": "matrix"},
    ("POST", "/api/v1/widgets/{widget_id}/context-rules"): {
        "match": "*",
        "instructions": "Be brief.",
    },
    ("POST", "/api/v1/conversations/{conversation_id}/reply"): {"content": "A person here."},
    ("POST", "/api/v1/api-keys"): {"name": "matrix", "role": "agent"},
    ("POST", "/api/v1/webhooks"): {
        "url": "http://127.0.0.1:9/hook",
        "events": ["message.created"],
    },
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"active": False},
    ("POST", "/api/v1/widgets/{widget_id}/curated-answers"): {
        "question": "Matrix question?",
        "answer": "Matrix answer.",
    },
    ("PATCH", "/api/v1/curated-answers/{qid}"): {"tags": ["matrix"]},
    ("POST", "/api/v1/widgets/{widget_id}/curated-answers/match"): {"query": "plans"},
    ("POST", "/api/v1/messages/{message_id}/improve"): {
        "question": "Matrix improved?",
        "answer": "Matrix improved.",
    },
    ("POST", "/api/v1/widgets/{widget_id}/eval-cases"): {
        "name": "matrix",
        "turns": [{"content": "Plans?"}],
        "assertions": [{"type": "contains", "value": "$12"}],
    },
    ("PATCH", "/api/v1/eval-cases/{eid}"): {"tags": ["matrix"]},
    ("POST", "/api/v1/widgets/{widget_id}/playground"): {"content": "Plans?"},
    ("POST", "/api/v1/widgets/{widget_id}/actions"): {
        "slug": "matrix_lookup",
        "title": "Matrix lookup",
        "url": "https://example.com/orders",
    },
    ("POST", "/api/v1/widgets/{widget_id}/actions/import"): {
        "openapi": "3.0.3",
        "servers": [{"url": "https://example.com"}],
        "paths": {"/matrix": {"get": {"operationId": "matrixImported"}}},
    },
    ("PATCH", "/api/v1/actions/{action_id}"): {"title": "Matrix"},
    ("POST", "/api/v1/actions/{action_id}/test"): {"arguments": {}},
    ("POST", "/api/v1/conversations/{conversation_id}/actions/{action_id}/run"): {"arguments": {}},
    ("PUT", "/api/v1/widgets/{widget_id}/secrets/{name}"): {"value": "matrix-secret"},
    ("PATCH", "/api/v1/widgets/{widget_id}/search/threshold"): {"threshold": 0.3},
    ("POST", "/api/v1/conversations/{conversation_id}/confirmations/{call_id}"): {
        "decision": "decline"
    },
    ("PATCH", "/api/v1/members/{user_id}"): {"role": "agent"},
    ("POST", "/api/v1/invitations"): {"role": "agent"},
    ("PATCH", "/api/v1/workspaces/{workspace_id}"): {"name": "matrix"},
    ("PUT", "/api/v1/privacy/retention"): {"conversation_days": 3650},
    ("PUT", "/api/v1/widgets/{widget_id}/retention"): {"conversation_days": 3650},
    ("POST", "/api/v1/privacy/export"): {"subject": {"email": "nobody@example.org"}},
    ("POST", "/api/v1/privacy/erase"): {"subject": {"email": "nobody@example.org"}},
    ("POST", "/api/v1/privacy/redaction-rules"): {"kind": "email", "stages": ["model"]},
    ("POST", "/api/v1/privacy/redaction-rules/test"): {"text": "a@b.co"},
}
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/widgets/{widget_id}/search"): {"q": "plans"},
    ("GET", "/api/v1/privacy/jobs/{job_id}/download"): {"token": "not-the-token"},
}
# These remove or change the thing they name: each allowed call gets a fresh one.
FRESH = {"DELETE"}
FRESH_ROUTES = {("PATCH", "/api/v1/members/{user_id}")}
LAST = ("DELETE", "/api/v1/workspaces/{workspace_id}")


@dataclass
class World:
    """Workspace A with one of everything, its members by role; workspace B's owner."""

    app: FastAPI
    owner: OwnerClient
    clients: dict[Role, OwnerClient]
    outsider: OwnerClient  # owner of workspace B
    outsider_agent: OwnerClient  # agent of workspace B
    ids: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    visitor: VisitorSession | None = None  # a visitor of A's widget, with its token
    # Made by the previous fresh_ids: removed by the next, so a workspace's caps (webhooks,
    # redaction rules) are never reached however many routes need fresh things.
    spare: list[str] = field(default_factory=list)

    async def fresh_ids(self) -> dict[str, str]:
        """New things in A to act on (the ones the last call may have removed)."""
        o = self.owner
        widget = await make_widget(o, name="fresh")
        source = await o.post(
            f"/api/v1/widgets/{widget['id']}/sources",
            json={"type": "text", "title": "FAQ", "text": "Plans cost $12 per month."},
        )
        rule = await o.post(
            f"/api/v1/widgets/{widget['id']}/context-rules",
            json={"match": "*", "instructions": "Be brief."},
        )
        key = await o.post("/api/v1/api-keys", json={"name": "fresh", "role": "agent"})
        invitation = await invite(o, "agent")
        teammate = await member(self.app, o, "agent")
        teammate_id = (await teammate.get("/api/v1/auth/me")).json()["user"]["id"]
        await teammate.http.aclose()
        visitor = await start_conversation(o.http, widget["id"])
        self.visitor = visitor
        ids = {
            "widget_id": widget["id"],
            "source_id": source.json()["source_id"],
            "rule_id": rule.json()["id"],
            "conversation_id": visitor.conversation_id,
            "message_id": visitor.greeting[0]["id"] if visitor.greeting else str(uuid.uuid4()),
            "key_id": key.json()["id"],
            "invitation_id": invitation["id"],
            "user_id": teammate_id,
            "workspace_id": o.workspace_id,
        }
        for url in self.spare:
            await o.delete(url)
        redaction = await o.post(
            "/api/v1/privacy/redaction-rules", json={"kind": "phone", "stages": ["model"]}
        )
        ids["redaction_rule_id"] = redaction.json()["id"]
        job = await o.post("/api/v1/privacy/export", json={"subject": {"email": "x@example.org"}})
        ids["job_id"] = job.json()["job_id"]
        ids.update(await curation_ids(o, widget["id"], visitor))
        ids.update(await action_ids(o, widget["id"], len(self.spare)))
        ids["call_id"] = await waiting_call_id(self.app, o, widget["id"], visitor)
        hook = await o.post("/api/v1/webhooks", json=BODIES[("POST", "/api/v1/webhooks")])
        if hook.status_code == 201:
            ids["webhook_id"] = hook.json()["id"]
        elif hook.status_code == 409:
            # Every DELETE route gets fresh ids: past the workspace's cap, reuse one.
            ids["webhook_id"] = (await o.get("/api/v1/webhooks")).json()["webhooks"][-1]["id"]
        elif hook.status_code != 404:
            raise AssertionError(f"could not make a webhook: {hook.text}")
        if self.ids:  # the world's own things stay; later fresh ones are spare
            self.spare = [f"/api/v1/privacy/redaction-rules/{ids['redaction_rule_id']}"]
            if "webhook_id" in ids:
                self.spare.append(f"/api/v1/webhooks/{ids['webhook_id']}")
        return ids


async def action_ids(o: OwnerClient, widget_id: str, n: int) -> dict[str, str]:
    """An action (a fresh slug each time: DELETE routes get fresh ids), a secret, a call id."""
    action = await o.post(
        f"/api/v1/widgets/{widget_id}/actions",
        json={
            "slug": f"matrix_{uuid.uuid4().hex[:8]}",
            "title": "Order status",
            "url": "https://example.com/orders",
        },
    )
    assert action.status_code == 201, action.text
    name = f"matrix_{n}"
    secret = await o.put(f"/api/v1/widgets/{widget_id}/secrets/{name}", json={"value": "s3cret"})
    assert secret.status_code == 204, secret.text
    return {"action_id": action.json()["id"], "name": name, "call_id": str(uuid.uuid4())}


async def waiting_call_id(app: FastAPI, o: OwnerClient, widget_id: str, v: VisitorSession) -> str:
    """A call in the visitor's conversation that waits for an agent's approval; approving it
    fails at once (a loopback address the action does not allow), so nothing leaves."""
    made = await o.post(
        f"/api/v1/widgets/{widget_id}/actions",
        json={
            "slug": f"matrix_refund_{uuid.uuid4().hex[:8]}",
            "title": "Matrix refund",
            "examples": ["matrix refund please"],
            "method": "POST",
            "url": "http://127.0.0.1:9/refund",
            "risk": "write",
            "approval": "agent",
        },
    )
    assert made.status_code == 201, made.text
    transport = httpx.ASGITransport(app=app, client=("192.0.2.77", 40300))
    async with httpx.AsyncClient(transport=transport, base_url="http://porch.test") as visitor:
        said = await visitor.post(
            f"/api/v1/conversations/{v.conversation_id}/messages",
            json={"content": "matrix refund please"},
            headers=v.auth,
        )
    assert said.status_code == 200, said.text
    listed = await o.get(f"/api/v1/conversations/{v.conversation_id}/action-calls")
    (call,) = listed.json()["calls"]
    return str(call["id"])


async def curation_ids(o: OwnerClient, widget_id: str, v: VisitorSession) -> dict[str, str]:
    """A curated answer, a suggestion (a thumbs-down), an eval case and a run of it."""
    qa = await o.post(
        f"/api/v1/widgets/{widget_id}/curated-answers",
        json={"question": "Fresh question?", "answer": "Fresh answer."},
    )
    sent = await o.http.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "How much are plans?"},
        headers=v.auth,
    )
    reply_id = sent.json()["message"]["id"]
    await o.http.post(
        f"/api/v1/messages/{reply_id}/feedback", json={"rating": "down"}, headers=v.auth
    )
    found = await o.get(f"/api/v1/widgets/{widget_id}/suggestions")
    case = await o.post(
        f"/api/v1/widgets/{widget_id}/eval-cases",
        json=BODIES[("POST", "/api/v1/widgets/{widget_id}/eval-cases")],
    )
    run = await o.post(f"/api/v1/widgets/{widget_id}/eval-runs", json={})
    return {
        "qid": qa.json()["id"],
        "sid": found.json()["suggestions"][0]["id"],
        "eid": case.json()["id"],
        "rid": run.json()["id"],
        "message_id": reply_id,
    }


@pytest.fixture
async def world(app: FastAPI, owner: OwnerClient) -> World:
    clients = {
        OWNER: owner,
        ADMIN: await member(app, owner, "admin"),
        AGENT: await member(app, owner, "agent"),
    }
    outsider = await signup(app)
    await make_widget(outsider, name="B's own")
    w = World(app, owner, clients, outsider, await member(app, outsider, "agent"))
    w.ids = await w.fresh_ids()
    w.secrets = {v for k, v in w.ids.items()} | {owner.email}
    return w


async def keys_by_role(owner: OwnerClient) -> dict[Role, str]:
    """An API key of each role in the owner's workspace."""
    return {role: await api_key(owner, role.value) for role in (AGENT, ADMIN, OWNER)}


def api_routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            found.extend(api_routes(route.original_router.routes))
    return found


def full_spec(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of every route, the ones hidden from /openapi.json included
    (pages, compatibility aliases): what a client can call, not what is documented."""
    shown = []
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            route = copy.copy(route)
            route.include_in_schema = True
        shown.append(route)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # aliases of one handler share an operation id
        return get_openapi(title="porch", version="0", routes=shown)


def fill(path: str, ids: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in ids, f"the world has no id for {{{name}}}: add one to World.fresh_ids"
        return ids[name]

    return re.sub(r"\{([a-z_]+)(?::path)?\}", one, path)
