"""Tenancy: every owner-side route in the OpenAPI spec, walked with every kind of credential.

- Another workspace's ids are 404 (never 403, never data), for its owner's session and its
  owner's API key alike; its agent gets the same answer for them as for ids that do not
  exist: no existence oracle.
- Each role is allowed or refused (403 `forbidden_role`) per the table in
  tests/security/world.py, signed in with a session cookie and with an API key of that role.
- A visitor token opens no owner route (401) and no other conversation (404).

A route the table does not know fails the test: a new route must be classified there (and
get its scope dependency) to ship.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from porch.accounts.dependencies import RoleCheck, current_owner
from porch.accounts.roles import Role
from tests.accounts.kit import api_key, key_client
from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation
from tests.security.world import (
    ACCOUNT,
    ADMIN,
    AGENT,
    BODIES,
    FRESH,
    FRESH_ROUTES,
    LAST,
    OPERATIONS,
    OWNER,
    PUBLIC,
    QUERIES,
    ROLES,
    World,
    api_routes,
    fill,
    keys_by_role,
    world,
)

__all__ = ["world"]  # the fixture, found by name
pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(allow_signup=True, crawl_allow_private_networks=True),
]


def _owner_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            found.append((method.upper(), path))
    return sorted(found, key=lambda r: (r == LAST, r))


async def _call(client: OwnerClient, route: tuple[str, str], ids: dict[str, str]) -> httpx.Response:
    method, path = route
    url = fill(path, ids)
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
    assert not unknown, f"classify these routes in tests/security/world.py: {unknown}"


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


async def test_each_route_declares_its_scope(app: FastAPI) -> None:
    """The scope is a declared dependency, not a check inside the handler."""
    routes = api_routes(app.routes)
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


async def test_other_workspace_api_key_sees_nothing(world: World) -> None:
    """The same walk with workspace B's owner API key instead of a session."""
    key = key_client(world.app, await api_key(world.outsider, "owner"))
    outsider = OwnerClient(key, "", world.outsider.workspace_id, world.outsider.email)
    for route in _owner_routes(world.app):
        if route not in ROLES:
            continue
        resp = await _call(outsider, route, world.ids)
        assert resp.status_code < 500, (route, resp.text)
        assert not any(s in resp.text for s in world.secrets), (route, resp.text)
        if "{" in route[1]:
            assert resp.status_code == 404, (route, resp.status_code, resp.text)
    await key.aclose()


async def _key_clients(world: World) -> dict[Role, OwnerClient]:
    keys = await keys_by_role(world.owner)
    return {
        role: OwnerClient(key_client(world.app, key), "", world.owner.workspace_id, "")
        for role, key in keys.items()
    }


@pytest.mark.parametrize("credential", ["session", "api_key"])
async def test_each_role_allowed_or_refused(world: World, credential: str) -> None:
    clients = world.clients if credential == "session" else await _key_clients(world)
    for route in _owner_routes(world.app):
        needed = ROLES.get(route)
        if needed is None:
            continue
        for role in (AGENT, ADMIN, OWNER):
            fresh = route[0] in FRESH or route in FRESH_ROUTES
            ids = await world.fresh_ids() if fresh and role.at_least(needed) else world.ids
            resp = await _call(clients[role], route, ids)
            if role.at_least(needed):
                assert resp.status_code < 500, (route, role, resp.text)
                assert resp.status_code not in (401, 403, 404), (route, role, resp.text)
            else:
                assert resp.status_code == 403, (route, role, resp.status_code, resp.text)
                assert resp.json()["error"]["code"] == "forbidden_role", (route, role)


async def test_a_visitor_token_opens_no_owner_route(
    world: World, client: httpx.AsyncClient
) -> None:
    """A visitor token is not an owner credential: 401 on every owner and account route."""
    assert world.visitor is not None
    for route in _owner_routes(world.app):
        if route not in ROLES and route not in ACCOUNT:
            continue
        method, path = route
        resp = await client.request(
            method,
            fill(path, world.ids),
            params=QUERIES.get(route),
            json=None if method in ("GET", "DELETE") else BODIES.get(route, {}),
            headers={"Authorization": f"Bearer {world.visitor.token}"},
        )
        assert resp.status_code == 401, (route, resp.status_code, resp.text)
        assert not any(s in resp.text for s in world.secrets - {world.visitor.conversation_id})


async def test_a_visitor_token_opens_only_its_own_conversation(
    world: World, client: httpx.AsyncClient
) -> None:
    """Another conversation of the same widget, or of workspace B: 404, as for no conversation."""
    mine = await start_conversation(client, world.ids["widget_id"])
    theirs_widget = await make_widget(world.outsider, name="B's other")
    others = [
        (await start_conversation(client, world.ids["widget_id"])).conversation_id,
        (await start_conversation(client, theirs_widget["id"])).conversation_id,
        str(uuid.uuid4()),
    ]
    auth = {"Authorization": f"Bearer {mine.token}"}
    for cid in others:
        calls = [
            client.get(f"/api/v1/conversations/{cid}/messages", headers=auth),
            client.post(
                f"/api/v1/conversations/{cid}/messages", json={"content": "hi"}, headers=auth
            ),
            client.post(f"/api/v1/conversations/{cid}/handoff", json={}, headers=auth),
        ]
        for call in calls:
            resp = await call
            assert resp.status_code == 404, resp.text
            assert resp.json()["error"]["code"] == "conversation_not_found"
