"""Fake vendors started once per session, reset before each test; settings with short timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from porch.observability.metrics import Metrics
from porch.providers.registry import ProviderRegistry
from porch.settings import Settings
from tests.fakes import OpenAIFake


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "llm_provider": "openai",
            "llm_model": "gpt-4o-mini",
            "llm_api_key": "sk-test",
            "llm_timeout": 0.5,
            "llm_retries": 2,
            "llm_breaker_failures": 3,
            "llm_breaker_reset_seconds": 10,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


class Sleeps:
    """Records the backoff delays instead of waiting them, to keep tests fast."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def openai_registry(
    openai_fake: OpenAIFake,
    make_settings: Callable[..., Settings],
    metrics: Metrics,
    sleeps: Sleeps,
    clock: Clock,
) -> AsyncIterator[ProviderRegistry]:
    registry = ProviderRegistry(
        make_settings(llm_base_url=openai_fake.base_url), metrics, sleep=sleeps, clock=clock
    )
    yield registry
    await registry.aclose()
