"""CSV and JSONL import and export, improving a reply, matching with the offline answerer."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, start_conversation
from tests.curation.conftest import faq_widget
from tests.curation.kit import ask, curated

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

ROWS = [
    {
        "question": "Do you ship to Canada?",
        "answer": 'Yes, "tracked", in 5 days,\nfree.',
        "variants": ["Ship to CA?", "Canada delivery"],
        "tags": ["shipping", "ca"],
        "threshold": 0.0,
        "mode": "verbatim",
        "locale": "en",
    },
    {
        "question": "How do I cancel?",
        "answer": "Settings → *Cancel*.",
        "mode": "grounding",
        "valid_until": "2099-01-01T00:00:00Z",
    },
    {"question": "Draft one", "answer": "Not yet.", "status": "draft"},
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_export_import_round_trip_is_identical(
    app: FastAPI, owner: OwnerClient, fmt: str
) -> None:
    a = await faq_widget(app, owner)
    for row in ROWS:
        await curated(owner, a["id"], **{"status": "approved", **row})
    first = await owner.get(f"/api/v1/widgets/{a['id']}/curated-answers/export?format={fmt}")
    assert first.status_code == 200
    b = await faq_widget(app, owner)
    kind = "text/csv" if fmt == "csv" else "application/jsonl"
    imported = await owner.post(
        f"/api/v1/widgets/{b['id']}/curated-answers/import",
        content=first.content,
        headers={"Content-Type": kind},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 3
    second = await owner.get(f"/api/v1/widgets/{b['id']}/curated-answers/export?format={fmt}")
    assert second.content == first.content
    # Imported again: the same questions and answers update, nothing is duplicated.
    again = await owner.post(
        f"/api/v1/widgets/{b['id']}/curated-answers/import",
        content=first.content,
        headers={"Content-Type": kind},
    )
    assert again.json() == {**again.json(), "created": 0, "updated": 3}
    listed = (await owner.get(f"/api/v1/widgets/{b['id']}/curated-answers")).json()
    assert [r["origin"] for r in listed["curated_answers"]] == ["import"] * 3


async def test_import_refuses_conflicts_and_bad_files(app: FastAPI, owner: OwnerClient) -> None:
    w = await faq_widget(app, owner)
    existing = await curated(owner, w["id"], question="Do you ship to Canada?", answer="Yes.")
    url = f"/api/v1/widgets/{w['id']}/curated-answers/import"
    jsonl = {"Content-Type": "application/jsonl"}
    conflict = await owner.post(
        url, content=b'{"question": "do you ship to canada?", "answer": "No."}\n', headers=jsonl
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["existing_id"] == existing["id"]
    twice = b'{"question": "A?", "answer": "1"}\n{"question": "a", "answer": "2"}\n'
    assert (await owner.post(url, content=twice, headers=jsonl)).status_code == 409
    bad = await owner.post(url, content=b'{"question": "A?"}\n', headers=jsonl)
    assert bad.status_code == 400 and "Line 1" in bad.json()["error"]["message"]
    assert (await owner.post(url, content=b"not json\n", headers=jsonl)).status_code == 400
    no_header = await owner.post(url, content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert no_header.status_code == 400
    binary = await owner.post(url, content=b"\xff\xfe", headers={"Content-Type": "text/csv"})
    assert binary.status_code == 400
    plain = await owner.post(url, content=b"x", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert (await owner.post(url, content=b"", headers=jsonl)).status_code == 400
    # Nothing of the refused files was stored.
    listed = (await owner.get(f"/api/v1/widgets/{w['id']}/curated-answers")).json()
    assert len(listed["curated_answers"]) == 1


async def test_improve_a_reply_then_the_next_question_matches_offline(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    """The offline answerer (the default provider) with MiniLM: a paraphrase matches."""
    w = await faq_widget(app, owner)
    v = await start_conversation(client, w["id"])
    first = await ask(client, v, "Can I pay by invoice?")
    draft = await owner.post(
        f"/api/v1/messages/{first['message_id']}/improve",
        json={"question": "Can I pay by invoice?", "answer": "Yes: invoices for yearly plans."},
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "draft" and draft.json()["origin"] == "conversation"
    assert draft.json()["origin_message_id"] == first["message_id"]
    before = await ask(client, v, "Is paying by invoice possible?")
    assert before["text"] != "Yes: invoices for yearly plans."
    approved = await owner.patch(
        f"/api/v1/curated-answers/{draft.json()['id']}", json={"status": "approved"}
    )
    assert approved.json()["approved_by"] is not None
    after = await ask(client, v, "Is paying by invoice possible?")
    assert after["text"] == "Yes: invoices for yearly plans."
    # A visitor's own message cannot be improved; an unknown one is not found.
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    user_id = next(m["id"] for m in history.json()["messages"] if m["role"] == "user")
    body = {"question": "q", "answer": "a"}
    assert (await owner.post(f"/api/v1/messages/{user_id}/improve", json=body)).status_code == 400
    missing = "/api/v1/messages/00000000-0000-0000-0000-000000000000/improve"
    assert (await owner.post(missing, json=body)).status_code == 404
