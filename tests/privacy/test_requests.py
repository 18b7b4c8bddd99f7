"""Requests from a person: export and erase, proved by reading the storage itself (every
table, the SQLite file and its WAL, Redis, the data directory, the logs)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from porch.models import Conversation, Message
from porch.models.base import utcnow
from porch.privacy.tasks import reapply
from porch.settings import Settings
from tests.conftest import BOTH, REDIS_URL, OwnerClient, make_widget, signup, start_conversation
from tests.privacy.helpers import ask, every_table_text

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
EMAIL = "erin.subject@example.org"
PHRASE = "zebra-quartz-991"
OTHER = "someone-else-entirely-42"
NAME = "Erin Zyxwvutname"


async def _job(owner: OwnerClient, app: FastAPI, job_id: str) -> dict[str, Any]:
    await app.state.porch.jobs.drain()
    async with asyncio.timeout(20):
        while True:
            resp = await owner.get(f"/api/v1/privacy/jobs/{job_id}")
            assert resp.status_code == 200, resp.text
            if resp.json()["status"] not in ("pending", "running"):
                return dict(resp.json())
            await asyncio.sleep(0.05)


async def _redis_text() -> str:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    parts: list[str] = []
    try:
        async for key in client.scan_iter():
            parts.append(repr(key))
            kind = (await client.type(key)).decode()
            if kind == "string":
                parts.append(repr(await client.get(key)))
            elif kind == "hash":
                parts.append(repr(await client.hgetall(key)))
            elif kind == "list":
                parts.append(repr(await client.lrange(key, 0, -1)))
            elif kind == "set":
                parts.append(repr(await client.smembers(key)))
            elif kind == "zset":
                parts.append(repr(await client.zrange(key, 0, -1)))
            elif kind == "stream":
                parts.append(repr(await client.xrange(key)))
    finally:
        await client.aclose()
    return "\n".join(parts)


def _files(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


# Jobs in process even on Redis: no `porch worker` runs beside these tests.
@pytest.mark.settings(allow_signup=True, jobs_queue="memory")
async def test_export_then_erase_leaves_nothing_of_the_person_anywhere(
    app: FastAPI,
    client: httpx.AsyncClient,
    owner: OwnerClient,
    settings: Settings,
    capfd: pytest.CaptureFixture[str],
) -> None:
    widget = await make_widget(owner)
    person = [
        await start_conversation(
            client, widget["id"], user={"id": "ext-1", "email": EMAIL, "name": NAME}
        )
        for _ in range(2)
    ]
    for i, v in enumerate(person):
        await ask(client, v, f"{PHRASE} question {i}")
        await ask(client, v, f"call me on +44 20 7946 0958, {PHRASE} again {i}")
    bystander = await start_conversation(
        client, widget["id"], user={"id": "b", "email": "b@example.org"}
    )
    await ask(client, bystander, OTHER)
    other = await signup(app)
    try:
        their_widget = await make_widget(other)
        # Another workspace knows the same address: its data is not ours to erase.
        theirs = await start_conversation(
            client, their_widget["id"], user={"id": "t", "email": EMAIL}
        )
        await ask(client, theirs, "second workspace keeps this")
    finally:
        await other.http.aclose()

    # Export: every message of the person, nothing of anyone else, once.
    made = await owner.post("/api/v1/privacy/export", json={"subject": {"email": EMAIL.upper()}})
    assert made.status_code == 202, made.text
    job = await _job(owner, app, made.json()["job_id"])
    assert job["status"] == "done" and job["counts"]["conversations"] == 2
    url = job["download_url"]
    assert url and "token=" in url
    got = await owner.get(url)
    assert got.status_code == 200, got.text
    assert "attachment" in got.headers["content-disposition"]
    doc = got.json()
    assert doc["format"] == "porch.export/1"
    contents = [m["content"] for c in doc["conversations"] for m in c["messages"]]
    users = [m for m in contents if PHRASE in m]
    assert len(users) == 4 and job["counts"]["messages"] == len(contents)
    assert OTHER not in got.text and "second workspace" not in got.text
    again = await owner.get(url)
    assert again.status_code == 410 and again.json()["error"]["code"] == "export_gone"
    # A second export, never downloaded: the erase removes it too.
    pending = await owner.post(
        "/api/v1/privacy/export", json={"subject": {"visitor_id": person[0].conversation_id}}
    )
    assert (await _job(owner, app, pending.json()["job_id"]))["counts"]["conversations"] == 1
    # A user id counts only when the site signed it: these visitors only claimed "ext-1".
    unsigned = await owner.post(
        "/api/v1/privacy/erase", json={"subject": {"user_id": "ext-1"}, "dry_run": True}
    )
    assert unsigned.json()["counts"]["conversations"] == 0

    dry = await owner.post(
        "/api/v1/privacy/erase", json={"subject": {"email": EMAIL}, "dry_run": True}
    )
    assert dry.status_code == 200, dry.text
    counts = dry.json()["counts"]
    assert counts["conversations"] == 2 and counts["messages"] >= 8 and counts["held"] == 0
    assert (
        await owner.post("/api/v1/privacy/erase", json={"subject": {"email": EMAIL}})
    ).status_code == 200

    erased = await owner.post(
        "/api/v1/privacy/erase",
        json={"subject": {"email": EMAIL}, "dry_run": False, "reason": "Art. 17 request #12"},
    )
    assert erased.status_code == 202, erased.text
    done = await _job(owner, app, erased.json()["job_id"])
    assert done["status"] == "done" and done["counts"]["conversations"] == 2
    assert done["counts"]["messages"] == counts["messages"]

    audit = (await owner.get("/api/v1/audit-log")).json()["events"]
    entry = next(e for e in audit if e["action"] == "privacy.erased")
    assert entry["changes"]["reason"] == "Art. 17 request #12"
    assert entry["changes"]["requested_by"] == owner.email

    # The storage itself.
    everything = await every_table_text(app)
    ours = everything.lower()
    assert PHRASE not in ours
    assert OTHER in everything and "second workspace keeps this" in everything
    # The address survives only in the other workspace's conversation (its row, its event).
    marks = (theirs.conversation_id, theirs.conversation_id.replace("-", ""))
    left = [line for line in ours.splitlines() if EMAIL in line]
    assert len(left) == 2 and all(any(m in line for m in marks) for line in left)
    assert NAME.lower() not in ours
    if settings.is_sqlite:
        raw = _files(settings.data_dir)
        assert PHRASE.encode() not in raw and NAME.encode() not in raw
    else:
        redis = await _redis_text()
        assert PHRASE not in redis and EMAIL not in redis and NAME not in redis
        assert PHRASE.encode() not in _files(settings.data_dir)
    logs = capfd.readouterr()
    assert PHRASE not in logs.out + logs.err and EMAIL not in logs.out + logs.err

    # A restored backup brings the person back; the tombstone erases them again.
    async with app.state.porch.sessionmaker() as session:
        workspace = await session.get(Conversation, _uuid(bystander.conversation_id))
        assert workspace is not None
        restored = Conversation(
            workspace_id=workspace.workspace_id,
            widget_id=workspace.widget_id,
            visitor_token_hash="r" * 64,
            user_email=EMAIL,
            last_message_at=utcnow(),
        )
        session.add(restored)
        await session.flush()
        session.add(
            Message(
                conversation_id=restored.id,
                workspace_id=restored.workspace_id,
                widget_id=restored.widget_id,
                role="user",
                content=f"restored {PHRASE}",
            )
        )
        await session.commit()
    state = app.state.porch
    again_counts = await reapply(settings, state.sessionmaker, state.engine)
    assert again_counts["conversations"] == 1
    assert PHRASE not in await every_table_text(app)
    assert "second workspace keeps this" in await every_table_text(app)


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


async def test_bad_requests_are_clear(app: FastAPI, owner: OwnerClient) -> None:
    for body in (
        {"subject": {}},
        {"subject": {"email": "a@b.co", "user_id": "x"}},
        {"subject": {"visitor_id": "not-a-uuid"}},
        {"subject": {"email": "a\x00@b.co"}},
    ):
        resp = await owner.post("/api/v1/privacy/export", json=body)
        assert resp.status_code == 400, (body, resp.text)
    missing = await owner.get("/api/v1/privacy/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    hold = await owner.post("/api/v1/conversations/00000000-0000-0000-0000-000000000000/hold")
    assert hold.status_code == 404
    nobody = await owner.post(
        "/api/v1/privacy/erase",
        json={"subject": {"visitor_id": "00000000-0000-0000-0000-000000000000"}},
    )
    assert nobody.status_code == 200 and nobody.json()["counts"]["conversations"] == 0


async def test_a_visitor_deletes_their_own_conversation(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner)
    mine = await start_conversation(client, widget["id"])
    await ask(client, mine, f"{PHRASE} mine")
    theirs = await start_conversation(client, widget["id"])
    await ask(client, theirs, OTHER)
    # Someone else's token cannot delete it.
    refused = await client.delete(
        f"/api/v1/conversations/{mine.conversation_id}", headers=theirs.auth
    )
    assert refused.status_code == 404
    assert (await client.delete(f"/api/v1/conversations/{mine.conversation_id}")).status_code == 401
    done = await client.delete(f"/api/v1/conversations/{mine.conversation_id}", headers=mine.auth)
    assert done.status_code == 200 and done.json() == {"deleted": 1}
    everything = await every_table_text(app)
    assert PHRASE not in everything and OTHER in everything
    gone = await client.get(
        f"/api/v1/conversations/{mine.conversation_id}/messages", headers=mine.auth
    )
    assert gone.status_code == 404
    preflight = await client.options(
        f"/api/v1/conversations/{theirs.conversation_id}",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert "DELETE" in preflight.headers.get("access-control-allow-methods", "")
