"""A circuit breaker per (provider, model): stop calling a vendor that keeps failing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from porch.observability.metrics import BREAKER_STATES, Metrics
from porch.providers.base import BreakerSnapshot, ProviderError, ProviderUnavailable

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed → open after `failures` consecutive failures → half-open after `reset_seconds`.

    Half-open lets one trial call through at a time: its success closes the breaker, its
    failure opens it again for another `reset_seconds`. Not thread-safe: one event loop.
    """

    def __init__(
        self,
        provider: str,
        model: str,
        *,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self._threshold = failures
        self._reset_seconds = reset_seconds
        self._clock = clock
        self._gauge = metrics.breaker_state.labels(provider, model) if metrics else None
        self._state: State = "closed"
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._set("closed")

    @property
    def state(self) -> State:
        """The current state; an open breaker whose time is up reads as half-open."""
        if (
            self._state == "open"
            and self._clock() - (self._opened_at or 0.0) >= self._reset_seconds
        ):
            self._set("half_open")
        return self._state

    def acquire(self) -> None:
        """Before a call: raise ProviderUnavailable if the breaker refuses it."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._trial:
            self._trial = True
            return
        wait = self._reset_seconds - (self._clock() - (self._opened_at or 0.0))
        raise ProviderUnavailable(
            "provider_unavailable",
            f"{self.provider} {self.model} keeps failing; next try in {max(wait, 0):.0f}s",
        )

    def release(self) -> None:
        """A call ended with no verdict (the caller went away): free the half-open trial."""
        self._trial = False

    def success(self) -> None:
        self._failures = 0
        self._trial = False
        if self._state != "closed":
            self._opened_at = None
            self._set("closed")

    def failure(self) -> None:
        self._failures += 1
        self._trial = False
        if self._state == "half_open" or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._set("open")

    def snapshot(self) -> BreakerSnapshot:
        """The state for health pages; `opened_at` in Unix time."""
        opened_at = None
        if self._opened_at is not None:
            opened_at = time.time() - (self._clock() - self._opened_at)
        return BreakerSnapshot(
            provider=self.provider,
            model=self.model,
            state=self.state,
            failures=self._failures,
            opened_at=opened_at,
        )

    def _set(self, state: State) -> None:
        self._state = state
        if self._gauge is not None:
            self._gauge.set(BREAKER_STATES[state])


def counts_against(error: ProviderError) -> bool:
    """Whether a failure says the provider is unwell; a rejected request says nothing of it."""
    return error.code != "provider_bad_request"
