"""Curated answers in the answer pipeline: verbatim, grounding, thresholds, hits, isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from porch.settings import Settings
from tests.conftest import BOTH, OwnerClient, signup, start_conversation
from tests.curation.conftest import faq_widget, with_openai
from tests.curation.kit import ask, curated
from tests.fakes import OpenAIFake

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

ANSWER = "**Reset it** at https://example.com/reset — it takes *one* minute.\n\n1. Open\n2. Done ü"


@pytest.fixture
def settings(settings: Settings, openai_fake: OpenAIFake) -> Settings:
    return with_openai(settings, openai_fake)


async def test_verbatim_answer_is_sent_byte_for_byte_without_a_model_call(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient, openai_fake: OpenAIFake
) -> None:
    w = await faq_widget(app, owner)
    qa = await curated(
        owner,
        w["id"],
        question="How do I reset my password?",
        answer=ANSWER,
        variants=["I lost my password"],
    )
    v = await start_conversation(client, w["id"])
    before = openai_fake.control.request_count
    reply = await ask(client, v, "I forgot my password, what do I do?")
    assert reply["text"] == ANSWER
    assert openai_fake.control.request_count == before
    assert reply["sources"][0]["title"].endswith("How do I reset my password?")
    # Stored as it was sent, with its hit recorded and counted.
    history = await client.get(
        f"/api/v1/conversations/{v.conversation_id}/messages", headers=v.auth
    )
    assert history.json()["messages"][-1]["content"] == ANSWER
    got = (await owner.get(f"/api/v1/curated-answers/{qa['id']}")).json()
    assert got["hit_count"] == 1 and got["last_hit_at"] is not None
    async with app.state.porch.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT curated_answer_id, score, components FROM curated_hits")
            )
        ).one()
    assert str(row[0]).replace("-", "") == qa["id"].replace("-", "")
    assert row[1] >= app.state.settings.curated_threshold


async def test_grounding_answer_leads_the_retrieved_passages(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient, openai_fake: OpenAIFake
) -> None:
    w = await faq_widget(app, owner)
    await curated(
        owner,
        w["id"],
        question="How much is the Pro plan?",
        mode="grounding",
        answer="Pro is $10 a month when paid yearly.",
    )
    openai_fake.control.script(text="It is $10 a month yearly. [1]")
    v = await start_conversation(client, w["id"])
    reply = await ask(client, v, "How much does the Pro plan cost?")
    assert reply["text"] == "It is $10 a month yearly. [1]"
    system = openai_fake.control.requests[-1].json["messages"][0]["content"]
    approved = system.index("Approved answer: How much is the Pro plan?")
    retrieved = system.index("$12 per month")
    assert system.index('<passage id="1"') < approved < system.index('<passage id="2"') < retrieved
    assert reply["sources"][0]["title"].startswith("Approved answer")


async def test_threshold_zero_matches_everything_and_unset_uses_the_default(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient, openai_fake: OpenAIFake
) -> None:
    w = await faq_widget(app, owner)
    await curated(owner, w["id"], question="Do you ship to Canada?", answer="Yes, in 5 days.")
    openai_fake.control.script(text="I don't know that. [1]")
    v = await start_conversation(client, w["id"])
    unrelated = "What is the capital of France?"
    assert (await ask(client, v, unrelated))["text"].startswith("I don't know that. [1]")
    zero = await curated(
        owner, w["id"], question="Opening hours?", answer="Nine to five.", threshold=0.0
    )
    assert zero["threshold"] == 0.0
    assert (await ask(client, v, unrelated))["text"] == "Nine to five."
    # The match endpoint shows why: each answer's threshold and score components.
    m = (
        await owner.post(
            f"/api/v1/widgets/{w['id']}/curated-answers/match", json={"query": unrelated}
        )
    ).json()
    assert m["winner_id"] == zero["id"]
    by_id = {x["id"]: x for x in m["matches"]}
    assert by_id[zero["id"]]["threshold"] == 0.0
    other = next(x for x in m["matches"] if x["id"] != zero["id"])
    assert other["threshold"] == app.state.settings.curated_threshold
    assert {"semantic", "keyword", "exact"} <= set(other["components"])


async def test_exact_match_after_normalisation_and_draft_never_matches(
    app: FastAPI, owner: OwnerClient
) -> None:
    w = await faq_widget(app, owner)
    qa = await curated(owner, w["id"], question="Where is my order?", answer="See /orders.")
    draft = await curated(
        owner, w["id"], question="Where is the refund?", answer="Ask us.", status="draft"
    )
    m = (
        await owner.post(
            f"/api/v1/widgets/{w['id']}/curated-answers/match",
            json={"query": "  WHERE is my ORDER!! "},
        )
    ).json()
    assert m["winner_id"] == qa["id"] and m["matches"][0]["components"]["exact"] == 1.0
    m = (
        await owner.post(
            f"/api/v1/widgets/{w['id']}/curated-answers/match",
            json={"query": "Where is the refund?"},
        )
    ).json()
    assert draft["id"] not in {x["id"] for x in m["matches"]}


async def test_duplicate_question_with_another_answer_is_refused(
    app: FastAPI, owner: OwnerClient
) -> None:
    w = await faq_widget(app, owner)
    first = await curated(owner, w["id"], question="Do you ship to Canada?", answer="Yes.")
    resp = await owner.post(
        f"/api/v1/widgets/{w['id']}/curated-answers",
        json={"question": "do you ship to canada", "answer": "No."},
    )
    assert resp.status_code == 409
    err = resp.json()["error"]
    assert err["code"] == "duplicate_question" and err["existing_id"] == first["id"]
    near = await owner.post(
        f"/api/v1/widgets/{w['id']}/curated-answers",
        json={"question": "Do you ship to Canada??", "answer": "Never."},
    )
    assert near.status_code == 409
    # The same answer again is not a conflict; neither is another widget's question.
    same = await owner.post(
        f"/api/v1/widgets/{w['id']}/curated-answers",
        json={"question": "Do you ship to Canada", "answer": "Yes."},
    )
    assert same.status_code == 201


async def test_bad_input_is_a_clear_error(app: FastAPI, owner: OwnerClient) -> None:
    w = await faq_widget(app, owner)
    base = f"/api/v1/widgets/{w['id']}/curated-answers"
    cases: list[tuple[dict[str, Any], int]] = [
        ({"question": "", "answer": "x"}, 400),
        ({"question": "q", "answer": "x", "mode": "loud"}, 400),
        ({"question": "q", "answer": "x", "threshold": 1.5}, 400),
        ({"question": "q\x00", "answer": "x"}, 400),
        ({"question": "q", "answer": "x", "unknown": 1}, 400),
    ]
    for body, code in cases:
        assert (await owner.post(base, json=body)).status_code == code, body
    assert (await owner.get("/api/v1/curated-answers/not-a-uuid")).status_code in (400, 404)
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await owner.get(f"/api/v1/curated-answers/{missing}")).status_code == 404


async def test_curated_answers_never_leak_across_widgets_or_workspaces(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient, openai_fake: OpenAIFake
) -> None:
    mine = await faq_widget(app, owner)
    other_widget = await faq_widget(app, owner)
    qa = await curated(
        owner,
        other_widget["id"],
        question="Do you ship to Canada?",
        answer="Yes, from the other widget.",
    )
    openai_fake.control.script(text="Not in my passages.")
    v = await start_conversation(client, mine["id"])
    assert (await ask(client, v, "Do you ship to Canada?"))["text"].startswith("Not in my")
    stranger = await signup(app)
    try:
        assert (await stranger.get(f"/api/v1/curated-answers/{qa['id']}")).status_code == 404
        patch = await stranger.patch(f"/api/v1/curated-answers/{qa['id']}", json={"answer": "x"})
        assert patch.status_code == 404
        listing = await stranger.get(f"/api/v1/widgets/{other_widget['id']}/curated-answers")
        assert listing.status_code == 404
        match = await stranger.post(
            f"/api/v1/widgets/{other_widget['id']}/curated-answers/match", json={"query": "x"}
        )
        assert match.status_code == 404
        assert (await stranger.delete(f"/api/v1/curated-answers/{qa['id']}")).status_code == 404
    finally:
        await stranger.http.aclose()
