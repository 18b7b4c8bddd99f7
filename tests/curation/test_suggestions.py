"""Thumbs-downs and resolved conversations become grouped suggestions; approval matches."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import BOTH, OwnerClient, VisitorSession, signup, start_conversation
from tests.curation.conftest import faq_widget
from tests.curation.kit import ask

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

AGENT_ANSWER = "Yes: yearly plans can pay by invoice, net 30."


async def thumbs_down(client: httpx.AsyncClient, v: VisitorSession, question: str) -> str:
    reply = await ask(client, v, question)
    resp = await client.post(
        f"/api/v1/messages/{reply['message_id']}/feedback", json={"rating": "down"}, headers=v.auth
    )
    assert resp.status_code == 204, resp.text
    return str(reply["message_id"])


async def test_feedback_and_resolved_conversations_make_one_grouped_suggestion(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await faq_widget(app, owner)
    one = await start_conversation(client, w["id"])
    await thumbs_down(client, one, "Can I pay by invoice?")
    two = await start_conversation(client, w["id"])
    await ask(client, two, "Is paying by invoice possible?")
    reply = await owner.post(
        f"/api/v1/conversations/{two.conversation_id}/reply", json={"content": AGENT_ANSWER}
    )
    assert reply.status_code in (200, 201), reply.text
    closed = await owner.post(f"/api/v1/conversations/{two.conversation_id}/close")
    assert closed.status_code == 200, closed.text
    three = await start_conversation(client, w["id"])
    await thumbs_down(client, three, "Do you deliver to Mars?")

    url = f"/api/v1/widgets/{w['id']}/suggestions"
    listed = (await owner.get(url)).json()["suggestions"]
    assert len(listed) == 2
    grouped = listed[0]
    assert grouped["count"] == 2
    assert set(grouped["conversation_ids"]) == {one.conversation_id, two.conversation_id}
    # The answer is the agent's own words, never the assistant's.
    assert grouped["answer"] == AGENT_ANSWER
    assert set(grouped["reasons"]) == {"feedback", "resolved"}
    assert listed[1]["count"] == 1 and listed[1]["answer"] == ""
    # Reading again counts nothing twice.
    assert (await owner.get(url)).json()["suggestions"] == listed

    no_answer = await owner.post(f"/api/v1/suggestions/{listed[1]['id']}/approve")
    assert no_answer.status_code == 400
    assert no_answer.json()["error"]["code"] == "answer_required"
    assert (await owner.post(f"/api/v1/suggestions/{listed[1]['id']}/dismiss")).status_code == 200

    approved = await owner.post(f"/api/v1/suggestions/{grouped['id']}/approve", json={})
    assert approved.status_code == 200, approved.text
    qid = approved.json()["curated_answer_id"]
    qa = (await owner.get(f"/api/v1/curated-answers/{qid}")).json()
    assert qa["status"] == "approved" and qa["origin"] == "feedback"
    assert (await owner.post(f"/api/v1/suggestions/{grouped['id']}/approve")).status_code == 409
    assert (await owner.get(url)).json()["suggestions"] == []

    four = await start_conversation(client, w["id"])
    assert (await ask(client, four, "Can I pay with an invoice?"))["text"] == AGENT_ANSWER


async def test_merge_into_an_existing_answer_and_isolation(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await faq_widget(app, owner)
    existing = await owner.post(
        f"/api/v1/widgets/{w['id']}/curated-answers",
        json={"question": "Where is my parcel?", "answer": "See /orders.", "status": "draft"},
    )
    v = await start_conversation(client, w["id"])
    await thumbs_down(client, v, "Has my package left the warehouse?")
    (s,) = (await owner.get(f"/api/v1/widgets/{w['id']}/suggestions")).json()["suggestions"]
    stranger = await signup(app)
    try:
        assert (await stranger.get(f"/api/v1/widgets/{w['id']}/suggestions")).status_code == 404
        assert (await stranger.post(f"/api/v1/suggestions/{s['id']}/approve")).status_code == 404
        assert (await stranger.post(f"/api/v1/suggestions/{s['id']}/dismiss")).status_code == 404
    finally:
        await stranger.http.aclose()
    merged = await owner.post(
        f"/api/v1/suggestions/{s['id']}/approve", json={"merge_into": existing.json()["id"]}
    )
    assert merged.status_code == 200 and merged.json()["status"] == "merged"
    qa = (await owner.get(f"/api/v1/curated-answers/{existing.json()['id']}")).json()
    assert qa["variants"] == ["Has my package left the warehouse?"]
