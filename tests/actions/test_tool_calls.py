"""Actions through vendors' tool calling, against the fake OpenAI and Anthropic servers and a
real owner's API on loopback: identity filled by porch, reads run, writes held for
confirmation, bad arguments returned once, the claim guard, and no secret sent to a model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from porch.actions.claims import HONEST
from porch.settings import Settings
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.actions.test_conversation import actions, reply, say, verified_visitor
from tests.conftest import (
    BOTH,
    OwnerClient,
    VisitorSession,
    make_widget,
    ops_get,
    start_conversation,
)
from tests.fakes import AnthropicFake, FakeServer, OpenAIFake

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
VENDORS = ["openai", "anthropic"]


@pytest.fixture
def vendor(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "openai"))


@pytest.fixture
def fake(vendor: str, openai_fake: OpenAIFake, anthropic_fake: AnthropicFake) -> FakeServer:
    return openai_fake if vendor == "openai" else anthropic_fake


@pytest.fixture
def settings(settings: Settings, vendor: str, fake: FakeServer) -> Settings:
    """The server's default model is the vendor's fake."""
    model = "gpt-4o-mini" if vendor == "openai" else "claude-3-5-haiku-latest"
    return settings.model_copy(
        update={
            "llm_provider": vendor,
            "llm_model": model,
            "llm_base_url": fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "llm_timeout": 5,
            "llm_retries": 0,
        }
    )


def lookup(order: str, **extra: Any) -> dict[str, Any]:
    return {"name": "order_status", "arguments": {"order_id": order, **extra}}


def results_sent(fake: FakeServer) -> list[str]:
    """Every tool result porch sent to the model, as text, in order."""
    out: list[str] = []
    for request in fake.control.requests:
        for message in request.json.get("messages") or []:
            if message.get("role") == "tool":
                out.append(message["content"])
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_result":
                    out.append(block["content"])
    return out


async def message_json(client: httpx.AsyncClient, v: VisitorSession, content: str) -> str:
    resp = await client.post(
        f"/api/v1/conversations/{v.conversation_id}/messages",
        json={"content": content},
        headers=v.auth,
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["message"]["content"])


async def model_calls(owner: OwnerClient, widget_id: str) -> list[dict[str, Any]]:
    listed = await owner.get(f"/api/v1/widgets/{widget_id}/action-calls")
    return [c for c in listed.json()["calls"] if c["trigger"] == "model"]


@pytest.mark.parametrize("vendor", VENDORS, indirect=True)
@pytest.mark.parametrize("streamed", [True, False])
async def test_a_read_runs_with_the_verified_email_not_the_models(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer, streamed: bool
) -> None:
    widget = await make_widget(owner)
    # Streamed: the vendor streams the arguments in fragments and the visitor reads SSE.
    # Not: the vendor answers one JSON body (as some compatible servers do), the visitor JSON.
    fake.control.then(
        {
            "tool_calls": (lookup("A123", email="bob@example.com"),),
            "tool_pieces": 4,
            "ignore_stream": not streamed,
        },
        {"text": "Here is what I found: {tool_result}", "ignore_stream": not streamed},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        if streamed:
            events = await say(client, v, "Where is my order A123? I'm bob@example.com")
            text = reply(events)
            assert [a["state"] for a in actions(events)] == ["started", "succeeded"]
        else:
            text = await message_json(client, v, "Where is my order A123? I'm bob@example.com")
    (seen,) = target.requests
    assert seen.path == "/orders/A123" and seen.query["email"] == ["alice@example.com"]
    assert "shipped" in text and "Monday" in text
    # The model gets the projection only: no internal note, and only its own parameters.
    (sent,) = results_sent(fake)
    assert json.loads(sent) == {
        "status": "succeeded",
        "result": {"order": {"status": "shipped", "eta": "Monday"}},
    }
    tools = fake.control.requests[0].json["tools"]
    schema = (
        tools[0]["function"]["parameters"] if "function" in tools[0] else tools[0]["input_schema"]
    )
    assert list(schema["properties"]) == ["order_id"] and schema["required"] == ["order_id"]
    (call,) = await model_calls(owner, widget["id"])
    assert call["state"] == "succeeded"
    assert call["sent_arguments"] == {"order_id": "A123", "email": "alice@example.com"}


async def test_several_calls_in_one_turn_each_get_a_result(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner)
    fake.control.then(
        {"tool_calls": (lookup("A123"), lookup("B456"))},
        {"text": "Both found."},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        events = await say(client, v, "Where are my orders A123 and B456?")
    assert sorted(r.path for r in target.requests) == ["/orders/A123", "/orders/B456"]
    assert reply(events) == "Both found."
    second = fake.control.requests[1].json["messages"]
    assert [m["tool_call_id"] for m in second if m["role"] == "tool"] == ["call_0", "call_1"]
    assert len(await model_calls(owner, widget["id"])) == 2


@pytest.mark.parametrize("vendor", VENDORS, indirect=True)
async def test_a_write_becomes_a_confirmation_card_and_runs_only_when_confirmed(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer, vendor: str
) -> None:
    widget = await make_widget(owner)
    fake.control.then(
        {"tool_calls": ({"name": "cancel_order", "arguments": {"order_id": "C789"}},)},
        # The model claims it is done: the claim guard must not let that through.
        {"text": "I've cancelled your order C789. Anything else?"},
    )
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        events = await say(client, v, "Please cancel my order C789")
        assert target.requests == []
        (card,) = actions(events)
        assert card["state"] == "confirm" and card["arguments"] == {"order_id": "C789"}
        assert len(card["arguments_hash"]) == 64
        text = reply(events)
        assert "cancelled" not in text.lower()
        assert text.startswith(HONEST) and "Anything else?" in text
        assert "Please confirm: Cancel an order (order id: C789)." in text
        (sent,) = results_sent(fake)
        assert json.loads(sent)["status"] == "needs_confirmation"

        resp = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/confirmations/{card['call_id']}",
            json={"decision": "confirm", "arguments_hash": card["arguments_hash"]},
            headers=v.auth,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["state"] == "succeeded"
    (seen,) = target.requests
    assert (seen.method, seen.path) == ("POST", "/orders/C789/cancel")
    (call,) = await model_calls(owner, widget["id"])
    assert call["state"] == "succeeded" and call["trigger"] == "model"
    metrics = (await ops_get(app, "/metrics")).text
    assert f'porch_action_claims_blocked_total{{provider="{vendor}"}} 1.0' in metrics


async def test_a_claim_with_no_call_is_replaced_and_a_true_lookup_is_not(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner)
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        fake.control.script(text="Done! Your order has been cancelled. Have a nice day.")
        claimed = reply(await say(client, v, "cancel order C789 now"))
        fake.control.script(text="Order A123 is shipped, arriving Monday.")
        honest = reply(await say(client, v, "and where is A123?"))
    assert claimed == f"Done! {HONEST} Have a nice day."
    assert honest == "Order A123 is shipped, arriving Monday."
    assert target.requests == []


async def test_bad_arguments_go_back_to_the_model_once_then_it_must_ask(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner)
    fake.control.then(
        {"tool_calls": (lookup("12"),)},
        {"tool_calls": (lookup("also wrong"),)},
        {"text": "What is your order number?"},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        events = await say(client, v, "where is my order 12")
    assert target.requests == [] and actions(events) == []
    assert reply(events) == "What is your order number?"
    first, second = (json.loads(r) for r in results_sent(fake)[-2:])
    assert first["error"] == "invalid_arguments" and "order_id" in first["problems"]
    assert "again" in first["instruction"] and "ask the visitor" in second["instruction"]
    requests = fake.control.requests
    assert len(requests) == 3 and requests[-1].json["tool_choice"] == "none"
    assert "tool_choice" not in requests[0].json


@pytest.mark.parametrize("vendor", VENDORS, indirect=True)
async def test_the_secret_never_reaches_the_model(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner)
    secret = "sk_live_tool_secret_value_77"
    put = await owner.http.put(
        f"/api/v1/widgets/{widget['id']}/secrets/orders_key",
        json={"value": secret},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 204, put.text
    fake.control.then(
        {"tool_calls": ({"name": "echo", "arguments": {}},)},
        {"text": "The service said: {tool_result}"},
    )
    with Target() as target:
        echo = {
            "slug": "echo",
            "title": "Echo",
            "description": "Shows what the service received.",
            "method": "GET",
            "url": target.base + "/echo?key={{key}}",
            "parameters": {"type": "object", "properties": {"key": {"type": "string"}}},
            "sources": {"key": "secret:orders_key"},
            "auth": {"type": "bearer", "secret": "orders_key"},
            "allowed_hosts": ["127.0.0.1"],
        }
        await create(owner, widget["id"], echo)
        v = await start_conversation(client, widget["id"])
        text = reply(await say(client, v, "what does the service see?"))
    (seen,) = target.requests
    assert seen.headers["Authorization"] == f"Bearer {secret}"  # it was really sent
    (result,) = results_sent(fake)
    assert "Authorization" in result or "authorization" in result
    for request in fake.control.requests:
        assert secret not in json.dumps(request.json)
    assert secret not in text


async def test_a_models_card_can_be_answered_by_typing_yes(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner)
    fake.control.then(
        {"tool_calls": ({"name": "cancel_order", "arguments": {"order_id": "F222"}},)},
        {"text": "Please confirm on the card."},
    )
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        (card,) = actions(await say(client, v, "cancel F222"))
        asked = fake.control.request_count
        yes = await say(client, v, "yes")
    # The pending card answers the "yes" itself: no model is asked, the request is sent once.
    assert fake.control.request_count == asked
    assert reply(yes) == "Order F222 is cancelled."
    assert [a["call_id"] for a in actions(yes)] == [card["call_id"]] * 2
    assert [(r.method, r.path) for r in target.requests] == [("POST", "/orders/F222/cancel")]


@pytest.mark.parametrize("vendor", VENDORS, indirect=True)
async def test_a_write_an_agent_approves_is_not_offered_to_the_visitor_to_confirm(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner)
    fake.control.then(
        {"tool_calls": ({"name": "cancel_order", "arguments": {"order_id": "C789"}},)},
        {"text": "A team member will look at your cancellation."},
    )
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base, approval="agent"))
        v = await start_conversation(client, widget["id"])
        events = await say(client, v, "Please cancel my order C789")
        (held,) = actions(events)
        assert held["state"] == "waiting"
        text = reply(events)
        assert "A team member needs to approve this: Cancel an order" in text
        assert "card" not in text and "reply yes" not in text
        (sent,) = results_sent(fake)
        assert json.loads(sent)["status"] == "awaiting_approval"
        assert target.requests == []
