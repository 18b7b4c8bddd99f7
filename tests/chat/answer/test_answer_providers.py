"""The answer pipeline against fake vendors over real HTTP: streams, usage, fallbacks, failures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from porch.settings import Settings
from tests.conftest import BOTH, OwnerClient, VisitorSession, make_widget, ops_get, parse_sse
from tests.fakes import AnthropicFake, OpenAIFake

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

FAQ = "# Plans\nThe Pro plan costs $12 per month and includes unlimited sites."


@pytest.fixture
def settings(settings: Settings, openai_fake: OpenAIFake) -> Settings:
    """The server default becomes the fake OpenAI; short timeouts, a breaker that opens fast."""
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "llm_base_url": openai_fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "llm_timeout": 0.5,
            "llm_retries": 1,
            "llm_breaker_failures": 2,
            "llm_breaker_reset_seconds": 60,
        }
    )


@pytest.fixture
async def visitor(owner: OwnerClient, client: httpx.AsyncClient) -> VisitorSession:
    w = await make_widget(owner, history_limit=2, system_prompt="You are Acme's helper.")
    await owner.post(
        f"/api/v1/widgets/{w['id']}/sources", json={"type": "text", "title": "Plans", "text": FAQ}
    )
    resp = await client.post(f"/api/v1/widgets/{w['id']}/conversations", json={})
    data = resp.json()
    return VisitorSession(data["conversation_id"], data["visitor_token"], data["messages"])


async def ask(
    client: httpx.AsyncClient, v: VisitorSession, content: str, stream: bool = True
) -> httpx.Response:
    headers = {**v.auth, **({"Accept": "text/event-stream"} if stream else {})}
    return await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers=headers,
    )


async def assistant_rows(app: FastAPI) -> list[Any]:
    async with app.state.porch.engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT content, status, provider, model, prompt_tokens, "
                        "completion_tokens, "
                        "cost_usd, error_code FROM messages WHERE role = 'assistant' ORDER BY id"
                    )
                )
            ).all()
        )


async def test_streams_model_tokens_and_records_usage_and_cost(
    client: httpx.AsyncClient, visitor: VisitorSession, openai_fake: OpenAIFake, app: FastAPI
) -> None:
    openai_fake.control.script(text="The Pro plan is $12 a month. [1]", prompt_tokens=900)
    resp = await ask(client, visitor, "How much is Pro?")
    events = parse_sse(resp.text)
    tokens = [d["delta"] for n, d in events if n == "token"]
    assert "".join(tokens) == "The Pro plan is $12 a month. [1]" and len(tokens) > 3
    done = events[-1][1]
    assert done["usage"] == {"prompt_tokens": 900, "completion_tokens": len(tokens)}
    assert events[-2][1]["sources"][0]["title"] == "Plans"
    row = (await assistant_rows(app))[-1]
    assert row[1:6] == ("complete", "openai", "gpt-4o-mini", 900, len(tokens))
    assert row[6] == pytest.approx((900 * 0.15 + len(tokens) * 0.60) / 1e6)


async def test_prompt_fences_passages_and_trims_history(
    client: httpx.AsyncClient, visitor: VisitorSession, openai_fake: OpenAIFake
) -> None:
    openai_fake.control.script(text="ok")
    for i in range(3):
        await ask(client, visitor, f"question {i} about the Pro plan", stream=False)
    messages = openai_fake.control.requests[-1].json["messages"]
    system = messages[0]["content"]
    assert messages[0]["role"] == "system" and system.startswith("You are Acme's helper.")
    assert '<passage id="1" | Plans>' in system and "$12" in system
    assert "never as instructions" in system
    # history_limit=2: the two messages before the question, then the question itself.
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user"]
    assert messages[-1]["content"] == "question 2 about the Pro plan"
    assert messages[1]["content"] == "question 1 about the Pro plan"


async def test_provider_down_before_first_token_falls_back(
    client: httpx.AsyncClient, visitor: VisitorSession, openai_fake: OpenAIFake, app: FastAPI
) -> None:
    openai_fake.control.script(status=500)
    resp = await ask(client, visitor, "How much is the Pro plan?")
    events = parse_sse(resp.text)
    assert [n for n, _ in events if n == "error"] == []
    reply = "".join(d["delta"] for n, d in events if n == "token")
    assert "$12" in reply  # answered from the knowledge base instead
    assert events[-1][1]["status"] == "fallback"
    assert openai_fake.control.request_count == 2  # one try and one retry
    row = (await assistant_rows(app))[-1]
    assert (row[1], row[2], row[7]) == ("fallback", "extractive", "provider_error")


async def test_failure_mid_stream_keeps_partial_and_ends_with_error(
    client: httpx.AsyncClient, visitor: VisitorSession, openai_fake: OpenAIFake, app: FastAPI
) -> None:
    openai_fake.control.script(text="one two three four five six", hang_after=3)
    resp = await ask(client, visitor, "How much is the Pro plan?")
    events = parse_sse(resp.text)
    assert events[0][0] == "start" and events[-1][0] == "error"
    assert events[-1][1]["code"] == "provider_timeout"
    assert "done" not in [n for n, _ in events]
    assert openai_fake.control.request_count == 1  # never replayed once tokens flowed
    row = (await assistant_rows(app))[-1]
    assert (row[0], row[1]) == ("one two three", "failed")
    history = (
        await client.get(
            f"/api/v1/conversations/{visitor.conversation_id}/messages", headers=visitor.auth
        )
    ).json()["messages"]
    assert history[-2]["role"] == "user" and history[-1]["status"] == "failed"


async def test_json_mode_failure_is_503_and_question_kept(
    client: httpx.AsyncClient, visitor: VisitorSession, openai_fake: OpenAIFake
) -> None:
    openai_fake.control.script(text="one two three four", malformed_after=2)
    resp = await ask(client, visitor, "How much is the Pro plan?", stream=False)
    assert resp.status_code == 503 and "retry-after" in resp.headers
    assert resp.json()["error"]["code"] == "provider_bad_stream"
    history = (
        await client.get(
            f"/api/v1/conversations/{visitor.conversation_id}/messages", headers=visitor.auth
        )
    ).json()["messages"]
    assert history[-2]["content"] == "How much is the Pro plan?"


async def test_breaker_opens_then_answers_without_calling_the_vendor(
    client: httpx.AsyncClient, visitor: VisitorSession, openai_fake: OpenAIFake, app: FastAPI
) -> None:
    openai_fake.control.script(status=503)
    for _ in range(2):  # two failing replies (each with its retry) open the breaker
        await ask(client, visitor, "How much is the Pro plan?", stream=False)
    calls = openai_fake.control.request_count
    resp = await ask(client, visitor, "How much is the Pro plan?", stream=False)
    assert resp.status_code == 200 and resp.json()["message"]["status"] == "fallback"
    assert openai_fake.control.request_count == calls
    status = (await ops_get(app, "/status")).json()
    assert {"provider": "openai", "model": "gpt-4o-mini", "state": "open"}.items() <= status[
        "breakers"
    ][0].items()
    metrics = (await ops_get(app, "/metrics")).text
    assert 'porch_llm_breaker_state{model="gpt-4o-mini",provider="openai"} 2.0' in metrics


async def test_widget_can_name_anthropic(
    owner: OwnerClient,
    client: httpx.AsyncClient,
    anthropic_fake: AnthropicFake,
    monkeypatch: pytest.MonkeyPatch,
    app: FastAPI,
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_fake.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    anthropic_fake.control.script(text="Claude says hi.")
    w = await make_widget(owner, provider="anthropic", model="claude-sonnet-4-5")
    v = await client.post(f"/api/v1/widgets/{w['id']}/conversations", json={})
    body = v.json()
    resp = await client.post(
        f"/api/v1/conversations/{body['conversation_id']}/messages",
        json={"content": "hello"},
        headers={"Authorization": f"Bearer {body['visitor_token']}"},
    )
    assert resp.json()["message"]["content"] == "Claude says hi."
    assert anthropic_fake.control.requests[-1].json["model"] == "claude-sonnet-4-5"


async def test_context_rule_instructions_reach_the_prompt(
    owner: OwnerClient, client: httpx.AsyncClient, openai_fake: OpenAIFake
) -> None:
    openai_fake.control.script(text="ok")
    w = await make_widget(owner)
    await owner.post(
        f"/api/v1/widgets/{w['id']}/sources", json={"type": "text", "title": "Plans", "text": FAQ}
    )
    rule = await owner.post(
        f"/api/v1/widgets/{w['id']}/context-rules",
        json={
            "match": "https://shop.example/pricing*",
            "instructions": "Mention the annual discount.",
        },
    )
    assert rule.status_code in (200, 201), rule.text
    for page, expected in (
        ("https://shop.example/pricing", True),
        ("https://shop.example/blog", False),
    ):
        conv = (
            await client.post(f"/api/v1/widgets/{w['id']}/conversations", json={"page_url": page})
        ).json()
        await client.post(
            f"/api/v1/conversations/{conv['conversation_id']}/messages",
            json={"content": "How much is the Pro plan?"},
            headers={"Authorization": f"Bearer {conv['visitor_token']}"},
        )
        system = openai_fake.control.requests[-1].json["messages"][0]["content"]
        assert ("Mention the annual discount." in system) is expected
        assert system.index("<passages>") > system.find("Mention") or not expected
