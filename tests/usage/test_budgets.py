"""Budgets per widget and per workspace: counted exactly, a warning once, then the fallback
answer (200, stored), and usage readable in the API and on the dashboard. Both storage modes."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from porch.settings import Settings
from tests.conftest import (
    BOTH,
    OwnerClient,
    make_widget,
    ops_get,
    parse_sse,
    signup,
    start_conversation,
)
from tests.fakes import OpenAIFake

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)

FAQ = "# Plans\nThe Pro plan costs $12 per month and includes unlimited sites."
FALLBACK = "We are out of answers for today: write to help@example.com."


@pytest.fixture
def settings(settings: Settings, openai_fake: OpenAIFake) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "llm_base_url": openai_fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "embeddings": "none",
        }
    )


async def _widget(owner: OwnerClient, **limits: Any) -> dict[str, Any]:
    w = await make_widget(owner, fallback_message=FALLBACK, limits=limits)
    await owner.post(
        f"/api/v1/widgets/{w['id']}/sources", json={"type": "text", "title": "Plans", "text": FAQ}
    )
    return w


async def _send(client: httpx.AsyncClient, v: Any, stream: bool = False) -> httpx.Response:
    headers = {**v.auth, **({"Accept": "text/event-stream"} if stream else {})}
    return await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": "How much is the Pro plan?"},
        headers=headers,
    )


async def _replies(app: FastAPI) -> list[tuple[str, str, str | None]]:
    async with app.state.porch.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT content, status, error_code FROM messages "
                "WHERE role = 'assistant' AND content != '' ORDER BY id"
            )
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def test_widget_messages_per_day_then_the_fallback_answers(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI, openai_fake: OpenAIFake
) -> None:
    w = await _widget(owner, widget_messages_per_day=2)
    visitors = [await start_conversation(client, w["id"]) for _ in range(3)]
    for v in visitors[:2]:
        resp = await _send(client, v)
        assert resp.status_code == 200 and resp.json()["message"]["status"] == "complete"
    calls = openai_fake.control.request_count
    spent = await _send(client, visitors[2])
    # Not an error: the visitor gets the widget's fallback answer, and the model is not called.
    assert spent.status_code == 200, spent.text
    assert spent.json()["message"]["content"] == FALLBACK
    assert spent.json()["message"]["status"] == "fallback"
    assert openai_fake.control.request_count == calls
    assert (await _replies(app))[-1] == (FALLBACK, "fallback", "budget_exhausted")
    # The visitor's question is stored all the same, and history shows both.
    history = (
        await client.get(
            f"/api/v1/conversations/{visitors[2].conversation_id}/messages",
            headers=visitors[2].auth,
        )
    ).json()["messages"]
    assert [m["role"] for m in history[-2:]] == ["user", "assistant"]
    assert history[-1]["content"] == FALLBACK


async def test_spent_budget_streams_the_fallback_as_a_normal_reply(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await _widget(owner, widget_messages_per_day=1)
    v = await start_conversation(client, w["id"])
    assert (await _send(client, v, stream=True)).status_code == 200
    resp = await _send(client, v, stream=True)
    events = parse_sse(resp.text)
    assert [name for name, _ in events] == ["start", "token", "sources", "done"]
    assert events[1][1] == {"delta": FALLBACK}
    assert events[-1][1]["status"] == "fallback"


async def test_without_a_fallback_message_the_default_answers(
    owner: OwnerClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    w = await make_widget(owner, limits={"widget_messages_per_day": 1})
    v = await start_conversation(client, w["id"])
    await _send(client, v)
    resp = await _send(client, v)
    assert resp.json()["message"]["content"] == settings.budget_fallback_message


async def test_tokens_per_month_budget(
    owner: OwnerClient, client: httpx.AsyncClient, openai_fake: OpenAIFake
) -> None:
    openai_fake.control.script(text="The Pro plan is $12.", prompt_tokens=40)
    w = await _widget(owner, widget_tokens_per_month=80)
    v = await start_conversation(client, w["id"])
    usage = (await _send(client, v)).json()["usage"]
    assert usage["prompt_tokens"] == 40
    assert (await _send(client, v)).json()["message"]["status"] == "complete"  # 45 used < 80
    assert (await _send(client, v)).json()["message"]["content"] == FALLBACK  # 90 used >= 80
    body = (await owner.get(f"/api/v1/widgets/{w['id']}/usage")).json()
    tokens = next(b for b in body["budgets"] if b["name"] == "tokens_per_month")
    assert tokens["state"] == "exhausted" and tokens["used"] == 90 and tokens["limit"] == 80
    assert body["this_month"]["messages"] == 3 and body["today"]["messages"] == 3


async def test_cost_per_month_budget_uses_the_price_list(
    owner: OwnerClient, client: httpx.AsyncClient, openai_fake: OpenAIFake
) -> None:
    # gpt-4o-mini: $0.15 / M prompt tokens and $0.60 / M completion tokens.
    openai_fake.control.script(text="one two three four", prompt_tokens=1000)
    w = await _widget(owner, widget_cost_per_month_usd=0.0003)
    v = await start_conversation(client, w["id"])
    await _send(client, v)  # 1000 x 0.15e-6 + 4 x 0.6e-6 = $0.0001524
    assert (await _send(client, v)).json()["message"]["status"] == "complete"
    assert (await _send(client, v)).json()["message"]["content"] == FALLBACK
    body = (await owner.get(f"/api/v1/widgets/{w['id']}/usage")).json()
    cost = next(b for b in body["budgets"] if b["name"] == "cost_per_month_usd")
    assert cost["used"] == pytest.approx(2 * 0.0001524) and cost["state"] == "exhausted"
    assert body["this_month"]["cost_usd"] == pytest.approx(2 * 0.0001524)


@pytest.mark.settings(default_workspace_messages_per_day=3, allow_signup=True)
async def test_workspace_budget_spans_its_widgets(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    first, second = await _widget(owner), await _widget(owner)
    a, b = (
        await start_conversation(client, first["id"]),
        await start_conversation(client, second["id"]),
    )
    for v in (a, b, a):
        assert (await _send(client, v)).json()["message"]["status"] == "complete"
    assert (await _send(client, b)).json()["message"]["content"] == FALLBACK
    body = (await owner.get("/api/v1/usage")).json()
    assert body["scope"] == "workspace" and body["today"]["messages"] == 4
    messages = next(x for x in body["budgets"] if x["name"] == "messages_per_day")
    assert (messages["used"], messages["limit"], messages["state"]) == (4, 3, "exhausted")
    per_widget = {w["widget_id"]: w["today"]["messages"] for w in body["widgets"]}
    assert per_widget == {first["id"]: 2, second["id"]: 2}
    # Another workspace is untouched by this one's budget.
    other = await signup(app)
    w3 = await _widget(other)
    c = await start_conversation(client, w3["id"])
    assert (await _send(client, c)).json()["message"]["status"] == "complete"
    await other.http.aclose()


async def test_warning_fires_once_then_exhaustion_once(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    events: list[dict[str, Any]] = []

    async def listen(data: bytes) -> None:
        events.append(orjson.loads(data))

    app.state.porch.pubsub.subscribe("usage.budget", listen)
    w = await _widget(owner, widget_messages_per_day=5, warning_ratio=0.6)
    v = await start_conversation(client, w["id"])
    states = []
    for _ in range(7):
        await _send(client, v)
        usage = (await owner.get(f"/api/v1/widgets/{w['id']}/usage")).json()
        states.append(next(b for b in usage["budgets"] if b["name"] == "messages_per_day")["state"])
    assert states == ["ok", "ok", "warning", "warning", "exhausted", "exhausted", "exhausted"]
    ours = [(e["kind"], e["used"]) for e in events if e["widget_id"] == w["id"]]
    assert ours == [("warning", 3), ("exhausted", 6)]
    assert {e["budget"] for e in events} == {"messages_per_day"}
    metrics = (await ops_get(app, "/metrics")).text
    assert (
        'porch_budget_events_total{budget="messages_per_day",kind="warning",scope="widget"} 1.0'
        in metrics
    )


@pytest.mark.settings(allow_signup=True)
async def test_usage_is_the_owners_only(
    owner: OwnerClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    w = await _widget(owner)
    assert (await client.get(f"/api/v1/widgets/{w['id']}/usage")).status_code == 401
    assert (await client.get("/api/v1/usage")).status_code == 401
    other = await signup(app)
    resp = await other.get(f"/api/v1/widgets/{w['id']}/usage")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "widget_not_found"
    await other.http.aclose()
    fresh = (await owner.get(f"/api/v1/widgets/{w['id']}/usage")).json()
    assert fresh["today"] == {
        "messages": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
    }
    assert {b["name"]: b["limit"] for b in fresh["budgets"]} == {
        "messages_per_day": 10000,  # the settings' default
        "tokens_per_month": None,
        "cost_per_month_usd": None,
    }


async def test_limits_validate(owner: OwnerClient) -> None:
    for bad in ({"warning_ratio": 1.5}, {"widget_cost_per_month_usd": -1}, {"nope": 1}):
        resp = await owner.post("/api/v1/widgets", json={"name": "x", "limits": bad})
        assert resp.status_code == 400, bad


async def test_dashboard_widget_page_shows_usage(
    owner: OwnerClient, client: httpx.AsyncClient
) -> None:
    w = await _widget(owner, widget_messages_per_day=4)
    v = await start_conversation(client, w["id"])
    await _send(client, v)
    page = await owner.get(f"/app/widgets/{w['id']}")
    assert page.status_code == 200
    assert 'data-testid="usage"' in page.text
    row = '<tr data-budget="messages_per_day"><td>Messages per day</td><td>1</td><td>4</td>'
    assert row + "<td>Within budget</td></tr>" in page.text
