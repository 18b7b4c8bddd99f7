"""Webhooks: signed deliveries to a real receiver, retries with backoff, the log, SSRF rules."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from porch.webhooks import signing
from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
# Jobs in process even on Redis: no `porch worker` runs beside these tests.
LOOPBACK = pytest.mark.settings(
    crawl_allow_private_networks=True, webhook_retry_seconds=0.05, jobs_queue="memory"
)


async def _deliveries(
    owner: OwnerClient, hook_id: str, want: int, done: set[str]
) -> list[dict[str, Any]]:
    """The delivery log once `want` deliveries have reached one of the `done` statuses."""
    async with asyncio.timeout(20):
        while True:
            resp = await owner.get(f"/api/v1/webhooks/{hook_id}/deliveries")
            assert resp.status_code == 200, resp.text
            items: list[dict[str, Any]] = resp.json()["deliveries"]
            if len([d for d in items if d["status"] in done]) >= want:
                return items
            await asyncio.sleep(0.05)


@LOOPBACK
async def test_signed_delivery_retried_until_the_receiver_takes_it(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    with Receiver(script=[500, 503]) as receiver:
        created = await owner.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["conversation.created"]}
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook["secret"]
        assert secret.startswith("whsec_")
        # Shown once: never again in a listing.
        listed = (await owner.get("/api/v1/webhooks")).json()["webhooks"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

        visitor = await start_conversation(client, widget["id"])
        log = await _deliveries(owner, hook["id"], 1, {"delivered", "failed"})

    assert len(log) == 1
    entry = log[0]
    assert entry["status"] == "delivered" and entry["attempts"] == 3
    assert entry["response_status"] == 200 and entry["event_type"] == "conversation.created"
    # Three requests: the same delivery each time (receivers dedupe on its id), each signed.
    assert len(receiver.requests) == 3
    ids = {r.headers["Porch-Delivery"] for r in receiver.requests}
    assert ids == {entry["id"]}
    for request in receiver.requests:
        assert signing.verify(
            secret, request.headers["Porch-Signature"], request.body, now=int(time.time())
        )
        assert not signing.verify(
            "whsec_wrong", request.headers["Porch-Signature"], request.body, now=int(time.time())
        )
        body = json.loads(request.body)
        assert body["id"] == entry["id"] and body["type"] == "conversation.created"
        assert body["conversation_id"] == visitor.conversation_id
    # A body changed in transit no longer matches its signature.
    tampered = receiver.requests[0].body.replace(b"conversation", b"c0nversation", 1)
    assert not signing.verify(
        secret, receiver.requests[0].headers["Porch-Signature"], tampered, now=int(time.time())
    )


@pytest.mark.settings(
    crawl_allow_private_networks=True,
    webhook_retry_seconds=0.01,
    webhook_max_attempts=2,
    jobs_queue="memory",
)
async def test_a_receiver_that_keeps_failing_is_given_up(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner, features={"handoff": True})
    with Receiver(script=[500] * 10) as receiver:
        hook = (
            await owner.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "events": ["handoff.requested", "message.created"]},
            )
        ).json()
        v = await start_conversation(client, widget["id"])
        resp = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/handoff", json={}, headers=v.auth
        )
        assert resp.status_code == 202
        # The note in the conversation and the handoff itself.
        log = await _deliveries(owner, hook["id"], 2, {"failed"})
    assert {d["event_type"] for d in log} == {"handoff.requested", "message.created"}
    assert all(d["status"] == "failed" and d["attempts"] == 2 for d in log)
    assert all(d["response_status"] == 500 for d in log)
    # Only subscribed events: no conversation.created delivery.
    assert len(receiver.requests) == 4


async def test_private_addresses_are_refused_like_crawling(owner: OwnerClient) -> None:
    for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://169.254.169.254/"):
        resp = await owner.post(
            "/api/v1/webhooks", json={"url": url, "events": ["message.created"]}
        )
        assert resp.status_code == 400, url
        assert resp.json()["error"]["code"] == "webhook_url_blocked"
    bad = await owner.post(
        "/api/v1/webhooks", json={"url": "ftp://x.example/", "events": ["message.created"]}
    )
    assert bad.status_code == 400
    unknown = await owner.post(
        "/api/v1/webhooks", json={"url": "https://x.example/", "events": ["nothing.happened"]}
    )
    assert unknown.status_code == 400


@LOOPBACK
async def test_webhooks_belong_to_one_workspace(app: FastAPI, owner: OwnerClient) -> None:
    hook = (
        await owner.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["feedback.created"]}
        )
    ).json()
    patched = await owner.patch(f"/api/v1/webhooks/{hook['id']}", json={"active": False})
    assert patched.status_code == 200 and patched.json()["active"] is False
    missing = await owner.get("/api/v1/webhooks/00000000-0000-7000-8000-000000000000/deliveries")
    assert missing.status_code == 404
    gone = await owner.delete(f"/api/v1/webhooks/{hook['id']}")
    assert gone.status_code == 204
    assert (await owner.get(f"/api/v1/webhooks/{hook['id']}")).status_code == 404
