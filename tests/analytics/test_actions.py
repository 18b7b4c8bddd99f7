"""Actions in analytics: calls made through the real runner against a loopback API (offline
answerer and test runs), counted per action by outcome, failure class and trigger, with
declined and expired confirmations and the median duration; test runs only when asked for."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from porch.models import ActionCall
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.conftest import BOTH, OwnerClient, VisitorSession, make_widget, parse_sse
from tests.conftest import start_conversation as start

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


async def say(client: httpx.AsyncClient, v: VisitorSession, content: str) -> list[dict[str, Any]]:
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers={**v.auth, "Accept": "text/event-stream"},
    )
    assert resp.status_code == 200, resp.text
    return [data for name, data in parse_sse(resp.text) if name == "action"]


async def answer(
    client: httpx.AsyncClient, v: VisitorSession, call_id: str, decision: str
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/confirmations/{call_id}",
        json={"decision": decision},
        headers=v.auth,
    )
    assert resp.status_code in (200, 410), resp.text
    return dict(resp.json())


async def verified(owner: OwnerClient, client: httpx.AsyncClient, wid: str) -> VisitorSession:
    made = await owner.post(f"/api/v1/widgets/{wid}/identity-secret")
    assert made.status_code == 201, made.text
    secret = made.json()["identity_secret"].encode()
    digest = hmac.new(secret, b"alice@example.com", hashlib.sha256).hexdigest()
    return await start(client, wid, user={"id": "alice@example.com", "hash": digest})


async def stats(owner: OwnerClient, wid: str, **params: Any) -> dict[str, Any]:
    resp = await owner.get(f"/api/v1/widgets/{wid}/analytics", params=params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["actions"])


async def test_calls_per_action_by_outcome_class_and_trigger(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    with Target() as target:
        lookup = await create(owner, w["id"], order_status(target.base))
        cancel = await create(owner, w["id"], cancel_order(target.base))
        broken = await create(
            owner,
            w["id"],
            order_status(
                target.base,
                slug="service_status",
                title="Service status",
                examples=["is the service down", "service status page"],
                url=target.base + "/fail",
                parameters={"type": "object", "properties": {}},
                sources={},
                response_fields=[],
                result_template="All good.",
            ),
        )
        v = await verified(owner, client, w["id"])
        looked = await say(client, v, "Track my order A123")
        assert [a["state"] for a in looked] == ["started", "succeeded"], looked
        down = await say(client, v, "Is the service down?")
        assert [a["state"] for a in down] == ["started", "failed"], down

        (no,) = await say(client, v, "Please cancel my order B456")
        assert (await answer(client, v, no["call_id"], "decline"))["state"] == "declined"
        (late,) = await say(client, v, "Please cancel my order C789")
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(late["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )
        await answer(client, v, late["call_id"], "confirm")
        (yes,) = await say(client, v, "Please cancel my order D000")
        assert (await answer(client, v, yes["call_id"], "confirm"))["state"] == "succeeded"
        # Never answered: still pending in the log, and expired all the same.
        (never,) = await say(client, v, "Please cancel my order E111")
        assert [a["state"] for a in await say(client, v, "Please cancel my order F222")] == [
            "confirm"
        ]
        async with app.state.porch.engine.begin() as conn:
            await conn.execute(
                update(ActionCall)
                .where(ActionCall.id == uuid.UUID(never["call_id"]))
                .values(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            )

        for aid, args in ((lookup["id"], {"order_id": "A123"}), (broken["id"], {})):
            ran = await owner.post(
                f"/api/v1/actions/{aid}/test",
                json={"arguments": args, "visitor": {"user_id": "a@example.com"}},
            )
            assert ran.status_code == 200, ran.text
    # Only the lookups, the failing status check and the confirmed cancel reached the API.
    assert sorted(r.path for r in target.requests) == [
        "/fail",
        "/fail",
        "/orders/A123",
        "/orders/A123",
        "/orders/D000/cancel",
    ]

    got = await stats(owner, w["id"])
    assert got["includes_tests"] is False
    assert (got["calls"], got["succeeded"], got["failed"]) == (6, 2, 4)
    assert (got["declined"], got["expired"]) == (1, 2)
    rows = {r["slug"]: r for r in got["per_action"]}
    assert got["per_action"][0]["slug"] == "cancel_order"  # most called first
    c = rows["cancel_order"]
    assert (c["calls"], c["succeeded"], c["failed"], c["declined"], c["expired"]) == (4, 1, 3, 1, 2)
    assert c["failure_classes"] == {"declined": 1, "expired": 2}
    assert c["triggers"] == {"offline": 4}
    assert c["title"] == "Cancel an order" and c["action_id"] == cancel["id"]
    assert c["median_duration_ms"] is not None
    s = rows["service_status"]
    assert (s["calls"], s["failed"], s["failure_classes"]) == (1, 1, {"http_5xx": 1})
    assert rows["order_status"]["triggers"] == {"offline": 1}
    assert rows["order_status"]["median_duration_ms"] >= 0

    with_tests = await stats(owner, w["id"], include_tests="true")
    assert with_tests["includes_tests"] is True and with_tests["calls"] == 8
    rows = {r["slug"]: r for r in with_tests["per_action"]}
    assert rows["order_status"]["triggers"] == {"offline": 1, "test": 1}
    assert rows["service_status"]["failure_classes"] == {"http_5xx": 2}

    # Outside the range, and in another workspace's view, nothing is counted.
    old = await stats(owner, w["id"], **{"from": "2026-01-01", "to": "2026-01-31"})
    assert old["calls"] == 0 and old["per_action"] == []
    bad = await owner.get(f"/api/v1/widgets/{w['id']}/analytics", params={"include_tests": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


async def test_deleting_an_action_removes_its_calls_from_analytics(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    with Target() as target:
        made = await create(owner, w["id"], order_status(target.base))
        v = await verified(owner, client, w["id"])
        await say(client, v, "Track my order A123")
    gone = await owner.delete(f"/api/v1/actions/{made['id']}")
    assert gone.status_code == 204
    got = await stats(owner, w["id"])
    # The call rows go with the action (ON DELETE CASCADE): nothing left to count.
    assert got["calls"] == 0 and got["per_action"] == []


async def test_the_analytics_page_shows_calls_per_action(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    w = await make_widget(owner)
    with Target() as target:
        made = await create(owner, w["id"], order_status(target.base))
        v = await verified(owner, client, w["id"])
        await say(client, v, "Track my order A123")
        ran = await owner.post(
            f"/api/v1/actions/{made['id']}/test", json={"arguments": {"order_id": "Z"}}
        )
        assert ran.json()["error_class"] is not None
    page = await owner.get(f"/app/widgets/{w['id']}/analytics")
    assert page.status_code == 200
    section = page.text[page.text.find('data-testid="action-stats"') :]
    section = section[: section.find("</section>")]
    assert "1 call: 1 succeeded, 0 failed." in section
    assert "Test runs from the Actions page are not counted." in section
    row = section[section.find('data-action="order_status"') :]
    assert "offline 1" in row and "ms</td>" in row
    counted = await owner.get(f"/app/widgets/{w['id']}/analytics", params={"include_tests": "true"})
    section = counted.text[counted.text.find('data-testid="action-stats"') :]
    assert "2 calls: 1 succeeded, 1 failed." in section and "test 1" in section
    assert 'id="include-tests" name="include_tests" type="checkbox" value="true" checked' in (
        counted.text
    )
