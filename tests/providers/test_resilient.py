"""Retries, timeouts and interruption through the registry's wrapper, against the OpenAI fake."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import aclosing

import pytest

from porch.observability.metrics import Metrics
from porch.providers.base import (
    ProviderUnavailable,
    StreamInterrupted,
    TextDelta,
    Usage,
)
from porch.providers.registry import ProviderRegistry
from porch.settings import Settings
from tests.fakes import AnthropicFake, OpenAIFake

from .conftest import Sleeps
from .helpers import Reply, collect, make_request


async def test_happy_path_records_metrics(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry, metrics: Metrics
) -> None:
    openai_fake.control.script(tokens=6, prompt_tokens=30)

    reply = await collect(openai_registry.model_for(), make_request())

    assert reply.text == "tok0 tok1 tok2 tok3 tok4 tok5"
    assert reply.usage == Usage(30, 6)
    labels = {"provider": "openai", "model": "gpt-4o-mini"}
    sample = metrics.registry.get_sample_value
    assert sample("porch_llm_time_to_first_token_seconds_count", labels) == 1
    assert sample("porch_llm_duration_seconds_count", labels) == 1
    assert sample("porch_llm_tokens_total", {**labels, "kind": "prompt"}) == 30
    assert sample("porch_llm_tokens_total", {**labels, "kind": "completion"}) == 6


async def test_retries_before_the_first_token_then_succeeds(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry, sleeps: Sleeps, metrics: Metrics
) -> None:
    openai_fake.control.script(status=500, fail_times=2, tokens=3)

    reply = await collect(openai_registry.model_for(), make_request())

    assert reply.text == "tok0 tok1 tok2"
    assert openai_fake.control.request_count == 3
    # Exponential backoff with jitter: ~0.2 s, then ~0.4 s, each between half and all of it.
    assert 0.1 <= sleeps.delays[0] <= 0.2
    assert 0.2 <= sleeps.delays[1] <= 0.4
    errors = {"provider": "openai", "model": "gpt-4o-mini", "code": "provider_error"}
    assert metrics.registry.get_sample_value("porch_llm_errors_total", errors) == 2


async def test_gives_up_after_the_retries(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(status=503)

    with pytest.raises(ProviderUnavailable) as caught:
        await collect(openai_registry.model_for(), make_request())

    assert caught.value.code == "provider_error"
    assert openai_fake.control.request_count == 3  # one try and llm_retries=2 more


async def test_never_replays_after_the_first_token(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(tokens=10, hang_after=3)
    reply = Reply()
    started = time.perf_counter()

    with pytest.raises(StreamInterrupted) as caught:
        await collect(openai_registry.model_for(), make_request(), reply)

    assert caught.value.code == "provider_timeout"
    assert reply.deltas == ["tok0", " tok1", " tok2"]
    assert openai_fake.control.request_count == 1
    assert 0.4 < time.perf_counter() - started < 2  # llm_timeout=0.5 between tokens
    # The hung HTTP stream was closed, not left to the garbage collector.
    assert await openai_fake.control.until(lambda c: c.disconnects == 1)


async def test_auth_failure_is_not_retried(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(status=401)

    with pytest.raises(ProviderUnavailable) as caught:
        await collect(openai_registry.model_for(), make_request())

    assert caught.value.code == "provider_auth_failed"
    assert openai_fake.control.request_count == 1


async def test_retry_after_is_honoured(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry, sleeps: Sleeps
) -> None:
    openai_fake.control.script(status=429, fail_times=1, retry_after=1.5)

    reply = await collect(openai_registry.model_for(), make_request())

    assert reply.text
    assert sleeps.delays == [1.5]
    assert openai_fake.control.request_count == 2


async def test_retry_after_really_waits(
    openai_fake: OpenAIFake, make_settings: Callable[..., Settings], metrics: Metrics
) -> None:
    openai_fake.control.script(status=429, fail_times=1, retry_after=0.3)
    registry = ProviderRegistry(make_settings(llm_base_url=openai_fake.base_url), metrics)
    try:
        started = time.perf_counter()
        await collect(registry.model_for(), make_request())
        elapsed = time.perf_counter() - started
    finally:
        await registry.aclose()

    first, second = openai_fake.control.requests
    assert second.at - first.at >= 0.3
    assert elapsed < 1.5


async def test_a_long_retry_after_gives_up_at_once(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry, sleeps: Sleeps
) -> None:
    openai_fake.control.script(status=429, retry_after=60)

    with pytest.raises(ProviderUnavailable) as caught:
        await collect(openai_registry.model_for(), make_request())

    assert caught.value.code == "provider_rate_limited"
    assert sleeps.delays == []
    assert openai_fake.control.request_count == 1


async def test_malformed_stream_before_any_token_is_retried(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(malformed_after=0)

    with pytest.raises(ProviderUnavailable) as caught:
        await collect(openai_registry.model_for(), make_request())

    assert caught.value.code == "provider_bad_stream"
    assert openai_fake.control.request_count == 3


async def test_malformed_stream_after_tokens_interrupts(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(tokens=6, malformed_after=2)
    reply = Reply()

    with pytest.raises(StreamInterrupted) as caught:
        await collect(openai_registry.model_for(), make_request(), reply)

    assert caught.value.code == "provider_bad_stream"
    assert reply.text == "tok0 tok1"
    assert openai_fake.control.request_count == 1


async def test_first_token_timeout(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(first_token_latency=5)
    started = time.perf_counter()

    with pytest.raises(ProviderUnavailable) as caught:
        await collect(openai_registry.model_for(), make_request())

    assert caught.value.code == "provider_timeout"
    assert openai_fake.control.request_count == 3
    assert time.perf_counter() - started < 3  # three tries of llm_timeout=0.5


async def test_slow_consumer_is_not_a_provider_timeout(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    """The idle timer runs only while waiting on the provider, not while the caller works."""
    openai_fake.control.script(tokens=3)
    texts = []
    async with aclosing(openai_registry.model_for().stream(make_request())) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                texts.append(event.text)
                if len(texts) == 1:
                    await asyncio.sleep(0.7)  # longer than llm_timeout=0.5

    assert texts == ["tok0", " tok1", " tok2"]


async def test_cancelling_the_consumer_closes_the_http_stream(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(tokens=100, token_latency=0.05)
    first_token = asyncio.Event()

    async def consume() -> None:
        async with aclosing(openai_registry.model_for().stream(make_request())) as events:
            async for _ in events:
                first_token.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_token.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await openai_fake.control.until(lambda c: c.disconnects == 1)
    assert openai_fake.control.request_count == 1


async def test_cancelling_while_waiting_for_the_first_token(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(first_token_latency=0.3)
    task = asyncio.create_task(collect(openai_registry.model_for(), make_request()))
    await asyncio.sleep(0.1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert await openai_fake.control.until(lambda c: c.disconnects == 1)
    # The breaker took no failure from the caller going away.
    [snapshot] = openai_registry.breakers()
    assert (snapshot.state, snapshot.failures) == ("closed", 0)


async def test_anthropic_through_the_registry(
    anthropic_fake: AnthropicFake, make_settings: Callable[..., Settings], metrics: Metrics
) -> None:
    anthropic_fake.control.script(status=529, fail_times=1, tokens=4)
    settings = make_settings(
        llm_provider="anthropic",
        llm_model="claude-3-5-haiku-latest",
        llm_base_url=anthropic_fake.base_url,
    )
    registry = ProviderRegistry(settings, metrics, sleep=Sleeps())
    try:
        reply = await collect(registry.model_for(), make_request())
    finally:
        await registry.aclose()

    assert reply.text == "tok0 tok1 tok2 tok3"
    assert reply.usage is not None and reply.usage.completion_tokens == 4
    assert anthropic_fake.control.request_count == 2
