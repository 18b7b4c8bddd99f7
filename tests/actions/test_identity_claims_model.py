"""Signed attributes with a model's tool calls: the model proposes another customer's email,
the owner's API receives the one the site signed in the identity token."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from porch.actions.runner import SIGN_IN_TEXT
from porch.settings import Settings
from tests.actions.helpers import create, order_status
from tests.actions.target import Target
from tests.actions.test_conversation import actions, reply, say
from tests.actions.test_identity_claims import BY_EMAIL, signed_visitor
from tests.actions.test_tool_calls import lookup, results_sent
from tests.actions.test_webhooks import _received
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.fakes import OpenAIFake
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.parametrize("backend", BOTH, indirect=True)


@pytest.fixture
def settings(settings: Settings, openai_fake: OpenAIFake) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "llm_base_url": openai_fake.base_url,
            "llm_api_key": SecretStr("sk-test"),
            "llm_timeout": 5,
            "llm_retries": 0,
        }
    )


async def test_the_model_cannot_swap_the_signed_email(
    client: httpx.AsyncClient, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    widget = await make_widget(owner)
    openai_fake.control.then(
        {"tool_calls": (lookup("A123", email="bob@example.com"),)},
        {"text": "Here is what I found: {tool_result}"},
    )
    with Target() as target:
        await create(owner, widget["id"], order_status(target.base, sources=BY_EMAIL))
        v = await signed_visitor(owner, client, widget["id"], email="alice@example.com")
        events = await say(client, v, "Where is my order A123? Use bob@example.com")
    (seen,) = target.requests
    assert seen.path == "/orders/A123" and seen.query["email"] == ["alice@example.com"]
    assert [a["state"] for a in actions(events)] == ["started", "succeeded"]
    assert "shipped" in reply(events)
    # The model is never shown the email parameter, nor the signed address.
    tools = openai_fake.control.requests[0].json["tools"]
    assert list(tools[0]["function"]["parameters"]["properties"]) == ["order_id"]
    assert "alice@example.com" not in str(openai_fake.control.requests[0].json["tools"])


# Jobs in process even on Redis: no `porch worker` runs beside these tests.
@pytest.mark.settings(crawl_allow_private_networks=True, jobs_queue="memory")
async def test_a_missing_claim_is_a_sign_in_answer_to_the_model(
    client: httpx.AsyncClient, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    widget = await make_widget(owner)
    openai_fake.control.then(
        {"tool_calls": (lookup("A123", email="bob@example.com"),)},
        {"text": "You need to sign in first."},
    )
    with Target() as target, Receiver() as receiver:
        hook = await owner.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["action.failed"]}
        )
        assert hook.status_code == 201, hook.text
        await create(owner, widget["id"], order_status(target.base, sources=BY_EMAIL))
        v = await signed_visitor(owner, client, widget["id"], plan="pro")
        events = await say(client, v, "Where is my order A123?")
        (body,) = await _received(receiver, 1)
    assert target.requests == []
    call = body["data"]["call"]
    assert call["trigger"] == "model" and call["error_class"] == "config"
    assert call["conversation_id"] == v.conversation_id
    (sent,) = results_sent(openai_fake)
    assert "sign_in_required" in sent and SIGN_IN_TEXT in sent
    assert [a["state"] for a in actions(events)] == ["failed"]
