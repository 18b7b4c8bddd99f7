"""Choosing models by provider name; clients built once; pricing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from porch.observability.metrics import Metrics
from porch.providers.base import ChatModel, Usage
from porch.providers.extractive import ExtractiveModel
from porch.providers.pricing import cost_usd
from porch.providers.registry import VENDORS, ProviderRegistry, Vendor
from porch.providers.resilient import ResilientModel
from porch.settings import Settings


async def test_defaults_come_from_settings(
    make_settings: Callable[..., Settings], metrics: Metrics
) -> None:
    registry = ProviderRegistry(make_settings(llm_model="gpt-4o"), metrics)
    try:
        model = registry.model_for()
        assert isinstance(model, ResilientModel)
        assert (model.provider, model.model) == ("openai", "gpt-4o")
        assert registry.model_for("openai", None) is model
        assert registry.model_for(None, "gpt-4o") is model
    finally:
        await registry.aclose()


async def test_models_share_one_client_per_endpoint(
    make_settings: Callable[..., Settings], metrics: Metrics
) -> None:
    registry = ProviderRegistry(make_settings(llm_base_url="http://127.0.0.1:9/v1"), metrics)
    try:
        small = registry.model_for("openai", "small")
        large = registry.model_for("openai", "large")
        claude = registry.model_for("anthropic", None)
        assert isinstance(small, ResilientModel) and isinstance(large, ResilientModel)
        assert small.inner._client is large.inner._client  # type: ignore[attr-defined]
        # Another vendor gets its own client, public endpoint and default model.
        assert isinstance(claude, ResilientModel)
        assert claude.model == VENDORS["anthropic"].default_model
        assert str(claude.inner._client.base_url).startswith("https://api.anthropic.com")  # type: ignore[attr-defined]
        assert len(registry.breakers()) == 3
    finally:
        await registry.aclose()


async def test_extractive_is_never_wrapped(
    make_settings: Callable[..., Settings], metrics: Metrics
) -> None:
    registry = ProviderRegistry(make_settings(llm_provider="extractive", llm_model=None), metrics)

    assert isinstance(registry.model_for(), ExtractiveModel)
    assert registry.model_for("extractive", "whatever") is registry.extractive()
    assert registry.breakers() == []
    await registry.aclose()


def test_unknown_provider_is_a_clear_error(
    make_settings: Callable[..., Settings], metrics: Metrics
) -> None:
    registry = ProviderRegistry(make_settings(), metrics)

    with pytest.raises(
        ValueError, match=r"unknown LLM provider 'mistral'.*anthropic, extractive, openai"
    ):
        registry.model_for("mistral", None)


async def test_a_vendor_is_one_entry(
    make_settings: Callable[..., Settings], metrics: Metrics
) -> None:
    closed: list[str] = []

    class Client:
        def __init__(self, base_url: str | None, api_key: str | None, timeout: float) -> None:
            self.args = (base_url, api_key, timeout)

        async def close(self) -> None:
            closed.append("yes")

    class Model:
        provider = "echo"

        def __init__(self, client: Client, model: str) -> None:
            self.client, self.model = client, model

        async def stream(self, request: Any) -> Any:
            yield Usage(0, 0)

    vendors = {"echo": Vendor(Client, Model, "echo-1")}
    settings = make_settings(llm_base_url="http://echo", llm_timeout=2)
    registry = ProviderRegistry(settings, metrics, vendors=vendors)

    model: ChatModel = registry.model_for("echo", None)

    assert model.model == "echo-1"
    inner = model.inner  # type: ignore[attr-defined]
    # The settings' endpoint and key belong to the default provider (openai) only.
    assert inner.client.args == (None, None, 3.0)
    await registry.aclose()
    assert closed == ["yes"]


def test_cost_in_dollars(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()

    # gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    assert cost_usd(settings, "gpt-4o-mini", Usage(1_000_000, 0)) == pytest.approx(0.15)
    assert cost_usd(settings, "gpt-4o-mini", Usage(2000, 500)) == pytest.approx(0.0006)
    assert cost_usd(settings, "extractive", Usage(5000, 500)) == 0.0
    assert cost_usd(settings, "no-such-model", Usage(5000, 500)) == 0.0


def test_cost_uses_configured_prices(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(llm_prices={"llama3": {"input": 1.0, "output": 2.0}})

    assert cost_usd(settings, "llama3", Usage(1000, 1000)) == pytest.approx(0.003)
