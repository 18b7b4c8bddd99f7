"""The circuit breaker alone, then through the registry against the fake."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from porch.observability.metrics import Metrics
from porch.providers.base import ProviderUnavailable
from porch.providers.breaker import CircuitBreaker
from porch.providers.registry import ProviderRegistry
from porch.settings import Settings
from tests.fakes import OpenAIFake

from .conftest import Clock, Sleeps
from .helpers import collect, make_request


def gauge(metrics: Metrics) -> float | None:
    labels = {"provider": "openai", "model": "m"}
    return metrics.registry.get_sample_value("porch_llm_breaker_state", labels)


@pytest.fixture
def breaker(clock: Clock, metrics: Metrics) -> CircuitBreaker:
    return CircuitBreaker("openai", "m", failures=3, reset_seconds=30, clock=clock, metrics=metrics)


def test_opens_after_consecutive_failures(breaker: CircuitBreaker, metrics: Metrics) -> None:
    for _ in range(2):
        breaker.acquire()
        breaker.failure()
    assert breaker.state == "closed"
    assert gauge(metrics) == 0

    breaker.acquire()
    breaker.failure()

    assert breaker.snapshot().state == "open"
    assert gauge(metrics) == 2
    with pytest.raises(ProviderUnavailable) as caught:
        breaker.acquire()
    assert caught.value.code == "provider_unavailable"


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    breaker.failure()
    breaker.failure()
    breaker.success()
    breaker.failure()
    breaker.failure()

    assert breaker.state == "closed"
    assert breaker.snapshot().failures == 2


def test_half_open_lets_one_trial_through(
    breaker: CircuitBreaker, clock: Clock, metrics: Metrics
) -> None:
    for _ in range(3):
        breaker.failure()
    clock.now += 29.9
    assert breaker.state == "open"

    clock.now += 0.1

    assert breaker.snapshot().state == "half_open"
    assert gauge(metrics) == 1
    breaker.acquire()  # the trial
    with pytest.raises(ProviderUnavailable):
        breaker.acquire()  # a second caller while the trial runs
    breaker.success()
    assert breaker.snapshot().state == "closed"
    assert gauge(metrics) == 0
    breaker.acquire()


def test_a_failed_trial_opens_again(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.failure()
    clock.now += 30
    breaker.acquire()

    breaker.failure()

    assert breaker.state == "open"
    snapshot = breaker.snapshot()
    assert (snapshot.provider, snapshot.model, snapshot.state) == ("openai", "m", "open")
    assert snapshot.opened_at is not None
    clock.now += 29
    assert breaker.state == "open"


def test_an_abandoned_trial_frees_the_slot(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.failure()
    clock.now += 30
    breaker.acquire()

    breaker.release()

    breaker.acquire()


async def test_registry_breaker_short_circuits_then_recovers(
    openai_fake: OpenAIFake,
    make_settings: Callable[..., Settings],
    metrics: Metrics,
    clock: Clock,
) -> None:
    settings = make_settings(
        llm_base_url=openai_fake.base_url,
        llm_retries=0,
        llm_breaker_failures=2,
        llm_breaker_reset_seconds=10,
    )
    registry = ProviderRegistry(settings, metrics, clock=clock, sleep=Sleeps())
    model = registry.model_for()
    openai_fake.control.script(status=500)
    try:
        for _ in range(2):
            with pytest.raises(ProviderUnavailable) as caught:
                await collect(model, make_request())
            assert caught.value.code == "provider_error"
        assert [b.state for b in registry.breakers()] == ["open"]

        with pytest.raises(ProviderUnavailable) as caught:
            await collect(model, make_request())
        assert caught.value.code == "provider_unavailable"
        assert openai_fake.control.request_count == 2  # no HTTP call while open

        clock.now += 10
        openai_fake.control.script(tokens=2)
        assert [b.state for b in registry.breakers()] == ["half_open"]
        reply = await collect(model, make_request())
        snapshots = registry.breakers()
    finally:
        await registry.aclose()

    assert reply.text == "tok0 tok1"
    assert openai_fake.control.request_count == 3
    assert [(b.state, b.failures) for b in snapshots] == [("closed", 0)]


async def test_bad_requests_do_not_open_the_breaker(
    openai_fake: OpenAIFake, openai_registry: ProviderRegistry
) -> None:
    openai_fake.control.script(status=400)

    for _ in range(5):
        with pytest.raises(ProviderUnavailable):
            await collect(openai_registry.model_for(), make_request())

    [snapshot] = openai_registry.breakers()
    assert (snapshot.state, snapshot.failures) == ("closed", 0)
