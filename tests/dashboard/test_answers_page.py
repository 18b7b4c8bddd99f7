"""The Answers page: curated answers, grouped suggestions and runs, escaped; admins only;
another workspace's widget is a 404 page."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.kit import member
from tests.conftest import BOTH, OwnerClient, signup, start_conversation
from tests.curation.conftest import faq_widget
from tests.curation.kit import ask
from tests.dashboard.test_pages import EVIL, assert_strict
from tests.evals.conftest import run_and_wait

pytestmark = [
    pytest.mark.parametrize("backend", BOTH, indirect=True),
    pytest.mark.settings(allow_signup=True, jobs_queue="memory", eval_watch_seconds=0.0),
]


async def test_answers_page_lists_answers_suggestions_and_runs(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await faq_widget(app, owner)
    await owner.post(
        f"/api/v1/widgets/{w['id']}/curated-answers",
        json={"question": f"Is {EVIL} safe?", "answer": "Yes.", "status": "approved"},
    )
    v = await start_conversation(client, w["id"])
    reply = await ask(client, v, f"Why {EVIL} here?")
    await client.post(
        f"/api/v1/messages/{reply['message_id']}/feedback", json={"rating": "down"}, headers=v.auth
    )
    await owner.post(
        f"/api/v1/widgets/{w['id']}/eval-cases",
        json={
            "name": "price",
            "turns": [{"content": "How much is Pro?"}],
            "assertions": [{"type": "contains", "value": "free forever"}],
        },
    )
    done = await run_and_wait(app, owner, w["id"])
    assert done["failed"] == 1
    page = await owner.get(f"/app/widgets/{w['id']}/answers")
    assert page.status_code == 200, page.text
    assert_strict(page)
    assert EVIL not in page.text and "&lt;img src=x" in page.text
    assert 'data-testid="curated-list"' in page.text and 'data-testid="suggestions"' in page.text
    assert "asked 1\u00d7" in page.text
    runs_html = page.text[page.text.find("runs-title") :]
    assert "0 passed, 1 failed" in runs_html and "free forever" in runs_html, runs_html[:3000]
    agent = await member(app, owner, "agent")
    try:
        assert (await agent.get(f"/app/widgets/{w['id']}/answers")).status_code == 403
    finally:
        await agent.http.aclose()
    stranger = await signup(app)
    try:
        assert (await stranger.get(f"/app/widgets/{w['id']}/answers")).status_code == 404
        assert (await stranger.get("/app/widgets/not-an-id/answers")).status_code == 404
    finally:
        await stranger.http.aclose()


async def test_improve_add_to_tests_and_answer_this_are_offered(
    app: FastAPI, owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await faq_widget(app, owner)
    v = await start_conversation(client, w["id"])
    reply = await ask(client, v, "What is the capital of France?")
    page = await owner.get(f"/app/conversations/{v.conversation_id}")
    assert page.status_code == 200
    assert f'data-api="/api/v1/messages/{reply["message_id"]}/improve"' in page.text
    assert f'data-api="/api/v1/conversations/{v.conversation_id}/eval-case"' in page.text
    # The form's fields are what the improve route takes.
    assert "What is the capital of France?</textarea>" in page.text
    analytics = await owner.get(f"/app/widgets/{w['id']}/analytics")
    assert analytics.status_code == 200
    assert 'data-testid="answer-this"' in analytics.text
    assert 'name="origin" value="analytics"' in analytics.text
