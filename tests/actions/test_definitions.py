"""Action definitions, secrets and test runs against a real HTTP server on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.actions.helpers import create, order_status
from tests.actions.target import Target
from tests.conftest import BOTH, OwnerClient, make_widget, signup

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


@pytest.mark.settings(allow_signup=True)
async def test_define_list_change_delete(app: FastAPI, owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    made = await create(owner, widget["id"], order_status("http://127.0.0.1:9"))
    assert made["version"] == 1 and made["risk"] == "read" and made["timeout_ms"] == 8000
    listed = (await owner.get(f"/api/v1/widgets/{widget['id']}/actions")).json()["actions"]
    assert [a["slug"] for a in listed] == ["order_status"]

    changed = await owner.patch(f"/api/v1/actions/{made['id']}", json={"timeout_ms": 2000})
    assert changed.status_code == 200, changed.text
    assert changed.json()["timeout_ms"] == 2000 and changed.json()["version"] == 2

    taken = await owner.post(
        f"/api/v1/widgets/{widget['id']}/actions", json=order_status("http://127.0.0.1:9")
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "action_slug_taken"

    # Another workspace sees nothing of it.
    stranger = await signup(app)
    assert (await stranger.get(f"/api/v1/actions/{made['id']}")).status_code == 404
    assert (await stranger.get(f"/api/v1/widgets/{widget['id']}/actions")).status_code == 404
    await stranger.http.aclose()

    gone = await owner.delete(f"/api/v1/actions/{made['id']}")
    assert gone.status_code == 204
    assert (await owner.get(f"/api/v1/actions/{made['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"slug": "Bad Slug"}, 400, "validation_error"),
        ({"method": "TRACE"}, 400, "validation_error"),
        ({"url": "ftp://example.com/x"}, 400, "validation_error"),
        ({"url": "https://api.example/{{nope}}"}, 400, "action_template_unknown"),
        ({"result_template": "{{secret_thing}}"}, 400, "action_template_unknown"),
        ({"sources": {"email": "identity"}}, 400, "validation_error"),
        ({"sources": {"ghost": "model"}}, 400, "action_invalid"),
        ({"timeout_ms": 31000}, 400, "validation_error"),
        ({"auth": {"type": "bearer"}}, 400, "validation_error"),
        (
            {"parameters": {"type": "object", "properties": {}, "required": ["x"]}},
            400,
            "validation_error",
        ),
        ({"parameters": {"properties": {"a": {"pattern": "("}}}}, 400, "validation_error"),
    ],
)
async def test_bad_definitions_are_refused_clearly(
    owner: OwnerClient, change: dict[str, Any], status: int, code: str | None
) -> None:
    widget = await make_widget(owner)
    resp = await owner.post(
        f"/api/v1/widgets/{widget['id']}/actions", json=order_status("http://127.0.0.1:9", **change)
    )
    assert resp.status_code == status, resp.text
    if code is not None:
        assert resp.json()["error"]["code"] == code


async def test_identity_fills_the_email_and_secret_never_shows(
    app: FastAPI, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    secret = "sk_live_very_secret_value_42"
    put = await owner.http.put(
        f"/api/v1/widgets/{widget['id']}/secrets/orders_key",
        json={"value": secret},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 204, put.text
    with Target() as target:
        action = await create(
            owner,
            widget["id"],
            order_status(target.base, auth={"type": "bearer", "secret": "orders_key"}),
        )
        resp = await owner.post(
            f"/api/v1/actions/{action['id']}/test",
            json={
                "arguments": {"order_id": "A123", "email": "bob@example.com"},
                "visitor": {"user_id": "alice@example.com"},
            },
        )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["error_class"] is None and out["status"] == 200
    assert out["visitor_text"] == "Order A123 is shipped, arriving Monday."
    # The projection keeps only the named fields: the internal note never reaches anyone.
    assert out["projected"] == {"order": {"status": "shipped", "eta": "Monday"}}
    (seen,) = target.seen("/orders/A123")
    # The model's (or tester's) email is ignored: the verified identity is sent.
    assert seen.query["email"] == ["alice@example.com"]
    assert seen.headers["Authorization"] == f"Bearer {secret}"
    assert out["request"]["headers"]["Authorization"] == "Bearer ••••"
    assert secret not in resp.text

    listed = await owner.get(f"/api/v1/widgets/{widget['id']}/secrets")
    (entry,) = listed.json()["secrets"]
    assert entry["name"] == "orders_key" and entry["last_used_at"] is not None
    assert secret not in listed.text and "value" not in entry

    calls = await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls")
    (call,) = calls.json()["calls"]
    assert call["trigger"] == "test" and call["state"] == "succeeded"
    assert call["argument_sources"] == {"order_id": "model", "email": "identity.user_id"}
    assert call["arguments"]["email"] == "bob@example.com"
    assert call["sent_arguments"]["email"] == "alice@example.com"
    assert secret not in calls.text
    async with app.state.porch.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM action_calls"))).all()
        stored = (await conn.execute(text("SELECT value_encrypted FROM action_secrets"))).all()
    assert rows and secret not in repr(rows)
    assert secret not in repr(stored)


async def test_anonymous_test_run_of_an_identity_action_makes_no_request(
    owner: OwnerClient,
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        action = await create(owner, widget["id"], order_status(target.base))
        resp = await owner.post(
            f"/api/v1/actions/{action['id']}/test",
            json={"arguments": {"order_id": "A123", "email": "bob@example.com"}},
        )
    assert resp.status_code == 200, resp.text
    assert resp.json()["error_class"] == "config"
    assert "sign in" in resp.json()["visitor_text"].lower()
    assert target.requests == []


FAILURES = [
    ("/slow", {"timeout_ms": 400}, "timeout", None),
    ("/fail", {}, "http_5xx", 500),
    ("/missing", {}, "http_4xx", 404),
    ("/text", {}, "invalid_response", 200),
    ("/huge", {"max_response_bytes": 4096}, "too_large", 200),
    ("/to-metadata", {}, "ssrf_blocked", None),
    ("/to-localhost", {}, "ssrf_blocked", None),
]


@pytest.mark.parametrize(("path", "over", "error_class", "status"), FAILURES)
async def test_failure_classes(
    owner: OwnerClient, path: str, over: dict[str, Any], error_class: str, status: int | None
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        action = await create(
            owner,
            widget["id"],
            {
                "slug": "probe",
                "title": "Probe",
                "url": target.base + path,
                "allowed_hosts": ["127.0.0.1"],
                "error_texts": {"timeout": "Orders are slow today."},
                **over,
            },
        )
        resp = await owner.post(f"/api/v1/actions/{action['id']}/test", json={})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["error_class"] == error_class, out
    assert out["status"] == status
    assert out["visitor_text"]
    if error_class == "timeout":
        assert out["visitor_text"] == "Orders are slow today."
        assert out["duration_ms"] < 1500
    calls = (await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls?failed=true")).json()
    assert [c["error_class"] for c in calls["calls"]] == [error_class]


async def test_a_private_host_without_the_allowlist_is_never_contacted(
    owner: OwnerClient,
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        action = await create(
            owner, widget["id"], {"slug": "probe", "title": "Probe", "url": target.base + "/echo"}
        )
        resp = await owner.post(f"/api/v1/actions/{action['id']}/test", json={})
        assert resp.json()["error_class"] == "ssrf_blocked"
        assert target.requests == []
        # A redirect on an allowed host is followed and re-checked: same host, fine.
        hop = await create(
            owner,
            widget["id"],
            {
                "slug": "hop",
                "title": "Hop",
                "url": target.base + "/hop",
                "allowed_hosts": ["127.0.0.1"],
            },
        )
        followed = (await owner.post(f"/api/v1/actions/{hop['id']}/test", json={})).json()
    assert followed["error_class"] is None and followed["response"]["order"]["id"] == "H1"


async def test_a_test_run_takes_parameter_values_only(owner: OwnerClient) -> None:
    """A NUL, a nested object or an over-long text is refused before anything is stored
    (PostgreSQL cannot store a NUL, in JSON either: it was a 500)."""
    with Target() as target:
        w = await make_widget(owner)
        action = await create(owner, w["id"], order_status(target.base))
        url = f"/api/v1/actions/{action['id']}/test"
        for bad in ("A1\x0023", {"nested": 1}, "x" * 2001):
            resp = await owner.post(url, json={"arguments": {"order_id": bad}})
            assert resp.status_code == 400, (bad, resp.text)
            assert resp.json()["error"]["code"] == "validation_error"
        assert target.requests == []
        ok = await owner.post(
            url, json={"arguments": {"order_id": "A123"}, "visitor": {"user_id": "a@b.co"}}
        )
        assert ok.status_code == 200 and ok.json()["status"] == 200, ok.text
