"""Which answerer serves a request: vendors by name, SDK clients built once, models wrapped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from porch.observability.metrics import Metrics
from porch.providers.base import BreakerSnapshot, ChatModel
from porch.providers.breaker import CircuitBreaker
from porch.providers.extractive import ExtractiveModel
from porch.providers.resilient import ResilientModel
from porch.settings import Settings

EXTRACTIVE = "extractive"


class Client(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=Client)


@dataclass(frozen=True, slots=True)
class Vendor(Generic[ClientT]):
    """How to reach a vendor: an SDK client from (base_url, api_key, timeout), models on it."""

    client: Callable[[str | None, str | None, float], ClientT]
    model: Callable[[ClientT, str], ChatModel]
    default_model: str


# The adapters import their SDK (about 1 s each here), so each is imported the first time
# one of its clients is built: a server on the offline answerer never loads either.
def _openai_client(base_url: str | None, api_key: str | None, timeout: float) -> Any:
    from porch.providers import openai

    return openai.make_client(base_url, api_key, timeout)


def _openai_model(client: Any, model: str) -> ChatModel:
    from porch.providers import openai

    return openai.OpenAIChatModel(client, model)


def _anthropic_client(base_url: str | None, api_key: str | None, timeout: float) -> Any:
    from porch.providers import anthropic

    return anthropic.make_client(base_url, api_key, timeout)


def _anthropic_model(client: Any, model: str) -> ChatModel:
    from porch.providers import anthropic

    return anthropic.AnthropicChatModel(client, model)


# Adding a vendor is one entry here and one adapter module. The default models are named
# here rather than read from the adapters, which would import the SDKs.
VENDORS: Mapping[str, Vendor[Any]] = {
    "openai": Vendor(_openai_client, _openai_model, "gpt-4o-mini"),
    "anthropic": Vendor(_anthropic_client, _anthropic_model, "claude-3-5-haiku-latest"),
}


class ProviderRegistry:
    """Hands out models by (provider, model); owns the SDK clients and the circuit breakers.

    Settings' `llm_base_url` and `llm_api_key` belong to the default provider
    (`llm_provider`); another vendor named by a widget uses its SDK's own environment
    variable (OPENAI_API_KEY, ANTHROPIC_API_KEY) and public endpoint.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        vendors: Mapping[str, Vendor[Any]] = VENDORS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._vendors = vendors
        # Injectable for tests: the breakers' clock and the retries' backoff sleep.
        self._clock = clock
        self._sleep = sleep
        self._extractive = ExtractiveModel()
        self._clients: dict[tuple[str, str | None, str | None], Client] = {}
        self._models: dict[tuple[str, str, str | None], ResilientModel] = {}

    def model_for(
        self, provider: str | None = None, model: str | None = None, api_key: str | None = None
    ) -> ChatModel:
        """The model to stream from; None picks the settings' default provider and model.

        `api_key` is a widget's own key for the vendor, used instead of the server's.
        """
        name = provider or self._settings.llm_provider
        if name == EXTRACTIVE:
            return self._extractive
        vendor = self._vendors.get(name)
        if vendor is None:
            known = ", ".join(sorted([EXTRACTIVE, *self._vendors]))
            raise ValueError(f"unknown LLM provider {name!r}; known providers: {known}")
        is_default = name == self._settings.llm_provider
        model = model or (self._settings.llm_model if is_default else None) or vendor.default_model
        wrapped = self._models.get((name, model, api_key))
        if wrapped is None:
            wrapped = self._models[(name, model, api_key)] = self._build(
                name, vendor, model, is_default, api_key
            )
        return wrapped

    def extractive(self) -> ChatModel:
        """The offline answerer: the fallback when a provider is down."""
        return self._extractive

    def breakers(self) -> list[BreakerSnapshot]:
        return [wrapped.breaker.snapshot() for wrapped in self._models.values()]

    async def aclose(self) -> None:
        """Close every SDK client and its connection pool."""
        clients, self._clients = list(self._clients.values()), {}
        self._models.clear()
        for client in clients:
            await client.close()

    def _build(
        self, name: str, vendor: Vendor[Any], model: str, is_default: bool, own_key: str | None
    ) -> ResilientModel:
        s = self._settings
        base_url = s.llm_base_url if is_default else None
        api_key = s.llm_api_key.get_secret_value() if is_default and s.llm_api_key else None
        api_key = own_key or api_key
        key = (name, base_url, api_key)
        client = self._clients.get(key)
        if client is None:
            # The SDK's timeout is a backstop; ResilientModel's own timer is the one that counts.
            client = self._clients[key] = vendor.client(base_url, api_key, s.llm_timeout + 1.0)
        breaker = CircuitBreaker(
            name,
            model,
            failures=s.llm_breaker_failures,
            reset_seconds=s.llm_breaker_reset_seconds,
            clock=self._clock,
            metrics=self._metrics,
        )
        return ResilientModel(
            vendor.model(client, model),
            breaker,
            self._metrics,
            retries=s.llm_retries,
            timeout=s.llm_timeout,
            sleep=self._sleep,
        )
