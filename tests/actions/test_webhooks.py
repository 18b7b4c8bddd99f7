"""`action.completed` and `action.failed` webhooks, delivered to a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.actions.helpers import create, order_status
from tests.actions.target import Target
from tests.actions.test_conversation import say, verified_visitor
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
# Jobs in process even on Redis: no `porch worker` runs beside these tests.
LOOPBACK = pytest.mark.settings(crawl_allow_private_networks=True, jobs_queue="memory")
SECRET = "sk_live_never_in_a_webhook_77"


async def _received(receiver: Receiver, want: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(20):
        while len(receiver.requests) < want:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # nothing more arrives
    return [json.loads(r.body) for r in receiver.requests]


async def _subscribe(owner: OwnerClient, url: str, events: list[str]) -> None:
    made = await owner.post("/api/v1/webhooks", json={"url": url, "events": events})
    assert made.status_code == 201, made.text


@LOOPBACK
async def test_each_test_call_is_sent_once_as_the_call_log_shows_it(owner: OwnerClient) -> None:
    widget = await make_widget(owner)
    put = await owner.http.put(
        f"/api/v1/widgets/{widget['id']}/secrets/orders_key",
        json={"value": SECRET},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 204, put.text
    with Target() as target, Receiver() as receiver:
        await _subscribe(owner, receiver.url, ["action.completed", "action.failed"])
        good = await create(
            owner,
            widget["id"],
            order_status(target.base, auth={"type": "bearer", "secret": "orders_key"}),
        )
        bad = await create(
            owner,
            widget["id"],
            {"slug": "probe", "title": "Probe", "url": target.base + "/fail"}
            | {"allowed_hosts": ["127.0.0.1"]},
        )
        ran = await owner.post(
            f"/api/v1/actions/{good['id']}/test",
            json={"arguments": {"order_id": "A123"}, "visitor": {"user_id": "al@example.com"}},
        )
        assert ran.status_code == 200 and ran.json()["error_class"] is None, ran.text
        failed = await owner.post(f"/api/v1/actions/{bad['id']}/test", json={})
        assert failed.json()["error_class"] == "http_5xx"
        bodies = await _received(receiver, 2)

    assert len(bodies) == 2
    by_type = {b["type"]: b for b in bodies}
    assert set(by_type) == {"action.completed", "action.failed"}
    listed = (await owner.get(f"/api/v1/widgets/{widget['id']}/action-calls")).json()["calls"]
    shown = {c["id"]: c for c in listed}
    for body in bodies:
        call = body["data"]["call"]
        # The same record the call log lists, nothing more.
        assert call == shown[call["id"]]
        assert body["event_id"] == call["id"] and body["conversation_id"] is None
    done = by_type["action.completed"]["data"]["call"]
    assert done["trigger"] == "test" and done["state"] == "succeeded"
    assert done["response"] == {"order": {"status": "shipped", "eta": "Monday"}}
    assert by_type["action.failed"]["data"]["call"]["error_class"] == "http_5xx"
    raw = b"".join(r.body for r in receiver.requests)
    # Neither the secret nor what the projection drops ever leaves.
    assert SECRET.encode() not in raw and b"fraud score" not in raw


@LOOPBACK
async def test_an_offline_conversation_call_is_sent_to_its_subscribers_only(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Target() as target, Receiver() as completed, Receiver() as failed:
        await _subscribe(owner, completed.url, ["action.completed"])
        await _subscribe(owner, failed.url, ["action.failed"])
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        await say(client, v, "Where is my order A123?")
        (body,) = await _received(completed, 1)
    assert failed.requests == []
    call = body["data"]["call"]
    assert body["type"] == "action.completed" and call["trigger"] == "offline"
    assert body["conversation_id"] == v.conversation_id == call["conversation_id"]
    assert call["sent_arguments"]["email"] == "alice@example.com"
