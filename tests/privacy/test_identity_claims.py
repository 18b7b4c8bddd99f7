"""A verified visitor's signed attributes are personal data: in the export, found by the
erase's email lookup through an `email` claim, and gone from the storage after it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from porch.models.base import utcnow
from porch.privacy.sweep import Sweeper
from tests.conftest import BOTH, OwnerClient, make_widget, start_conversation
from tests.privacy.helpers import ask, every_table_text, stored
from tests.security.identity_tokens import identity_secret, mint

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
SIGNED = "Quinn.Signed@Example.org"
PLAN = "plan-zircon-7731"
ACCOUNT = "acct-obsidian-4410"


async def _job(owner: OwnerClient, app: FastAPI, job_id: str) -> dict[str, Any]:
    await app.state.porch.jobs.drain()
    async with asyncio.timeout(20):
        while True:
            resp = await owner.get(f"/api/v1/privacy/jobs/{job_id}")
            if resp.json()["status"] not in ("pending", "running"):
                return dict(resp.json())
            await asyncio.sleep(0.05)


@pytest.mark.settings(jobs_queue="memory")
async def test_claims_are_exported_found_by_their_email_and_erased(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    secret = await identity_secret(owner, widget["id"])
    # The page passes no email (or another one): the signed claim is what finds the person.
    token = mint(secret, "cust-3", email=SIGNED, plan=PLAN, account=ACCOUNT, seats=4)
    first = await start_conversation(client, widget["id"], identity_token=token)
    second = await start_conversation(
        client, widget["id"], identity_token=token, user={"id": "cust-3", "email": "x@y.org"}
    )
    await ask(client, first, "hello from the signed visitor")
    bystander = await start_conversation(
        client, widget["id"], identity_token=mint(secret, "cust-4", email="b@example.org")
    )
    await ask(client, bystander, "the bystander stays")

    made = await owner.post("/api/v1/privacy/export", json={"subject": {"email": SIGNED.lower()}})
    assert made.status_code == 202, made.text
    job = await _job(owner, app, made.json()["job_id"])
    assert job["status"] == "done" and job["counts"]["conversations"] == 2
    doc = (await owner.get(job["download_url"])).json()
    users = {c["id"]: c["user"] for c in doc["conversations"]}
    assert set(users) == {first.conversation_id, second.conversation_id}
    claims = {"email": SIGNED, "plan": PLAN, "account": ACCOUNT, "seats": 4}
    assert all(u["claims"] == claims and u["verified"] is True for u in users.values())
    assert users[second.conversation_id]["email"] == "x@y.org"

    erased = await owner.post(
        "/api/v1/privacy/erase", json={"subject": {"email": SIGNED}, "dry_run": False}
    )
    assert erased.status_code == 202, erased.text
    done = await _job(owner, app, erased.json()["job_id"])
    assert done["status"] == "done" and done["counts"]["conversations"] == 2

    everything = await every_table_text(app)
    assert PLAN not in everything and ACCOUNT not in everything
    assert SIGNED not in everything and SIGNED.lower() not in everything.lower()
    assert "the bystander stays" in everything and "b@example.org" in everything


async def test_anonymizing_drops_the_claims(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    put = await owner.http.put(
        "/api/v1/privacy/retention",
        json={"conversation_days": 5, "mode": "anonymize"},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 200, put.text
    widget = await make_widget(owner)
    secret = await identity_secret(owner, widget["id"])
    token = mint(secret, "cust-8", email=SIGNED, plan=PLAN)
    v = await start_conversation(client, widget["id"], identity_token=token)
    await ask(client, v, "hello")
    state = app.state.porch
    sweep = Sweeper(
        state.sessionmaker,
        state.engine,
        interval=0,
        batch=2,
        clock=lambda: utcnow() + timedelta(days=6),
    )
    assert (await sweep.sweep()).anonymized == 1
    rows = " ".join(str(r) for r in await stored(app, "SELECT * FROM conversations"))
    assert PLAN not in rows and SIGNED not in rows and "cust-8" not in rows
