"""Every owner-side route in the OpenAPI spec, walked as a member of another workspace and as
each role: another workspace's ids are 404 (never 403, never data), each role is allowed or
refused with 403 `forbidden_role` per the table below. A route the table does not know fails
the test: a new route must be classified here (and get its scope dependency) to ship.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from porch.accounts.dependencies import RoleCheck, current_owner
from porch.accounts.roles import Role
from tests.accounts.kit import invite, member
from tests.conftest import BOTH, OwnerClient, make_widget, signup, start_conversation

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(allow_signup=True, crawl_allow_private_networks=True),
]

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
    ("PATCH", "/api/v1/members/{user_id}"): {"role": "agent"},
    ("POST", "/api/v1/invitations"): {"role": "agent"},
    ("PATCH", "/api/v1/workspaces/{workspace_id}"): {"name": "matrix"},
}
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/widgets/{widget_id}/search"): {"q": "plans"},
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
        hook = await o.post("/api/v1/webhooks", json=BODIES[("POST", "/api/v1/webhooks")])
        if hook.status_code == 201:
            ids["webhook_id"] = hook.json()["id"]
        elif hook.status_code != 404:
            raise AssertionError(f"could not make a webhook: {hook.text}")
        return ids


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


def _owner_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            found.append((method.upper(), path))
    return sorted(found, key=lambda r: (r == LAST, r))


def _fill(path: str, ids: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in ids, f"the matrix has no id for {{{name}}}: add one to World.fresh_ids"
        return ids[name]

    return re.sub(r"\{([a-z_]+)\}", one, path)


async def _call(client: OwnerClient, route: tuple[str, str], ids: dict[str, str]) -> httpx.Response:
    method, path = route
    url = _fill(path, ids)
    params = QUERIES.get(route)
    if method in ("GET", "DELETE"):
        return await client.http.request(
            method, url, params=params, headers={"X-CSRF-Token": client.csrf}
        )
    return await client.http.request(
        method,
        url,
        params=params,
        json=BODIES.get(route, {}),
        headers={"X-CSRF-Token": client.csrf},
    )


async def test_every_route_is_classified(app: FastAPI) -> None:
    unknown = [
        r
        for r in _owner_routes(app)
        if r not in ROLES and r not in ACCOUNT and r not in PUBLIC and not OPERATIONS.match(r[1])
    ]
    assert not unknown, f"classify these routes in tests/test_tenancy_matrix.py: {unknown}"


def _role_checks(route: APIRoute) -> list[Role]:
    found: list[Role] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleCheck):
            found.append(dep.call.minimum)
        stack.extend(dep.dependencies)
    return found


def _authenticates(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is current_owner:
            return True
        stack.extend(dep.dependencies)
    return False


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            found.extend(_api_routes(route.original_router.routes))
    return found


async def test_each_route_declares_its_scope(app: FastAPI) -> None:
    """The scope is a declared dependency, not a check inside the handler."""
    routes = _api_routes(app.routes)
    seen = {(m, r.path) for r in routes for m in r.methods}
    assert set(ROLES) & seen and len(seen & set(ROLES)) >= 40, "the walk found too few routes"
    for route in routes:
        for method in route.methods:
            key = (method, route.path)
            if key in ROLES:
                assert _role_checks(route) == [ROLES[key]], key
            elif key in ACCOUNT:
                assert _authenticates(route) and not _role_checks(route), key
            elif key in PUBLIC:
                assert not _authenticates(route), key


async def test_other_workspace_ids_are_not_found(world: World) -> None:
    """Workspace B's owner, every route with A's ids: 404 where an id names A's thing, and
    nothing of A's in any answer. B's agent gets the same answer for A's ids as for ids that
    do not exist: no existence oracle."""
    for route in _owner_routes(world.app):
        if route not in ROLES:
            continue
        resp = await _call(world.outsider, route, world.ids)
        assert resp.status_code < 500, (route, resp.text)
        assert not any(s in resp.text for s in world.secrets), (route, resp.text)
        if "{" in route[1]:
            assert resp.status_code == 404, (route, resp.status_code, resp.text)
            assert resp.json()["error"]["code"] != "forbidden_role"
            random_ids = {k: str(uuid.uuid4()) for k in world.ids}
            as_agent = await _call(world.outsider_agent, route, world.ids)
            as_agent_random = await _call(world.outsider_agent, route, random_ids)
            assert not as_agent.is_success, route
            assert as_agent.status_code == as_agent_random.status_code, route
            assert as_agent.json()["error"]["code"] == as_agent_random.json()["error"]["code"]


async def test_each_role_allowed_or_refused(world: World) -> None:
    for route in _owner_routes(world.app):
        needed = ROLES.get(route)
        if needed is None:
            continue
        for role in (AGENT, ADMIN, OWNER):
            fresh = route[0] in FRESH or route in FRESH_ROUTES
            ids = await world.fresh_ids() if fresh and role.at_least(needed) else world.ids
            resp = await _call(world.clients[role], route, ids)
            if role.at_least(needed):
                assert resp.status_code < 500, (route, role, resp.text)
                assert resp.status_code not in (401, 403, 404), (route, role, resp.text)
            else:
                assert resp.status_code == 403, (route, role, resp.status_code, resp.text)
                assert resp.json()["error"]["code"] == "forbidden_role", (route, role)
