"""Actions for models without function calling (features.tool_calling = "json"), against the
fake vendors answering in plain text and a real owner's API on loopback; and invalid
arguments proposed by a model recorded as failed calls."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from porch.actions.json_mode import NO_ANSWER
from porch.actions.templating import MASK
from porch.settings import Settings
from tests.actions.helpers import cancel_order, create, order_status
from tests.actions.target import Target
from tests.actions.test_conversation import actions, reply, say, verified_visitor
from tests.conftest import BOTH, OwnerClient, make_widget, ops_get, start_conversation
from tests.fakes import AnthropicFake, FakeServer, OpenAIFake

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)
JSON_MODE = {"tool_calling": "json"}


@pytest.fixture
def vendor(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "openai"))


@pytest.fixture
def fake(vendor: str, openai_fake: OpenAIFake, anthropic_fake: AnthropicFake) -> FakeServer:
    return openai_fake if vendor == "openai" else anthropic_fake


@pytest.fixture
def settings(settings: Settings, vendor: str, fake: FakeServer) -> Settings:
    model = "small-local-model" if vendor == "openai" else "claude-3-5-haiku-latest"
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


def proposal(action: str, **arguments: Any) -> str:
    return json.dumps({"action": action, "arguments": arguments})


def system_of(body: dict[str, Any]) -> str:
    if "system" in body:
        return str(body["system"])
    return str(body["messages"][0]["content"])


def user_messages(body: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in body["messages"] if m["role"] == "user"]


async def all_calls(owner: OwnerClient, widget_id: str, query: str = "") -> list[dict[str, Any]]:
    listed = await owner.get(f"/api/v1/widgets/{widget_id}/action-calls{query}")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["calls"])


@pytest.mark.parametrize("vendor", ["openai", "anthropic"], indirect=True)
async def test_a_read_runs_and_its_result_reaches_the_reply_without_tools_or_raw_json(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner, features=JSON_MODE)
    assert widget["features"]["tool_calling"] == "json"
    fake.control.then(
        # The model also tries to set the identity-filled email: porch ignores it.
        {"text": proposal("order_status", order_id="A123", email="bob@example.com")},
        # Cut every 3 characters: the reply's opening arrives in pieces, then its text.
        {"text": '```json\n{"reply": "Found it: {last_user_json}"}\n```', "text_pieces": 3},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        await create(owner, widget["id"], cancel_order(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        events = await say(client, v, "Where is my order A123? I'm bob@example.com")
    (seen,) = target.requests
    assert seen.path == "/orders/A123" and seen.query["email"] == ["alice@example.com"]
    assert [a["state"] for a in actions(events)] == ["started", "succeeded"]
    tokens = [data["delta"] for name, data in events if name == "token"]
    text = "".join(tokens)
    assert text.startswith("Found it: Result of order_status:")
    assert "shipped" in text and "Monday" in text
    assert len(tokens) > 1  # streamed as it was decoded, not held to the end
    assert '{"reply"' not in text and "```" not in text and not text.endswith("}")

    first, second = (r.json for r in fake.control.requests)
    for request in (first, second):
        assert "tools" not in request and "tool_choice" not in request
    system = system_of(first)
    catalogue = [json.loads(line) for line in system.splitlines() if line.startswith('{"action"')]
    assert [c["action"] for c in catalogue] == ["order_status", "cancel_order"]
    # Only model-sourced parameters, with their schema; the identity email is not shown.
    assert catalogue[0]["arguments"]["properties"] == {
        "order_id": {
            "type": "string",
            "description": "your order number (like A123)",
            "pattern": "^[A-Z][0-9]{3}$",
        }
    }
    assert catalogue[0]["arguments"]["required"] == ["order_id"]
    assert '{"reply": "<your answer>"}' in system
    # The result goes back as a user message after the model's own answer, projected only.
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": proposal("order_status", order_id="A123", email="bob@example.com"),
    }
    result = user_messages(second)[-1]
    assert result.startswith("Result of order_status: ")
    payload = json.loads(result.removeprefix("Result of order_status: ").splitlines()[0])
    assert payload == {
        "status": "succeeded",
        "result": {"order": {"status": "shipped", "eta": "Monday"}},
    }
    assert "fraud" not in result

    (call,) = await all_calls(owner, widget["id"])
    assert call["trigger"] == "model" and call["state"] == "succeeded"
    assert call["sent_arguments"] == {"order_id": "A123", "email": "alice@example.com"}


async def test_a_server_that_answers_in_one_body_is_read_the_same(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner, features=JSON_MODE)
    fake.control.then(
        {"text": proposal("order_status", order_id="B456"), "ignore_stream": True},
        {"text": '{"reply": "B456: {last_user_json}"}', "ignore_stream": True},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        text = reply(await say(client, v, "where is B456"))
    assert [r.path for r in target.requests] == ["/orders/B456"]
    assert text.startswith("B456: Result of order_status:") and "shipped" in text
    assert '{"reply"' not in text


async def test_a_write_opens_a_confirmation_card_and_nothing_is_sent_until_confirmed(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner, features=JSON_MODE)
    fake.control.then(
        {"text": proposal("cancel_order", order_id="C789")},
        {"text": json.dumps({"reply": "I've cancelled order C789."})},
    )
    with Target() as target:
        await create(owner, widget["id"], cancel_order(target.base))
        v = await start_conversation(client, widget["id"])
        events = await say(client, v, "Please cancel my order C789")
        assert target.requests == []
        (card,) = actions(events)
        assert card["state"] == "confirm" and card["arguments"] == {"order_id": "C789"}
        text = reply(events)
        # The claim guard covers JSON replies too; porch's own confirmation text ends it.
        assert "I've cancelled" not in text
        assert "Please confirm: Cancel an order (order id: C789)." in text
        told = user_messages(fake.control.requests[1].json)[-1]
        assert json.loads(told.splitlines()[0].split(": ", 1)[1])["status"] == "needs_confirmation"

        resp = await client.post(
            f"/api/v1/conversations/{v.conversation_id}/confirmations/{card['call_id']}",
            json={"decision": "confirm", "arguments_hash": card["arguments_hash"]},
            headers=v.auth,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["state"] == "succeeded"
    (seen,) = target.requests
    assert (seen.method, seen.path) == ("POST", "/orders/C789/cancel")
    (call,) = await all_calls(owner, widget["id"])
    assert call["state"] == "succeeded" and call["trigger"] == "model"


async def test_a_malformed_answer_is_corrected_once_then_the_valid_one_runs(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner, features=JSON_MODE)
    fake.control.then(
        {"text": 'Sure! {"action": "order_status", "arguments": {"order_id": "A123"}}'},
        {"text": proposal("order_status", order_id="A123")},
        {"text": json.dumps({"reply": "Your order A123 is shipped, arriving Monday."})},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        events = await say(client, v, "where is A123")
    assert reply(events) == "Your order A123 is shipped, arriving Monday."
    assert [r.path for r in target.requests] == ["/orders/A123"]
    second = fake.control.requests[1].json
    assert "did not follow the format" in user_messages(second)[-1]
    assert second["messages"][-2]["content"].startswith("Sure! {")


async def test_malformed_twice_answers_with_the_models_prose_and_calls_nothing(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner, features=JSON_MODE)
    fake.control.then(
        {"text": "Let me check that for you."},
        {"text": "Your order should arrive soon."},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        events = await say(client, v, "where is A123")
    assert reply(events) == "Your order should arrive soon."
    assert target.requests == [] and actions(events) == []
    assert fake.control.request_count == 2
    assert await all_calls(owner, widget["id"]) == []


async def test_malformed_json_twice_answers_with_the_widgets_fallback(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    fallback = "Email help@example.com and we will look into it."
    widget = await make_widget(owner, features=JSON_MODE, fallback_message=fallback)
    bare = await make_widget(owner, features=JSON_MODE)
    broken = {"text": '{"action": "order_status", "arguments": {"order_id": "A1'}
    with Target() as target:
        for w in (widget, bare):
            await create(owner, w["id"], order_status(target.base))
        fake.control.script(**broken)
        v = await start_conversation(client, widget["id"])
        with_fallback = reply(await say(client, v, "where is A123"))
        v = await start_conversation(client, bare["id"])
        without = reply(await say(client, v, "where is A123"))
    assert with_fallback == fallback
    assert without == NO_ANSWER
    assert target.requests == [] and fake.control.request_count == 4
    assert "{" not in with_fallback + without
    assert await all_calls(owner, widget["id"]) == []


async def test_invalid_arguments_are_recorded_as_failed_calls_and_never_sent(
    app: FastAPI, client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner, features=JSON_MODE)
    fake.control.then(
        {"text": proposal("order_status", order_id="12")},
        {"text": proposal("order_status", order_id="also wrong")},
        {"text": json.dumps({"reply": "What is your order number?"})},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        events = await say(client, v, "where is my order 12")
    assert target.requests == [] and actions(events) == []
    assert reply(events) == "What is your order number?"
    third = fake.control.requests[2].json
    assert (
        "ask the visitor" in user_messages(third)[-1]
        and "No more actions" in user_messages(third)[-1]
    )
    failed = await all_calls(owner, widget["id"], "?failed=true")
    assert [c["arguments"] for c in failed] == [{"order_id": "also wrong"}, {"order_id": "12"}]
    for call in failed:
        assert call["state"] == "failed" and call["error_class"] == "invalid_arguments"
        assert call["trigger"] == "model" and call["sent_arguments"] == {}
        assert list(call["problems"]) == ["order_id"]
        assert call["conversation_id"] == v.conversation_id
    metrics = (await ops_get(app, "/metrics")).text
    counted = 'error_class="invalid_arguments",state="failed",trigger="model"} 2.0'
    assert counted in metrics


async def test_a_tool_calls_invalid_proposal_is_recorded_with_its_secret_masked(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    """Native tool calling: the model sets a secret-sourced parameter and a bad one."""
    widget = await make_widget(owner)
    secret = "sk_live_never_stored_42"
    put = await owner.http.put(
        f"/api/v1/widgets/{widget['id']}/secrets/orders_key",
        json={"value": secret},
        headers={"X-CSRF-Token": owner.csrf},
    )
    assert put.status_code == 204, put.text
    lookup = {"name": "order_status", "arguments": {"order_id": "nope", "key": secret}}
    valid = {"name": "order_status", "arguments": {"order_id": "A123", "key": secret}}
    fake.control.then(
        {"tool_calls": (lookup,)},
        {"text": "Which order do you mean?"},
        {"tool_calls": (valid,)},
        {"text": "It is shipped."},
    )
    with Target() as target:
        action = order_status(target.base)
        action["parameters"]["properties"]["key"] = {"type": "string"}
        action["sources"] = {**action["sources"], "key": "secret:orders_key"}
        await create(owner, widget["id"], action)
        v = await verified_visitor(owner, client, widget["id"], "alice@example.com")
        assert reply(await say(client, v, "where is order nope")) == "Which order do you mean?"
        assert target.requests == []
        assert reply(await say(client, v, "A123 then")).startswith("It is shipped.")
    assert [r.path for r in target.requests] == ["/orders/A123"]
    done, failed = await all_calls(owner, widget["id"])
    assert failed["error_class"] == "invalid_arguments" and failed["trigger"] == "model"
    assert failed["arguments"] == {"order_id": "nope", "key": MASK}
    assert "order_id" in failed["problems"]
    # A valid call's proposal is stored masked the same way.
    assert done["state"] == "succeeded" and done["arguments"] == {"order_id": "A123", "key": MASK}
    assert done["problems"] == {}
    assert secret not in json.dumps([done, failed])


async def test_the_mode_is_a_widget_setting_that_refuses_unknown_values(
    owner: OwnerClient,
) -> None:
    widget = await make_widget(owner)
    assert widget["features"]["tool_calling"] == "native"
    path = f"/api/v1/widgets/{widget['id']}"
    changed = await owner.patch(path, json={"features": {"tool_calling": "json"}})
    assert changed.status_code == 200, changed.text
    # A partial features update keeps the other features as they were.
    assert changed.json()["features"] == {**widget["features"], "tool_calling": "json"}
    bad = await owner.patch(path, json={"features": {"tool_calling": "xml"}})
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["code"] and "tool_calling" in bad.text
    assert (await owner.get(path)).json()["features"]["tool_calling"] == "json"


async def test_earlier_replies_are_shown_to_the_model_in_the_protocol(
    client: httpx.AsyncClient, owner: OwnerClient, fake: FakeServer
) -> None:
    widget = await make_widget(owner, features=JSON_MODE, fallback_message="Call us.")
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base))
        v = await start_conversation(client, widget["id"])
        fake.control.script(text=json.dumps({"reply": "We ship worldwide."}))
        # (With no knowledge sources the pipeline adds the fallback under any model reply.)
        assert reply(await say(client, v, "do you ship abroad?")).startswith("We ship worldwide.")
        # An empty reply is no answer: the widget's fallback is all the visitor reads.
        fake.control.script(text=json.dumps({"reply": ""}))
        assert reply(await say(client, v, "and to Mars?")) == "Call us."
    messages = fake.control.requests[-1].json["messages"]
    (earlier,) = [m["content"] for m in messages if m["role"] == "assistant"]
    assert json.loads(earlier) == {"reply": "We ship worldwide.\n\nCall us."}


async def test_the_dashboard_settings_form_shows_the_mode(owner: OwnerClient) -> None:
    widget = await make_widget(owner, features=JSON_MODE)
    page = (await owner.get(f"/app/widgets/{widget['id']}")).text
    assert 'name="features.tool_calling"' in page
    assert '<option value="json" selected>' in page
    assert '<option value="native">' in page


async def test_the_public_config_does_not_tell_pages_the_mode(
    client: httpx.AsyncClient, owner: OwnerClient
) -> None:
    widget = await make_widget(owner, features={**JSON_MODE, "voice": True})
    public = await client.get(f"/api/v1/widgets/{widget['id']}/public")
    assert public.status_code == 200, public.text
    assert public.json()["features"] == {
        "sources": True,
        "feedback": True,
        "handoff": False,
        "voice": True,
    }
