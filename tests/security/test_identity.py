"""Identity verification: user {id, hash} signed with the widget's secret; history anywhere."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import BOTH, OwnerClient, make_widget

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


def sign(secret: str, user_id: str) -> str:
    """What the site's server computes (docs/security.md has it in Python and Node)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def _secret(owner: OwnerClient, wid: str) -> str:
    resp = await owner.post(f"/api/v1/widgets/{wid}/identity-secret")
    assert resp.status_code == 201, resp.text
    return str(resp.json()["identity_secret"])


async def _start(client: httpx.AsyncClient, wid: str, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/widgets/{wid}/conversations", json=body)


async def test_secret_is_shown_once_and_stored_encrypted(owner: OwnerClient, app: FastAPI) -> None:
    w = await make_widget(owner)
    assert w["identity_secret_set"] is False
    secret = await _secret(owner, w["id"])
    got = (await owner.get(f"/api/v1/widgets/{w['id']}")).json()
    assert got["identity_secret_set"] is True
    assert secret not in str(got) and "identity_secret" not in got
    listed = (await owner.get("/api/v1/widgets")).text
    assert secret not in listed
    async with app.state.porch.engine.connect() as conn:
        stored = await conn.scalar(text("SELECT identity_secret_encrypted FROM widgets"))
    assert stored and secret not in stored and stored.startswith("gAAAAA")  # a Fernet token


async def test_require_identity_needs_a_secret(owner: OwnerClient) -> None:
    w = await make_widget(owner)
    refused = await owner.patch(f"/api/v1/widgets/{w['id']}", json={"require_identity": True})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "identity_secret_missing"
    await _secret(owner, w["id"])
    ok = await owner.patch(f"/api/v1/widgets/{w['id']}", json={"require_identity": True})
    assert ok.status_code == 200 and ok.json()["require_identity"] is True
    # Deleting the secret turns the requirement off rather than locking every visitor out.
    assert (await owner.delete(f"/api/v1/widgets/{w['id']}/identity-secret")).status_code == 204
    assert (await owner.get(f"/api/v1/widgets/{w['id']}")).json()["require_identity"] is False


async def test_required_identity_refuses_unsigned_and_wrongly_signed_visitors(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await make_widget(owner)
    secret = await _secret(owner, w["id"])
    await owner.patch(f"/api/v1/widgets/{w['id']}", json={"require_identity": True})

    anonymous = await _start(client, w["id"])
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "identity_required"
    unsigned = await _start(client, w["id"], user={"id": "u-1"})
    assert unsigned.json()["error"]["code"] == "identity_required"
    forged = await _start(client, w["id"], user={"id": "u-1", "hash": sign("guess", "u-1")})
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "identity_invalid"
    # Another user's valid hash does not sign this user's id.
    swapped = await _start(client, w["id"], user={"id": "u-1", "hash": sign(secret, "u-2")})
    assert swapped.status_code == 403
    # A hash that is not hex at all (non-ASCII text) is as wrong, not a 500.
    odd = await _start(client, w["id"], user={"id": "u-1", "hash": "é" * 64})
    assert odd.status_code == 403 and odd.json()["error"]["code"] == "identity_invalid"
    # The compatibility routes start conversations too, and meet the same check.
    compat = await client.post("/chat/message", json={"message": "hi", "widgetId": w["id"]})
    assert compat.status_code == 401

    good = await _start(
        client, w["id"], user={"id": "u-1", "hash": sign(secret, "u-1"), "name": "Ann"}
    )
    assert good.status_code == 201, good.text
    async with app.state.porch.engine.connect() as conn:
        query = text("SELECT user_external_id, user_verified FROM conversations")
        rows = (await conn.execute(query)).all()
    assert [(r[0], bool(r[1])) for r in rows] == [("u-1", True)]


async def test_rotating_the_secret_invalidates_old_hashes(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    old = await _secret(owner, w["id"])
    new = await _secret(owner, w["id"])
    assert old != new
    stale = await _start(client, w["id"], user={"id": "u-9", "hash": sign(old, "u-9")})
    assert stale.status_code == 403
    fresh = await _start(client, w["id"], user={"id": "u-9", "hash": sign(new, "u-9")})
    assert fresh.status_code == 201


async def test_verified_visitor_finds_and_resumes_conversations_on_another_device(
    owner: OwnerClient, app: FastAPI
) -> None:
    w = await make_widget(owner)
    secret = await _secret(owner, w["id"])
    user = {"id": "cust-7", "hash": sign(secret, "cust-7")}

    def device(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://porch.test")

    async with device("203.0.113.1") as laptop, device("203.0.113.2") as phone:
        started = (await _start(laptop, w["id"], user=user, page_title="Pricing")).json()
        cid, laptop_token = started["conversation_id"], started["visitor_token"]
        sent = await laptop.post(
            f"/api/v1/conversations/{cid}/messages",
            json={"content": "Do you ship to Norway?"},
            headers={"Authorization": f"Bearer {laptop_token}"},
        )
        assert sent.status_code == 200
        # Someone claiming the same id without a signature gets an unverified conversation,
        # which never shows in the verified user's list.
        assert (await _start(phone, w["id"], user={"id": "cust-7"})).status_code == 201

        url = f"/api/v1/widgets/{w['id']}/visitor/conversations"
        headers = {"X-Porch-User-Id": user["id"], "X-Porch-User-Hash": user["hash"]}
        listed = await phone.get(url, headers=headers)
        assert listed.status_code == 200, listed.text
        found = listed.json()["conversations"]
        assert [c["conversation_id"] for c in found] == [cid]
        assert found[0]["page_title"] == "Pricing" and found[0]["message_count"] >= 2

        wrong = await phone.get(url, headers={**headers, "X-Porch-User-Hash": sign("x", "cust-7")})
        assert wrong.status_code == 403
        bare = await phone.get(url, headers={"X-Porch-User-Id": "cust-7"})
        assert bare.status_code == 401
        other = {"id": "cust-8", "hash": sign(secret, "cust-8")}
        theirs = await phone.get(
            url, headers={"X-Porch-User-Id": other["id"], "X-Porch-User-Hash": other["hash"]}
        )
        assert theirs.json()["conversations"] == []

        resume = f"/api/v1/widgets/{w['id']}/visitor/conversations/{cid}/resume"
        assert (await phone.post(resume, json={"user": other})).status_code == 404
        resumed = await phone.post(resume, json={"user": user})
        assert resumed.status_code == 201, resumed.text
        phone_token = resumed.json()["visitor_token"]
        assert phone_token != laptop_token
        for token in (phone_token, laptop_token):  # both devices keep working
            history = await phone.get(
                f"/api/v1/conversations/{cid}/messages",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert history.status_code == 200
            assert "Norway" in history.text
        # The resumed token is bound to its conversation like any other.
        mine = (await _start(phone, w["id"])).json()["conversation_id"]
        cross = await phone.get(
            f"/api/v1/conversations/{mine}/messages",
            headers={"Authorization": f"Bearer {phone_token}"},
        )
        assert cross.status_code == 404


async def test_listing_needs_a_widget_that_verifies(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await make_widget(owner)
    resp = await client.get(
        f"/api/v1/widgets/{w['id']}/visitor/conversations",
        headers={"X-Porch-User-Id": "u", "X-Porch-User-Hash": "0" * 64},
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "identity_not_enabled"
