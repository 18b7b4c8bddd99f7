"""A ChatModel wrapper: circuit breaker, retries before the first token, timeouts, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from porch.observability.metrics import Metrics
from porch.providers.base import (
    ChatModel,
    CompletionRequest,
    ProviderError,
    ProviderUnavailable,
    StreamEvent,
    StreamInterrupted,
    Usage,
)
from porch.providers.breaker import CircuitBreaker, counts_against


class ResilientModel:
    """Wraps a ChatModel and keeps its interface; the pipeline only ever sees this one.

    Before the first event: the breaker may refuse at once, and retryable failures are
    retried (exponential backoff with jitter, or the vendor's Retry-After when it is short).
    What still fails raises ProviderUnavailable. After the first event nothing is replayed:
    a failure, or `timeout` seconds without an event, raises StreamInterrupted and the
    caller keeps the text it has.
    """

    def __init__(
        self,
        inner: ChatModel,
        breaker: CircuitBreaker,
        metrics: Metrics | None = None,
        *,
        retries: int = 2,
        timeout: float = 30.0,
        backoff: float = 0.2,
        max_backoff: float = 2.0,
        max_retry_after: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self._metrics = metrics
        self._retries = retries
        self._timeout = timeout
        self._backoff = backoff
        self._max_backoff = max_backoff
        # A visitor waits for the reply: a longer Retry-After is treated as "not now".
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        labels = (inner.provider, inner.model)
        # Label lookups cost microseconds; resolve them once, not per reply.
        self._first_token = metrics.llm_first_token.labels(*labels) if metrics else None
        self._duration = metrics.llm_duration.labels(*labels) if metrics else None
        self._prompt_tokens = metrics.llm_tokens.labels(*labels, "prompt") if metrics else None
        self._completion_tokens = (
            metrics.llm_tokens.labels(*labels, "completion") if metrics else None
        )

    @property
    def provider(self) -> str:
        return self.inner.provider

    @property
    def model(self) -> str:
        return self.inner.model

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]:
        started = time.perf_counter()
        watchdog = _Watchdog(self._timeout)
        try:
            events, event = await self._first_event(request, watchdog)
            if self._first_token is not None:
                self._first_token.observe(time.perf_counter() - started)
            try:
                while event is not None:
                    if isinstance(event, Usage):
                        self._count(event)
                    yield event
                    try:
                        event = await watchdog.next(events)
                    except StopAsyncIteration:
                        event = None
                    except Exception as exc:
                        error = self._failed(exc, "between tokens")
                        raise StreamInterrupted(error.code, error.message) from exc
            finally:
                await _close(events)
            if self._duration is not None:
                self._duration.observe(time.perf_counter() - started)
        finally:
            watchdog.cancel()

    async def _first_event(
        self, request: CompletionRequest, watchdog: _Watchdog
    ) -> tuple[AsyncGenerator[StreamEvent, None], StreamEvent | None]:
        """Open the inner stream and wait for its first event, retrying what may pass next time."""
        attempt = 0
        while True:
            try:
                self.breaker.acquire()
            except ProviderUnavailable as exc:
                self._error(exc.code)
                raise
            events = self.inner.stream(request)
            try:
                first = await watchdog.next(events)
            except StopAsyncIteration:
                first = None
            except Exception as exc:
                await _close(events)
                error = self._failed(exc, "for the first token")
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    raise ProviderUnavailable(error.code, error.message) from exc
                await self._sleep(delay)
                attempt += 1
                continue
            except BaseException:
                await _close(events)
                self.breaker.release()
                raise
            # The provider answered: that is the breaker's success, whatever follows.
            self.breaker.success()
            return events, first

    def _retry_delay(self, error: ProviderError, attempt: int) -> float | None:
        if not error.retryable or attempt >= self._retries:
            return None
        # Jitter spreads out retries from many conversations; it needs no secrecy.
        delay = self._backoff * 2.0**attempt * random.uniform(0.5, 1.0)  # noqa: S311
        delay = min(delay, self._max_backoff)
        if error.retry_after is not None:
            if error.retry_after > self._max_retry_after:
                return None
            delay = max(delay, error.retry_after)
        return delay

    def _failed(self, exc: Exception, waiting_for: str) -> ProviderError:
        """Turn any failure into a ProviderError, and count it."""
        if isinstance(exc, ProviderError):
            error = exc
        elif isinstance(exc, TimeoutError):
            error = ProviderError(
                "provider_timeout",
                f"{self.provider} sent nothing {waiting_for} in {self._timeout:g}s",
            )
        else:
            # An adapter bug: do not retry it, but do not crash the conversation either.
            error = ProviderError("provider_error", f"{type(exc).__name__}: {exc}", retryable=False)
        if counts_against(error):
            self.breaker.failure()
        else:
            self.breaker.release()
        self._error(error.code)
        return error

    def _error(self, code: str) -> None:
        if self._metrics is not None:
            self._metrics.llm_errors.labels(self.provider, self.model, code).inc()

    def _count(self, usage: Usage) -> None:
        if self._prompt_tokens is not None and self._completion_tokens is not None:
            self._prompt_tokens.inc(usage.prompt_tokens)
            self._completion_tokens.inc(usage.completion_tokens)


class _Watchdog:
    """A timeout on each wait for the next event, cheap enough to use per token.

    `asyncio.timeout()` per token costs ~3.5 µs (a timer handle each time); this keeps one
    timer that re-arms itself, ~0 µs per token. Like asyncio.timeout it cancels the task and
    turns that cancellation into TimeoutError, and only while it is waiting, so the timer
    never fires into the consumer's own code between events.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._deadline = 0.0
        self._task: asyncio.Task[object] | None = None
        self._fired = False
        self._handle: asyncio.TimerHandle | None = None

    async def next(self, events: AsyncIterator[StreamEvent]) -> StreamEvent:
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        self._deadline = self._loop.time() + self._timeout
        if self._handle is None:
            self._handle = self._loop.call_at(self._deadline, self._check)
        self._task = task
        try:
            return await anext(events)
        except BaseException:
            # Our cancellation, whatever the stream turned it into, is a timeout; unless
            # someone else cancelled the task as well, which must go on.
            if self._fired:
                self._fired = False
                if task.uncancel() <= cancelling:
                    raise TimeoutError from None
            raise
        finally:
            self._task = None

    def _check(self) -> None:
        self._handle = None
        if self._task is None:
            return  # not waiting; the next wait arms a new timer
        if self._loop.time() < self._deadline:
            self._handle = self._loop.call_at(self._deadline, self._check)
            return
        self._fired = True
        self._task.cancel()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def _close(events: AsyncGenerator[StreamEvent, None]) -> None:
    """Close an inner stream so its HTTP response is released now, not when collected."""
    with contextlib.suppress(Exception):
        await events.aclose()
