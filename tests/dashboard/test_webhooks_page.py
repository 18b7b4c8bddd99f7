"""The Webhooks page and a webhook's delivery log: admins only, escaped, newest first, and
another workspace's webhook is a 404 page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from porch.ids import uuid7
from porch.models import WebhookDelivery
from tests.accounts.kit import member
from tests.conftest import BOTH, OwnerClient, signup
from tests.dashboard.test_pages import EVIL, assert_strict

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    # Receivers on loopback (nothing is delivered here: the log is written straight to the db).
    pytest.mark.settings(
        allow_signup=True, crawl_allow_private_networks=True, webhook_retry_seconds=30
    ),
]

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
URL = "http://127.0.0.1:9/hooks/porch?x=1&y=2"


async def make_hook(owner: OwnerClient, **body: Any) -> dict[str, Any]:
    resp = await owner.post(
        "/api/v1/webhooks",
        json={"url": URL, "events": ["conversation.created", "feedback.created"], **body},
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def seed_delivery(app: FastAPI, hook: dict[str, Any], owner: OwnerClient, **row: Any) -> str:
    """One row of the delivery log, as webhooks/delivery.py leaves it after some attempts."""
    delivery_id = uuid7()
    async with app.state.porch.sessionmaker() as session:
        session.add(
            WebhookDelivery(
                id=delivery_id,
                webhook_id=uuid.UUID(hook["id"]),
                workspace_id=uuid.UUID(owner.workspace_id),
                payload={"id": str(delivery_id), "data": {"note": EVIL}},
                created_at=T0,
                **row,
            )
        )
        await session.commit()
    return str(delivery_id)


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-delivery="([0-9a-f-]{36})">', html)


async def test_admins_see_and_manage_their_webhooks(app: FastAPI, owner: OwnerClient) -> None:
    empty = await owner.get("/app/webhooks")
    assert empty.status_code == 200
    assert_strict(empty)
    assert "No webhooks yet" in empty.text
    # The form offers every event, and the page loads its script.
    for name in ("conversation.created", "message.created", "handoff.requested"):
        assert f'value="{name}"' in empty.text
    assert "/app/static/webhooks.js?v=" in empty.text

    hook = await make_hook(owner, description=EVIL)
    paused = await make_hook(owner, description="paused one")
    assert (
        await owner.patch(f"/api/v1/webhooks/{paused['id']}", json={"active": False})
    ).status_code == 200

    page = await owner.get("/app/webhooks")
    assert page.status_code == 200
    assert_strict(page)
    text = page.text
    assert EVIL not in text and "&lt;img src=x onerror=" in text
    assert "http://127.0.0.1:9/hooks/porch?x=1&amp;y=2" in text
    assert f'href="/app/webhooks/{hook["id"]}"' in text
    assert "No webhooks yet" in text and 'id="hooks-empty" hidden' in text
    # The secret is shown only in the API's reply to the creation, never on a page.
    assert hook["secret"] not in text and "whsec_" not in text
    assert text.count('<span class="badge st-ready">Active</span>') == 1
    assert text.count('<span class="badge st-closed">Paused</span>') == 1
    # Pause for the active one, Resume for the paused one; deletes go through the confirm dialog.
    assert re.search(
        rf'data-api="/api/v1/webhooks/{paused["id"]}" data-method="PATCH".*?'
        r'name="active" data-type="bool" hidden checked>.*?>Resume<',
        text,
        re.S,
    )
    assert f'data-api="/api/v1/webhooks/{hook["id"]}" data-method="DELETE"' in text
    assert 'data-confirm="Delete the webhook to http://127.0.0.1:9/hooks/porch?x=1&amp;y=2' in text
    # The nav links the page, marked as the current one.
    assert 'href="/app/webhooks" aria-current="page">Webhooks</a>' in text


async def test_delivery_log_newest_first_with_retry_and_error(
    app: FastAPI, owner: OwnerClient
) -> None:
    hook = await make_hook(owner)
    log_url = f"/app/webhooks/{hook['id']}"
    first = await owner.get(log_url)
    assert first.status_code == 200
    assert_strict(first)
    assert "No deliveries yet" in first.text and rows(first.text) == []

    delivered = await seed_delivery(
        app,
        hook,
        owner,
        event_type="conversation.created",
        status="delivered",
        attempts=1,
        response_status=204,
        last_attempt_at=T0,
        delivered_at=T0 + timedelta(seconds=1),
    )
    failing = await seed_delivery(
        app,
        hook,
        owner,
        event_type="feedback.created",
        status="pending",
        attempts=2,
        response_status=503,
        error=f"the receiver answered 503 {EVIL}",
        last_attempt_at=T0 + timedelta(minutes=5),
    )
    queued = await seed_delivery(
        app, hook, owner, event_type="feedback.created", status="pending", attempts=0
    )

    page = await owner.get(log_url)
    assert page.status_code == 200
    assert_strict(page)
    text = page.text
    assert rows(text) == [queued, failing, delivered]
    assert EVIL not in text
    assert "the receiver answered 503 &lt;img src=x" in text
    assert "HTTP 204" in text and "HTTP 503" in text
    assert '<span class="badge st-delivered">delivered</span>' in text
    # Two attempts at 12:05 with 30 s retries: the third waits 60 s, so about 12:06.
    assert "about 2026-05-04 12:06 UTC" in text
    assert "Queued" in text
    assert "2026-05-04 12:00 UTC" in text  # delivered at
    # The body sent, escaped inside its <details>.
    assert "\\u003cimg src=x onerror=" in text
    assert 'href="/app/webhooks/' + hook["id"] + '" data-testid="refresh-log"' in text


async def test_agents_get_a_forbidden_page_and_no_link(app: FastAPI, owner: OwnerClient) -> None:
    hook = await make_hook(owner)
    agent = await member(app, owner, "agent")
    admin = await member(app, owner, "admin")
    try:
        for path in ("/app/webhooks", f"/app/webhooks/{hook['id']}"):
            refused = await agent.get(path)
            assert refused.status_code == 403, path
            assert_strict(refused)
            assert "Not allowed" in refused.text and URL.split("?")[0] not in refused.text
            assert (await admin.get(path)).status_code == 200, path
        assert 'href="/app/webhooks"' not in (await agent.get("/app/team")).text
        assert 'href="/app/webhooks"' in (await admin.get("/app/team")).text
    finally:
        await agent.http.aclose()
        await admin.http.aclose()


async def test_another_workspace_gets_not_found(app: FastAPI, owner: OwnerClient) -> None:
    hook = await make_hook(owner, description="private receiver")
    await seed_delivery(app, hook, owner, event_type="conversation.created", status="pending")
    other = await signup(app)
    try:
        resp = await other.get(f"/app/webhooks/{hook['id']}")
        assert resp.status_code == 404
        assert_strict(resp)
        assert "127.0.0.1:9" not in resp.text and "private receiver" not in resp.text
        for path in ("/app/webhooks/not-a-uuid", f"/app/webhooks/{uuid.uuid4()}"):
            assert (await other.get(path)).status_code == 404, path
        mine = await other.get("/app/webhooks")
        assert "private receiver" not in mine.text and 'id="hooks-empty" hidden' not in mine.text
    finally:
        await other.http.aclose()


async def test_signed_out_visitors_are_sent_to_sign_in(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    hook = await make_hook(owner)
    for path in ("/app/webhooks", f"/app/webhooks/{hook['id']}"):
        resp = await client.get(path)
        assert resp.status_code == 303, path
        assert resp.headers["location"] == f"/app/login?next={path}"
