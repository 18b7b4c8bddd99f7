"""The OpenAI adapter alone, against the fake over real HTTP: wire format and error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest

from porch.providers.base import ProviderError, Turn, Usage
from porch.providers.openai import OpenAIChatModel, make_client
from tests.fakes import OpenAIFake

from .helpers import Reply, collect, make_request


@pytest.fixture(params=["aiohttp", "httpx2"])
async def model(
    openai_fake: OpenAIFake, request: pytest.FixtureRequest
) -> AsyncIterator[OpenAIChatModel]:
    """The adapter on both transports: aiohttp by default, the SDK's httpx2 behind a proxy."""
    if request.param == "aiohttp":
        client = make_client(openai_fake.base_url, "sk-test", timeout=5)
        assert "aiohttp" in type(client._client).__name__.lower()
    else:
        client = openai.AsyncOpenAI(base_url=openai_fake.base_url, api_key="sk-test", max_retries=0)
    yield OpenAIChatModel(client, "gpt-4o-mini")
    await client.close()


async def test_streams_deltas_then_usage(openai_fake: OpenAIFake, model: OpenAIChatModel) -> None:
    openai_fake.control.script(text="Open Settings, then Security.", prompt_tokens=42)

    reply = await collect(model, make_request())

    assert reply.deltas == ["Open", " Settings,", " then", " Security."]
    assert reply.usage == Usage(prompt_tokens=42, completion_tokens=4)
    assert isinstance(reply.events[-1], Usage)


async def test_sends_the_prompt_as_chat_messages(
    openai_fake: OpenAIFake, model: OpenAIChatModel
) -> None:
    history = (Turn("user", "Hi"), Turn("assistant", "Hello! How can I help?"))
    await collect(model, make_request("Where is my order?", system="Be brief.", history=history))

    [sent] = openai_fake.control.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = sent.json
    assert body["model"] == "gpt-4o-mini"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 256  # a compatible server: the widely known field name
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Where is my order?"},
    ]


async def test_estimates_usage_when_the_server_sends_none(
    openai_fake: OpenAIFake, model: OpenAIChatModel
) -> None:
    openai_fake.control.script(text="x" * 40, usage=False)

    reply = await collect(model, make_request("q" * 100, system=""))

    assert reply.usage == Usage(prompt_tokens=25, completion_tokens=10)


async def test_reuses_the_connection_between_replies(
    openai_fake: OpenAIFake, model: OpenAIChatModel
) -> None:
    for _ in range(3):
        await collect(model, make_request())

    assert openai_fake.control.request_count == 3
    assert openai_fake.control.connections == 1


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "provider_bad_request", False),
        (401, "provider_auth_failed", False),
        (403, "provider_auth_failed", False),
        (404, "provider_not_found", False),
        (429, "provider_rate_limited", True),
        (500, "provider_error", True),
        (503, "provider_error", True),
    ],
)
async def test_maps_http_errors(
    openai_fake: OpenAIFake, model: OpenAIChatModel, status: int, code: str, retryable: bool
) -> None:
    openai_fake.control.script(status=status)

    with pytest.raises(ProviderError) as caught:
        await collect(model, make_request())

    assert (caught.value.code, caught.value.retryable, caught.value.status) == (
        code,
        retryable,
        status,
    )


async def test_rate_limit_carries_retry_after(
    openai_fake: OpenAIFake, model: OpenAIChatModel
) -> None:
    openai_fake.control.script(status=429, retry_after=1.5)

    with pytest.raises(ProviderError) as caught:
        await collect(model, make_request())

    assert caught.value.retry_after == 1.5


async def test_malformed_sse_is_a_bad_stream(
    openai_fake: OpenAIFake, model: OpenAIChatModel
) -> None:
    openai_fake.control.script(tokens=5, malformed_after=2)
    reply = Reply()

    with pytest.raises(ProviderError) as caught:
        await collect(model, make_request(), reply)

    assert caught.value.code == "provider_bad_stream"
    assert reply.deltas == ["tok0", " tok1"]


async def test_error_event_in_the_stream(openai_fake: OpenAIFake, model: OpenAIChatModel) -> None:
    openai_fake.control.script(tokens=5, error_after=1)

    with pytest.raises(ProviderError) as caught:
        await collect(model, make_request())

    assert caught.value.code == "provider_error"
    assert "fake stream failure" in caught.value.message


async def test_unreachable_server_is_retryable() -> None:
    client = make_client("http://127.0.0.1:9/v1", "sk-test", timeout=2)
    try:
        with pytest.raises(ProviderError) as caught:
            await collect(OpenAIChatModel(client, "m"), make_request())
    finally:
        await client.close()

    assert caught.value.retryable
    assert caught.value.code in ("provider_error", "provider_timeout")


async def test_official_endpoint_uses_max_completion_tokens() -> None:
    client = make_client(None, "sk-test", timeout=2)
    try:
        payload = OpenAIChatModel(client, "gpt-4o-mini")._payload(make_request())
    finally:
        await client.close()

    assert payload["max_completion_tokens"] == 256
    assert "max_tokens" not in payload


async def test_the_fake_also_answers_without_streaming(openai_fake: OpenAIFake) -> None:
    """Other suites may call the fake through the SDK's plain methods."""
    openai_fake.control.script(text="Hello there.")
    client = openai.AsyncOpenAI(base_url=openai_fake.base_url, api_key="sk-test", max_retries=0)
    try:
        completion = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
        models = await client.models.list()
    finally:
        await client.close()

    assert completion.choices[0].message.content == "Hello there."
    assert completion.usage is not None and completion.usage.completion_tokens == 2
    assert [m.id for m in models.data] == ["fake-model"]
    assert openai_fake.control.request_count == 1  # GET /v1/models is not logged
