"""Actions in analytics when a vendor's model calls them: the fake OpenAI server asks for the
lookup as a tool call, porch runs it against a loopback API, and analytics counts it under
trigger `model` beside the offline answerer's and the owner's test runs."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from porch.settings import Settings
from tests.actions.helpers import create, order_status
from tests.actions.target import Target
from tests.analytics.test_actions import say, stats, verified
from tests.conftest import BOTH, OwnerClient, make_widget
from tests.fakes import OpenAIFake

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


async def test_model_calls_are_counted_under_their_trigger(
    client: httpx.AsyncClient, owner: OwnerClient, openai_fake: OpenAIFake
) -> None:
    w = await make_widget(owner)
    lookup = {"name": "order_status", "arguments": {"order_id": "A123"}}
    openai_fake.control.then(
        {"tool_calls": (lookup,)}, {"text": "Here is what I found: {tool_result}"}
    )
    with Target() as target:
        made = await create(owner, w["id"], order_status(target.base))
        v = await verified(owner, client, w["id"])
        states = [a["state"] for a in await say(client, v, "Where is my order A123?")]
        assert states == ["started", "succeeded"]
        ran = await owner.post(
            f"/api/v1/actions/{made['id']}/test",
            json={"arguments": {"order_id": "A123"}, "visitor": {"user_id": "a@example.com"}},
        )
        assert ran.status_code == 200 and ran.json()["error_class"] is None
    assert len(target.seen("/orders/A123")) == 2
    (row,) = (await stats(owner, w["id"]))["per_action"]
    assert row["triggers"] == {"model": 1} and row["succeeded"] == 1
    (row,) = (await stats(owner, w["id"], include_tests="true"))["per_action"]
    assert row["triggers"] == {"model": 1, "test": 1} and row["calls"] == 2
