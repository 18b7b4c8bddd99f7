"""The Anthropic adapter alone, against the fake over real HTTP: wire format and error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from porch.providers.anthropic import AnthropicChatModel, make_client
from porch.providers.base import ProviderError, Turn, Usage
from tests.fakes import AnthropicFake

from .helpers import Reply, collect, make_request


@pytest.fixture
async def model(anthropic_fake: AnthropicFake) -> AsyncIterator[AnthropicChatModel]:
    client = make_client(anthropic_fake.base_url, "sk-ant-test", timeout=5)
    yield AnthropicChatModel(client, "claude-3-5-haiku-latest")
    await client.close()


async def test_streams_deltas_then_usage(
    anthropic_fake: AnthropicFake, model: AnthropicChatModel
) -> None:
    anthropic_fake.control.script(text="Open Settings, then Security.", prompt_tokens=42)

    reply = await collect(model, make_request())

    assert reply.text == "Open Settings, then Security."
    assert len(reply.deltas) == 4
    assert reply.usage == Usage(prompt_tokens=42, completion_tokens=4)
    assert isinstance(reply.events[-1], Usage)


async def test_system_prompt_is_separate_and_turns_alternate(
    anthropic_fake: AnthropicFake, model: AnthropicChatModel
) -> None:
    history = (
        Turn("assistant", "Hello! How can I help?"),  # the greeting: Claude wants a user first
        Turn("user", "Hi"),
        Turn("user", "Anyone there?"),
        Turn("assistant", "Yes."),
    )
    await collect(model, make_request("Where is my order?", system="Be brief.", history=history))

    [sent] = anthropic_fake.control.requests
    assert sent.path == "/v1/messages"
    # Older SDKs send x-api-key, newer ones a bearer token.
    credentials = sent.headers.get("x-api-key", "") + sent.headers.get("authorization", "")
    assert "sk-ant-test" in credentials
    assert "anthropic-version" in sent.headers
    body = sent.json
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 256
    assert body["stream"] is True
    assert body["messages"] == [
        {"role": "user", "content": "Hi\n\nAnyone there?"},
        {"role": "assistant", "content": "Yes."},
        {"role": "user", "content": "Where is my order?"},
    ]


async def test_estimates_usage_when_the_server_sends_none(
    anthropic_fake: AnthropicFake, model: AnthropicChatModel
) -> None:
    anthropic_fake.control.script(text="y" * 40, usage=False)

    reply = await collect(model, make_request("q" * 100, system=""))

    assert reply.usage == Usage(prompt_tokens=25, completion_tokens=10)


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "provider_bad_request", False),
        (401, "provider_auth_failed", False),
        (429, "provider_rate_limited", True),
        (500, "provider_error", True),
        (529, "provider_error", True),
    ],
)
async def test_maps_http_errors(
    anthropic_fake: AnthropicFake,
    model: AnthropicChatModel,
    status: int,
    code: str,
    retryable: bool,
) -> None:
    anthropic_fake.control.script(status=status, retry_after=2)

    with pytest.raises(ProviderError) as caught:
        await collect(model, make_request())

    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    if status == 429:
        assert caught.value.retry_after == 2


async def test_malformed_sse_is_a_bad_stream(
    anthropic_fake: AnthropicFake, model: AnthropicChatModel
) -> None:
    anthropic_fake.control.script(tokens=5, malformed_after=3)
    reply = Reply()

    with pytest.raises(ProviderError) as caught:
        await collect(model, make_request(), reply)

    assert caught.value.code == "provider_bad_stream"
    assert reply.text == "tok0 tok1 tok2"


async def test_overloaded_event_in_the_stream_is_retryable(
    anthropic_fake: AnthropicFake, model: AnthropicChatModel
) -> None:
    anthropic_fake.control.script(tokens=5, error_after=0)

    with pytest.raises(ProviderError) as caught:
        await collect(model, make_request())

    assert caught.value.code == "provider_error"
    assert caught.value.retryable
    assert "Overloaded" in caught.value.message
